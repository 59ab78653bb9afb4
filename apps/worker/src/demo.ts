/**
 * `pnpm demo`, the main job: on the embedded database (or DATABASE_URL), apply the migrations, register the example
 * pack, store encrypted secrets at system, pack and action level (with overrides), run the Python and the shell
 * action, and print which secret came from where, the masked output and the warnings.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadWorkerConfig, processEnvironment } from '@attune/config';
import { createLogger, SYSTEM_ACTOR } from '@attune/core';
import { generatePassword } from '@attune/crypto';
import { migrate, openDatabase, type SqlExecutor } from '@attune/db';
import { ExecutionService, ExecutionStore, formatExecution } from '@attune/executions';
import { PackService, PackStore } from '@attune/registry';
import {
  createSecretsServices,
  DataKeyStore,
  type KeyOwner,
  Keyring,
  type SecretValue,
} from '@attune/secrets';
import { pino } from 'pino';
import { DEMO_EMBEDDED_DIR, DemoClaim, demoDatabase } from './demo-database.js';
import { createExecutor } from './execution/create-executor.js';
import { type ExecutionOutcome, toSecretReceived } from './execution/types.js';

const out = (...lines: string[]) => process.stdout.write(`${(lines.length ? lines : ['']).join('\n')}\n`);
const PACK_DIR = fileURLToPath(new URL('../../../packs/examples', import.meta.url));

const DEMO_SECRETS: Array<{ owner: KeyOwner; name: string; value: string | object; label: string }> = [
  { owner: { type: 'system' }, name: 'api_key', value: 'sk_test_system_default_0001', label: 'system' },
  { owner: { type: 'system' }, name: 'region', value: 'eu', label: 'system' },
  {
    owner: { type: 'pack', pack: 'examples' },
    name: 'api_key',
    value: 'sk_live_abc123',
    label: 'pack examples',
  },
  {
    owner: { type: 'pack', pack: 'examples' },
    name: 'db-password',
    value: 'correct-horse-battery-staple',
    label: 'pack examples',
  },
  {
    owner: { type: 'action', action: 'examples.report' },
    name: 'db-password',
    value: 'report-only-password-42',
    label: 'action examples.report',
  },
];

async function main(): Promise<void> {
  const env = processEnvironment();
  const config = loadWorkerConfig({ env });
  let password = config.encryptionKey;
  if (!password) {
    password = generatePassword();
    out(
      'No ATTUNE__SECURITY__ENCRYPTION_KEY set: using a throw-away key for this run (demo secrets are rewritten).',
    );
  }
  const keyring = Keyring.fromConfig([{ id: 'demo', password }], 'demo');
  mkdirSync('.attune', { recursive: true });
  const logFile = resolve('.attune/demo-worker.log');
  const logger = createLogger({
    name: 'attune-worker',
    level: config.logLevel,
    destination: pino.destination({ dest: logFile, sync: true }),
  });

  const database = demoDatabase(config.database);
  const db = await openDatabase(database);
  let worker: Awaited<ReturnType<typeof createExecutor>>;
  let claim: DemoClaim;
  try {
    claim = await DemoClaim.check(db);
    worker = await createExecutor({ config, db, keyring, logger, parentEnv: env });
  } catch (error) {
    await db.close();
    throw error;
  }
  const { executor, sandbox } = worker;
  let staged: string | undefined;
  try {
    const where =
      database.kind === 'postgres'
        ? 'PostgreSQL (DATABASE_URL)'
        : `embedded PGlite at ./${DEMO_EMBEDDED_DIR} (the demo's own)`;
    out(`Database: ${where}`);
    out(`Isolation: ${sandbox.description}`);
    if (sandbox.mode === 'none')
      out(
        '  WARNING: actions are not confined (development only); scripts/install-sandbox.sh installs the sandbox.',
      );
    const migrations = await migrate(db.sql, { logger });
    await claim.claim();
    out(
      `Migrations: ${migrations.applied.length} applied, ${migrations.alreadyApplied.length} already applied`,
    );

    // Actions run as another user here: a clone in a private folder (under /root, say) is out of its reach.
    let packDir = PACK_DIR;
    const problem = sandbox.accessProblem(join(PACK_DIR, 'actions', 'check.sh'));
    if (problem) {
      packDir = mkdtempSync(join(tmpdir(), 'attune-demo-pack-'));
      cpSync(PACK_DIR, packDir, { recursive: true });
      chmodSync(packDir, 0o755);
      staged = packDir;
      out(
        `Pack folder: a copy at ${packDir}, since the action identity cannot read ${PACK_DIR} (${problem})`,
      );
    }
    const packs = new PackStore(db.prisma);
    const report = await new PackService({ store: packs, logger }).register(SYSTEM_ACTOR, packDir);
    const a = report.actions;
    out(
      `Pack ${report.pack.ref}: ${report.pack.change}; actions created [${a.created.join(', ')}], updated [${a.updated.join(', ')}], ` +
        `unchanged [${a.unchanged.join(', ')}], removed [${a.removed.join(', ')}]`,
    );

    const secrets = createSecretsServices({
      prisma: db.prisma,
      sql: db.sql,
      owners: packs,
      security: { keyring: [{ id: 'demo', password }], activeKeyId: 'demo' },
      logger,
    });
    const { keys } = secrets;
    // A throw-away key of an earlier run wraps the demo's data keys: they are the demo's own, and shredded.
    for (const stale of await staleDataKeys(db.sql, secrets.keyring))
      await secrets.keyrings.destroyDataKey(SYSTEM_ACTOR, stale);
    const executions = new ExecutionService({
      executions: new ExecutionStore(db.sql),
      actions: packs,
      logger,
    });
    out('', 'Secrets stored (encrypted with AES-256-GCM, bound to their ref):');
    for (const s of DEMO_SECRETS) {
      const { key: record } = await keys.set(SYSTEM_ACTOR, {
        owner: s.owner,
        name: s.name,
        value: s.value as SecretValue,
        encrypted: true,
      });
      await claim.recordKey(record.ref);
      out(`  ${record.ref.padEnd(32)} ${record.envName.padEnd(20)} ${s.label}`);
    }

    for (const [actionRef, params] of [
      ['examples.report', { target: 'billing' }],
      ['examples.check', {}],
    ] as const) {
      // The demo runs each execution itself, in this process: created, not published to a broker.
      const id = await executions.create(SYSTEM_ACTOR, actionRef, params);
      await claim.recordExecution(id);
      const outcome = await executor.execute(id);
      if (outcome) printOutcome(outcome);
    }
    out('', `Worker log (JSON lines, no secret values): ${logFile}`);
    out(
      `Every secret value above was stored only as ciphertext; stdout, stderr and results are stored masked.`,
    );
  } finally {
    await worker.close();
    await db.close();
    if (staged) rmSync(staged, { recursive: true, force: true });
  }
}

function printOutcome(o: ExecutionOutcome): void {
  out(
    '',
    ...formatExecution({
      id: o.id,
      action_ref: o.actionRef,
      status: o.status,
      exit_code: o.exitCode,
      signal: o.signal,
      duration_ms: o.durationMs,
      secrets: o.secrets.map(toSecretReceived),
      stdout: o.stdout,
      stderr: o.stderr,
      result: o.result,
      warnings: o.warnings,
    }),
  );
}

/** Runs the demo; returns the exit code (0 done, 1 failed with the reason on stderr). */
export async function runDemo(): Promise<number> {
  try {
    await main();
    return 0;
  } catch (error) {
    const e = error as { message?: string; code?: string };
    process.stderr.write(`demo failed: ${e?.message ?? String(error)}${e?.code ? ` [${e.code}]` : ''}\n`);
    return 1;
  }
}

/** Data keys wrapped by a master key that is not the demo's (a throw-away key of an earlier run). */
async function staleDataKeys(sql: SqlExecutor, keyring: Keyring): Promise<number[]> {
  const active = keyring.active?.key.keyHash as string;
  const rows = await new DataKeyStore().notWrappedBy(active, 0, 10_000, sql);
  return rows.filter((r) => !keyring.byHash(r.master_key_hash as string)).map((r) => r.id);
}
