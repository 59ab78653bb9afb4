import { InvalidKeyInputError, OwnerNotFoundError } from '../errors.js';
import type { OwnerColumns } from './key-store.js';
import type { KeyOwner } from './key-types.js';
import type { OwnerDirectory } from './owner-directory.js';

/** An owner, resolved: its columns, the prefix of its secrets' default refs, and how messages name it. */
export interface ResolvedOwner extends OwnerColumns {
  readonly refPrefix: string;
  readonly label: string;
}

/** Largest pack or action id: they are PostgreSQL `integer`s. */
const MAX_OWNER_ID = 2_147_483_647;

/**
 * Finds the pack or action that owns a secret (by id or ref).
 * @throws {InvalidKeyInputError} a malformed owner; {@link OwnerNotFoundError} one that does not exist.
 */
export async function resolveOwner(owner: KeyOwner, owners: OwnerDirectory): Promise<ResolvedOwner> {
  if (!owner || typeof owner !== 'object') {
    throw new InvalidKeyInputError(
      'owner',
      'The owner is missing: system, a pack (id or ref) or an action (id or ref).',
    );
  }
  switch (owner.type) {
    case 'system':
      return {
        ownerType: 'system',
        ownerPack: null,
        ownerAction: null,
        refPrefix: 'system',
        label: 'system',
      };
    case 'pack': {
      const pack = await owners.findPack(ownerId(owner.pack, 'pack'));
      if (!pack) throw new OwnerNotFoundError('pack', owner.pack);
      return {
        ownerType: 'pack',
        ownerPack: pack.id,
        ownerAction: null,
        refPrefix: pack.ref,
        label: `pack '${pack.ref}'`,
      };
    }
    case 'action': {
      const action = await owners.findAction(ownerId(owner.action, 'action'));
      if (!action) throw new OwnerNotFoundError('action', owner.action);
      return {
        ownerType: 'action',
        ownerPack: null,
        ownerAction: action.id,
        refPrefix: action.ref,
        label: `action '${action.ref}'`,
      };
    }
    default:
      throw new InvalidKeyInputError(
        'owner',
        `Unknown owner type '${String((owner as { type?: unknown }).type)}'; use system, pack or action.`,
      );
  }
}

function ownerId(id: number | string, kind: 'pack' | 'action'): number | string {
  if (typeof id === 'number' && Number.isInteger(id) && id > 0 && id <= MAX_OWNER_ID) return id;
  if (typeof id === 'string' && id.length > 0) return id;
  throw new InvalidKeyInputError(
    'owner',
    `The owning ${kind} must be given by an id (1 to ${MAX_OWNER_ID}) or a ref.`,
  );
}
