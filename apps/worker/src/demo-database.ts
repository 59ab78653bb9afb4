import { resolve } from 'node:path';
import { TokenStore } from '@attune/auth';
import { AttuneError } from '@attune/core';
import { type Database, type DatabaseConfig, readSchemaMark, writeSchemaMark } from '@attune/db';
import { ExecutionStore } from '@attune/executions';
import { PackStore } from '@attune/registry';
import { KeyStore } from '@attune/secrets';

/** The demo's own embedded database: never the default one, which `attune api` and the CLI use. */
export const DEMO_EMBEDDED_DIR = '.attune/demo';

/** What the demo wrote into a database, recorded in it (a comment on schema `attune`) as it writes. */
interface Manifest {
  readonly attuneDemo: 1;
  /** Each key the demo wrote, with its `updated` time as the database gave it right after the write. */
  readonly keys: Record<string, string>;
  /** The highest execution id the demo requested. */
  readonly maxExecution: string;
}

/** The demo would change data it did not create. The message says what to do. */
export class DemoDatabaseInUseError extends AttuneError {
  constructor(message: string) {
    super({ code: 'ATTUNE_DEMO_DATABASE_IN_USE', category: 'conflict', message });
  }
}

/** The database the demo runs on: PostgreSQL when DATABASE_URL is set, else its own embedded one. */
export function demoDatabase(configured: DatabaseConfig): DatabaseConfig {
  return configured.kind === 'postgres'
    ? configured
    : { kind: 'pglite', dataDir: resolve(DEMO_EMBEDDED_DIR) };
}

/**
 * The demo's claim on a database. It stores secrets under names an operator may use too (`system.api_key`, the
 * seed's own example), so it must never overwrite what it did not write: it runs on a database without Attune data,
 * or on one holding exactly what an earlier demo run recorded writing — every key unchanged since, no other key, no
 * token, no pack but the example pack, no execution it did not request.
 */
export class DemoClaim {
  private constructor(
    private readonly db: Database,
    private manifest: Manifest,
  ) {}

  /**
   * Checks that the database is the demo's to write (before migrating it), and returns the claim.
   * @throws {DemoDatabaseInUseError}
   */
  static async check(db: Database): Promise<DemoClaim> {
    const empty: Manifest = { attuneDemo: 1, keys: {}, maxExecution: '0' };
    const schema = await readSchemaMark(db.sql);
    if (!schema.present) return new DemoClaim(db, empty);
    const manifest = parse(schema.mark) ?? empty;
    const keys = await new KeyStore(db.prisma).updatedStamps();
    const others = {
      packs: await new PackStore(db.prisma).countPacksExcept('examples'),
      tokens: await new TokenStore(db.prisma).count(),
      executions: await new ExecutionStore(db.sql).countAfter(manifest.maxExecution),
    };
    const foreign = keys.filter((k) => manifest.keys[k.ref] !== k.updated).length;
    const held = [
      [foreign, 'key(s) it did not write or that changed since'],
      [others.packs, 'other pack(s)'],
      [others.tokens, 'API token(s)'],
      [others.executions, 'execution(s) it did not request'],
    ].filter(([n]) => (n as number) > 0);
    if (held.length > 0) {
      throw new DemoDatabaseInUseError(
        `The database at DATABASE_URL holds Attune data the demo did not create (${held.map(([n, what]) => `${n} ${what}`).join(', ')}). ` +
          'The demo never changes data it did not create: unset DATABASE_URL (it then uses an embedded database of ' +
          `its own, ${DEMO_EMBEDDED_DIR}), or point DATABASE_URL at an empty database.`,
      );
    }
    return new DemoClaim(db, manifest);
  }

  /** Marks the database as the demo's (after migrating it), before anything is written. */
  async claim(): Promise<void> {
    await this.#save();
  }

  /** Records a key the demo has just written. */
  async recordKey(ref: string): Promise<void> {
    const row = (await new KeyStore(this.db.prisma).updatedStamps()).find((k) => k.ref === ref);
    if (row) this.manifest = { ...this.manifest, keys: { ...this.manifest.keys, [ref]: row.updated } };
    await this.#save();
  }

  /** Records an execution the demo has just requested. */
  async recordExecution(id: bigint): Promise<void> {
    if (id > BigInt(this.manifest.maxExecution))
      this.manifest = { ...this.manifest, maxExecution: String(id) };
    await this.#save();
  }

  async #save(): Promise<void> {
    await writeSchemaMark(this.db.sql, JSON.stringify(this.manifest));
  }
}

function parse(mark: string | null): Manifest | undefined {
  if (!mark) return undefined;
  try {
    const m = JSON.parse(mark) as Partial<Manifest>;
    if (
      m.attuneDemo !== 1 ||
      typeof m.keys !== 'object' ||
      m.keys === null ||
      typeof m.maxExecution !== 'string'
    )
      return undefined;
    if (!/^\d+$/.test(m.maxExecution)) return undefined;
    return m as Manifest;
  } catch {
    return undefined;
  }
}
