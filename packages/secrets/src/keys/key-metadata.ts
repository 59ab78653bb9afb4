import type { Actor } from '@attune/core';
import { type Prisma, sqlOf } from '@attune/db';
import type { KeyRow } from './key-types.js';
import type { VersionWriter } from './write-version.js';

/**
 * Changes what is not the value — retention and/or the current value's expiry — in place, in the caller's
 * transaction with the row locked (no new version; retention prunes what it no longer keeps), recorded as
 * `key.updated` with what changed and the expiry it replaced.
 */
export async function changeMetadata(
  w: VersionWriter,
  actor: Actor,
  existing: KeyRow,
  change: { maxVersions: number | null | undefined; expiresAt: Date | null | undefined },
  tx: Prisma.TransactionClient,
): Promise<KeyRow> {
  let updated = existing;
  const detail: Record<string, unknown> = {};
  if (change.maxVersions !== undefined) {
    updated = await w.keys.setMaxVersions(existing.id, change.maxVersions, tx);
    const pruned = await w.versions.prune(existing.id, updated.maxVersions ?? w.maxVersions, tx);
    Object.assign(detail, { max_versions: updated.maxVersions }, pruned.length ? { pruned } : {});
  }
  if (change.expiresAt !== undefined) {
    updated = await w.keys.setExpiry(existing.id, change.expiresAt, tx);
    await w.versions.setExpiry(existing.id, existing.currentVersion, change.expiresAt, tx);
    detail.expires_at = change.expiresAt?.toISOString() ?? null;
    if (existing.expiresAt) detail.previous_expires_at = existing.expiresAt.toISOString();
  }
  await w.audit.append(
    { actor, action: 'key.updated', ref: existing.ref, version: existing.currentVersion, detail },
    sqlOf(tx),
  );
  return updated;
}
