import { TokenService, TokenStore } from '@attune/auth';
import type { Logger } from '@attune/core';
import type { EncryptionKey } from '@attune/crypto';
import type { Database } from '@attune/db';
import { type ExecutionRequestMessage, ExecutionService, ExecutionStore } from '@attune/executions';
import { PackService, PackStore } from '@attune/registry';
import { KeyService, KeyStore } from '@attune/secrets';

/** What the API's routes call: one service per resource. */
export interface ApiServices {
  readonly keys: KeyService;
  readonly tokens: TokenService;
  readonly packs: PackService;
  readonly executions: ExecutionService;
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
  encryptionKey: EncryptionKey | undefined;
  publish: (message: ExecutionRequestMessage) => Promise<void>;
  logger: Logger;
}): ApiServices {
  const { db, logger } = options;
  const packs = new PackStore(db.prisma);
  return {
    keys: new KeyService({
      store: new KeyStore(db.prisma),
      owners: packs,
      encryptionKey: options.encryptionKey,
      logger,
    }),
    tokens: new TokenService({ store: new TokenStore(db.prisma), logger }),
    packs: new PackService({ store: packs, logger }),
    executions: new ExecutionService({
      executions: new ExecutionStore(db.sql),
      actions: packs,
      publish: options.publish,
      logger,
    }),
  };
}
