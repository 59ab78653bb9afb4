import { rewrapDataKey } from '@attune/crypto';
import type { SqlExecutor } from '@attune/db';
import { DataKeyStore } from './data-key-store.js';
import type { Keyring } from './keyring.js';

/** What {@link rotateMasterKey} did. */
export interface RewrapReport {
  /** The active master key's id and hash: what every data key is wrapped by now. */
  readonly activeKey: { readonly id: string; readonly keyHash: string };
  /** Data keys rewrapped now. */
  readonly rewrapped: number;
  /** Data keys wrapped by a master key that is not in the ring, by that key's hash prefix: not rewrapped. */
  readonly unreachable: ReadonlyArray<{ readonly keyHash: string; readonly dataKeys: number }>;
  readonly seconds: number;
}

/** Data keys rewrapped per statement. */
const BATCH = 200;
/** Data keys rewrapped between two yields to the event loop (a rotation must not stall a process's other work). */
const YIELD_EVERY = 25;

/**
 * Master-key rotation (docs/secrets-management.md#rotating-the-encryption-key): rewraps every data key not yet
 * wrapped by the ring's active master key, unwrapping it with the older key of the ring that wrapped it. Touches
 * only `attune.data_key` — seconds for any number of secrets — and each data key atomically (a compare-and-set on
 * the master key it was read with), so it runs online and may be stopped and rerun at any point.
 * @throws {Error} when the ring has no active key.
 */
export async function rotateMasterKey(
  sql: SqlExecutor,
  keyring: Keyring,
  options: { onProgress?: (done: number) => void; store?: DataKeyStore } = {},
): Promise<RewrapReport> {
  const active = keyring.active;
  if (!active) throw new Error('No master key is configured: there is nothing to rotate to.');
  const store = options.store ?? new DataKeyStore();
  const started = performance.now();
  const unreachable = new Map<string, number>();
  let rewrapped = 0;
  let after = 0;
  for (;;) {
    const rows = await store.notWrappedBy(active.key.keyHash, after, BATCH, sql);
    if (rows.length === 0) break;
    after = (rows.at(-1) as (typeof rows)[number]).id;
    const updates = [];
    for (const [i, row] of rows.entries()) {
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
      const from = keyring.byHash(row.master_key_hash as string);
      if (!from) {
        const hash = (row.master_key_hash as string).slice(0, 12);
        unreachable.set(hash, (unreachable.get(hash) ?? 0) + 1);
        continue;
      }
      updates.push({
        id: row.id,
        from: row.master_key_hash as string,
        wrapped: rewrapDataKey(from.key, active.key, row.wrapped as string, {
          id: row.id,
          version: row.version,
        }),
        masterKeyHash: active.key.keyHash,
      });
    }
    rewrapped += await store.rewrap(updates, sql);
    options.onProgress?.(rewrapped);
  }
  return {
    activeKey: { id: active.id, keyHash: active.key.keyHash },
    rewrapped,
    unreachable: [...unreachable].map(([keyHash, dataKeys]) => ({ keyHash, dataKeys })),
    seconds: (performance.now() - started) / 1000,
  };
}
