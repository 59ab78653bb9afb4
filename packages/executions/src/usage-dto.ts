import type { SecretUse } from './execution-store.js';
import type { SecretUsage, UnusedSecret } from './secret-usage.js';

/** One execution's use of a secret on the wire (the API's usage routes, `attune key … --json`). */
export interface SecretUseResource {
  readonly execution_id: string;
  readonly action_ref: string;
  readonly version: number;
  readonly at: string | null;
  readonly status?: string;
  readonly worker_id?: string | null;
}

/** The wire shape of a use (snake_case, ISO times). */
export function toSecretUseResource(u: SecretUse): SecretUseResource {
  return {
    execution_id: u.executionId,
    action_ref: u.actionRef,
    version: u.version,
    at: u.at?.toISOString() ?? null,
    ...(u.status === undefined ? {} : { status: u.status, worker_id: u.workerId ?? null }),
  };
}

/** The wire shape of a secret's usage: `GET /api/v1/keys/{ref}/usage`, `attune key usage --json`. */
export function toSecretUsageResource(u: SecretUsage) {
  return {
    ref: u.ref,
    from: u.from.toISOString(),
    to: u.to.toISOString(),
    last_use: u.lastUse ? toSecretUseResource(u.lastUse) : null,
    actions: u.byAction.map((a) => ({
      action_ref: a.actionRef,
      version: a.version,
      executions: a.executions,
      last_at: a.lastAt.toISOString(),
    })),
  };
}

/** The wire shape of an unused secret: `GET /api/v1/usage/unused`, `attune key unused --json`. */
export function toUnusedSecretResource(u: UnusedSecret) {
  return {
    ref: u.ref,
    level: u.level,
    created: u.created.toISOString(),
    last_used_at: u.lastUsedAt?.toISOString() ?? null,
  };
}
