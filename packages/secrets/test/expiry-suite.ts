import { AuditLog } from '@attune/audit';
import { EncryptionKey } from '@attune/crypto';
import type { Database } from '@attune/db';
import { describe, expect, it } from 'vitest';
import { InvalidKeyInputError, KeyNotFoundError, SecretResolver } from '../src/index.js';
import { actor, capturingLogger, keyService, makePack } from './helpers.js';
import { KEY } from './repository-suite.js';

const DAY = 86_400_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY);

/** Expiry (docs/secrets-management.md#expiry): per value, listing by it, and resolution refusing what expired. */
export function expirySuite(getDb: () => Database): void {
  const setup = async () => {
    const db = getDb();
    const { logger, lines } = capturingLogger();
    const keys = keyService(db.prisma, KEY, logger);
    const { pack, actions } = await makePack(db.prisma, ['run']);
    return { db, keys, logger, lines, pack, action: actions[0] as { id: number; ref: string } };
  };
  /** What time does to a secret: its current value (and that version) expired `ago` milliseconds ago. */
  const age = (db: Database, ref: string, ago: number) =>
    db.sql.query(
      `WITH k AS (UPDATE "attune"."key" SET expires_at = now() - $2::int * interval '1 millisecond'
                  WHERE ref = $1 RETURNING id, current_version, expires_at)
       UPDATE "attune"."key_version" v SET expires_at = k.expires_at FROM k
       WHERE v.key_id = k.id AND v.version = k.current_version`,
      [ref, ago],
    );

  describe('expiry', () => {
    it('belongs to a value: kept per version, cleared by a new value, kept by re-encryption, copied by rollback', async () => {
      const { db, keys, pack } = await setup();
      const ref = `${pack.ref}.api_token`;
      const first = inDays(30);
      const created = await keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'api_token',
        value: 'token-one',
        encrypted: true,
        expiresAt: first,
      });
      expect(created.expiresAt?.toISOString()).toBe(first.toISOString());
      expect((await keys.versions.get(actor, ref, 1)).expiresAt?.toISOString()).toBe(first.toISOString());
      // A new value without an expiry never expires; the old version keeps its own.
      expect((await keys.update(actor, ref, { value: 'token-two' })).expiresAt).toBeNull();
      expect((await keys.versions.get(actor, ref, 1)).expiresAt?.toISOString()).toBe(first.toISOString());
      // The same value re-sealed (encryption off) keeps its expiry.
      const second = inDays(10);
      await keys.update(actor, ref, { value: 'token-three', expiresAt: second });
      const plain = await keys.update(actor, ref, { encrypted: false });
      expect(plain).toMatchObject({ version: 4 });
      expect(plain.expiresAt?.toISOString()).toBe(second.toISOString());
      // Rolling back brings the value back with its own expiry.
      const back = await keys.versions.rollback(actor, ref, 1);
      expect(back.version).toBe(5);
      expect(back.expiresAt?.toISOString()).toBe(first.toISOString());
      expect((await keys.versions.get(actor, ref, 5)).expiresAt?.toISOString()).toBe(first.toISOString());
      const events = await new AuditLog().list({ ref, action: 'key.created' }, db.sql);
      expect(events[0]?.detail.expires_at).toBe(first.toISOString());
    });

    it('changes the current value’s expiry in place (no new version), recorded, and clears it', async () => {
      const { db, keys, pack } = await setup();
      const ref = `${pack.ref}.db_password`;
      await keys.create(actor, { owner: { type: 'pack', pack: pack.id }, name: 'db_password', value: 'v1' });
      const later = inDays(7);
      const moved = await keys.update(actor, ref, { expiresAt: later });
      expect(moved.version).toBe(1);
      expect(moved.expiresAt?.toISOString()).toBe(later.toISOString());
      expect((await keys.versions.get(actor, ref, 1)).expiresAt?.toISOString()).toBe(later.toISOString());
      const cleared = await keys.update(actor, ref, { expiresAt: null });
      expect(cleared).toMatchObject({ version: 1, expiresAt: null });
      expect((await keys.versions.list(actor, ref)).map((v) => v.expiresAt)).toEqual([null]);
      const events = await new AuditLog().list({ ref, action: 'key.updated' }, db.sql);
      expect(events.map((e) => e.detail).reverse()).toEqual([
        { expires_at: later.toISOString() },
        { expires_at: null, previous_expires_at: later.toISOString() },
      ]);
    });

    it('refuses an expiry in the past or not a time, and writes nothing', async () => {
      const { keys, pack } = await setup();
      const owner = { type: 'pack' as const, pack: pack.id };
      const past = new Date(Date.now() - 1000);
      await expect(keys.create(actor, { owner, name: 'late', value: 'x', expiresAt: past })).rejects.toThrow(
        /`expires_at` must be in the future .* has passed/,
      );
      await expect(keys.get(actor, `${pack.ref}.late`)).rejects.toThrow(KeyNotFoundError);
      await keys.create(actor, { owner, name: 'kept', value: 'x' });
      for (const bad of [past, new Date(Number.NaN), new Date(Date.UTC(10000, 0, 2))])
        await expect(keys.update(actor, `${pack.ref}.kept`, { value: 'y', expiresAt: bad })).rejects.toThrow(
          InvalidKeyInputError,
        );
      expect(await keys.get(actor, `${pack.ref}.kept`)).toMatchObject({
        version: 1,
        value: 'x',
        expiresAt: null,
      });
    });

    it('lists what expires within a time, what has expired, or both, soonest first; never deletes them', async () => {
      const { db, keys, pack } = await setup();
      const owner = { type: 'pack' as const, pack: pack.id };
      await keys.create(actor, { owner, name: 'soon', value: 'a', expiresAt: inDays(3) });
      await keys.create(actor, { owner, name: 'sooner', value: 'b', expiresAt: inDays(1) });
      await keys.create(actor, { owner, name: 'later', value: 'c', expiresAt: inDays(60) });
      await keys.create(actor, { owner, name: 'never', value: 'd' });
      await keys.create(actor, { owner, name: 'gone', value: 'e', expiresAt: inDays(1) });
      await age(db, `${pack.ref}.gone`, 5000);
      const names = async (input: Parameters<typeof keys.list>[1]) =>
        (await keys.list(actor, { pack: pack.id, ...input })).items.map((k) => k.name);
      expect(await names({ expiringWithinMs: 7 * DAY })).toEqual(['sooner', 'soon']);
      expect(await names({ expired: true })).toEqual(['gone']);
      expect(await names({ expiringWithinMs: 7 * DAY, expired: true })).toEqual(['gone', 'sooner', 'soon']);
      expect(await names({})).toEqual(['soon', 'sooner', 'later', 'never', 'gone']);
      // Expired is not deleted: the value is still there, readable by whoever may read it.
      expect((await keys.get(actor, `${pack.ref}.gone`, { decrypt: true })).value).toBe('e');
      await expect(keys.list(actor, { expiringWithinMs: -1 })).rejects.toThrow(
        /`expiring` must be a duration/,
      );
    });

    it('does not deliver an expired secret (nor decrypt it), withholds what it overrides, and says when it expired', async () => {
      const { db, keys, logger, lines, pack, action } = await setup();
      await keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'deploy_key',
        value: 'pack-level-value',
        encrypted: true,
      });
      // Encrypted under another key: decrypting it would fail with key_hash_mismatch, so `expired` proves no decrypt.
      const foreign = keyService(
        db.prisma,
        EncryptionKey.fromPassword('another-installation-password-0123456789'),
        logger,
      );
      await foreign.create(actor, {
        owner: { type: 'action', action: action.id },
        name: 'deploy_key',
        value: 'action-level-value',
        encrypted: true,
        expiresAt: inDays(1),
      });
      await keys.create(actor, {
        owner: { type: 'action', action: action.id },
        name: 'valid_key',
        value: 'still-valid',
        expiresAt: inDays(1),
      });
      await age(db, `${action.ref}.deploy_key`, 60_000);
      const result = await new SecretResolver({ sql: db.sql, encryptionKey: KEY, logger }).resolveForAction(
        action.ref,
      );
      const mine = result.secrets.filter((s) => s.level !== 'system');
      expect(mine.map((s) => [s.envName, s.value, s.expired])).toEqual([
        ['SECRET_VALID_KEY', 'still-valid', false],
      ]);
      expect(mine[0]?.expiresAt?.getTime()).toBeGreaterThan(Date.now());
      const warning = result.warnings.find((w) => w.ref === `${action.ref}.deploy_key`);
      expect(warning).toMatchObject({ reason: 'expired', version: 1, withheld: [`${pack.ref}.deploy_key`] });
      expect(warning?.expiresAt?.getTime()).toBeLessThan(Date.now());
      expect(warning?.message).toMatch(/expired at \d{4}-.*not delivered.*withheld too/);
      expect(lines.join('')).not.toMatch(/level-value/);
    });

    it('refuses an infinite expiry in the database, and fails closed on one that is not a time', async () => {
      const { db, keys, logger, pack, action } = await setup();
      const ref = `${pack.ref}.forever`;
      await keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'forever',
        value: 'forever-value',
      });
      for (const table of ['key', 'key_version'])
        await expect(
          db.sql.query(`UPDATE "attune"."${table}" SET expires_at = 'infinity'`),
        ).rejects.toBeTruthy();
      // A row written around the constraint (another writer, a restore): not delivered, whatever the grace.
      await db.sql.query('ALTER TABLE "attune"."key" DROP CONSTRAINT "key_expires_at_finite"');
      try {
        for (const forever of ['infinity', '-infinity']) {
          await db.sql.query(`UPDATE "attune"."key" SET expires_at = $2::timestamptz WHERE ref = $1`, [
            ref,
            forever,
          ]);
          const result = await new SecretResolver({
            sql: db.sql,
            encryptionKey: KEY,
            logger,
            expiryGraceMs: 100 * 365 * DAY,
          }).resolveForAction(action.ref);
          expect(result.secrets.find((s) => s.ref === ref)).toBeUndefined();
          expect(result.warnings.find((w) => w.ref === ref)).toMatchObject({
            reason: 'expired',
            expiresAt: null,
          });
          expect(result.warnings.find((w) => w.ref === ref)?.message).toContain(
            'has an expiry that is not a time',
          );
        }
      } finally {
        await db.sql.query(`UPDATE "attune"."key" SET expires_at = NULL WHERE ref = $1`, [ref]);
        await db.sql.query(
          'ALTER TABLE "attune"."key" ADD CONSTRAINT "key_expires_at_finite" CHECK ("expires_at" IS NULL OR isfinite("expires_at"))',
        );
      }
    });

    it('delivers an expired secret flagged `expired` within the grace period, and not after it', async () => {
      const { db, keys, logger, pack, action } = await setup();
      const ref = `${pack.ref}.grace_key`;
      await keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'grace_key',
        value: 'grace-value',
        encrypted: true,
        expiresAt: inDays(1),
      });
      await age(db, ref, 0);
      const expiry = (await keys.get(actor, ref)).expiresAt?.getTime() as number;
      const at = (offset: number) =>
        new SecretResolver({
          sql: db.sql,
          encryptionKey: KEY,
          logger,
          expiryGraceMs: DAY,
          now: () => expiry + offset,
        }).resolveForAction(action.ref);
      const within = await at(DAY - 1000);
      expect(within.secrets.find((s) => s.ref === ref)).toMatchObject({
        value: 'grace-value',
        expired: true,
      });
      expect(within.warnings.filter((w) => w.ref === ref)).toEqual([]);
      const before = await at(-1000);
      expect(before.secrets.find((s) => s.ref === ref)).toMatchObject({ expired: false });
      const after = await at(DAY);
      expect(after.secrets.find((s) => s.ref === ref)).toBeUndefined();
      expect(after.warnings.find((w) => w.ref === ref)?.message).toContain('past the grace period');
    });
  });
}
