import type { TokenStore } from '@attune/auth';
import type { ExecutionMessage } from '@attune/broker';
import type { Database } from '@attune/db';
import type { KeyRepository } from '@attune/secrets';
import type { Logger } from 'pino';

/** What the API needs: the database, the key repository, tokens, a publisher of executions, a logger. */
export interface ApiDependencies {
  readonly db: Database;
  readonly keys: KeyRepository;
  readonly tokens: TokenStore;
  readonly publish: (message: ExecutionMessage) => Promise<void>;
  readonly logger: Logger;
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
