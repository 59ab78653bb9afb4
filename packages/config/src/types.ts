import type { BrokerConfig } from '@attune/broker';
import type { LogLevel } from '@attune/core';
import type { DatabaseConfig } from '@attune/db';
import type { ISOLATION_SETTINGS } from './schema.js';

/** A master key of the keyring (docs/secrets-management.md#rotating-the-encryption-key). */
export interface MasterKeyConfig {
  /** Its id in `security.encryption_keys` (`default` for the single `security.encryption_key`). */
  readonly id: string;
  /** The key (a password of 32 characters or more); never logged. */
  readonly password: string;
  readonly source: 'file' | 'config';
}

/** `security`: the encryption key, whichever way it is configured. */
export interface SecurityConfig {
  /**
   * The master keys: the active one encrypts, the others only decrypt (what they still protect until
   * `attune keyring rotate`). Empty when none is configured.
   */
  readonly keyring: readonly MasterKeyConfig[];
  /** The id of the active master key; undefined when none is configured. */
  readonly activeKeyId: string | undefined;
  /**
   * The active master key: the seed's `security.encryption_key`, the content of `security.encryption_key_file`, or
   * the `security.active_key` of the keyring; undefined when none is configured (encrypted secrets are then skipped
   * by workers and refused by the API and the CLI).
   */
  readonly encryptionKey: string | undefined;
  /** Where the encryption key came from (for the start-up log line; never the key). */
  readonly encryptionKeySource: 'file' | 'config' | undefined;
}

/**
 * The `worker.isolation`, `worker.run_as`, `worker.scratch_dir`, `worker.sandbox_ro_paths` and
 * `worker.sandbox_seccomp` settings.
 */
export interface IsolationConfig {
  /** `auto` (the default) picks the strongest mode this machine supports; any other value is required. */
  readonly mode: (typeof ISOLATION_SETTINGS)[number];
  /** The identity actions run as: a user name, a uid, or uid:gid; undefined picks the default. */
  readonly runAs: string | undefined;
  /** Where per-execution scratch folders are made (absolute; default /var/lib/attune/scratch for root). */
  readonly scratchDir: string;
  /** Extra host folders bound read-only into the sandbox at the same path (absolute). */
  readonly sandboxReadOnlyPaths: readonly string[];
  /** Whether the sandbox refuses the system calls of its seccomp filter (default true). */
  readonly seccomp: boolean;
}

/** `worker`: the worker service, without its sandbox settings. */
export interface WorkerSection {
  readonly workerId: string;
  readonly outputCapBytes: number;
  readonly killGraceMs: number;
  readonly maskMinLength: number;
  readonly passthroughEnv: readonly string[];
  /**
   * Which secrets an action receives when neither it nor its pack says: `all` (the seed's behaviour) or `declared`
   * (only those its metadata declares).
   */
  readonly secretsPolicy: 'all' | 'declared';
  /** `secrets.expiry_grace`, in milliseconds: how long an expired secret is still delivered, with a warning. */
  readonly expiryGraceMs: number;
  readonly spawner: 'helper' | 'direct';
  /** Executions run at once; also the broker prefetch. */
  readonly concurrency: number;
  readonly heartbeatIntervalMs: number;
  /** A worker whose heartbeat is older than this is dead; its running executions become `abandoned`. */
  readonly staleAfterMs: number;
  /** On SIGTERM/SIGINT, how long in-flight executions may take before they are stopped. */
  readonly shutdownGraceMs: number;
  /** Health endpoints; port -1 disables them, 0 picks a free port. */
  readonly http: { readonly host: string; readonly port: number };
}

/** `api`: the HTTP API (`attune api`). */
export interface ApiSection {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
  /** Requests per valid token per minute. */
  readonly rateLimitPerMinute: number;
  /** Requests without a valid token per client address per minute. */
  readonly authFailureLimit: number;
  /** Proxies (addresses or CIDRs) whose X-Forwarded-For names the client. */
  readonly trustedProxies: readonly string[];
}

/** `secrets`: how secrets are kept. */
export interface SecretsConfig {
  /** Versions kept per secret unless it sets its own (`max_versions`); the oldest non-current ones are pruned. */
  readonly maxVersions: number;
  /**
   * How long after its `expires_at` a secret is still delivered to actions, with a `secret_expired` warning
   * (`expiry_grace`; 0: an expired secret is never delivered).
   */
  readonly expiryGraceMs: number;
}

/** `log`: the level of every process's logger; undefined lets each process keep its default. */
export interface LogConfig {
  readonly level: LogLevel | undefined;
}

/**
 * Attune's whole configuration, parsed once, in sections. Each process takes its view of it
 * ({@link WorkerConfig}, {@link ApiConfig}, {@link CliConfig}; `views.ts`).
 */
export interface AttuneConfig {
  readonly security: SecurityConfig;
  /** The `audit` settings as given; the API's and the CLI's views resolve them ({@link AuditConfig}). */
  readonly audit: AuditSection;
  readonly secrets: SecretsConfig;
  readonly database: DatabaseConfig;
  readonly worker: WorkerSection;
  readonly sandbox: IsolationConfig;
  readonly api: ApiSection;
  readonly broker: BrokerConfig;
  readonly log: LogConfig;
  /** Remote mode of the CLI: set when `ATTUNE_API_URL` (or `cli.api_url`) is. */
  readonly remote: RemoteConfig | undefined;
  /** The configuration file that was read; undefined when none was (settings from the environment only). */
  readonly configFile: ConfigFileInfo | undefined;
}

/** The configuration file that was read, and how it was chosen (so that a process can say which it used). */
export interface ConfigFileInfo {
  /** As given (`--config`, `ATTUNE_CONFIG`), or the absolute path of the `attune.yaml` found. */
  readonly path: string;
  /** `option`: `--config FILE` (`loadConfig`'s `file`); `env`: `ATTUNE_CONFIG`; `discovered`: `./attune.yaml`. */
  readonly via: 'option' | 'env' | 'discovered';
}

/** The CLI's remote mode: the API it talks to, and its bearer token. */
export interface RemoteConfig {
  readonly apiUrl: string;
  /**
   * The token: `ATTUNE_TOKEN`, else the one `attune login` kept for this API; undefined when neither (requests are
   * then refused by the API: 401). Read when first needed, so that `attune login` and `logout` work whatever is
   * kept. @throws {ConfigError} when the kept token cannot be used (not private, a link, kept for another API).
   */
  readonly token: () => string | undefined;
}

/** The worker's view: its own settings, how actions are confined, the key, the database and the broker. */
export interface WorkerConfig extends SecurityConfig, WorkerSection {
  readonly database: DatabaseConfig;
  /** How actions are confined (docs/worker.md#security-model). */
  readonly isolation: IsolationConfig;
  readonly broker: BrokerConfig;
  readonly logLevel: LogLevel | undefined;
}

/** The `audit` section as configured: where the audit HMAC key is, not the key. */
export interface AuditSection {
  readonly hmac_key: string | undefined;
  readonly hmac_key_file: string | undefined;
}

/** `audit`, resolved for the API and the CLI: the audit log's settings. */
export interface AuditConfig {
  /**
   * The key of the values' HMACs in the audit log (`audit.hmac_key` / `audit.hmac_key_file`); undefined: no HMAC is
   * recorded and `attune audit hash` is refused. Given to the API and the CLI, never to workers.
   */
  readonly hmacKey: string | undefined;
}

/** The HTTP API's view. */
export interface ApiConfig extends SecurityConfig {
  readonly audit: AuditConfig;
  readonly secrets: SecretsConfig;
  readonly database: DatabaseConfig;
  readonly broker: BrokerConfig;
  readonly api: ApiSection;
  readonly logLevel: LogLevel | undefined;
}

/** The CLI's view (its local commands open the database and, for secrets, need the key). */
export interface CliConfig extends SecurityConfig {
  readonly audit: AuditConfig;
  /** Set in remote mode: commands go through the API with a token, never to the database. */
  readonly remote: RemoteConfig | undefined;
  readonly secrets: SecretsConfig;
  readonly database: DatabaseConfig;
  readonly broker: BrokerConfig;
  readonly logLevel: LogLevel | undefined;
}
