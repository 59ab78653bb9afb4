import { existsSync, readdirSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createLogger } from '@attune/core';
import { EncryptionKey } from '@attune/crypto';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { ExecutionStore } from '@attune/executions';
import { registerPack } from '@attune/registry';
import { type CreateKeyInput, Keyring, reencrypt, SecretResolver, ValueCipher } from '@attune/secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionExecutor } from '../src/execution/executor.js';
import { HelperSpawner } from '../src/helper-spawner.js';
import { SecretMasker } from '../src/masking/masker.js';
import type { ActionSandbox } from '../src/sandbox/sandbox.js';
import { DirectSpawner, type ProcessSpawner } from '../src/spawner.js';
import { readablePackRoot, testSandbox } from './support/isolation.js';
import { type TestAction, writeTestPack } from './support/packs.js';
import { keyService, requestExecution, testActor } from './support/services.js';

const PASSWORD = 'executor-test-encryption-password-0123456789';
const key = EncryptionKey.fromPassword(PASSWORD);
// Canary values: after the runs, none of them may appear in any database row or log line.
const CANARY = {
  system: 'canary-system-3f9a1b7c',
  pack: 'canary-pack-8e2d4f60',
  action: 'canary-action-51c7e9a2',
  quoted: 'canary-"quoted"\\slash-77aa',
  other: 'canary-otherpack-0b1c2d3e',
  structured: 'canary-structured-c0ffee11',
};
const WORKER_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
  DATABASE_URL: 'postgresql://worker:worker-db-password@127.0.0.1/attune',
  ATTUNE__SECURITY__ENCRYPTION_KEY: PASSWORD,
  AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
  WORKER_ONLY_SETTING: 'do-not-leak',
  HTTP_PROXY: 'http://proxy.internal:3128',
};

function writePack(root: string, ref: string, actions: Record<string, TestAction>): string {
  // Every action declares two secrets: one set at some level, one never set.
  const declared = Object.fromEntries(
    Object.entries(actions).map(([name, a]) => [
      name,
      { ...a, timeout: a.timeout ?? 20, extra: `secrets: [api_key, never_set]\n${a.extra ?? ''}` },
    ]),
  );
  return writeTestPack(root, ref, declared);
}

const ENV_PY = 'import json, os, sys\nsys.stdin.read()\njson.dump(dict(os.environ), sys.stdout)\n';
const ENV_SH = '#!/bin/sh\ncat >/dev/null\nenv\n';

let db: TestDatabase;
let sandbox: ActionSandbox;
let root: string;
let logLines: string[];
let executor: (
  spawner: ProcessSpawner,
  overrides?: Partial<{ outputCapBytes: number; killGraceMs: number }>,
  createMasker?: (secrets: ReadonlyArray<{ ref: string; value: unknown }>, min: number) => SecretMasker,
) => ActionExecutor;
const spawners: ProcessSpawner[] = [];
const BIG_SECRET = Array.from(
  { length: 64 * 1024 },
  (_, i) => 'abcdefghijklmnopqrstuvwxyz0123456789'[(i * 7 + (i >> 5)) % 36],
).join('');
const UNICODE_SECRET = 'pässwörd-ünïcödé-€-𝄞-secret';

beforeAll(async () => {
  db = await createTestDatabase();
  // The strongest isolation this host has (the sandbox in CI): these tests hold in every mode.
  sandbox = await testSandbox('auto');
  root = readablePackRoot('packs');
  await registerPack(
    db.prisma,
    writePack(root, 'testpack', {
      env_py: { runner: 'python', file: 'env.py', code: ENV_PY },
      env_sh: { runner: 'shell', file: 'env.sh', code: ENV_SH },
      sibling: { runner: 'python', file: 'env.py', code: ENV_PY },
      leak: {
        runner: 'python',
        file: 'leak.py',
        code: [
          'import base64, json, os, sys, time',
          'params = json.load(sys.stdin)',
          'v = os.environ["SECRET_API_KEY"]; q = os.environ["SECRET_QUOTED"]; s = json.loads(os.environ["SECRET_DB"])',
          'print("raw", v, flush=True)',
          'print("b64", base64.b64encode(v.encode()).decode(), flush=True)',
          'sys.stdout.write("split " + v[:7]); sys.stdout.flush(); time.sleep(0.1)',
          'sys.stdout.write(v[7:] + "\\n"); sys.stdout.flush()',
          'print("leaf", s["password"], file=sys.stderr, flush=True)',
          'print("short", os.environ["SECRET_TINY"], flush=True)',
          'json.dump({"quoted": q, "key": v, "params": params}, sys.stdout)',
        ].join('\n'),
      },
      result: {
        runner: 'python',
        file: 'result.py',
        code: 'import json, os\nprint(json.dumps({"token": os.environ["SECRET_API_KEY"], "n": 1}))\n',
      },
      stubborn: {
        runner: 'shell',
        file: 'stubborn.sh',
        code: "#!/bin/sh\ntrap '' TERM\necho started\nsleep 30\n",
        timeout: 1,
      },
      graceful: {
        runner: 'shell',
        file: 'graceful.sh',
        code: "#!/bin/sh\ntrap 'echo got TERM; exit 143' TERM\nsleep 30 &\nwait\n",
        timeout: 1,
      },
      flood: {
        runner: 'python',
        file: 'flood.py',
        code: 'import os, sys\nv = os.environ["SECRET_API_KEY"]\nchunk = ("x" * 1000 + "\\n") * 100\nfor i in range(200):\n    sys.stdout.write(chunk)\n    sys.stdout.write(v)\n',
      },
      fail: { runner: 'shell', file: 'fail.sh', code: '#!/bin/sh\necho "bad things" >&2\nexit 3\n' },
      scratch: {
        runner: 'python',
        file: 'scratch.py',
        code: [
          'import json, os, sys, tempfile',
          'mode = json.load(sys.stdin).get("end", "ok")',
          'here = os.getcwd(); tmp = tempfile.gettempdir()',
          'open(os.path.join(here, "left-behind.txt"), "w").write("x")',
          'open(os.path.join(tmp, "left-behind.txt"), "w").write("x")',
          'st = os.stat(here); tt = os.stat(tmp)',
          'print(json.dumps({"cwd": here, "home": os.environ["HOME"], "tmpdir": os.environ["TMPDIR"], "tmp": tmp,',
          '  "cwd_mode": oct(st.st_mode & 0o777), "tmp_mode": oct(tt.st_mode & 0o777), "uid": os.getuid(),',
          '  "cwd_uid": st.st_uid, "tmp_uid": tt.st_uid, "umask": oct(os.umask(0))}), flush=True)',
          'if mode == "fail": sys.exit(4)',
          'if mode == "kill": os.kill(os.getpid(), 9)',
          'if mode == "hang": import time; time.sleep(30)',
        ].join('\n'),
        timeout: 2,
        extra: 'parameters:\n  end:\n    type: string\n',
      },
      big: {
        runner: 'python',
        file: 'big.py',
        code: 'import os, sys\nsys.stdin.read()\nv = os.environ["SECRET_BIG"]\nprint("big", v)\nprint("again", v[::-1][::-1])\n',
      },
      escaped: {
        runner: 'python',
        file: 'escaped.py',
        code: [
          'import json, os, sys',
          'sys.stdin.read()',
          'u = os.environ["SECRET_UNICODE"]; k = os.environ["SECRET_API_KEY"]',
          "# Python's default json.dumps escapes non-ASCII as \\uXXXX; the last field escapes every character.",
          'every = "".join(chr(92) + "u%04X" % ord(c) for c in k)',
          'sys.stdout.write(\'{"unicode": \' + json.dumps(u) + \', "key": "\' + every + \'", "n": 1}\\n\')',
        ].join('\n'),
      },
      binary: {
        runner: 'python',
        file: 'binary.py',
        code: [
          'import json, sys',
          'mode = json.load(sys.stdin)["mode"]',
          'if mode == "byte": sys.stdout.write("before\\x00after\\n")',
          'if mode == "jsonnul": sys.stdout.write(\'{"a": "x\\\\u0000y", "k\\\\u0000": 1}\\n\')',
          'if mode == "surrogate": sys.stdout.write(\'{"a": "\\\\ud800"}\\n\')',
        ].join('\n'),
        extra: 'parameters:\n  mode:\n    type: string\n',
      },
      account: {
        runner: 'python',
        file: 'account.py',
        code: 'import json, os, sys\nsys.stdin.read()\nprint(json.dumps({"account": int(os.environ["SECRET_ACCT"]), "n": 7}))\n',
      },
      nul: {
        runner: 'shell',
        file: 'nul.sh',
        code: '#!/bin/sh\ncat >/dev/null\nif env | grep -q "^SECRET_WITH_NUL="; then echo "has nul var: yes"; else echo "has nul var: "; fi\n',
      },
    }),
  );
  await registerPack(
    db.prisma,
    writePack(root, 'otherpack', { env_py: { runner: 'python', file: 'env.py', code: ENV_PY } }),
  );

  const keys = keyService(db, key);
  const secrets: Array<[CreateKeyInput['owner'], string, CreateKeyInput['value']]> = [
    [{ type: 'system' }, 'api_key', CANARY.system],
    [{ type: 'system' }, 'system_only', 'sys-only-value'],
    [{ type: 'pack', pack: 'testpack' }, 'api-key', CANARY.pack],
    [{ type: 'pack', pack: 'testpack' }, 'quoted', CANARY.quoted],
    [{ type: 'pack', pack: 'testpack' }, 'db', { user: 'svc', password: CANARY.structured }],
    [{ type: 'pack', pack: 'testpack' }, 'tiny', 'abc'],
    [{ type: 'action', action: 'testpack.env_py' }, 'api_key', CANARY.action],
    [{ type: 'pack', pack: 'otherpack' }, 'api_key', CANARY.other],
    [{ type: 'action', action: 'testpack.big' }, 'big', BIG_SECRET],
    [{ type: 'action', action: 'testpack.escaped' }, 'unicode', UNICODE_SECRET],
    [{ type: 'action', action: 'testpack.account' }, 'acct', '98765432109876543210'],
  ];
  for (const [owner, name, value] of secrets)
    await keys.create(testActor, { owner, name, value, encrypted: true });
  // A value with a NUL, as a row written before the repository refused them would hold one.
  const nulAction = await db.prisma.action.findUniqueOrThrow({ where: { ref: 'testpack.nul' } });
  const ciphertext = key.encrypt('before\0after-nul-value', { context: 'testpack.nul.with_nul' });
  await db.prisma.key.create({
    data: {
      ref: 'testpack.nul.with_nul',
      ownerType: 'action',
      ownerAction: nulAction.id,
      name: 'with_nul',
      value: ciphertext,
      valueType: 'string',
      encrypted: true,
      encryptionKeyHash: key.keyHash,
    },
  });

  logLines = [];
  const destination = new Writable({
    write(chunk, _e, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ name: 'attune-worker', level: 'debug', destination });
  executor = (spawner, overrides = {}, createMasker = undefined) =>
    new ActionExecutor({
      executions: new ExecutionStore(db.sql),
      resolver: new SecretResolver({ sql: db.sql, encryptionKey: key, logger }),
      spawner,
      sandbox,
      logger,
      ...(createMasker ? { createMasker } : {}),
      config: {
        workerId: 'test-worker',
        outputCapBytes: 10 * 1024 * 1024,
        killGraceMs: 300,
        maskMinLength: 6,
        passthroughEnv: ['HTTP_PROXY'],
        ...overrides,
      },
      parentEnv: WORKER_ENV,
    });
});

afterAll(async () => {
  for (const s of spawners) await s.close();
  if (root) rmSync(root, { recursive: true, force: true });
  await sandbox?.scratch.close();
  await db?.drop();
});

async function run(
  spawner: ProcessSpawner,
  actionRef: string,
  params: object = {},
  overrides = {},
  createMasker?: (secrets: ReadonlyArray<{ ref: string; value: unknown }>, min: number) => SecretMasker,
) {
  const id = await requestExecution(db, actionRef, params);
  const outcome = await executor(spawner, overrides, createMasker).execute(id);
  if (!outcome) throw new Error('execution was not claimed');
  return outcome;
}

for (const [label, make] of [
  ['spawn helper', () => new HelperSpawner()],
  ['direct spawn', () => new DirectSpawner()],
] as const) {
  describe(`executor (${label})`, () => {
    const spawner = make();
    spawners.push(spawner);

    it('injects secrets into a Python action, the most specific level winning', async () => {
      const outcome = await run(spawner, 'testpack.env_py');
      expect(outcome.status).toBe('succeeded');
      const env = JSON.parse(
        // The action printed its env; the masked copy hides the values, so read which keys it had and where they came from.
        outcome.stdout,
      ) as Record<string, string>;
      expect(env.SECRET_API_KEY).toBe('***'); // the action-level value, masked in the stored output
      expect(outcome.secrets.find((s) => s.envName === 'SECRET_API_KEY')).toMatchObject({
        level: 'action',
        ref: 'testpack.env_py.api_key',
        overrides: ['system.api_key', 'testpack.api-key'],
      });
      expect(env.SECRET_SYSTEM_ONLY).toBe('***');
      expect(env.ATTUNE_ACTION).toBe('testpack.env_py');
      expect(env.ATTUNE_PACK).toBe('testpack');
      expect(env.ATTUNE_EXECUTION_ID).toBe(outcome.id);
      expect(outcome.warnings.map((w) => w.kind)).toContain('secret_missing');
    });

    it('gives a shell action the pack value where no action value exists', async () => {
      const outcome = await run(spawner, 'testpack.env_sh');
      expect(outcome.status).toBe('succeeded');
      expect(outcome.secrets.find((s) => s.envName === 'SECRET_API_KEY')).toMatchObject({
        level: 'pack',
        ref: 'testpack.api-key',
      });
      expect(outcome.stdout).toContain('SECRET_API_KEY=***');
      expect(outcome.stdout).toContain('ATTUNE_ACTION=testpack.env_sh');
    });

    it("hands the action none of the worker's own environment", async () => {
      // The shell's view: an interpreter wrapper (pyenv's python3 shim, say) may add variables of its own.
      const outcome = await run(spawner, 'testpack.env_sh');
      const names = outcome.stdout
        .split('\n')
        .map((line) => line.split('=')[0] as string)
        .filter((n) => n && !/^(SECRET_|ATTUNE_)/.test(n));
      // sh itself sets PWD, SHLVL and _; everything else must come from the allowlist (HOME and TMPDIR: the scratch).
      for (const name of names)
        expect(['PATH', 'HOME', 'TMPDIR', 'LANG', 'HTTP_PROXY', 'PWD', 'OLDPWD', 'SHLVL', '_']).toContain(
          name,
        );
      for (const name of [
        'DATABASE_URL',
        'ATTUNE__SECURITY__ENCRYPTION_KEY',
        'AMQP_URL',
        'WORKER_ONLY_SETTING',
      ]) {
        expect(names).not.toContain(name);
        expect(outcome.stdout).not.toContain(WORKER_ENV[name as keyof typeof WORKER_ENV]);
      }
      expect(names).toContain('HTTP_PROXY'); // operator passthrough
    });

    it('masks raw, JSON-escaped, base64, structured and split occurrences, and reports short values', async () => {
      const outcome = await run(spawner, 'testpack.leak', {});
      expect(outcome.status).toBe('succeeded');
      expect(outcome.stdout).toContain('raw ***\n');
      expect(outcome.stdout).toContain('b64 ***\n');
      expect(outcome.stdout).toContain('split ***\n');
      expect(outcome.stderr).toContain('leaf ***');
      expect(outcome.stdout).toContain('short abc'); // under the minimum: not masked …
      const notMasked = outcome.warnings.filter((w) => w.kind === 'secret_not_masked').map((w) => w.ref);
      expect(notMasked).toContain('testpack.tiny'); // … but reported
      // The quoted secret appears JSON-escaped in the action's JSON line; that form is masked too.
      expect(outcome.stdout).toContain('{"quoted": "***", "key": "***", "params": {}}');
      expect(outcome.result).toBeNull(); // stdout as a whole is not JSON
      for (const value of Object.values(CANARY)) {
        expect(outcome.stdout).not.toContain(value);
        expect(outcome.stderr).not.toContain(value);
      }
    });

    it('stores a JSON stdout as the result, masked', async () => {
      const outcome = await run(spawner, 'testpack.result');
      expect(outcome.result).toEqual({ token: '***', n: 1 });
      const row = await db.prisma.execution.findUniqueOrThrow({ where: { id: BigInt(outcome.id) } });
      expect(row.result).toEqual({ token: '***', n: 1 });
      expect(row).toMatchObject({ status: 'succeeded', exitCode: 0, workerId: 'test-worker' });
      expect(row.durationMs).toBeGreaterThanOrEqual(0);
      // The provenance of each secret it received, in the same statement as its outcome; never a value.
      const received = row.secrets as Array<{
        env_name: string;
        ref: string;
        level: string;
        version: number;
        overrides: string[];
      }>;
      expect(received.length).toBe(outcome.secrets.length);
      expect(received.length).toBeGreaterThan(0);
      for (const s of received) {
        expect(s).toEqual({
          env_name: expect.stringMatching(/^SECRET_/),
          ref: expect.any(String),
          level: expect.any(String),
          version: expect.any(Number),
          // Opened with the worker's master key, through a data key of the envelope.
          key_hash: key.keyHash,
          data_key: expect.stringMatching(/^[0-9]+\.[0-9]+$/),
          overrides: expect.any(Array),
        });
        expect(s.version).toBeGreaterThanOrEqual(1);
      }
      // The pack's api-key won over the system's api_key: recorded as overriding it.
      expect(received.find((s) => s.env_name === 'SECRET_API_KEY')).toMatchObject({
        ref: 'testpack.api-key',
        level: 'pack',
        overrides: ['system.api_key'],
      });
      for (const value of Object.values(CANARY)) expect(JSON.stringify(row.secrets)).not.toContain(value);
      expect(row.finishedAt).toBeInstanceOf(Date);
    });

    it('records a failing action as failed with its exit code and stderr', async () => {
      const outcome = await run(spawner, 'testpack.fail');
      expect(outcome).toMatchObject({ status: 'failed', exitCode: 3 });
      expect(outcome.stderr).toContain('bad things');
    });

    it('times out: SIGTERM, then SIGKILL after the grace period for an action that ignores it', async () => {
      const started = Date.now();
      const outcome = await run(spawner, 'testpack.stubborn');
      expect(outcome.status).toBe('timeout');
      expect(outcome.stdout).toContain('started');
      expect(outcome.stderr).toContain('timed out after 1 s');
      expect(Date.now() - started).toBeLessThan(8000);
      const graceful = await run(spawner, 'testpack.graceful');
      expect(graceful.status).toBe('timeout');
      expect(graceful.stdout).toContain('got TERM');
    });

    it('caps output with a notice, keeps memory bounded, and still masks at the cut', async () => {
      const outcome = await run(spawner, 'testpack.flood', {}, { outputCapBytes: 250_000 });
      expect(outcome.status).toBe('succeeded');
      expect(outcome.stdout.length).toBeLessThan(250_000 + 1000);
      expect(outcome.stdout).toMatch(
        /\[attune: output truncated: \d+ bytes written, the first 250000 kept\]/,
      );
      expect(outcome.warnings.some((w) => w.kind === 'output_truncated')).toBe(true);
      for (let len = 6; len <= CANARY.pack.length; len++)
        expect(outcome.stdout).not.toContain(CANARY.pack.slice(0, len));
      const row = await db.prisma.execution.findUniqueOrThrow({ where: { id: BigInt(outcome.id) } });
      expect(row.stdoutTruncated).toBe(true);
    });

    it('keeps executions apart: each sees only its own resolution, also when run at once', async () => {
      const refs = [
        'testpack.env_py',
        'otherpack.env_py',
        'testpack.sibling',
        'otherpack.env_py',
        'testpack.env_py',
        'testpack.sibling',
      ];
      const outcomes = await Promise.all(refs.map((ref) => run(spawner, ref)));
      for (const [i, outcome] of outcomes.entries()) {
        const source = outcome.secrets.find((s) => s.envName === 'SECRET_API_KEY');
        const expected = {
          'testpack.env_py': 'testpack.env_py.api_key',
          'otherpack.env_py': 'otherpack.api_key',
          'testpack.sibling': 'testpack.api-key',
        }[refs[i] as string];
        expect(source?.ref).toBe(expected);
        const env = JSON.parse(outcome.stdout) as Record<string, string>;
        expect(env.ATTUNE_ACTION).toBe(refs[i]);
        if (refs[i]?.startsWith('otherpack')) {
          expect(Object.keys(env)).not.toContain('SECRET_QUOTED'); // testpack's pack secrets never reach otherpack
        }
      }
    });

    it('runs each execution in a scratch folder of its own (0700, the action identity), removed whatever the end', async () => {
      for (const end of ['ok', 'fail', 'kill', 'hang']) {
        const before = new Set(readdirSync(sandbox.scratch.path));
        const outcome = await run(spawner, 'testpack.scratch', { end });
        expect(outcome.status).toBe(
          { ok: 'succeeded', fail: 'failed', kill: 'failed', hang: 'timeout' }[end],
        );
        const seen = JSON.parse(outcome.stdout.split('\n')[0] as string) as Record<string, string | number>;
        expect(seen.cwd_mode).toBe('0o700');
        expect(seen.tmp_mode).toBe('0o700');
        expect(seen.umask).toBe(spawner instanceof HelperSpawner ? '0o77' : seen.umask);
        // Owned by the identity the action runs as (its uid, as it sees itself).
        expect(seen.cwd_uid).toBe(seen.uid);
        expect(seen.tmp_uid).toBe(seen.uid);
        expect(seen.home).toBe(seen.cwd);
        expect(seen.tmpdir).toBe(seen.tmp);
        if (sandbox.mode === 'sandbox') expect([seen.cwd, seen.tmp]).toEqual(['/scratch', '/tmp']);
        else {
          expect(String(seen.cwd).startsWith(`${sandbox.scratch.path}/${outcome.id}-`)).toBe(true);
          expect(seen.uid).toBe(sandbox.identity.uid);
        }
        // Gone once the execution is recorded: the folder, the files in it, and nothing new beside it.
        expect(new Set(readdirSync(sandbox.scratch.path))).toEqual(before);
        if (sandbox.mode !== 'sandbox') expect(existsSync(String(seen.cwd))).toBe(false);
      }
    });

    it('masks a 64 KiB secret (the documented limit) and stores the output', async () => {
      const outcome = await run(spawner, 'testpack.big');
      expect(outcome.status).toBe('succeeded');
      expect(outcome.stdout).toBe('big ***\nagain ***\n');
      expect(outcome.warnings.filter((w) => w.kind === 'output_withheld')).toEqual([]);
    });

    it('masks the result as data: a secret printed with JSON escapes never reaches it in clear', async () => {
      const outcome = await run(spawner, 'testpack.escaped');
      expect(outcome.status).toBe('succeeded');
      expect(outcome.result).toEqual({ unicode: '***', key: '***', n: 1 });
      const row = await db.prisma.execution.findUniqueOrThrow({ where: { id: BigInt(outcome.id) } });
      expect(JSON.stringify(row.result)).not.toContain(CANARY.pack);
      expect(JSON.stringify(row.result)).not.toContain('ünïcödé');
      // The stored stdout is masked in its escaped forms too.
      const asAscii = JSON.stringify(UNICODE_SECRET).replace(
        /[\u007f-\uffff]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      );
      expect(outcome.stdout).not.toContain(asAscii.slice(1, -1));
      expect(outcome.stdout).not.toContain(CANARY.pack.slice(0, 8));
      expect(outcome.stdout).toContain('"n": 1');
    });

    it('withholds the output and fails the execution when masking fails, never storing it unmasked', async () => {
      class BrokenMasker extends SecretMasker {
        override mask(): string {
          throw new RangeError('masking broke');
        }
      }
      const outcome = await run(
        spawner,
        'testpack.result',
        {},
        {},
        (list, min) => new BrokenMasker(list, min),
      );
      expect(outcome.status).toBe('failed');
      expect(outcome.stdout).toBe('');
      expect(outcome.stderr).toContain('[attune: output withheld: it could not be masked (RangeError)]');
      expect(outcome.result).toBeNull();
      expect(outcome.warnings.map((w) => w.kind)).toContain('output_withheld');
      const row = await db.prisma.execution.findUniqueOrThrow({ where: { id: BigInt(outcome.id) } });
      expect(row.status).toBe('failed');
      expect(`${row.stdout}${row.stderr}${JSON.stringify(row.result)}`).not.toContain(CANARY.pack);
    });

    it('never hands a value with a NUL to the spawner: the secret is skipped with a warning, the action runs', async () => {
      const restartsBefore = spawner.health().restarts;
      const outcome = await run(spawner, 'testpack.nul');
      expect(outcome.status).toBe('succeeded');
      expect(outcome.stdout).toBe('has nul var: \n');
      const skipped = outcome.warnings.filter((w) => w.kind === 'secret_skipped');
      expect(skipped.map((w) => w.ref)).toEqual(['testpack.nul.with_nul']);
      expect(skipped[0]?.message).toMatch(
        /holds a NUL character or malformed text, which no environment variable can carry/,
      );
      expect(skipped[0]?.message).not.toContain('after-nul-value');
      expect(outcome.secrets.map((s) => s.envName)).not.toContain('SECRET_WITH_NUL');
      expect(spawner.health()).toEqual({ ok: true, restarts: restartsBefore });
    });

    it('runs an execution only once: a second claim is refused', async () => {
      const id = await requestExecution(db, 'testpack.result');
      const first = await executor(spawner).execute(id);
      expect(first?.status).toBe('succeeded');
      expect(await executor(spawner).execute(id)).toBeNull();
    });
  });
}

describe('executions during a rotation of their pack’s data key', () => {
  it('none loses a secret, and every value ends on the new data key', async () => {
    const spawner = new DirectSpawner();
    spawners.push(spawner);
    const pack = await db.prisma.pack.findUniqueOrThrow({ where: { ref: 'testpack' } });
    // More values, so that the rotation (in batches of 2) is still running while the executions run.
    const keys = keyService(db, key);
    for (let i = 0; i < 120; i++)
      await keys.create(testActor, {
        owner: { type: 'pack', pack: pack.id },
        name: `extra_${i}`,
        value: `extra-value-${i}`,
        encrypted: true,
      });
    let done = false;
    const rotation = reencrypt({
      sql: db.sql,
      cipher: new ValueCipher({ keyring: Keyring.of(key) }),
      selection: { ownerType: 'pack', ownerPack: pack.id, ownerAction: null },
      rotate: true,
      batchSize: 2,
    }).finally(() => {
      done = true;
    });
    const outcomes = [];
    do outcomes.push(await run(spawner, 'testpack.env_sh'));
    while (!done || outcomes.length < 3);
    const report = await rotation;
    expect(report.failed).toEqual([]);
    expect(report.reencrypted.keys).toBeGreaterThan(120);
    expect(outcomes.length).toBeGreaterThanOrEqual(3);
    for (const o of outcomes) {
      expect(o.status).toBe('succeeded');
      expect(o.warnings.filter((w) => w.kind === 'secret_skipped')).toEqual([]);
      expect(o.secrets.filter((s) => s.level === 'pack').length).toBeGreaterThan(120);
    }
    const [left] = await db.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM attune.key k JOIN attune.data_key d ON d.id = k.data_key_id
       WHERE k.owner_pack = $1 AND d.state <> 'active'`,
      [pack.id],
    );
    expect(left?.n).toBe(0);
  });
});

describe('canary', () => {
  it('leaves no secret plaintext in any database row or worker log line', async () => {
    const tables = ['pack', 'action', 'key', 'key_version', 'data_key', 'execution'];
    const dump: string[] = [];
    for (const table of tables) {
      const rows = await db.sql.query<{ row: unknown }>(
        `SELECT row_to_json(t) AS row FROM attune."${table}" t`,
      );
      dump.push(JSON.stringify(rows));
    }
    const everything = dump.join('\n');
    expect(everything).toContain('testpack'); // the dump is real
    expect(logLines.length).toBeGreaterThan(10);
    const logs = logLines.join('');
    expect(logs).toContain('execution finished');
    for (const value of [
      ...Object.values(CANARY),
      PASSWORD,
      'worker-db-password',
      BIG_SECRET.slice(0, 40),
      UNICODE_SECRET,
      'after-nul-value',
    ]) {
      expect(everything).not.toContain(value);
      expect(logs).not.toContain(value);
    }
  });
});
