import { DURATION_HINT, LOG_LEVELS, parseDuration } from '@attune/core';
import { z } from 'zod';

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

/**
 * A yes/no setting: a YAML boolean, or `true`/`false` (also 1/0, yes/no, on/off, in any case) in an environment
 * variable.
 */
const booleanSetting = z.union(
  [
    z.boolean(),
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']))
      .transform((v) => ['true', '1', 'yes', 'on'].includes(v)),
  ],
  { error: 'must be true or false' },
);

/** The configuration file's format (and of `ATTUNE__SECTION__KEY` overrides): one section per concern. */
export const configSchema = z
  .object({
    security: z
      .object({
        encryption_key: z.string().min(1).optional(),
        encryption_key_file: z.string().min(1).optional(),
        // The keyring (docs/secrets-management.md#rotating-the-encryption-key): several master keys, one active.
        encryption_keys: z
          .array(
            z
              .object({
                id: z
                  .string()
                  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1–64 characters of A–Z a–z 0–9 _ . -'),
                key: z.string().min(1).optional(),
                key_file: z.string().min(1).optional(),
              })
              .strict(),
          )
          .min(1)
          .max(32)
          .optional(),
        active_key: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    audit: z
      .object({
        // The audit HMAC key (docs/audit.md#value-hmacs): a key of its own, never the encryption key.
        hmac_key: z.string().min(1).optional(),
        hmac_key_file: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    secrets: z
      .object({
        // Versions kept per secret unless the secret sets its own (Vault's default).
        max_versions: z.coerce.number().int().min(1).max(1000).default(10),
        // How long after its expiry a secret is still delivered (with a warning); 0s: not at all.
        expiry_grace: z
          .string()
          .refine((text) => parseDuration(text) !== null, { error: `must be ${DURATION_HINT}` })
          .default('0s'),
      })
      .strict()
      .prefault({}),
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
        // Which secrets an action receives unless its pack or itself says (docs/secrets-management.md#least-privilege).
        secrets_policy: z.enum(['all', 'declared'], { error: "must be 'all' or 'declared'" }).default('all'),
        isolation: z
          .enum(ISOLATION_SETTINGS, { error: `must be one of ${ISOLATION_SETTINGS.join(', ')}` })
          .default('auto'),
        run_as: z
          .string()
          .regex(/^([a-z_][a-z0-9_.-]{0,31}|\d{1,10}(:\d{1,10})?)$/, 'must be a user name, a uid, or uid:gid')
          .optional(),
        scratch_dir: z.string().min(1).optional(),
        sandbox_ro_paths: listSetting,
        // The sandbox's seccomp filter (docs/worker.md#seccomp-filter); off only for actions that must trace processes.
        sandbox_seccomp: booleanSetting.default(true),
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
    cli: z
      .object({
        // Remote mode (docs/cli.md#remote-mode): the API the CLI talks to; `ATTUNE_API_URL` overrides it.
        api_url: z.string().optional(),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
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

/** The file's settings once parsed (before the cross-field checks of `loadConfig`). */
export type ConfigFile = z.infer<typeof configSchema>;
