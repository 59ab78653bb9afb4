import { AuditLog, AuditWriteError } from '@attune/audit';
import { EncryptionKey } from '@attune/crypto';
import type { Database } from '@attune/db';
import type { TestDatabase } from '@attune/db/testing';
import { describe, expect, it } from 'vitest';
import {
  assertKeyringComplete,
  DataKeyNotFoundError,
  destroyDataKey,
  EncryptionKeyRequiredError,
  InvalidKeyInputError,
  KeyDeletedError,
  Keyring,
  KeyringIncompleteError,
  KeyVersionConflictError,
  KeyVersionDestroyedError,
  KeyVersionNotFoundError,
  keyringStatus,
  reencrypt,
  rotateMasterKey,
  SecretResolver,
  ValueCipher,
} from '../src/index.js';
import { actor, capturingLogger, keyService, makePack } from './helpers.js';

const K1 = EncryptionKey.fromPassword('lifecycle-suite-master-key-one-0123456789');
const K2 = EncryptionKey.fromPassword('lifecycle-suite-master-key-two-0123456789');
const ring = (keys: Array<[string, EncryptionKey]>, active: string) =>
  new Keyring(
    keys.map(([id, key]) => ({ id, key })),
    active,
  );

/** Versions, rollback, check-and-set, retention, soft delete; the keyring: rotations, upgrades, destruction. */
export function lifecycleSuite(getDb: () => Database, freshDb: () => Promise<TestDatabase>): void {
  const resolve = async (db: Database, keyring: Keyring, actionRef: string) =>
    new SecretResolver({ sql: db.sql, keyring, logger: capturingLogger().logger }).resolveForAction(
      actionRef,
    );
  // System secrets of the other tests of this database resolve for every action: only the pack's and action's count.
  const values = (r: Awaited<ReturnType<typeof resolve>>) =>
    Object.fromEntries(r.secrets.filter((s) => s.level !== 'system').map((s) => [s.name, s.value]));
  const warnings = (r: Awaited<ReturnType<typeof resolve>>) => r.warnings.filter((w) => w.level !== 'system');

  describe('versions', () => {
    it('writes a version per change, lists them without values, reads one, and rolls back to one as a new version', async () => {
      const db = getDb();
      const { pack, actions } = await makePack(db.prisma, ['run']);
      const keys = keyService(db.prisma, ring([['k1', K1]], 'k1'), capturingLogger().logger);
      const ref = `${pack.ref}.token`;
      await keys.create(actor, { owner: { type: 'pack', pack: pack.id }, name: 'token', value: 'one' });
      await keys.update(actor, ref, { value: 'two' });
      expect((await keys.versions.get(actor, ref, 1)).value).toBe('one');
      // Rolling back answers no value, and makes the old value current as a new version.
      const back = await keys.versions.rollback(actor, ref, 1);
      expect(back).toMatchObject({ version: 3, value: null, encrypted: false });
      expect((await keys.get(actor, ref)).value).toBe('one');
      expect((await keys.versions.get(actor, ref, 3)).origin).toBe('rollback');
      expect((await keys.versions.get(actor, ref, 3)).sourceVersion).toBe(1);
      // Encrypted from now on: the plain history is erased (metadata kept).
      const four = await keys.update(actor, ref, { value: 'four', encrypted: true });
      expect(four.version).toBe(4);
      await keys.update(actor, ref, { value: 'five' });
      const listed = await keys.versions.list(actor, ref);
      expect(
        listed.map((v) => [v.version, v.origin, v.current, v.encrypted, v.destroyedAt !== null]),
      ).toEqual([
        [5, 'update', true, true, false],
        [4, 'update', false, true, false],
        [3, 'rollback', false, false, true],
        [2, 'update', false, false, true],
        [1, 'create', false, false, true],
      ]);
      expect(listed.every((v) => v.value === null && v.actor.name === actor.name)).toBe(true);
      expect((await keys.versions.get(actor, ref, 4)).value).toBeNull();
      expect((await keys.versions.get(actor, ref, 4, { decrypt: true })).value).toBe('four');
      await expect(keys.versions.get(actor, ref, 9)).rejects.toThrow(KeyVersionNotFoundError);
      // An encrypted version rolls back through the server's keys: decrypted, sealed again, never answered.
      const again = await keys.versions.rollback(actor, ref, 4);
      expect(again).toMatchObject({ version: 6, value: null, encrypted: true });
      expect((await keys.get(actor, ref, { decrypt: true })).value).toBe('four');
      expect(
        (await resolve(db, keys.keyring, actions[0]?.ref as string)).secrets.find((s) => s.level === 'pack'),
      ).toMatchObject({ value: 'four', version: 6 });
    });

    it('soft-deletes (the secret stops resolving, its versions stay) and undeletes', async () => {
      const db = getDb();
      const { pack, actions } = await makePack(db.prisma, ['run']);
      const keys = keyService(db.prisma, ring([['k1', K1]], 'k1'), capturingLogger().logger);
      const ref = `${pack.ref}.api_key`;
      await keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'api_key',
        value: 'v',
        encrypted: true,
      });
      await keys.delete(actor, ref);
      expect(values(await resolve(db, keys.keyring, actions[0]?.ref as string))).toEqual({});
      expect(await keys.versions.list(actor, ref)).toHaveLength(1);
      await expect(keys.versions.rollback(actor, ref, 1)).rejects.toThrow(KeyDeletedError);
      await keys.undelete(actor, ref);
      expect(values(await resolve(db, keys.keyring, actions[0]?.ref as string))).toEqual({ api_key: 'v' });
    });

    it('destroys versions for good (metadata kept), never the current one', async () => {
      const db = getDb();
      const { pack } = await makePack(db.prisma);
      const keys = keyService(db.prisma, ring([['k1', K1]], 'k1'), capturingLogger().logger);
      const ref = `${pack.ref}.pw`;
      await keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'pw',
        value: 'leaked',
        encrypted: true,
      });
      await keys.update(actor, ref, { value: 'fresh' });
      // An older version's ciphertext moved over the current one does not decrypt: a value is bound to its version.
      await keys.update(actor, ref, { value: 'fresh-2' });
      await keys.versions.rollback(actor, ref, 2);
      const [held] = await db.sql.query<{ value: unknown }>('SELECT value FROM attune.key WHERE ref = $1', [
        ref,
      ]);
      await db.sql.query(
        `UPDATE attune.key SET value = (SELECT v.value FROM attune.key_version v JOIN attune.key k ON k.id = v.key_id
           WHERE k.ref = $1 AND v.version = 3) WHERE ref = $1`,
        [ref],
      );
      await expect(keys.get(actor, ref, { decrypt: true })).rejects.toThrow(/authentication_failed/);
      await db.sql.query('UPDATE attune.key SET value = $2::jsonb WHERE ref = $1', [
        ref,
        JSON.stringify(held?.value),
      ]);
      expect((await keys.get(actor, ref, { decrypt: true })).value).toBe('fresh');
      await expect(keys.versions.destroy(actor, ref, [4])).rejects.toThrow(/is current/);
      await expect(keys.versions.destroy(actor, ref, [7])).rejects.toThrow(KeyVersionNotFoundError);
      expect(await keys.versions.destroy(actor, ref, [1])).toEqual([1]);
      expect(await keys.versions.destroy(actor, ref, [1])).toEqual([]);
      const [hash] = await db.sql.query<{ h: string | null }>(
        'SELECT v.encryption_key_hash AS h FROM attune.key_version v JOIN attune.key k ON k.id = v.key_id WHERE k.ref = $1 AND v.version = 1',
        [ref],
      );
      expect(hash?.h).toBeNull();
      const [row] = await db.sql.query<{ value: unknown; destroyed_at: Date | null }>(
        'SELECT v.value, v.destroyed_at FROM attune.key_version v JOIN attune.key k ON k.id = v.key_id WHERE k.ref = $1 AND v.version = 1',
        [ref],
      );
      expect(row?.value).toBeNull();
      expect(row?.destroyed_at).toBeInstanceOf(Date);
      const meta = await keys.versions.get(actor, ref, 1);
      expect(meta).toMatchObject({ version: 1, value: null, encrypted: true });
      expect(meta.destroyedAt).toBeInstanceOf(Date);
      await expect(keys.versions.get(actor, ref, 1, { decrypt: true })).rejects.toThrow(
        KeyVersionDestroyedError,
      );
      await expect(keys.versions.rollback(actor, ref, 1)).rejects.toThrow(KeyVersionDestroyedError);
      // A destroyed version stays destroyed: the database refuses to give it a value again.
      await expect(
        db.sql.query(
          `UPDATE attune.key_version SET value = '"back"', destroyed_at = NULL WHERE key_id = (SELECT id FROM attune.key WHERE ref = $1) AND version = 1`,
          [ref],
        ),
      ).rejects.toThrow(/immutable|key_version/);
      await expect(
        db.sql.query(
          `UPDATE attune.key_version SET actor_name = 'someone else' WHERE key_id = (SELECT id FROM attune.key WHERE ref = $1)`,
          [ref],
        ),
      ).rejects.toThrow(/immutable/);
    });

    it('never rolls back to less protection than the secret has now', async () => {
      const db = getDb();
      const { pack } = await makePack(db.prisma);
      const keys = keyService(db.prisma, ring([['k1', K1]], 'k1'), capturingLogger().logger);
      const ref = `${pack.ref}.mixed`;
      await keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'mixed',
        value: 'enc-one',
        encrypted: true,
      });
      // Turning encryption off needs decrypt rights (the API checks them); rolling back never does, so a plain old
      // value comes back encrypted while the secret is encrypted.
      await keys.update(actor, ref, { value: 'plain-two', encrypted: false });
      await keys.update(actor, ref, { value: 'enc-three', encrypted: true });
      await keys.update(actor, ref, { value: 'enc-four' });
      const back = await keys.versions.rollback(actor, ref, 3);
      expect(back.encrypted).toBe(true);
      expect((await keys.get(actor, ref, { decrypt: true })).value).toBe('enc-three');
    });

    it('keeps at most the retention limit of versions, the oldest non-current ones pruned', async () => {
      const db = getDb();
      const { pack } = await makePack(db.prisma);
      const keys = keyService(db.prisma, ring([['k1', K1]], 'k1'), capturingLogger().logger, 3);
      const ref = `${pack.ref}.rotating`;
      await keys.create(actor, { owner: { type: 'pack', pack: pack.id }, name: 'rotating', value: 'v1' });
      for (let i = 2; i <= 6; i++) await keys.update(actor, ref, { value: `v${i}` });
      expect((await keys.versions.list(actor, ref)).map((v) => v.version)).toEqual([6, 5, 4]);
      // A limit of its own, kept from then on.
      await keys.update(actor, ref, { maxVersions: 2 });
      expect((await keys.versions.list(actor, ref)).map((v) => v.version)).toEqual([6, 5]);
      await keys.update(actor, ref, { value: 'v7' });
      expect((await keys.versions.list(actor, ref)).map((v) => v.version)).toEqual([7, 6]);
      await expect(keys.update(actor, ref, { maxVersions: 0 })).rejects.toThrow(InvalidKeyInputError);
    });

    it('check-and-set: of 20 concurrent updates expecting one version, exactly one wins', async () => {
      const db = getDb();
      const { pack } = await makePack(db.prisma);
      const keys = keyService(db.prisma, ring([['k1', K1]], 'k1'), capturingLogger().logger, 50);
      const ref = `${pack.ref}.cas`;
      await keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'cas',
        value: 'start',
        encrypted: true,
      });
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          keys.update(actor, ref, { value: `writer-${i}`, expectedVersion: 1 }),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost.every((r) => (r as PromiseRejectedResult).reason instanceof KeyVersionConflictError)).toBe(
        true,
      );
      expect((lost[0] as PromiseRejectedResult).reason.message).toMatch(
        /is at version 2, not 1: .*Nothing was written/,
      );
      expect(await keys.versions.list(actor, ref)).toHaveLength(2);
      const winner = (won[0] as PromiseFulfilledResult<{ version: number }>).value;
      expect(winner.version).toBe(2);
      // set with --cas takes the same path.
      await expect(
        keys.set(actor, {
          owner: { type: 'pack', pack: pack.id },
          name: 'cas',
          value: 'late',
          expectedVersion: 1,
        }),
      ).rejects.toThrow(KeyVersionConflictError);
    });
  });

  describe('the audit trail', () => {
    it('records every change and decrypt of a secret with its actor, never a value, in the same transaction', async () => {
      const db = getDb();
      const { pack } = await makePack(db.prisma);
      const keys = keyService(db.prisma, ring([['k1', K1]], 'k1'), capturingLogger().logger);
      const ref = `${pack.ref}.audited`;
      await keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'audited',
        value: 'AUDIT-CANARY-1',
        encrypted: true,
      });
      await keys.update(actor, ref, { value: 'AUDIT-CANARY-2' });
      await keys.get(actor, ref, { decrypt: true });
      await keys.versions.get(actor, ref, 1, { decrypt: true });
      await keys.versions.rollback(actor, ref, 1);
      await keys.versions.destroy(actor, ref, [2]);
      await keys.delete(actor, ref);
      await keys.undelete(actor, ref);
      // Turning encryption off answers the value: a decrypt too.
      expect((await keys.update(actor, ref, { encrypted: false })).value).toBe('AUDIT-CANARY-1');
      await keys.delete(actor, ref, { purge: true });
      const events = await new AuditLog().list({ ref }, db.sql);
      expect(events.map((e) => [e.action, e.version]).reverse()).toEqual([
        ['key.created', 1],
        ['key.updated', 2],
        ['key.decrypted', 2],
        ['key.version_decrypted', 1],
        ['key.rolled_back', 3],
        ['key.versions_destroyed', 3],
        ['key.deleted', 3],
        ['key.undeleted', 3],
        ['key.decrypted', 3],
        ['key.updated', 4],
        ['key.purged', 4],
      ]);
      expect(events.every((e) => e.actor.name === actor.name && e.outcome === 'ok')).toBe(true);
      expect(JSON.stringify(events)).not.toMatch(/AUDIT-CANARY/);
      // A decrypt the system refuses (no master key here) or that fails: recorded with its outcome and reason.
      await keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'locked',
        value: 'x',
        encrypted: true,
      });
      const keyless = keyService(db.prisma, new Keyring([], undefined), capturingLogger().logger);
      await expect(keyless.get(actor, `${pack.ref}.locked`, { decrypt: true })).rejects.toThrow(
        EncryptionKeyRequiredError,
      );
      await expect(keyless.versions.get(actor, `${pack.ref}.locked`, 1, { decrypt: true })).rejects.toThrow(
        EncryptionKeyRequiredError,
      );
      const refusals = await new AuditLog().list({ ref: `${pack.ref}.locked`, action: undefined }, db.sql);
      expect(refusals.map((e) => [e.action, e.outcome, e.detail.reason])).toEqual([
        ['key.version_decrypted', 'refused', 'no_key_configured'],
        ['key.decrypted', 'refused', 'no_key_configured'],
        ['key.created', 'ok', undefined],
      ]);
      // When the event cannot be written, the change does not happen either.
      await keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'guarded',
        value: 'one',
        encrypted: true,
      });
      await db.sql.exec(`CREATE FUNCTION attune.test_audit_down() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit storage down'; END $$;
        CREATE TRIGGER test_audit_down BEFORE INSERT ON attune.audit_event FOR EACH ROW EXECUTE FUNCTION attune.test_audit_down();`);
      try {
        await expect(keys.update(actor, `${pack.ref}.guarded`, { value: 'two' })).rejects.toThrow(
          AuditWriteError,
        );
        await expect(keys.get(actor, `${pack.ref}.guarded`, { decrypt: true })).rejects.toThrow(
          AuditWriteError,
        );
      } finally {
        await db.sql.exec(
          'DROP TRIGGER test_audit_down ON attune.audit_event; DROP FUNCTION attune.test_audit_down();',
        );
      }
      expect((await keys.get(actor, `${pack.ref}.guarded`)).version).toBe(1);
      expect((await new AuditLog().verify(db.sql)).broken).toBeNull();
    });
  });

  describe('the keyring', () => {
    it('rotates the master key online: data keys rewrapped, every value resolving before, during and after', async () => {
      // A database of its own: the keyring is checked against everything in it.
      const db = await freshDb();
      try {
        const one = ring([['k1', K1]], 'k1');
        const keys = keyService(db.prisma, one, capturingLogger().logger);
        const owners = await Promise.all([makePack(db.prisma, ['run']), makePack(db.prisma, ['run'])]);
        for (const { pack, actions } of owners) {
          await keys.create(actor, {
            owner: { type: 'pack', pack: pack.id },
            name: 'a',
            value: `a-${pack.ref}`,
            encrypted: true,
          });
          await keys.create(actor, {
            owner: { type: 'action', action: actions[0]?.id as number },
            name: 'b',
            value: `b-${pack.ref}`,
            encrypted: true,
          });
        }
        const both = ring(
          [
            ['k1', K1],
            ['k2', K2],
          ],
          'k2',
        );
        for (const { actions } of owners)
          expect(values(await resolve(db, both, actions[0]?.ref as string))).toHaveProperty('a');
        const report = await rotateMasterKey(db.sql, both);
        expect(report.rewrapped).toBeGreaterThanOrEqual(4);
        expect(report.unreachable).toEqual([]);
        expect((await rotateMasterKey(db.sql, both)).rewrapped).toBe(0);
        const two = ring([['k2', K2]], 'k2');
        for (const { pack, actions } of owners) {
          expect(values(await resolve(db, two, actions[0]?.ref as string))).toMatchObject({
            a: `a-${pack.ref}`,
            b: `b-${pack.ref}`,
          });
        }
        const status = await keyringStatus(db.sql, two);
        const k2 = status.masterKeys.find((m) => m.id === 'k2');
        expect(k2?.dataKeys.active).toBeGreaterThanOrEqual(4);
        expect(status.masterKeys.find((m) => m.keyHash === K1.keyHash)?.dataKeys.active ?? 0).toBe(0);
        await assertKeyringComplete(db.sql, two);
        // A ring without the key that now wraps the data keys is refused, with the counts and what to do.
        const error = await assertKeyringComplete(db.sql, one).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KeyringIncompleteError);
        expect((error as Error).message).toMatch(
          /master key [0-9a-f]{12}… wraps \d+ data key\(s\).*attune keyring rotate/,
        );
        expect((error as Error).message).not.toContain(K2.keyHash.slice(12, 40));
      } finally {
        await db.drop();
      }
    });

    it("rotates one owner's data key online, resumable, and upgrades values encrypted directly with the master key", async () => {
      const db = await freshDb();
      try {
        const keyring = ring([['k2', K2]], 'k2');
        const keys = keyService(db.prisma, keyring, capturingLogger().logger);
        const { pack, actions } = await makePack(db.prisma, ['run']);
        const owner = { ownerType: 'pack' as const, ownerPack: pack.id, ownerAction: null };
        for (let i = 0; i < 12; i++) {
          await keys.create(actor, {
            owner: { type: 'pack', pack: pack.id },
            name: `s${i}`,
            value: `value-${i}`,
            encrypted: true,
          });
          await keys.update(actor, `${pack.ref}.s${i}`, { value: `value-${i}-b` });
        }
        // Two values as earlier versions wrote them: encrypted directly with the master key (v1 and the seed's format).
        for (const [name, value] of [
          ['legacy_v1', K2.encrypt('old-v1', { context: `${pack.ref}.legacy_v1` })],
          ['legacy_seed', K2.encrypt('old-seed')],
        ] as const) {
          const [row] = await db.sql.query<{ id: number }>(
            `INSERT INTO attune.key (ref, owner_type, owner_pack, name, value, value_type, encrypted, encryption_key_hash)
           VALUES ($1, 'pack', $2, $3, to_jsonb($4::text), 'string', true, $5) RETURNING id`,
            [`${pack.ref}.${name}`, pack.id, name, value, K2.keyHash],
          );
          await db.sql.query(
            `INSERT INTO attune.key_version (key_id, version, value, value_type, encrypted, encryption_key_hash, origin, actor_type, actor_id, actor_name)
           VALUES ($1, 1, to_jsonb($2::text), 'string', true, $3, 'migration', 'system', 'migration', 'migration')`,
            [row?.id, value, K2.keyHash],
          );
        }
        expect((await keyringStatus(db.sql, keyring)).masterKeys[0]?.directValues).toBeGreaterThanOrEqual(4);
        const expected = {
          ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`s${i}`, `value-${i}-b`])),
          legacy_v1: 'old-v1',
          legacy_seed: 'old-seed',
        };
        const before = (
          await db.sql.query<{ id: number }>(
            `SELECT id FROM attune.data_key WHERE owner_pack = $1 AND state = 'active'`,
            [pack.id],
          )
        )[0]?.id;
        // Executions resolve all along; none loses a secret.
        let resolving = true;
        const seen: number[] = [];
        const loop = (async () => {
          while (resolving) {
            const r = await resolve(db, keyring, actions[0]?.ref as string);
            expect(warnings(r)).toEqual([]);
            expect(values(r)).toEqual(expected);
            seen.push(r.secrets.length);
          }
        })();
        const progress: number[] = [];
        const report = await reencrypt({
          sql: db.sql,
          cipher: new ValueCipher({ keyring }),
          selection: owner,
          rotate: true,
          batchSize: 5,
          onProgress: (done) => progress.push(done),
        });
        resolving = false;
        await loop;
        expect(seen.length).toBeGreaterThan(0);
        expect(report.rotation).toMatchObject({ from: before, resumed: false });
        expect(report.reencrypted).toEqual({ keys: 14, versions: 26 });
        expect(report.failed).toEqual([]);
        expect(progress.at(-1)).toBe(40);
        const [left] = await db.sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM attune.key_version v JOIN attune.key k ON k.id = v.key_id
         WHERE k.owner_pack = $1 AND v.data_key_id IS DISTINCT FROM $2`,
          [pack.id, report.rotation?.to],
        );
        expect(left?.n).toBe(0);
        expect(values(await resolve(db, keyring, actions[0]?.ref as string))).toEqual(expected);
        expect((await keys.versions.get(actor, `${pack.ref}.s3`, 1, { decrypt: true })).value).toBe(
          'value-3',
        );
        const status = await keyringStatus(db.sql, keyring);
        expect(status.masterKeys.find((m) => m.id === 'k2')?.directValues).toBe(0);
        // Nothing left: a rerun without rotation moves nothing.
        expect(
          (await reencrypt({ sql: db.sql, cipher: new ValueCipher({ keyring }), selection: owner }))
            .reencrypted,
        ).toEqual({ keys: 0, versions: 0 });
        // Destroying the retired key shreds nothing now; destroying the active one shreds the pack's values.
        expect((await destroyDataKey(db.sql, before as number)).valuesShredded).toBe(0);
        const shred = await destroyDataKey(db.sql, report.rotation?.to as number);
        expect(shred.valuesShredded).toBe(40);
        const after = await resolve(db, keyring, actions[0]?.ref as string);
        expect(values(after)).toEqual({});
        expect(new Set(warnings(after).map((w) => w.reason))).toEqual(new Set(['data_key_destroyed']));
        // The owner's next write gets a new data key.
        await keys.update(actor, `${pack.ref}.s0`, { value: 'renewed' });
        // A rotation is a resumption only while values sit on a retired key of the owner: a value that cannot be
        // decrypted never keeps an exposed key active.
        const cipher = new ValueCipher({ keyring });
        for (const name of ['t1', 't2'])
          await keys.create(actor, {
            owner: { type: 'pack', pack: pack.id },
            name,
            value: `v-${name}`,
            encrypted: true,
          });
        // t1 now holds t2's ciphertext: bound to another ref, it cannot be decrypted, and stays where it is.
        await db.sql.query(
          'UPDATE attune.key SET value = (SELECT value FROM attune.key WHERE ref = $1) WHERE ref = $2',
          [`${pack.ref}.t2`, `${pack.ref}.t1`],
        );
        const first = await reencrypt({ sql: db.sql, cipher, selection: owner, rotate: true });
        expect(first.rotation?.resumed).toBe(false);
        expect(first.failed.map((f) => f.ref)).toContain(`${pack.ref}.t1`);
        const second = await reencrypt({ sql: db.sql, cipher, selection: owner, rotate: true });
        expect(second.rotation).toMatchObject({ resumed: false, from: first.rotation?.to });
        await expect(destroyDataKey(db.sql, 999_999)).rejects.toThrow(DataKeyNotFoundError);
        // With no key configured at all, a process refuses to start over encrypted secrets.
        await expect(assertKeyringComplete(db.sql, new Keyring([], undefined))).rejects.toThrow(
          /No encryption key is configured/,
        );
        expect(values(await resolve(db, keyring, actions[0]?.ref as string))).toEqual({
          s0: 'renewed',
          t2: 'v-t2',
        });
      } finally {
        await db.drop();
      }
    });
  });
}
