import { AttuneError, type Logger } from '@attune/core';
import { KeyConflictError, KeyStoreError, OwnerNotFoundError } from '../errors.js';
import { envVarName } from '../names.js';
import { type KeyStore, writeFailure } from './key-store.js';
import type { ResolvedOwner } from './owners.js';

/**
 * Maps a failed write of the key service to an error that names the secret, never its value (Prisma's messages echo
 * arguments): a taken ref or name (saying what holds it), a missing owner, or the database's code.
 */
export async function writeError(
  error: unknown,
  deps: { readonly store: KeyStore; readonly logger: Logger },
  operation: string,
  ref: string,
  owner: (ResolvedOwner & { name: string }) | undefined,
): Promise<Error> {
  if (error instanceof AttuneError) return error;
  const failure = writeFailure(error);
  if (failure.kind === 'ref_taken') {
    const existing = await deps.store.findOwnership(ref).catch(() => null);
    return new KeyConflictError(
      'ref',
      existing?.deletedAt
        ? `A deleted key with ref '${ref}' exists; undelete it, or delete it for good (--purge) first.`
        : `A key with ref '${ref}' already exists.`,
    );
  }
  if (failure.kind === 'name_taken' && owner) {
    const envName = envVarName(owner.name);
    const existing = await deps.store.findByEnvName(owner, envName).catch(() => null);
    const clash =
      existing && existing.name !== owner.name
        ? `key '${existing.ref}' (name '${existing.name}') maps to the same env var ${envName}`
        : `it already has a key named '${owner.name}'${existing ? ` ('${existing.ref}')` : ''}`;
    return new KeyConflictError('name', `Cannot create '${ref}' for ${owner.label}: ${clash}.`);
  }
  if (failure.kind === 'owner_missing') {
    return new OwnerNotFoundError(
      owner?.ownerType === 'action' ? 'action' : 'pack',
      owner?.ownerAction ?? owner?.ownerPack ?? ref,
    );
  }
  deps.logger.error({ ref, dbCode: failure.code, operation }, 'key write failed');
  return new KeyStoreError(operation, ref, failure.code);
}
