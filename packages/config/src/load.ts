import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_LEVELS, type LogLevel, parseDuration } from '@attune/core';
import { type DatabaseConfig, databaseConfigFromEnv } from '@attune/db/config';
import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { keyringOf } from './keyring.js';
import { closest, knownKeysAt, settingKeys } from './near-miss.js';
import { FORBIDDEN_PASSTHROUGH } from './passthrough.js';
import { type ConfigFile, configSchema } from './schema.js';
import { assertPrivate, credentialsIn } from './secret-files.js';
import { type LoadedConfigFile, readConfigFile, SettingSources } from './setting-sources.js';
import { isTokenFormat, readTokenFile } from './token-file.js';
import type { AttuneConfig, RemoteConfig } from './types.js';

/**
 * Where configuration comes from: the environment, and a YAML file — `file` (the `--config` option), else
 * `ATTUNE_CONFIG`, else `attune.yaml` in `cwd` when it exists; an empty `file` or `ATTUNE_CONFIG` reads none.
 */
export interface ConfigSource {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly file?: string | undefined;
  /** Where `attune.yaml` is looked for, and relative paths of `file` are read from; default: `process.cwd()`. */
  readonly cwd?: string | undefined;
}

/** The broker when none is configured: RabbitMQ on loopback with its default account. */
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/**
 * Reads the configuration: the YAML file (if any: `file`, else `ATTUNE_CONFIG`, else `./attune.yaml`), then
 * `ATTUNE__SECTION__KEY` env overrides (the seed's convention, e.g. `ATTUNE__SECURITY__ENCRYPTION_KEY`), plus
 * `DATABASE_URL` and `AMQP_URL`. Validated in one place, once; each process then takes its view (`views.ts`).
 * @throws {ConfigError} naming the key, the problem and, when known, where the setting was given (file:line or
 * environment variable) — never a value.
 */
export function loadConfig(options: ConfigSource): AttuneConfig {
  const { env } = options;
  const file = readConfigFile(options.file, env.ATTUNE_CONFIG, options.cwd ?? process.cwd());
  const fromFile = file?.values ?? {};
  const held = file ? credentialsIn(fromFile) : undefined;
  if (file && held) assertPrivate(file.absolutePath, held, 'holds credentials');
  const sources = new SettingSources(file);
  const merged = structuredClone(fromFile) as Record<string, Record<string, unknown>>;
  // The environment overrides the file: first the plain variables (set and not empty), then `ATTUNE__` ones. An
  // empty ATTUNE_API_URL means local mode, whatever the file says.
  for (const [section, key, name] of [
    ['database', 'url', 'DATABASE_URL'],
    ['broker', 'url', 'AMQP_URL'],
    ['cli', 'api_url', 'ATTUNE_API_URL'],
  ] as const) {
    const value = env[name];
    if (value === undefined || (value === '' && name !== 'ATTUNE_API_URL')) continue;
    const { [key]: _fromFile, ...rest } = merged[section] ?? {};
    merged[section] = value === '' ? rest : { ...rest, [key]: value };
    sources.setByEnv(`${section}.${key}`, name);
  }
  for (const [name, value] of Object.entries(env)) {
    const match = /^ATTUNE__([A-Z0-9_]+)__([A-Z0-9_]+)$/.exec(name);
    if (!match || value === undefined) continue;
    const section = (match[1] as string).toLowerCase();
    const key = (match[2] as string).toLowerCase();
    merged[section] = { ...(merged[section] ?? {}), [key]: value };
    sources.setByEnv(`${section}.${key}`, name);
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw issueError(parsed.error.issues[0], sources);
  try {
    return settle(parsed.data, env, file);
  } catch (error) {
    // Checks past the schema name a key; say where it was set (a key of two segments or more: a section names
    // no one place).
    const source = error instanceof ConfigError && !error.source ? sources.of(error.key, 2) : undefined;
    throw source ? (error as ConfigError).at(source) : error;
  }
}

/** The schema's first complaint as a {@link ConfigError}: the key, the problem, where it was set, a near miss. */
function issueError(issue: z.core.$ZodIssue | undefined, sources: SettingSources): ConfigError {
  if (issue?.code === 'unrecognized_keys') {
    const name = issue.keys[0] as string;
    const parent = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    // An unknown section from the environment: the variable names a key too.
    const fromEnv = parent.length === 0 ? sources.envInSection(name) : undefined;
    if (fromEnv) {
      const near = closest(fromEnv.key, settingKeys());
      return new ConfigError(fromEnv.key, 'unknown key', {
        source: { env: fromEnv.name },
        hint: near && `did you mean ${near}?`,
      });
    }
    const key = [...parent, name].join('.');
    const near = closest(name, knownKeysAt(parent));
    return new ConfigError(key, 'unknown key', {
      source: sources.of(key),
      hint: near && `did you mean ${[...parent, near].join('.')}?`,
    });
  }
  const key = issue?.path.join('.') || 'config';
  const problem = (issue?.message ?? 'is invalid').replace(/received .*/, 'got another value');
  return new ConfigError(key, problem, { source: sources.of(key) });
}

/** The cross-field checks, and the sections. */
function settle(c: ConfigFile, env: ConfigSource['env'], file: LoadedConfigFile | undefined): AttuneConfig {
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
  const keyring = keyringOf(c.security);
  const active = keyring.keys.find((k) => k.id === keyring.activeKeyId);
  for (const [key, path] of [
    ['worker.scratch_dir', c.worker.scratch_dir],
    ...c.worker.sandbox_ro_paths.map((p) => ['worker.sandbox_ro_paths', p] as const),
  ] as const) {
    if (path !== undefined && !path.startsWith('/'))
      throw new ConfigError(key, `${path} must be an absolute path`);
  }
  for (const shown of c.worker.sandbox_ro_paths) {
    const keyFiles = [
      c.security.encryption_key_file,
      c.audit.hmac_key_file,
      ...(c.security.encryption_keys ?? []).map((k) => k.key_file),
    ];
    for (const secret of [...keyFiles, file?.absolutePath]) {
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
  const brokerUrl = c.broker.url ?? DEFAULT_AMQP_URL;
  if (!/^amqps?:\/\//.test(brokerUrl))
    throw new ConfigError('broker.url', 'must be an amqp:// or amqps:// URL');
  let database: DatabaseConfig;
  try {
    database = databaseConfigFromEnv({
      DATABASE_URL: c.database.url,
      ATTUNE__DATABASE__EMBEDDED_DIR: c.database.embedded_dir,
      ATTUNE__DATABASE__POOL_SIZE:
        c.database.pool_size === undefined ? undefined : String(c.database.pool_size),
    });
  } catch (error) {
    throw new ConfigError('database.url', (error as Error).message.replace(/^DATABASE_URL /, ''));
  }
  return {
    security: {
      keyring: keyring.keys,
      activeKeyId: keyring.activeKeyId,
      encryptionKey: active?.password,
      encryptionKeySource: active?.source,
    },
    // Only the API's and the CLI's views read the audit HMAC key (a worker never opens its file).
    audit: { hmac_key: c.audit.hmac_key, hmac_key_file: c.audit.hmac_key_file },
    secrets: {
      maxVersions: c.secrets.max_versions,
      expiryGraceMs: parseDuration(c.secrets.expiry_grace) ?? 0,
    },
    database,
    worker: {
      workerId:
        c.worker.id ??
        `${hostname()
          .replace(/[^A-Za-z0-9_.-]/g, '-')
          .slice(0, 40)}-${process.pid}`,
      outputCapBytes: c.worker.output_cap_bytes,
      killGraceMs: c.worker.kill_grace_ms,
      maskMinLength: c.worker.mask_min_length,
      passthroughEnv: c.worker.passthrough_env,
      secretsPolicy: c.worker.secrets_policy,
      expiryGraceMs: parseDuration(c.secrets.expiry_grace) ?? 0,
      spawner: c.worker.spawner,
      concurrency: c.worker.concurrency,
      heartbeatIntervalMs: c.worker.heartbeat_interval_ms,
      staleAfterMs: c.worker.stale_after_ms,
      shutdownGraceMs: c.worker.shutdown_grace_ms,
      http: { host: c.worker.http_host, port: c.worker.http_port },
    },
    sandbox: {
      mode: c.worker.isolation,
      runAs: c.worker.run_as,
      scratchDir: c.worker.scratch_dir ?? defaultScratchDir(),
      sandboxReadOnlyPaths: c.worker.sandbox_ro_paths,
      seccomp: c.worker.sandbox_seccomp,
    },
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
    // `ATTUNE_LOG_LEVEL` is the first version's name for it, still honoured.
    log: { level: c.log.level ?? legacyLogLevel(env.ATTUNE_LOG_LEVEL) },
    remote: remoteOf(c.cli.api_url, env),
    configFile: file?.info,
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

function legacyLogLevel(value: string | undefined): LogLevel | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(LOG_LEVELS as readonly string[]).includes(value))
    throw new ConfigError('log.level', `ATTUNE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  return value as LogLevel;
}

/**
 * Remote mode: the API's URL and the token — `ATTUNE_TOKEN`, else the one `attune login` kept for this API (private
 * to its user), never argv; or undefined when no API is configured. `http://` only to a loopback address: elsewhere
 * the token and values would cross the network in clear.
 */
function remoteOf(apiUrl: string | undefined, env: ConfigSource['env']): RemoteConfig | undefined {
  if (apiUrl === undefined || apiUrl === '') return undefined;
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new ConfigError('cli.api_url', 'is not a URL (ATTUNE_API_URL or cli.api_url)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(
      'cli.api_url',
      'must be an http:// or https:// URL (ATTUNE_API_URL or cli.api_url)',
    );
  if (url.username || url.password)
    throw new ConfigError('cli.api_url', 'must not hold credentials: give the token in ATTUNE_TOKEN');
  if (url.protocol === 'http:' && !isLoopback(url.hostname))
    throw new ConfigError(
      'cli.api_url',
      `must be https:// for ${url.hostname}: over http:// the token and values would cross the network in clear (http:// is for 127.0.0.1, ::1 and localhost)`,
    );
  if (url.search || url.hash) throw new ConfigError('cli.api_url', 'must not hold a query or a fragment');
  const base = url.toString().replace(/\/+$/, '');
  const fromEnv = env.ATTUNE_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isTokenFormat(fromEnv))
      throw new ConfigError('cli.token', 'ATTUNE_TOKEN is not an Attune API token (attune_… ; never shown)');
    return { apiUrl: base, token: () => fromEnv };
  }
  let kept: { token: string | undefined } | undefined;
  return {
    apiUrl: base,
    token: () => {
      kept ??= { token: readTokenFile(env, base) };
      return kept.token;
    },
  };
}

function isLoopback(hostname: string): boolean {
  return (
    hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}
