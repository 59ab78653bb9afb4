import { AuditLog, AuditSealer, AuditService, AuthFailureRecorder } from '@attune/audit';
import { TokenService, TokenStore } from '@attune/auth';
import type { SecurityConfig } from '@attune/config';
import type { Logger } from '@attune/core';
import type { Database } from '@attune/db';
import {
  type ExecutionRequestMessage,
  ExecutionService,
  ExecutionStore,
  SecretUsageService,
} from '@attune/executions';
import { PackService, PackStore } from '@attune/registry';
import { createSecretsServices, type KeyService } from '@attune/secrets';

/** What the API's routes call: one service per resource. */
export interface ApiServices {
  readonly audit: AuditService;
  /** Failed authentications, aggregated into the audit log. */
  readonly authFailures?: AuthFailureRecorder;
  /** Seals the audit log's chain every second while the API runs. */
  readonly auditSealer?: AuditSealer;
  readonly keys: KeyService;
  readonly tokens: TokenService;
  readonly packs: PackService;
  readonly executions: ExecutionService;
  readonly usage: SecretUsageService;
}

/** The API's limits (`api.*` configuration). */
export interface ApiLimits {
  /** Largest request body accepted; larger ones get 413. */
  readonly maxBodyBytes: number;
  /** Requests without a valid token per client address per minute before 429 (default 20). */
  readonly authFailureLimit?: number;
  /** Requests per valid token per minute before 429 (default 600). */
  readonly rateLimitPerMinute?: number;
  /**
   * Proxies whose X-Forwarded-For is believed for the client address (addresses or CIDRs); none by default, so
   * that a client cannot pick its own address.
   */
  readonly trustedProxies?: readonly string[];
}

/** What {@link buildApi} needs: the services, a logger, and the limits. */
export interface ApiDependencies extends ApiServices, ApiLimits {
  readonly logger: Logger;
}

/** Wires the services over an open database, as `attune api` runs them. */
export function createApiServices(options: {
  db: Database;
  /** The master keys (`security.keyring`, `security.activeKeyId`). */
  security: Pick<SecurityConfig, 'keyring' | 'activeKeyId'>;
  maxVersions?: number;
  publish: (message: ExecutionRequestMessage) => Promise<void>;
  logger: Logger;
  /** How long failed authentications are aggregated before their events are written (default 60 s). */
  authFailureWindowMs?: number;
  /** The audit log every service records in (default: a new one). */
  audit?: AuditLog;
}): ApiServices {
  const { db, logger } = options;
  const auditLog = options.audit ?? new AuditLog();
  const log = { audit: auditLog };
  const packs = new PackStore(db.prisma);
  const secrets = createSecretsServices({
    prisma: db.prisma,
    sql: db.sql,
    owners: packs,
    security: options.security,
    ...(options.maxVersions === undefined ? {} : { maxVersions: options.maxVersions }),
    logger,
    ...log,
  });
  const executions = new ExecutionStore(db.sql);
  return {
    audit: new AuditService({ sql: db.sql, log: auditLog }),
    auditSealer: new AuditSealer({ sql: db.sql, logger, log: auditLog }),
    authFailures: new AuthFailureRecorder({
      sql: db.sql,
      logger,
      log: auditLog,
      ...(options.authFailureWindowMs === undefined ? {} : { windowMs: options.authFailureWindowMs }),
    }),
    keys: secrets.keys,
    tokens: new TokenService({ store: new TokenStore(db.prisma), logger, ...log }),
    packs: new PackService({ store: packs, logger, ...log }),
    usage: new SecretUsageService({ executions, keys: secrets.keys }),
    executions: new ExecutionService({
      executions,
      actions: packs,
      publish: options.publish,
      logger,
      ...log,
    }),
  };
}
