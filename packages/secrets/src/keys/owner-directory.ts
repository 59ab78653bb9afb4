import type { PrismaClientOrTransaction } from '@attune/db';

/** A pack or action as an owner of secrets: its id and ref. */
export interface OwnerIdentity {
  readonly id: number;
  readonly ref: string;
}

/**
 * Where the key service finds the packs and actions that own secrets. Packs and actions belong to the registry
 * (`@attune/registry`'s `PackStore` implements this); the key service depends on this interface only, so that
 * `attune.pack` and `attune.action` keep one owner and the package graph stays crypto ← secrets ← registry.
 */
export interface OwnerDirectory {
  /** The pack with this id or ref, or null. */
  findPack(idOrRef: number | string, tx?: PrismaClientOrTransaction): Promise<OwnerIdentity | null>;
  /** The action with this id or ref, or null. */
  findAction(idOrRef: number | string, tx?: PrismaClientOrTransaction): Promise<OwnerIdentity | null>;
}
