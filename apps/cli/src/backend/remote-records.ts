/**
 * Remote mode's records: the API's answers (typed from its OpenAPI document) as the records the services return
 * locally, and the owner fields of a key request.
 */
import type { AuditEvent } from '@attune/audit';
import type { TokenRecord } from '@attune/auth';
import type { ExecutionRecord, ExecutionStatus, SecretUse } from '@attune/executions';
import type { KeyOwner, KeyRecord, KeyVersionRecord, SecretValue } from '@attune/secrets';
import type { paths } from '../generated/api.js';

export type KeyDto = NonNullable<
  paths['/api/v1/keys/{ref}']['get']['responses'][200]['content']['application/json']['data']
>;
export type VersionDto = NonNullable<
  paths['/api/v1/keys/{ref}/versions/{version}']['get']['responses'][200]['content']['application/json']['data']
>;
export type TokenDto = NonNullable<
  paths['/api/v1/tokens/{name}']['delete']['responses'][200]['content']['application/json']['data']
>;
export type AuditDto = NonNullable<
  paths['/api/v1/audit']['get']['responses'][200]['content']['application/json']['data']
>[number];
export type UsageDto = NonNullable<
  paths['/api/v1/keys/{ref}/usage']['get']['responses'][200]['content']['application/json']['data']
>;
export type UseDto = NonNullable<
  paths['/api/v1/keys/{ref}/versions/{version}/executions']['get']['responses'][200]['content']['application/json']['data']
>[number];
export type ExecutionDto = NonNullable<
  paths['/api/v1/executions/{id}']['get']['responses'][200]['content']['application/json']['data']
>;

export function toKeyRecord(k: KeyDto): KeyRecord {
  return {
    id: k.id as number,
    ref: k.ref as string,
    ownerType: k.owner_type as KeyRecord['ownerType'],
    ownerPack: (k.owner_pack ?? null) as number | null,
    ownerAction: (k.owner_action ?? null) as number | null,
    name: k.name as string,
    envName: k.env_name as string,
    value: (k.value ?? null) as SecretValue | null,
    encrypted: k.encrypted === true,
    encryptionKeyHash: (k.encryption_key_hash ?? null) as string | null,
    created: new Date(k.created as string),
    updated: new Date(k.updated as string),
    version: k.version as number,
    dataKey: (k.data_key ?? null) as KeyRecord['dataKey'],
    maxVersions: (k.max_versions ?? null) as number | null,
    deletedAt: k.deleted_at ? new Date(k.deleted_at) : null,
    expiresAt: k.expires_at ? new Date(k.expires_at) : null,
  };
}

export function toVersionRecord(ref: string, v: VersionDto): KeyVersionRecord {
  return {
    ref,
    version: v.version as number,
    current: v.current === true,
    origin: v.origin as KeyVersionRecord['origin'],
    sourceVersion: (v.source_version ?? null) as number | null,
    actor: v.actor as KeyVersionRecord['actor'],
    created: new Date(v.created as string),
    valueType: v.value_type as KeyVersionRecord['valueType'],
    encrypted: v.encrypted === true,
    encryptionKeyHash: (v.encryption_key_hash ?? null) as string | null,
    dataKey: (v.data_key ?? null) as KeyVersionRecord['dataKey'],
    destroyedAt: v.destroyed_at ? new Date(v.destroyed_at) : null,
    expiresAt: v.expires_at ? new Date(v.expires_at) : null,
    value: (v.value ?? null) as SecretValue | null,
  };
}

export function toTokenRecord(t: TokenDto): TokenRecord {
  return {
    id: t.id as number,
    name: t.name as string,
    scopes: (t.scopes ?? []) as TokenRecord['scopes'],
    created: new Date(t.created as string),
    lastUsedAt: t.last_used_at ? new Date(t.last_used_at) : null,
    revokedAt: t.revoked_at ? new Date(t.revoked_at) : null,
  };
}

export function toAuditEvent(e: AuditDto): AuditEvent {
  return {
    id: e.id as string,
    at: new Date(e.at as string),
    actor: e.actor as AuditEvent['actor'],
    source: e.source ?? null,
    requestId: e.request_id ?? null,
    action: e.action as string,
    ref: e.ref ?? null,
    version: e.version ?? null,
    outcome: e.outcome as AuditEvent['outcome'],
    detail: (e.detail ?? {}) as Record<string, unknown>,
    seq: null,
    prevHash: null,
    hash: e.hash ?? null,
  };
}

export function toSecretUse(u: UseDto): SecretUse {
  return {
    executionId: u.execution_id as string,
    actionRef: u.action_ref as string,
    version: u.version as number,
    at: u.at ? new Date(u.at) : null,
    ...(u.status === undefined ? {} : { status: u.status as ExecutionStatus, workerId: u.worker_id ?? null }),
  };
}

export function toExecutionRecord(e: ExecutionDto): ExecutionRecord {
  return {
    id: e.id as string,
    actionRef: e.action_ref as string,
    status: e.status as ExecutionStatus,
    parameters: e.parameters,
    result: e.result ?? null,
    stdout: e.stdout ?? null,
    stderr: e.stderr ?? null,
    stdoutTruncated: e.stdout_truncated === true,
    stderrTruncated: e.stderr_truncated === true,
    exitCode: e.exit_code ?? null,
    durationMs: e.duration_ms ?? null,
    warnings: (e.warnings ?? []) as ExecutionRecord['warnings'],
    secrets: (e.secrets ?? []) as ExecutionRecord['secrets'],
    workerId: e.worker_id ?? null,
    created: new Date(e.created as string),
    startedAt: e.started_at ? new Date(e.started_at) : null,
    finishedAt: e.finished_at ? new Date(e.finished_at) : null,
  };
}

/** The owner fields of a key request body. */
export function ownerBody(owner: KeyOwner) {
  if (owner.type === 'system') return { owner_type: 'system' as const };
  if (owner.type === 'pack')
    return typeof owner.pack === 'number'
      ? { owner_type: 'pack' as const, owner_pack: owner.pack }
      : { owner_type: 'pack' as const, owner_pack_ref: owner.pack };
  return typeof owner.action === 'number'
    ? { owner_type: 'action' as const, owner_action: owner.action }
    : { owner_type: 'action' as const, owner_action_ref: owner.action };
}
