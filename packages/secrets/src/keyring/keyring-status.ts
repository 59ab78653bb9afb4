import { AttuneError } from '@attune/core';
import type { SqlQueryable } from '@attune/db';
import { DataKeyStore } from './data-key-store.js';
import type { Keyring } from './keyring.js';

/** What one master key protects. */
export interface MasterKeyUse {
  /**
   * Its public key hash (docs/encryption.md#key-hash); `unrecognised` for values encrypted directly with a key that
   * is not in the ring (their stored hash may be the seed's, which is the key itself, so it is never shown).
   */
  readonly keyHash: string;
  /** Its id in the ring, or null when it is not in the ring. */
  readonly id: string | null;
  readonly active: boolean;
  /** Data keys it wraps, by state. */
  readonly dataKeys: { readonly active: number; readonly retired: number };
  /** Values encrypted directly with it by earlier versions (secrets and versions), to upgrade. */
  readonly directValues: number;
}

/** What {@link keyringStatus} reports. */
export interface KeyringStatus {
  readonly masterKeys: readonly MasterKeyUse[];
  /** Destroyed data keys (their values decrypt no more). */
  readonly destroyedDataKeys: number;
  /** Values stored under a data key that is not their owner's active one (the rest of a rotation). */
  readonly valuesOnRetiredDataKeys: number;
}

/**
 * What each master key still protects: the data keys it wraps and the values earlier versions encrypted with it
 * directly (docs/secrets-management.md#rotating-the-encryption-key). One read of each table.
 */
export async function keyringStatus(
  q: SqlQueryable,
  keyring: Keyring,
  store = new DataKeyStore(),
): Promise<KeyringStatus> {
  const uses = new Map<string, { id: string | null; active: number; retired: number; direct: number }>();
  // A hash stored beside a directly encrypted value may be in the seed's scheme, which is the key itself: it is
  // reported by the ring key it names, or as `unrecognised`, never shown. Data keys' master hashes are ours.
  const use = (hash: string, showable = true) => {
    const ring = keyring.byHash(hash);
    const shown = ring ? ring.key.keyHash : showable ? hash : 'unrecognised';
    let entry = uses.get(shown);
    if (!entry) {
      entry = { id: ring?.id ?? null, active: 0, retired: 0, direct: 0 };
      uses.set(shown, entry);
    }
    return entry;
  };
  for (const k of keyring.keys) use(k.key.keyHash);
  let destroyed = 0;
  for (const row of await store.countsByMaster(q)) {
    if (row.master_key_hash === null) destroyed += row.count;
    else if (row.state === 'active') use(row.master_key_hash).active += row.count;
    else use(row.master_key_hash).retired += row.count;
  }
  const direct = await q.query<{ hash: string | null; count: number }>(
    `SELECT encryption_key_hash AS hash, count(*)::int AS count FROM (
       SELECT encryption_key_hash FROM "attune"."key" WHERE encrypted AND data_key_id IS NULL
       UNION ALL
       SELECT encryption_key_hash FROM "attune"."key_version" WHERE encrypted AND data_key_id IS NULL AND value IS NOT NULL
     ) v GROUP BY 1`,
  );
  for (const row of direct)
    use(row.hash ?? keyring.active?.key.keyHash ?? 'unrecognised', false).direct += row.count;
  const [retired] = await q.query<{ count: number }>(
    `SELECT (
       (SELECT count(*) FROM "attune"."key" k JOIN "attune"."data_key" d ON d.id = k.data_key_id WHERE d.state = 'retired') +
       (SELECT count(*) FROM "attune"."key_version" v JOIN "attune"."data_key" d ON d.id = v.data_key_id
          WHERE d.state = 'retired' AND v.value IS NOT NULL))::int AS count`,
  );
  return {
    masterKeys: [...uses].map(([keyHash, u]) => ({
      keyHash,
      id: u.id,
      active: keyring.active?.key.keyHash === keyHash,
      dataKeys: { active: u.active, retired: u.retired },
      directValues: u.direct,
    })),
    destroyedDataKeys: destroyed,
    valuesOnRetiredDataKeys: retired?.count ?? 0,
  };
}

/** A master key that is gone from the ring still protects secrets. */
export class KeyringIncompleteError extends AttuneError {
  constructor(missing: readonly MasterKeyUse[], noKeyAtAll = false) {
    const what = missing
      .map(
        (m) =>
          `master key ${m.keyHash.slice(0, 12)}… wraps ${m.dataKeys.active + m.dataKeys.retired} data key(s) and encrypts ${m.directValues} value(s) directly`,
      )
      .join('; ');
    super({
      code: 'ATTUNE_SECRETS_KEYRING_INCOMPLETE',
      category: 'invalid',
      field: 'security.encryption_keys',
      message:
        (noKeyAtAll
          ? `No encryption key is configured, and encrypted secrets need one: ${what}. Configure ` +
            'security.encryption_key_file (or security.encryption_keys) in the configuration file (--config FILE or ' +
            'ATTUNE_CONFIG; ./attune.yaml is read when present) or ATTUNE__SECURITY__ENCRYPTION_KEY_FILE, or run this ' +
            'process where the key is. '
          : '') +
        `The keyring lacks a master key that secrets still need: ${what}. Put it back in security.encryption_keys ` +
        '(not as active_key), start again, and run `attune keyring rotate` (and `attune keyring upgrade` for values ' +
        'encrypted directly); then it may be removed. A key that is lost for good: `attune keyring status`, then ' +
        '`attune keyring destroy-data-key` for the data keys it wraps (their secrets are lost; enter them again).',
    });
  }
}

/**
 * Refuses to start with a keyring that lacks a master key something still needs (docs/secrets-management.md), and
 * without any key at all while encrypted secrets exist (every one of them would be skipped). A database without
 * encrypted secrets needs no key.
 * @throws {KeyringIncompleteError}
 */
export async function assertKeyringComplete(q: SqlQueryable, keyring: Keyring): Promise<void> {
  const status = await keyringStatus(q, keyring);
  if (keyring.empty) {
    const needed = status.masterKeys.filter(
      (m) => m.dataKeys.active + m.dataKeys.retired > 0 || m.directValues > 0,
    );
    if (needed.length > 0) throw new KeyringIncompleteError(needed, true);
    return;
  }
  const missing = status.masterKeys.filter(
    (m) => m.id === null && (m.dataKeys.active + m.dataKeys.retired > 0 || m.directValues > 0),
  );
  if (missing.length > 0) throw new KeyringIncompleteError(missing);
}
