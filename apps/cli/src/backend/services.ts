import type { AuditService } from '@attune/audit';
import type { TokenService } from '@attune/auth';
import type { MigrationReport } from '@attune/db';
import type { ExecutionService, SecretUsageService } from '@attune/executions';
import type { PackService } from '@attune/registry';
import type { KeyringService, KeyService } from '@attune/secrets';

/** What `attune key` calls: the key service's methods (locally) or their API routes (remote mode). */
export type KeyCommands = Pick<KeyService, 'set' | 'get' | 'list' | 'update' | 'delete' | 'undelete'> & {
  readonly versions: Pick<KeyService['versions'], 'list' | 'get' | 'rollback' | 'destroy'>;
};

/** What `attune token` calls. */
export type TokenCommands = Pick<TokenService, 'create' | 'list' | 'revoke'>;

/** What `attune audit` calls. */
export type AuditCommands = Pick<AuditService, 'list' | 'lookUpValue' | 'verify' | 'prune'>;

/** What `attune key usage|executions|unused` calls. */
export type UsageCommands = Pick<SecretUsageService, 'usage' | 'receivedVersion' | 'unused'>;

/** What `attune run` calls. */
export type RunCommands = Pick<ExecutionService, 'request' | 'waitFor' | 'get'>;

/** The services a command calls, whichever way the CLI reaches them. */
export interface CommandServices {
  /** What bringing the database up to date applied (local mode). */
  readonly migrations: MigrationReport;
  readonly keys: KeyCommands;
  /** The master keys and data keys: status, rotations, upgrade, destruction. */
  readonly keyring: KeyringService;
  readonly tokens: TokenCommands;
  readonly packs: PackService;
  readonly executions: RunCommands;
  /** The audit log: listing, verification, value lookups. */
  readonly audit: AuditCommands;
  /** Who used a secret, from the provenance executions store. */
  readonly usage: UsageCommands;
}

/** How the CLI reaches the services: the database itself (local mode) or the HTTP API (remote mode). */
export interface Backend {
  readonly mode: 'local' | 'remote';
  /** Where the commands' data is, for a person. */
  readonly databaseLocation: string;
  services(): Promise<CommandServices>;
  close(): Promise<void>;
}
