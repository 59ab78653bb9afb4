import { readFileSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DatabaseConfig, databaseConfigFromEnv } from '@attune/db';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** Env vars an action always gets from the worker's environment, when set (LC_* too). */
export const BASE_CHILD_ENV = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'] as const;

/**
 * Never passed to an action, whatever `worker.passthrough_env` says: the worker's own credentials and settings.
 * `SECRET_*` and `ATTUNE_*` are reserved for what the worker injects.
 */
const FORBIDDEN_PASSTHROUGH = /^(ATTUNE_|SECRET_|DATABASE_URL$|AMQP_URL$|PG[A-Z]*$)/;

/** A configuration problem: names the key and what is wrong, never echoes a value. */
export class ConfigError extends Error {
  readonly code = 'ATTUNE_CONFIG';
  /** The config key at fault, e.g. `worker.output_cap_bytes`. */
  readonly key: string;

  constructor(key: string, problem: string) {
    super(`Configuration ${key}: ${problem}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}

/** `worker.isolation`: how actions are confined (docs/worker.md#security-model). `auto` picks the strongest available. */
export const ISOLATION_SETTINGS = ['auto', 'sandbox', 'user', 'none'] as const;

/** A list in YAML, or comma-separated in an environment variable. */
const listSetting = z
  .union([
    z.array(z.string()),
    z.string().transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  ])
  .default([]);

const schema = z
  .object({
    security: z
      .object({
        encryption_key: z.string().min(1).optional(),
        encryption_key_file: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    database: z
      .object({
        url: z.string().optional(),
        embedded_dir: z.string().optional(),
        pool_size: z.coerce.number().int().min(1).max(200).optional(),
      })
      .strict()
      .default({}),
    worker: z
      .object({
        id: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1–64 characters of A–Z a–z 0–9 _ . -')
          .optional(),
        output_cap_bytes: z.coerce
          .number()
          .int()
          .min(1024)
          .max(1024 ** 3)
          .default(10 * 1024 * 1024),
        kill_grace_ms: z.coerce.number().int().min(0).max(600_000).default(10_000),
        mask_min_length: z.coerce.number().int().min(1).max(64).default(6),
        passthrough_env: listSetting,
        spawner: z.enum(['helper', 'direct']).default('helper'),
        isolation: z
          .enum(ISOLATION_SETTINGS, { error: `must be one of ${ISOLATION_SETTINGS.join(', ')}` })
          .default('auto'),
        run_as: z
          .string()
          .regex(/^([a-z_][a-z0-9_.-]{0,31}|\d{1,10}(:\d{1,10})?)$/, 'must be a user name, a uid, or uid:gid')
          .optional(),
        scratch_dir: z.string().min(1).optional(),
        sandbox_ro_paths: listSetting,
        concurrency: z.coerce.number().int().min(1).max(256).default(4),
        heartbeat_interval_ms: z.coerce.number().int().min(100).max(600_000).default(5_000),
        stale_after_ms: z.coerce.number().int().min(500).max(3_600_000).default(30_000),
        shutdown_grace_ms: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
        http_host: z.string().default('127.0.0.1'),
        http_port: z.coerce.number().int().min(-1).max(65_535).default(8081),
      })
      .strict()
      .prefault({}),
    api: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.coerce.number().int().min(0).max(65_535).default(8080),
        max_body_bytes: z.coerce
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(256 * 1024),
        rate_limit_per_minute: z.coerce.number().int().min(1).max(1_000_000).default(600),
        auth_failure_limit: z.coerce.number().int().min(1).max(100_000).default(20),
        trusted_proxies: listSetting,
      })
      .strict()
      .prefault({}),
    broker: z
      .object({
        url: z.string().optional(),
        exchange: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]{1,200}$/)
          .default('attune.executions'),
        queue: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]{1,200}$/)
          .default('attune.executions.shared'),
        dead_letter_queue: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]{1,200}$/)
          .default('attune.executions.dead'),
        reconnect_max_ms: z.coerce.number().int().min(100).max(600_000).default(10_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** Attune's validated configuration (worker, API and CLI share it). */
export interface WorkerConfig {
  /**
   * The seed's `security.encryption_key`, or the content of `security.encryption_key_file`; undefined when neither
   * is configured (encrypted secrets are then skipped).
   */
  readonly encryptionKey: string | undefined;
  /** Where the encryption key came from (for the start-up log line; never the key). */
  readonly encryptionKeySource: 'file' | 'config' | undefined;
  readonly database: DatabaseConfig;
  readonly workerId: string;
  readonly outputCapBytes: number;
  readonly killGraceMs: number;
  readonly maskMinLength: number;
  readonly passthroughEnv: readonly string[];
  readonly spawner: 'helper' | 'direct';
  /** How actions are confined (docs/worker.md#security-model). */
  readonly isolation: IsolationConfig;
  /** Executions run at once; also the broker prefetch. */
  readonly concurrency: number;
  readonly heartbeatIntervalMs: number;
  /** A worker whose heartbeat is older than this is dead; its running executions become `abandoned`. */
  readonly staleAfterMs: number;
  /** On SIGTERM/SIGINT, how long in-flight executions may take before they are stopped. */
  readonly shutdownGraceMs: number;
  /** Health endpoints; port -1 disables them, 0 picks a free port. */
  readonly http: { readonly host: string; readonly port: number };
  readonly broker: {
    /** amqp:// URL (may hold a password: never logged). */
    readonly url: string;
    readonly exchange: string;
    readonly queue: string;
    readonly deadLetterQueue: string;
    readonly reconnectMaxMs: number;
  };
  /** The HTTP API (`attune api`). */
  readonly api: {
    readonly host: string;
    readonly port: number;
    readonly maxBodyBytes: number;
    /** Requests per valid token per minute. */
    readonly rateLimitPerMinute: number;
    /** Requests without a valid token per client address per minute. */
    readonly authFailureLimit: number;
    /** Proxies (addresses or CIDRs) whose X-Forwarded-For names the client. */
    readonly trustedProxies: readonly string[];
  };
}

/** The `worker.isolation`, `worker.run_as`, `worker.scratch_dir` and `worker.sandbox_ro_paths` settings. */
export interface IsolationConfig {
  /** `auto` (the default) picks the strongest mode this machine supports; any other value is required. */
  readonly mode: (typeof ISOLATION_SETTINGS)[number];
  /** The identity actions run as: a user name, a uid, or uid:gid; undefined picks the default. */
  readonly runAs: string | undefined;
  /** Where per-execution scratch folders are made (absolute; default /var/lib/attune/scratch for root). */
  readonly scratchDir: string;
  /** Extra host folders bound read-only into the sandbox at the same path (absolute). */
  readonly sandboxReadOnlyPaths: readonly string[];
}

/** The broker when none is configured: RabbitMQ on loopback with its default account. */
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/**
 * Reads the configuration: the YAML file (if any), then `ATTUNE__SECTION__KEY` env overrides (the seed's
 * convention, e.g. `ATTUNE__SECURITY__ENCRYPTION_KEY`), plus `DATABASE_URL`. Validated in one place.
 * @throws {ConfigError} naming the key and the problem.
 */
export function loadWorkerConfig(options: {
  env: Readonly<Record<string, string | undefined>>;
  file?: string | undefined;
}): WorkerConfig {
  const { env } = options;
  let fromFile: Record<string, unknown> = {};
  const file = options.file ?? env.ATTUNE_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new ConfigError('file', `cannot read ${file}`);
    }
    try {
      fromFile = (parseYaml(text) as Record<string, unknown> | null) ?? {};
    } catch (error) {
      throw new ConfigError('file', `${file} is not valid YAML (${(error as Error).message.split('\n')[0]})`);
    }
    if (typeof fromFile !== 'object' || Array.isArray(fromFile))
      throw new ConfigError('file', `${file} must hold a mapping`);
  }
  const held = file ? credentialsIn(fromFile) : undefined;
  if (file && held) assertPrivate(file, held, 'holds credentials');
  const merged = structuredClone(fromFile) as Record<string, Record<string, unknown>>;
  for (const [name, value] of Object.entries(env)) {
    const match = /^ATTUNE__([A-Z0-9_]+)__([A-Z0-9_]+)$/.exec(name);
    if (!match || value === undefined) continue;
    const section = (match[1] as string).toLowerCase();
    const key = (match[2] as string).toLowerCase();
    merged[section] = { ...(merged[section] ?? {}), [key]: value };
  }
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.join('.') || 'config';
    const problem =
      issue?.code === 'unrecognized_keys'
        ? `unknown key(s) ${issue.keys.join(', ')}`
        : (issue?.message ?? 'is invalid').replace(/received .*/, 'got another value');
    throw new ConfigError(key, problem);
  }
  const c = parsed.data;
  for (const name of c.worker.passthrough_env) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new ConfigError('worker.passthrough_env', `'${name}' is not an env var name`);
    if (FORBIDDEN_PASSTHROUGH.test(name)) {
      throw new ConfigError(
        'worker.passthrough_env',
        `${name} is the worker's own or reserved and is never passed to actions`,
      );
    }
  }
  if (c.security.encryption_key !== undefined && c.security.encryption_key_file !== undefined) {
    throw new ConfigError(
      'security',
      'set either encryption_key or encryption_key_file, not both (encryption_key_file is recommended)',
    );
  }
  const encryptionKey =
    c.security.encryption_key_file !== undefined
      ? readKeyFile(c.security.encryption_key_file)
      : c.security.encryption_key;
  const keyOrigin = c.security.encryption_key_file !== undefined ? 'encryption_key_file' : 'encryption_key';
  if (encryptionKey !== undefined && [...encryptionKey].length < 32) {
    throw new ConfigError(
      `security.${keyOrigin}`,
      `is ${[...encryptionKey].length} characters long; at least 32 are required (generate one with attune-crypto keygen)`,
    );
  }
  for (const [key, path] of [
    ['worker.scratch_dir', c.worker.scratch_dir],
    ...c.worker.sandbox_ro_paths.map((p) => ['worker.sandbox_ro_paths', p] as const),
  ] as const) {
    if (path !== undefined && !path.startsWith('/'))
      throw new ConfigError(key, `${path} must be an absolute path`);
  }
  for (const shown of c.worker.sandbox_ro_paths) {
    for (const secret of [c.security.encryption_key_file, file]) {
      if (secret && (secret === shown || secret.startsWith(`${shown.replace(/\/+$/, '')}/`))) {
        throw new ConfigError(
          'worker.sandbox_ro_paths',
          `${shown} holds ${secret}, which must never be visible to actions`,
        );
      }
    }
  }
  if (c.worker.stale_after_ms < 3 * c.worker.heartbeat_interval_ms) {
    throw new ConfigError(
      'worker.stale_after_ms',
      'must be at least 3 × worker.heartbeat_interval_ms, or live workers are declared dead',
    );
  }
  const brokerUrl = c.broker.url ?? env.AMQP_URL ?? DEFAULT_AMQP_URL;
  if (!/^amqps?:\/\//.test(brokerUrl))
    throw new ConfigError('broker.url', 'must be an amqp:// or amqps:// URL');
  let database: DatabaseConfig;
  try {
    database = databaseConfigFromEnv({
      DATABASE_URL: c.database.url ?? env.DATABASE_URL,
      ATTUNE__DATABASE__EMBEDDED_DIR: c.database.embedded_dir,
      ATTUNE__DATABASE__POOL_SIZE:
        c.database.pool_size === undefined ? undefined : String(c.database.pool_size),
    });
  } catch (error) {
    throw new ConfigError('database.url', (error as Error).message.replace(/^DATABASE_URL /, ''));
  }
  return {
    encryptionKey,
    encryptionKeySource:
      encryptionKey === undefined
        ? undefined
        : c.security.encryption_key_file !== undefined
          ? 'file'
          : 'config',
    database,
    workerId:
      c.worker.id ??
      `${hostname()
        .replace(/[^A-Za-z0-9_.-]/g, '-')
        .slice(0, 40)}-${process.pid}`,
    outputCapBytes: c.worker.output_cap_bytes,
    killGraceMs: c.worker.kill_grace_ms,
    maskMinLength: c.worker.mask_min_length,
    passthroughEnv: c.worker.passthrough_env,
    spawner: c.worker.spawner,
    isolation: {
      mode: c.worker.isolation,
      runAs: c.worker.run_as,
      scratchDir: c.worker.scratch_dir ?? defaultScratchDir(),
      sandboxReadOnlyPaths: c.worker.sandbox_ro_paths,
    },
    concurrency: c.worker.concurrency,
    heartbeatIntervalMs: c.worker.heartbeat_interval_ms,
    staleAfterMs: c.worker.stale_after_ms,
    shutdownGraceMs: c.worker.shutdown_grace_ms,
    http: { host: c.worker.http_host, port: c.worker.http_port },
    broker: {
      url: brokerUrl,
      exchange: c.broker.exchange,
      queue: c.broker.queue,
      deadLetterQueue: c.broker.dead_letter_queue,
      reconnectMaxMs: c.broker.reconnect_max_ms,
    },
    api: {
      host: c.api.host,
      port: c.api.port,
      maxBodyBytes: c.api.max_body_bytes,
      rateLimitPerMinute: c.api.rate_limit_per_minute,
      authFailureLimit: c.api.auth_failure_limit,
      trustedProxies: c.api.trusted_proxies,
    },
  };
}

/**
 * Where scratch folders go by default: for a root worker a folder of root's (`/var/lib/attune/scratch`), which no
 * action can create first or take over; otherwise one per uid in the temporary folder.
 */
function defaultScratchDir(): string {
  const uid = process.getuid?.();
  return uid === 0 ? '/var/lib/attune/scratch' : join(tmpdir(), `attune-scratch-${uid ?? 'user'}`);
}

/**
 * Reads `security.encryption_key_file`: the key is the file's content without its final line break. The file must
 * be a regular file that neither group nor others can read or write (like ssh's private keys), so that no other
 * account on the host — in particular the identity actions run as — can read it.
 */
function readKeyFile(path: string): string {
  const key = 'security.encryption_key_file';
  if (!path.startsWith('/')) throw new ConfigError(key, `${path} must be an absolute path`);
  assertPrivate(path, key, 'holds the encryption key');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(key, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return text.replace(/\r?\n$/, '');
}

/**
 * Refuses a file that holds a secret when anyone but its owner may read or write it, or when its owner is neither
 * this process's user nor root (another account — the actions' identity, say — could then read or replace it).
 */
function assertPrivate(path: string, key: string, what: string): void {
  let mode: number;
  let owner: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new ConfigError(key, `${path} is not a regular file`);
    mode = stat.mode & 0o777;
    owner = stat.uid;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(key, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (mode & 0o077) {
    throw new ConfigError(
      key,
      `${path} ${what} and has mode ${mode.toString(8).padStart(4, '0')}: group and others must have no access (chmod 600 ${path})`,
    );
  }
  const self = process.getuid?.();
  if (self !== undefined && owner !== self && owner !== 0) {
    throw new ConfigError(
      key,
      `${path} ${what} and belongs to uid ${owner}: it must belong to the user this process runs as (uid ${self}) or to root`,
    );
  }
}

/** The first setting of a configuration file that is a credential: the key, or a URL with a password. */
function credentialsIn(config: Record<string, unknown>): string | undefined {
  const section = (name: string) => (config[name] ?? {}) as Record<string, unknown>;
  if (typeof section('security').encryption_key === 'string') return 'security.encryption_key';
  for (const key of ['database.url', 'broker.url']) {
    const [name, field] = key.split('.') as [string, string];
    const value = section(name)[field];
    if (typeof value !== 'string') continue;
    try {
      if (new URL(value).password) return key;
    } catch {
      // not a URL: validated, with a clear error, below
    }
  }
  return undefined;
}
