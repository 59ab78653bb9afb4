import type { PrismaClientOrTransaction } from '@attune/db';
import { loadPack, type PackDefinition } from './pack-loader.js';
import { PackStore, type RegistrationReport } from './pack-store.js';

/**
 * Loads a pack folder and registers it ({@link PackStore.register}): validated before anything is written, then in
 * one transaction. Bad metadata or a refused removal registers nothing of the pack.
 * @throws {InvalidPackError} {@link PackConflictError}
 */
export async function registerPack(
  prisma: PrismaClientOrTransaction,
  dir: string,
): Promise<RegistrationReport> {
  return new PackStore(prisma).register(loadPack(dir));
}

/** {@link registerPack} for an already loaded definition. */
export function registerPackDefinition(
  prisma: PrismaClientOrTransaction,
  def: PackDefinition,
): Promise<RegistrationReport> {
  return new PackStore(prisma).register(def);
}
