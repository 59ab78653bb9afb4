import { spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isolatedBroker } from '@attune/broker/testing';
import { DEFAULT_AMQP_URL } from '@attune/config';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from './support/run-cli.js';

const EXAMPLES = fileURLToPath(new URL('../../../packs/examples', import.meta.url));
const broker = isolatedBroker('clitest', process.env.AMQP_URL || DEFAULT_AMQP_URL);
const KEY = 'cli-test-encryption-key-0123456789abcdef';
let db: TestDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    DATABASE_URL: db.url as string,
    ...broker.env,
    ATTUNE__SECURITY__ENCRYPTION_KEY: KEY,
    ATTUNE__AUDIT__HMAC_KEY: 'cli-test-audit-hmac-key-0123456789abcdef',
    ATTUNE__WORKER__HTTP_PORT: '-1',
    ATTUNE__WORKER__ID: 'cli-test-worker',
  };
});

afterAll(async () => {
  await broker.remove();
  await db?.drop();
});

/** Runs `attune …` with the test's environment plus `extraEnv` (undefined: the variable left out). */
function attune(
  args: string[],
  input: string | Buffer = '',
  extraEnv: Record<string, string | undefined> = {},
) {
  return runCli({ ...env, ...extraEnv }, args, input);
}

/** Every field name in a JSON value, at any depth. */
function fieldNames(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(fieldNames);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([name, v]) => [name, ...fieldNames(v)]);
}

describe('attune CLI', () => {
  it('explains itself', async () => {
    const help = await attune(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}key {2,}secrets: set, read, list, delete/m);
    expect(help.stdout).toContain('completion <shell>');
    const keyHelp = await attune(['key', '--help']);
    expect(keyHelp.stdout).toContain("printf '%s' 'sk_live_abc123' | attune key set --pack mypack api_key");
    // Each subcommand's help comes from the same definition as its parsing.
    const setHelp = await attune(['key', 'set', '--help']);
    expect(setHelp.code).toBe(0);
    expect(setHelp.stdout).toContain('Usage: attune key set [options] <name>');
    expect(setHelp.stdout).toMatch(/--cas <version> +write only if the key is at this version/);
    expect((await attune(['help', 'run'])).stdout).toContain('Usage: attune run [options] <action>');
    const unknown = await attune(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^attune: unknown command 'frobnicate'/);
    // Names an object has by inheritance are no commands either.
    for (const name of ['toString', 'constructor', 'main']) expect((await attune([name])).code).toBe(2);
    // An option the command does not take is refused before anything runs: a typo never changes what happens.
    const typo = await attune(['run', 'examples.check', '--wiat']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^attune: unknown option '--wiat'\n\(Did you mean --wait\?\)/);
    // Arguments are counted; a command with subcommands wants one.
    const missing = await attune(['key', 'get']);
    expect([missing.code, missing.stderr.split('\n')[0]]).toEqual([
      2,
      "attune: missing required argument 'ref'",
    ]);
    expect((await attune(['key', 'get', 'a.b', 'c.d'])).code).toBe(2);
    expect((await attune(['key'])).code).toBe(2);
    expect((await attune(['key', 'frobnicate'])).stderr).toMatch(/^attune: unknown command 'frobnicate'/);
  });

  it('migrates and registers a pack, reporting changes', async () => {
    // The test database comes migrated: nothing to apply. Says where (the credentials never shown).
    const migrated = await attune(['db', 'migrate']);
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(
      /^PostgreSQL 127\.0\.0\.1:5432\/\S+: up to date \(\d+ migrations applied before\)\n$/,
    );
    const first = await attune(['pack', 'register', EXAMPLES, '--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).actions.created.sort()).toEqual(['examples.check', 'examples.report']);
    const again = await attune(['pack', 'register', EXAMPLES]);
    expect(again.stdout).toContain('pack examples: unchanged');
    const bad = await attune(['pack', 'register', '/no/such/pack']);
    expect(bad.code).toBe(2); // invalid input
    expect(bad.stderr).toContain('no such folder');
  });

  it('sets, reads, lists and deletes keys, with values only on stdin', async () => {
    const set = await attune(['key', 'set', '--pack', 'examples', 'api_key', '--json'], 'sk_live_abc123\n');
    expect(set.code).toBe(0);
    const created = JSON.parse(set.stdout);
    expect(created).toMatchObject({
      ref: 'examples.api_key',
      encrypted: true,
      value: null,
      env_name: 'SECRET_API_KEY',
      version: 1,
    });
    expect(set.stdout + set.stderr).not.toContain('sk_live_abc123');
    const get = await attune(['key', 'get', 'examples.api_key', '--decrypt', '--json']);
    expect(JSON.parse(get.stdout).value).toBe('sk_live_abc123');
    const hidden = await attune(['key', 'get', 'examples.api_key']);
    expect(hidden.stdout).not.toContain('sk_live_abc123');
    await attune(['key', 'set', '--system', 'settings', '--value-json', '--plain'], '{"retries":3}');
    const list = await attune(['key', 'list', '--json']);
    expect(
      JSON.parse(list.stdout)
        .data.map((k: { ref: string }) => k.ref)
        .sort(),
    ).toEqual(['examples.api_key', 'system.settings']);
    const table = await attune(['key', 'list', '--owner-type', 'system']);
    expect(table.stdout).toMatch(/REF\s+ENV VAR\s+OWNER\s+ENCRYPTED\s+UPDATED/);
    expect(table.stdout).toContain('SECRET_SETTINGS');
    // replacing a value
    await attune(['key', 'set', '--pack', 'examples', 'api_key'], 'sk_live_rotated');
    expect(
      JSON.parse((await attune(['key', 'get', 'examples.api_key', '--decrypt', '--json'])).stdout).value,
    ).toBe('sk_live_rotated');
    // Versions: listed without values, rolled back without showing one, check-and-set by version.
    const versions = await attune(['key', 'versions', 'examples.api_key']);
    expect(versions.stdout).toMatch(/VERSION\s+CREATED\s+BY\s+ORIGIN/);
    expect(versions.stdout).toMatch(/2 \*\s/);
    expect(versions.stdout).not.toContain('sk_live');
    const stale = await attune(['key', 'set', '--pack', 'examples', 'api_key', '--cas', '1'], 'sk_live_lost');
    expect(stale.code).toBe(4);
    expect(stale.stderr).toContain('is at version 2, not 1');
    const rolled = await attune(['key', 'rollback', 'examples.api_key', '--to', '1']);
    expect(rolled.code).toBe(0);
    expect(rolled.stdout).toContain('as version 3');
    expect(rolled.stdout).not.toContain('sk_live');
    expect(
      JSON.parse((await attune(['key', 'get', 'examples.api_key', '--decrypt', '--json'])).stdout).value,
    ).toBe('sk_live_abc123');
    expect(
      (await attune(['key', 'get', 'examples.api_key', '--version', '2', '--decrypt'])).stdout,
    ).toContain('sk_live_rotated');
    expect((await attune(['key', 'destroy', 'examples.api_key', '--versions', '2'])).stdout).toContain(
      'destroyed version(s) 2',
    );
    expect((await attune(['key', 'rollback', 'examples.api_key', '--to', '2'])).code).toBe(4);
    // Deleting is soft (undelete brings it back) unless purged.
    expect((await attune(['key', 'delete', 'system.settings'])).code).toBe(0);
    expect((await attune(['key', 'get', 'system.settings'])).stdout).toContain('deleted');
    expect((await attune(['key', 'undelete', 'system.settings'])).code).toBe(0);
    expect((await attune(['key', 'delete', 'system.settings', '--purge'])).code).toBe(0);
    expect((await attune(['key', 'get', 'system.settings'])).code).toBe(3);
    // The keyring: what each master key protects, and a rotation of one owner's data key.
    const status = await attune(['keyring', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/MASTER KEY\s+ID\s+ACTIVE/);
    const rotated = await attune(['keyring', 'rotate-data-key', '--pack', 'examples', '--json']);
    expect(rotated.code).toBe(0);
    expect(JSON.parse(rotated.stdout)).toMatchObject({ rotation: { resumed: false }, failed: [] });
    // One JSON convention, the API's: snake_case field names in every command's --json output.
    for (const args of [
      ['keyring', 'status'],
      ['keyring', 'rotate-data-key', '--pack', 'examples'],
      ['pack', 'register', EXAMPLES],
      ['key', 'list'],
      ['key', 'versions', 'examples.api_key'],
      ['audit', 'list', '--limit', '5'],
      ['audit', 'verify'],
      ['db', 'migrate'],
    ]) {
      const shown = await attune([...args, '--json']);
      expect(shown.code, shown.stderr).toBe(0);
      const names = fieldNames(JSON.parse(shown.stdout));
      expect(names.length, args.join(' ')).toBeGreaterThan(2);
      expect(
        names.filter((n) => /[A-Z]/.test(n)),
        args.join(' '),
      ).toEqual([]);
    }
    expect(
      JSON.parse((await attune(['key', 'get', 'examples.api_key', '--decrypt', '--json'])).stdout).value,
    ).toBe('sk_live_abc123');
    expect((await attune(['keyring', 'destroy-data-key', '1'])).stderr).toContain('add --yes');
  });

  it('says so when it creates an embedded database, in the folder it runs in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attune-cli-embedded-'));
    try {
      const { DATABASE_URL: _unset, ...noDatabase } = env;
      const inDir = () => runCli(noDatabase, ['db', 'migrate'], '', dir);
      const first = await inDir();
      expect(first.code, first.stderr).toBe(0);
      const where = join(realpathSync(dir), '.attune', 'pglite');
      expect(first.stderr).toContain(
        `attune: created the embedded database at ${where} (DATABASE_URL is not set`,
      );
      expect(first.stdout).toContain(`the embedded database at ${where}: applied`);
      const second = await inDir();
      expect(second.stderr).not.toContain('created');
      expect(second.stdout).toContain(`the embedded database at ${where}: up to date`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses exit codes that mean something, and never takes a value from argv', async () => {
    const argv = await attune(['key', 'set', '--system', 'token', 'sk_in_argv']);
    expect(argv.code).toBe(2);
    expect(argv.stderr).toContain('never argv');
    const collision = await attune(
      ['key', 'set', '--pack', 'examples', 'api-key', '--ref', 'examples.other'],
      'v',
    );
    expect(collision.code).toBe(4);
    expect(collision.stderr).toContain('maps to the same env var SECRET_API_KEY');
    // An empty key variable is a configuration error that names the variable; no key at all, a refusal that says
    // where to configure one.
    const emptyKey = await attune(['key', 'set', '--system', 'needs_key'], 'v', {
      ATTUNE__SECURITY__ENCRYPTION_KEY: '',
    });
    expect(emptyKey.code).toBe(2);
    expect(emptyKey.stderr).toContain('(in environment variable ATTUNE__SECURITY__ENCRYPTION_KEY)');
    const noKey = await attune(['key', 'set', '--system', 'needs_key'], 'v', {
      ATTUNE__SECURITY__ENCRYPTION_KEY: undefined,
    });
    expect(noKey.code).toBe(5); // refused: encryption needed, no key
    expect(noKey.stderr).toContain('--config FILE or ATTUNE_CONFIG');
    // Unknown owners and actions are "not found", as docs/cli.md says.
    const noPack = await attune(['key', 'set', '--pack', 'no_such_pack', 'k'], 'v');
    expect([noPack.code, noPack.stderr]).toEqual([3, expect.stringContaining('no_such_pack')]);
    const noAction = await attune(['key', 'set', '--action', 'examples.no_such_action', 'k'], 'v');
    expect(noAction.code).toBe(3);
    const noRun = await attune(['run', 'examples.no_such_action']);
    expect(noRun.code).toBe(3);
    // Every error says whose it is.
    for (const failed of [argv, collision, emptyKey, noKey, noPack, noAction, noRun])
      expect(failed.stderr, failed.stderr).toMatch(/^attune: /);
    const empty = await attune(['key', 'set', '--system', 'empty_value'], '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('stdin was empty');
    // Bytes that are not UTF-8 would be stored as U+FFFD, a different secret than the one piped: refused.
    const latin1 = await attune(['key', 'set', '--system', 'latin1'], Buffer.from([0x70, 0xe4, 0x73, 0x73]));
    expect(latin1.code).toBe(2);
    expect(latin1.stderr).toContain('not UTF-8 text');
    const huge = await attune(['key', 'set', '--system', 'huge'], 'h'.repeat(70_000));
    expect(huge.code).toBe(2);
    expect(huge.stderr).toContain('over 65536 bytes');
    expect(huge.stderr).not.toContain('hhhh');
    expect((await attune(['key', 'get', 'system.latin1'])).code).toBe(3);
    expect((await attune(['key', 'get', 'system.huge'])).code).toBe(3);
    const badName = await attune(['key', 'set', '--system', 'bad name'], 'v');
    expect(badName.code).toBe(2); // invalid input
    expect(badName.stderr).toContain('contains a space');
    const badConfig = await attune(['key', 'list'], '', { ATTUNE__WORKER__CONCURRENCY: 'many' });
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toContain('Configuration worker.concurrency');
  });

  it('creates, lists and revokes API tokens, showing each token once', async () => {
    const created = await attune(['token', 'create', 'ci', '--scopes', 'keys:read,executions:run', '--json']);
    expect(created.code).toBe(0);
    const { token } = JSON.parse(created.stdout);
    expect(token).toMatch(/^attune_[A-Za-z0-9_-]{43}$/);
    const list = await attune(['token', 'list']);
    expect(list.stdout).toContain('ci');
    expect(list.stdout).not.toContain(token);
    const rows = await db.sql.query<Record<string, unknown>>('SELECT * FROM attune.api_token');
    expect(JSON.stringify(rows)).not.toContain(token);
    expect((await attune(['token', 'create', 'ci', '--scopes', 'admin'])).code).toBe(4);
    expect((await attune(['token', 'create', 'x', '--scopes', 'root'])).stderr).toContain('unknown: root');
    expect((await attune(['token', 'revoke', 'ci'])).code).toBe(0);
    expect((await attune(['token', 'revoke', 'ci'])).code).toBe(3);
  });

  it('runs an action through a worker and waits for it', async () => {
    const worker = spawn(process.execPath, [BIN, 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    worker.stdout.on('data', (c: Buffer) => {
      log += c.toString();
    });
    try {
      for (let i = 0; i < 100 && !log.includes('consuming executions'); i++)
        await new Promise((r) => setTimeout(r, 100));
      const run = await attune([
        'run',
        'examples.check',
        '--params',
        '{"host":"db1"}',
        '--wait',
        '--timeout',
        '60',
        '--json',
      ]);
      expect(run.code).toBe(0);
      const outcome = JSON.parse(run.stdout);
      expect(outcome).toMatchObject({
        status: 'succeeded',
        action_ref: 'examples.check',
        worker_id: 'cli-test-worker',
      });
      expect(outcome.stdout).toContain('parameters: {"host":"db1"}');
      expect(outcome.stdout).not.toContain('sk_live_rotated');
      // Without --json: text, with each secret's provenance (ref, level, version, key), never a value.
      const text = await attune(['run', 'examples.check', '--params', '{"host":"db2"}', '--wait']);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/━━ execution \d+: examples\.check → succeeded/);
      expect(text.stdout).toMatch(/SECRET_API_KEY +from pack +examples\.api_key \(v\d+, key [0-9a-f]{12}\)/);
      expect(text.stdout).toContain('parameters: {"host":"db2"}');
      expect(text.stdout).not.toContain('sk_live_rotated');
      expect(() => JSON.parse(text.stdout)).toThrow();
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
    }
  });
  it('answers who did what, who used which version, and whether the log is intact', async () => {
    const listed = await attune(['audit', 'list', '--ref', 'examples.api_key']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/ID\s+AT\s+ACTOR\s+SOURCE\s+ACTION\s+REF\s+VERSION\s+OUTCOME/);
    for (const action of [
      'key.created',
      'key.updated',
      'key.rolled_back',
      'key.decrypted',
      'key.versions_destroyed',
    ])
      expect(listed.stdout).toContain(action);
    expect(listed.stdout).toMatch(/cli:\S+@\S+/);
    const page = JSON.parse(
      (await attune(['audit', 'list', '--action', 'key.decrypted', '--limit', '2', '--json'])).stdout,
    );
    expect(page.data).toHaveLength(2);
    expect(page.next).toEqual(expect.any(String));
    // A leaked string: was it ever a stored value, and when? Read from stdin, matched by its keyed HMAC.
    const hashed = await attune(['audit', 'hash', '--json'], 'sk_live_rotated');
    expect(hashed.code).toBe(0);
    expect(
      JSON.parse(hashed.stdout).data.map((e: { action: string; version: number }) => [e.action, e.version]),
    ).toEqual([['key.updated', 2]]);
    expect((await attune(['audit', 'hash'], 'never-a-value')).stdout).toContain('no stored value matches');
    // Usage, from the provenance of the two runs of the previous test (version 3 of examples.api_key).
    const usage = await attune(['key', 'usage', 'examples.api_key']);
    expect(usage.code).toBe(0);
    expect(usage.stdout).toMatch(
      /examples\.api_key: last used \S+ by execution \d+ \(examples\.check, version 3\)/,
    );
    expect(usage.stdout).toMatch(/examples\.check\s+3\s+2\s/);
    const received = JSON.parse(
      (await attune(['key', 'executions', 'examples.api_key', '--version', '3', '--json'])).stdout,
    );
    expect(
      received.data.map((e: { action_ref: string; status: string }) => [e.action_ref, e.status]),
    ).toEqual([
      ['examples.check', 'succeeded'],
      ['examples.check', 'succeeded'],
    ]);
    expect(
      (await attune(['key', 'executions', 'examples.api_key', '--version', '2', '--json'])).stdout,
    ).toContain('"data":[]');
    expect((await attune(['key', 'unused', '--days', '1'])).stdout).toContain(
      '0 key(s) no execution received',
    );
    expect((await attune(['key', 'unused'])).code).toBe(2);
    // Intact, then tampered with by someone with the database's superuser: verify says where.
    const intact = await attune(['audit', 'verify']);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/audit log intact: \d+ event\(s\) verified/);
    await db.sql.withSession((session) =>
      session.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        await tx.query(
          `UPDATE attune.audit_event SET actor_name = 'someone-else' WHERE action = 'key.decrypted'`,
        );
      }),
    );
    const broken = await attune(['audit', 'verify']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/the chain breaks at event \d+ \(changed\)/);
    for (const out of [listed, hashed, usage, intact, broken])
      expect(out.stdout + out.stderr).not.toContain('sk_live');
  });
});
