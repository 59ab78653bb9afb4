import { inTransaction, type Prisma, type PrismaClientOrTransaction } from '@attune/db';
import { KeyStore, type OwnerDirectory } from '@attune/secrets';
import { PackConflictError } from './errors.js';
import type { PackDefinition, ParameterSpec } from './pack-loader.js';

/** What registering a pack changed. */
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

/** A registered pack, as listed. */
export interface PackRecord {
  readonly id: number;
  readonly ref: string;
  readonly label: string;
  readonly version: string;
  readonly description: string | null;
}

/** A registered action, as listed and as an execution request needs it. */
export interface ActionRecord {
  readonly id: number;
  readonly ref: string;
  readonly packId: number;
  readonly runnerType: string;
  readonly entryPoint: string;
  readonly parameters: Record<string, ParameterSpec>;
  readonly timeoutSeconds: number;
  /** The secrets the action's metadata declares, as stored (read with `declaredSecretsOf`). */
  readonly expectedSecrets: unknown;
  /** Its own secrets policy, else its pack's; null: the worker's. */
  readonly secretsPolicy: string | null;
  readonly secretsDelivery: string;
  readonly secretsFileFormat: string | null;
  readonly network: boolean;
}

/**
 * The one owner of `attune.pack` and `attune.action`: registration writes them, the rest reads them. Also the key
 * service's {@link OwnerDirectory}: packs and actions own secrets. Every method takes an optional transaction.
 */
export class PackStore implements OwnerDirectory {
  readonly #prisma: PrismaClientOrTransaction;

  constructor(prisma: PrismaClientOrTransaction) {
    this.#prisma = prisma;
  }

  /** Runs `fn` in a transaction (the caller's own, when this store was given one). */
  transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return inTransaction(this.#prisma, fn);
  }

  /** Every pack, by ref. */
  async listPacks(tx: PrismaClientOrTransaction = this.#prisma): Promise<PackRecord[]> {
    const packs = await tx.pack.findMany({ orderBy: { ref: 'asc' } });
    return packs.map(toPackRecord);
  }

  /** Every action, or those of one pack, by ref. */
  async listActions(
    filter: { pack?: string | undefined } = {},
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<ActionRecord[]> {
    const actions = await tx.action.findMany({
      where: filter.pack ? { pack: { ref: filter.pack } } : {},
      orderBy: { ref: 'asc' },
      include: { pack: { select: { secretsPolicy: true } } },
    });
    return actions.map(toActionRecord);
  }

  /** How many packs there are besides the one with ref `except`. */
  countPacksExcept(except: string, tx: PrismaClientOrTransaction = this.#prisma): Promise<number> {
    return tx.pack.count({ where: { ref: { not: except } } });
  }

  /** The pack with this id or ref, or null. */
  async findPack(
    idOrRef: number | string,
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<PackRecord | null> {
    const pack = await tx.pack.findUnique({
      where: typeof idOrRef === 'number' ? { id: idOrRef } : { ref: idOrRef },
    });
    return pack ? toPackRecord(pack) : null;
  }

  /** The action with this id or ref, or null. */
  async findAction(
    idOrRef: number | string,
    tx: PrismaClientOrTransaction = this.#prisma,
  ): Promise<ActionRecord | null> {
    const action = await tx.action.findUnique({
      where: typeof idOrRef === 'number' ? { id: idOrRef } : { ref: idOrRef },
      include: { pack: { select: { secretsPolicy: true } } },
    });
    return action ? toActionRecord(action) : null;
  }

  /**
   * Writes a loaded pack definition: creates or updates the pack and its actions, removes actions no longer in it.
   * Idempotent (a second run reports everything unchanged) and done in one transaction (the caller's own, when
   * given one): a refused removal registers nothing of the pack.
   * @throws {PackConflictError} when an action to remove still owns secrets.
   */
  register(
    def: PackDefinition,
    client: PrismaClientOrTransaction = this.#prisma,
  ): Promise<RegistrationReport> {
    return inTransaction(client, async (tx) => {
      const packData = {
        label: def.label,
        version: def.version,
        description: def.description ?? null,
        path: def.path,
        secretsPolicy: def.secretsPolicy ?? null,
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
          existing.path === packData.path &&
          existing.secretsPolicy === packData.secretsPolicy;
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
          expectedSecrets: action.secrets.map((d) => ({ name: d.name, required: d.required })),
          secretsPolicy: action.secretsPolicy ?? null,
          secretsDelivery: action.secretsDelivery,
          secretsFileFormat: action.secretsFileFormat ?? null,
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
          before.secretsPolicy === data.secretsPolicy &&
          before.secretsDelivery === data.secretsDelivery &&
          before.secretsFileFormat === data.secretsFileFormat &&
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
        const keys = await new KeyStore(tx).countOwnedByAction(gone.id);
        if (keys > 0) {
          throw new PackConflictError(
            `Action ${gone.ref} is no longer in the pack but still owns ${keys} key(s); delete them first ` +
              `(attune key list --action ${gone.ref}). Nothing of pack ${def.ref} was registered.`,
          );
        }
        await tx.action.delete({ where: { id: gone.id } });
        report.actions.removed.push(gone.ref);
      }
      return report;
    });
  }
}

function toPackRecord(p: PackRecord): PackRecord {
  return { id: p.id, ref: p.ref, label: p.label, version: p.version, description: p.description };
}

function toActionRecord(a: {
  id: number;
  ref: string;
  packId: number;
  runnerType: string;
  entryPoint: string;
  parameters: unknown;
  timeoutSeconds: number;
  expectedSecrets: unknown;
  secretsPolicy: string | null;
  secretsDelivery: string;
  secretsFileFormat: string | null;
  network: boolean;
  pack: { secretsPolicy: string | null };
}): ActionRecord {
  return {
    id: a.id,
    ref: a.ref,
    packId: a.packId,
    runnerType: a.runnerType,
    entryPoint: a.entryPoint,
    parameters: a.parameters as Record<string, ParameterSpec>,
    timeoutSeconds: a.timeoutSeconds,
    expectedSecrets: a.expectedSecrets,
    secretsPolicy: a.secretsPolicy ?? a.pack.secretsPolicy,
    secretsDelivery: a.secretsDelivery,
    secretsFileFormat: a.secretsFileFormat,
    network: a.network,
  };
}

/** JSON with sorted keys, so equal metadata compares equal whatever its key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
