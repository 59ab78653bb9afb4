import type { Prisma, PrismaClient } from '@attune/db';
import { PackConflictError } from './errors.js';
import { loadPack, type PackDefinition } from './pack-loader.js';

/** What {@link registerPack} changed. */
export interface RegistrationReport {
  readonly pack: {
    readonly ref: string;
    readonly id: number;
    readonly change: 'created' | 'updated' | 'unchanged';
  };
  readonly actions: {
    readonly created: string[];
    readonly updated: string[];
    readonly unchanged: string[];
    readonly removed: string[];
  };
}

/**
 * Loads a pack folder and registers it: creates or updates the pack and its actions, removes actions no longer on
 * disk. Idempotent (a second run reports everything unchanged), validated before anything is written, and done in
 * one transaction: bad metadata or a refused removal registers nothing of the pack.
 * @throws {InvalidPackError} {@link PackConflictError}
 */
export async function registerPack(prisma: PrismaClient, dir: string): Promise<RegistrationReport> {
  return registerPackDefinition(prisma, loadPack(dir));
}

/** {@link registerPack} for an already loaded definition. */
export async function registerPackDefinition(
  prisma: PrismaClient,
  def: PackDefinition,
): Promise<RegistrationReport> {
  return prisma.$transaction(async (tx) => {
    const packData = {
      label: def.label,
      version: def.version,
      description: def.description ?? null,
      path: def.path,
    };
    const existing = await tx.pack.findUnique({ where: { ref: def.ref }, include: { actions: true } });
    let packId: number;
    let packChange: RegistrationReport['pack']['change'];
    if (!existing) {
      packId = (await tx.pack.create({ data: { ref: def.ref, ...packData } })).id;
      packChange = 'created';
    } else {
      packId = existing.id;
      const same =
        existing.label === packData.label &&
        existing.version === packData.version &&
        existing.description === packData.description &&
        existing.path === packData.path;
      if (!same) await tx.pack.update({ where: { id: packId }, data: packData });
      packChange = same ? 'unchanged' : 'updated';
    }
    const report: RegistrationReport = {
      pack: { ref: def.ref, id: packId, change: packChange },
      actions: { created: [], updated: [], unchanged: [], removed: [] },
    };
    const current = new Map((existing?.actions ?? []).map((a) => [a.name, a]));
    for (const action of def.actions) {
      const ref = `${def.ref}.${action.name}`;
      const data = {
        runnerType: action.runnerType,
        entryPoint: action.entryPoint,
        description: action.description ?? null,
        parameters: action.parameters as unknown as Prisma.InputJsonValue,
        timeoutSeconds: action.timeoutSeconds,
        expectedSecrets: [...action.secrets] as Prisma.InputJsonValue,
        network: action.network,
      };
      const before = current.get(action.name);
      current.delete(action.name);
      if (!before) {
        await tx.action.create({ data: { ref, name: action.name, packId, ...data } });
        report.actions.created.push(ref);
        continue;
      }
      const same =
        before.runnerType === data.runnerType &&
        before.entryPoint === data.entryPoint &&
        before.description === data.description &&
        before.timeoutSeconds === data.timeoutSeconds &&
        before.network === data.network &&
        canonical(before.parameters) === canonical(data.parameters) &&
        canonical(before.expectedSecrets) === canonical(data.expectedSecrets);
      if (same) {
        report.actions.unchanged.push(ref);
      } else {
        await tx.action.update({ where: { id: before.id }, data });
        report.actions.updated.push(ref);
      }
    }
    for (const gone of current.values()) {
      const keys = await tx.key.count({ where: { ownerAction: gone.id } });
      if (keys > 0) {
        throw new PackConflictError(
          `Action ${gone.ref} is no longer in the pack but still owns ${keys} key(s); delete or move them first ` +
            `(attune key list --action ${gone.ref}). Nothing of pack ${def.ref} was registered.`,
        );
      }
      await tx.action.delete({ where: { id: gone.id } });
      report.actions.removed.push(gone.ref);
    }
    return report;
  });
}

/** JSON with sorted keys, so equal metadata compares equal whatever its key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
