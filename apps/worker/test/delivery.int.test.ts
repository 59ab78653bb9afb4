/**
 * Secret delivery (issue 16, points 3–4): `env` (the seed's), `file` (json or dotenv, 0400, the action's own,
 * removed with the scratch folder) and `stdin` (beside the parameters). With file or stdin, no SECRET_ variable is in
 * the action's environment: each action reads its own /proc/self/environ — what any process could read of it.
 * Output stays masked in every mode. Real Python and shell actions in the host's strongest isolation.
 */
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EncryptionKey } from '@attune/crypto';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { registerPack } from '@attune/registry';
import type { CreateKeyInput } from '@attune/secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionSandbox } from '../src/sandbox/sandbox.js';
import { DirectSpawner } from '../src/spawner.js';
import { runOnce } from './support/executor.js';
import { readablePackRoot, testSandbox } from './support/isolation.js';
import { writeTestPack } from './support/packs.js';
import { keyService, testActor } from './support/services.js';

const key = EncryptionKey.fromPassword('delivery-test-password-0123456789abcdef');
const API_KEY = 'sk_live_delivery_0123456789';
const TRICKY = `it's $HOME "quoted" \`tick\` \\back\nsecond line`;
const DB = { user: 'svc', password: 'db-password-for-delivery-42' };
const EXAMPLES = fileURLToPath(new URL('../../../packs/delivery', import.meta.url));
const QUOTED = "hunter2'sup3rS3cret-value";
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

// Python: what the action sees — its environ, the file (mode, owner) or the stdin line — and the API key, printed.
const PY = `import json, os, stat, sys
line = json.loads(sys.stdin.readline())
environ = open("/proc/self/environ", "rb").read().split(b"\\0")
report = {"secret_vars": sorted(e.split(b"=")[0].decode() for e in environ if e.startswith(b"SECRET_"))}
path = os.environ.get("ATTUNE_SECRETS_FILE")
if path:
    st = os.stat(path)
    report.update(file_mode=oct(stat.S_IMODE(st.st_mode)), file_mine=st.st_uid == os.getuid(), file=path)
    secrets = json.load(open(path))
elif "secrets" in line:
    report["params"] = line["parameters"]
    secrets = line["secrets"]
else:
    secrets = {k: v for k, v in os.environ.items() if k.startswith("SECRET_")}
report["names"] = sorted(secrets)
report["db_user"] = secrets["SECRET_DB"]["user"] if isinstance(secrets.get("SECRET_DB"), dict) else None
print(json.dumps(report))
print("key:", secrets["SECRET_API_KEY"])
`;
// Shell with dotenv: the environment before sourcing, the file's mode, then the values read back (as hashes).
const SH_DOTENV = `#!/bin/sh
cat >/dev/null
echo "secret vars in environ: $(tr '\\0' '\\n' < /proc/self/environ | grep -c '^SECRET_')"
echo "mode: $(stat -c %a "$ATTUNE_SECRETS_FILE") mine: $([ "$(stat -c %u "$ATTUNE_SECRETS_FILE")" = "$(id -u)" ] && echo yes)"
. "$ATTUNE_SECRETS_FILE"   # shell variables, not exported: child processes do not get them
printf '%s' "$SECRET_TRICKY" | sha256sum | cut -c1-64
printf '%s' "$SECRET_DB" | sha256sum | cut -c1-64
echo "key: $SECRET_API_KEY"
`;
const SH_STDIN = `#!/bin/sh
read -r line
echo "secret vars in environ: $(tr '\\0' '\\n' < /proc/self/environ | grep -c '^SECRET_')"
echo "$line" | grep -o '"SECRET_[A-Z_]*"' | sort | tr '\\n' ' '; echo
`;

let db: TestDatabase;
let sandbox: ActionSandbox;
let root: string;
const spawner = new DirectSpawner();

async function run(actionRef: string, params: object = {}) {
  const outcome = await runOnce({ db, sandbox, spawner, key }, actionRef, { params });
  // Whatever the mode, nothing of the execution is left in the scratch root (the secrets file included).
  // (Execution folders are named <execution id>-<random>.)
  expect(readdirSync(sandbox.scratch.path).filter((f) => /^\d+-[0-9a-f]+$/.test(f))).toEqual([]);
  return outcome;
}

const report = (stdout: string) => JSON.parse(stdout.split('\n')[0] as string) as Record<string, unknown>;

beforeAll(async () => {
  db = await createTestDatabase();
  sandbox = await testSandbox('auto');
  root = readablePackRoot('delivery');
  const params = 'parameters:\n  n:\n    type: integer\n    default: 7\n';
  await registerPack(
    db.prisma,
    writeTestPack(root, 'deliver', {
      env_py: { runner: 'python', file: 'show.py', code: PY },
      file_json_py: { runner: 'python', file: 'show.py', code: PY, extra: 'secrets_delivery: file\n' },
      file_dotenv_sh: {
        runner: 'shell',
        file: 'dotenv.sh',
        code: SH_DOTENV,
        extra: 'secrets_delivery: file\nsecrets_file_format: dotenv\n',
      },
      stdin_py: { runner: 'python', file: 'show.py', code: PY, extra: `secrets_delivery: stdin\n${params}` },
      stdin_sh: { runner: 'shell', file: 'stdin.sh', code: SH_STDIN, extra: 'secrets_delivery: stdin\n' },
      // A careless action: prints its dotenv file, where a quote is written '\'' — masked all the same.
      cat_dotenv: {
        runner: 'shell',
        file: 'cat.sh',
        code: '#!/bin/sh\ncat >/dev/null\ncat "$ATTUNE_SECRETS_FILE"\n',
        extra: 'secrets_delivery: file\nsecrets_file_format: dotenv\n',
      },
    }),
  );
  // The example pack, from a folder the actions' identity can read.
  cpSync(EXAMPLES, join(root, 'delivery'), { recursive: true });
  await registerPack(db.prisma, join(root, 'delivery'));
  const keys = keyService(db, key);
  const secrets: Array<[CreateKeyInput['owner'], string, CreateKeyInput['value']]> = [
    [{ type: 'system' }, 'api_key', API_KEY],
    [{ type: 'pack', pack: 'deliver' }, 'tricky', TRICKY],
    [{ type: 'pack', pack: 'deliver' }, 'db', DB],
    [{ type: 'pack', pack: 'deliver' }, 'quote', QUOTED],
  ];
  for (const [owner, name, value] of secrets)
    await keys.create(testActor, { owner, name, value, encrypted: true });
});

afterAll(async () => {
  await spawner.close();
  if (root) rmSync(root, { recursive: true, force: true });
  await sandbox?.scratch.close();
  await db?.drop();
});

describe('secret delivery', () => {
  it('env (the default): SECRET_ variables, visible in the process environment', async () => {
    const outcome = await run('deliver.env_py');
    expect(outcome.status, outcome.stderr).toBe('succeeded');
    expect(report(outcome.stdout).secret_vars).toEqual([
      'SECRET_API_KEY',
      'SECRET_DB',
      'SECRET_QUOTE',
      'SECRET_TRICKY',
    ]);
    expect(outcome.stdout).toContain('key: ***');
  });

  it('file, json: a private file of the action, no SECRET_ variable, structured values kept', async () => {
    const outcome = await run('deliver.file_json_py');
    expect(outcome.status, outcome.stderr).toBe('succeeded');
    const seen = report(outcome.stdout);
    expect(seen).toMatchObject({
      secret_vars: [],
      file_mode: '0o400',
      file_mine: true,
      names: ['SECRET_API_KEY', 'SECRET_DB', 'SECRET_QUOTE', 'SECRET_TRICKY'],
      db_user: 'svc',
    });
    expect(String(seen.file)).toMatch(/\/\.attune-secrets\.json$/);
    expect(outcome.stdout).toContain('key: ***'); // masked, whatever the delivery
    expect(outcome.stdout).not.toContain(API_KEY);
    expect(outcome.secrets.map((s) => s.ref).sort()).toEqual([
      'deliver.db',
      'deliver.quote',
      'deliver.tricky',
      'system.api_key',
    ]);
  });

  it('file, dotenv: sh sources it and reads every value back exactly (quotes, $, newlines)', async () => {
    const outcome = await run('deliver.file_dotenv_sh');
    expect(outcome.status, outcome.stderr).toBe('succeeded');
    const lines = outcome.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'secret vars in environ: 0',
      'mode: 400 mine: yes',
      sha(TRICKY),
      sha(JSON.stringify(DB)),
    ]);
    expect(lines[4]).toBe('key: ***');
  });

  it('stdin: beside the parameters in the one line the action reads, no SECRET_ variable', async () => {
    const py = await run('deliver.stdin_py', { n: 3 });
    expect(py.status, py.stderr).toBe('succeeded');
    expect(report(py.stdout)).toMatchObject({
      secret_vars: [],
      params: { n: 3 },
      names: ['SECRET_API_KEY', 'SECRET_DB', 'SECRET_QUOTE', 'SECRET_TRICKY'],
      db_user: 'svc',
    });
    expect(py.stdout).toContain('key: ***');
    const sh = await run('deliver.stdin_sh');
    expect(sh.status, sh.stderr).toBe('succeeded');
    expect(sh.stdout).toBe(
      'secret vars in environ: 0\n"SECRET_API_KEY" "SECRET_DB" "SECRET_QUOTE" "SECRET_TRICKY" \n',
    );
  });

  it('the example pack (packs/delivery) shows each mode, receiving only what it declares', async () => {
    const file = await run('delivery.from_file');
    expect(file.status, file.stderr).toBe('succeeded');
    expect(file.stdout).toBe(
      `api key present (${API_KEY.length} characters); secrets in the file: ['SECRET_API_KEY']\nSECRET_ variables in the environment: []\n`,
    );
    expect(file.warnings.map((w) => w.kind)).toEqual(['secret_missing']); // db-password, declared, optional, unset
    const dotenv = await run('delivery.from_dotenv');
    expect([dotenv.status, dotenv.stdout]).toEqual([
      'succeeded',
      `api key present (${API_KEY.length} characters)\n`,
    ]);
    const stdin = await run('delivery.from_stdin', { target: 'billing' });
    expect([stdin.status, stdin.stdout]).toEqual([
      'succeeded',
      `target billing; api key present (${API_KEY.length} characters)\nSECRET_ variables in the environment: []\n`,
    ]);
  });

  it('masks the dotenv file printed as it is (quotes escaped for sh)', async () => {
    const outcome = await run('deliver.cat_dotenv');
    expect(outcome.status, outcome.stderr).toBe('succeeded');
    expect(outcome.stdout).toContain("SECRET_QUOTE='***'");
    expect(outcome.stdout).not.toContain('sup3rS3cret');
    expect(outcome.stdout).not.toContain(API_KEY);
  });
});
