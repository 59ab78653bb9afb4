import type { Actor } from '@attune/core';
import { silentLogger } from '@attune/core';
import type { Database } from '@attune/db';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditHashUnavailableError,
  AuditLog,
  AuditService,
  AuthFailureRecorder,
  eventHash,
} from '../src/index.js';

const actor: Actor = { type: 'token', id: '7', name: 'ci', source: '10.0.0.9', requestId: 'req-1' };
const audit = new AuditLog();

/** A few events, one per append, sealed into the chain; the ids they got. */
async function record(db: Database, n: number, ref = 'p.k'): Promise<string[]> {
  for (let i = 0; i < n; i++)
    await audit.append({ actor, action: 'key.updated', ref, version: i + 1, detail: { n: i } }, db.sql);
  await audit.seal(db.sql);
  return (await audit.list({ ref, limit: n }, db.sql)).map((e) => e.id).reverse();
}

/** Runs SQL with the audit log's triggers off, as someone with the database's superuser would tamper with it. */
async function asTamperer(db: Database, sql: string, params: unknown[] = []): Promise<void> {
  await db.sql.withSession(async (s) => {
    await s.transaction(async (tx) => {
      await tx.query(`SET LOCAL session_replication_role = replica`);
      await tx.query(sql, params);
    });
  });
}

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`audit log (${kind})`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase({ kind });
    });
    afterAll(async () => {
      await db?.drop();
    });

    it('records events with their actor, chained; never lets them be updated or deleted', async () => {
      const ids = await record(db, 3, 'a.k');
      const [last] = await audit.list({ ref: 'a.k', limit: 1 }, db.sql);
      expect(last).toMatchObject({
        id: ids[2],
        actor: { type: 'token', id: '7', name: 'ci' },
        source: '10.0.0.9',
        requestId: 'req-1',
        action: 'key.updated',
        ref: 'a.k',
        version: 3,
        outcome: 'ok',
        detail: { n: 2 },
      });
      expect(last?.hash).toMatch(/^[0-9a-f]{64}$/);
      expect((await audit.verify(db.sql)).broken).toBeNull();
      await expect(db.sql.query(`UPDATE attune.audit_event SET ref = 'x'`)).rejects.toThrow(/append-only/);
      await expect(db.sql.query('DELETE FROM attune.audit_event')).rejects.toThrow(/append-only/);
      await expect(db.sql.query('TRUNCATE attune.audit_event')).rejects.toThrow(/append-only/);
    });

    it('aggregates failed authentications: one event per address per window, bounded', async () => {
      const failures = new AuthFailureRecorder({ sql: db.sql, logger: silentLogger(), maxSources: 2 });
      for (let i = 0; i < 50; i++) failures.record(`10.1.0.${i % 5}`, 'invalid_token');
      failures.record('10.1.0.0', 'missing_token');
      await failures.flush();
      const events = await audit.list({ action: 'auth.failed' }, db.sql);
      // Two addresses tracked, the other three counted together: three events for 51 failures.
      expect(events).toHaveLength(3);
      const bySource = new Map(events.map((e) => [e.source, e.detail]));
      expect(bySource.get('10.1.0.0')).toMatchObject({
        count: 11,
        reasons: ['invalid_token', 'missing_token'],
      });
      expect(bySource.get('10.1.0.1')).toMatchObject({ count: 10, reasons: ['invalid_token'] });
      expect(bySource.get(null)).toMatchObject({ count: 30, other_sources: true });
      expect(events.every((e) => e.outcome === 'refused')).toBe(true);
      // Nothing new, nothing written.
      await failures.flush();
      expect(await audit.list({ action: 'auth.failed' }, db.sql)).toHaveLength(3);
      expect((await audit.verify(db.sql)).broken).toBeNull();
    });

    it("records a value's keyed HMAC, never the value, and finds the events by it", async () => {
      const keyed = new AuditLog({ valueKey: 'audit-test-hmac-key-0123456789abcdefgh' });
      const value = 'hmac-test-value-91c2';
      await keyed.append({ actor, action: 'key.created', ref: 'h.k', version: 1, value }, db.sql);
      await keyed.append({ actor, action: 'key.updated', ref: 'h.k', version: 2, value: { n: 1 } }, db.sql);
      // Without a key, a value is ignored: no HMAC, and a lookup is refused with what to configure.
      await audit.append({ actor, action: 'key.updated', ref: 'h.k', version: 3, value }, db.sql);
      const events = await audit.list({ ref: 'h.k' }, db.sql);
      expect(JSON.stringify(events)).not.toContain(value);
      expect(events.map((e) => typeof e.detail.value_hmac)).toEqual(['undefined', 'string', 'string']);
      const service = new AuditService({ sql: db.sql, log: keyed });
      expect((await service.lookUpValue(actor, value)).map((e) => e.version)).toEqual([1]);
      expect((await service.lookUpValue(actor, '{"n":1}')).map((e) => e.version)).toEqual([2]);
      expect(await service.lookUpValue(actor, 'other')).toEqual([]);
      // Another key gives other HMACs: nothing matches.
      const other = new AuditService({ sql: db.sql, log: new AuditLog({ valueKey: 'x'.repeat(40) }) });
      expect(await other.lookUpValue(actor, value)).toEqual([]);
      await expect(new AuditService({ sql: db.sql }).lookUpValue(actor, value)).rejects.toBeInstanceOf(
        AuditHashUnavailableError,
      );
      const lookups = await audit.list({ action: 'audit.value_looked_up' }, db.sql);
      expect(lookups.map((e) => e.detail.matches)).toEqual([0, 0, 1, 1]);
      expect((await audit.verify(db.sql)).broken).toBeNull();
    });

    it('chains appends that commit in any order, without making them wait for one another', async () => {
      // Twenty transactions at once, committing in a random order, while seals run.
      await Promise.all([
        ...Array.from({ length: 20 }, (_, i) =>
          db.sql.withSession((s) =>
            s.transaction(async (tx) => {
              await audit.append({ actor, action: 'key.decrypted', ref: 'conc.k', version: i }, tx);
              await new Promise((r) => setTimeout(r, Math.random() * 30));
            }),
          ),
        ),
        audit.seal(db.sql),
        audit.seal(db.sql),
      ]);
      // An event that commits after a later one: it is sealed after it, and the chain holds. (The embedded database
      // runs one session at a time: there, no transaction can stay open while another commits.)
      if (kind === 'postgres') {
        let release = () => {};
        const held = new Promise<void>((r) => {
          release = r;
        });
        const slow = db.sql.withSession((s) =>
          s.transaction(async (tx) => {
            await audit.append({ actor, action: 'key.decrypted', ref: 'late.k', version: 1 }, tx);
            await held;
          }),
        );
        await new Promise((r) => setTimeout(r, 50));
        await audit.append({ actor, action: 'key.decrypted', ref: 'late.k', version: 2 }, db.sql);
        await audit.seal(db.sql);
        release();
        await slow;
        const [v2, v1] = await audit.list({ ref: 'late.k' }, db.sql);
        expect([v1?.version, v1?.seq, v2?.version]).toEqual([1, null, 2]); // not committed at the seal: not sealed
        expect(BigInt(v1?.id as string)).toBeLessThan(BigInt(v2?.id as string));
        await audit.seal(db.sql);
        const [after2, after1] = await audit.list({ ref: 'late.k' }, db.sql);
        expect(BigInt(after1?.seq as string)).toBeGreaterThan(BigInt(after2?.seq as string));
      }
      const report = await audit.verify(db.sql);
      expect(report.broken).toBeNull();
      expect(report.checked).toBeGreaterThanOrEqual(kind === 'postgres' ? 22 : 20);
    });

    it("lets only the seal fill an event's chain columns, once", async () => {
      await audit.append({ actor, action: 'key.updated', ref: 'seal.k', version: 1 }, db.sql);
      const [pending] = await audit.list({ ref: 'seal.k' }, db.sql);
      expect(pending).toMatchObject({ seq: null, prevHash: null, hash: null });
      // Without the seal's flag, or changing anything else, or an event already sealed: refused.
      await expect(
        db.sql.query(
          `UPDATE attune.audit_event SET seq = 999999, prev_hash = 'x', hash = 'y' WHERE id = $1`,
          [pending?.id],
        ),
      ).rejects.toThrow(/append-only/);
      const withFlag = (sql: string) =>
        db.sql.withSession((s) =>
          s.transaction(async (tx) => {
            await tx.query(`SELECT set_config('attune.audit_seal', 'on', true)`);
            await tx.query(sql, [pending?.id]);
          }),
        );
      await expect(
        withFlag(
          `UPDATE attune.audit_event SET seq = 999999, prev_hash = 'x', hash = 'y', ref = 'z' WHERE id = $1`,
        ),
      ).rejects.toThrow(/append-only/);
      await audit.seal(db.sql);
      await expect(
        withFlag(`UPDATE attune.audit_event SET seq = 999999, prev_hash = 'x', hash = 'y' WHERE id = $1`),
      ).rejects.toThrow(/append-only/);
      expect((await audit.list({ ref: 'seal.k' }, db.sql))[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('finds an event that was changed', async () => {
      const fresh = await createTestDatabase({ kind });
      try {
        const ids = await record(fresh, 4);
        await asTamperer(fresh, `UPDATE attune.audit_event SET actor_name = 'someone-else' WHERE id = $1`, [
          ids[1],
        ]);
        expect((await audit.verify(fresh.sql)).broken).toMatchObject({ id: ids[1], problem: 'changed' });
      } finally {
        await fresh.drop();
      }
    });

    it('finds an event that was removed', async () => {
      const fresh = await createTestDatabase({ kind });
      try {
        const ids = await record(fresh, 4);
        await asTamperer(fresh, 'DELETE FROM attune.audit_event WHERE id = $1', [ids[1]]);
        expect((await audit.verify(fresh.sql)).broken).toMatchObject({ id: ids[2], problem: 'removed' });
      } finally {
        await fresh.drop();
      }
    });

    it('finds an event moved out of its place in the chain', async () => {
      const fresh = await createTestDatabase({ kind });
      try {
        const ids = await record(fresh, 3);
        // The newest event renumbered far away (its hashes untouched): the places must follow one another.
        await asTamperer(fresh, 'UPDATE attune.audit_event SET seq = seq + 1000 WHERE id = $1', [ids[2]]);
        expect((await audit.verify(fresh.sql)).broken).toMatchObject({ id: ids[2], problem: 'removed' });
      } finally {
        await fresh.drop();
      }
    });

    it('finds an event that was inserted, even with a hash that matches its own content', async () => {
      const fresh = await createTestDatabase({ kind });
      try {
        const [first] = await record(fresh, 1);
        await record(fresh, 1);
        const [prev] = await fresh.sql.query<{ seq: string; hash: string }>(
          'SELECT seq::text AS seq, hash FROM attune.audit_event WHERE id = $1',
          [first],
        );
        const forged = {
          prevHash: prev?.hash as string,
          id: '900000',
          atText: '2026-11-29T00:00:00.000000Z',
          actorType: 'cli',
          actorId: 'x@y',
          actorName: 'x@y',
          source: null,
          requestId: null,
          action: 'key.updated',
          ref: 'p.k',
          version: null,
          outcome: 'ok',
          detailText: '{}',
        };
        // Room made in the chain after the first event, and a forged event put there, linked to it.
        await asTamperer(fresh, 'UPDATE attune.audit_event SET seq = seq + 1000 WHERE seq > $1::bigint', [
          prev?.seq,
        ]);
        await asTamperer(
          fresh,
          `INSERT INTO attune.audit_event (id, at, actor_type, actor_id, actor_name, action, ref, outcome, detail, seq, prev_hash, hash)
           VALUES ($1::bigint, '2026-11-29T00:00:00Z', 'cli', 'x@y', 'x@y', 'key.updated', 'p.k', 'ok', '{}', $2::bigint + 1, $3, $4)`,
          [forged.id, prev?.seq, forged.prevHash, eventHash(forged)],
        );
        expect((await audit.verify(fresh.sql)).broken).toMatchObject({ id: forged.id, problem: 'inserted' });
      } finally {
        await fresh.drop();
      }
    });

    if (kind === 'postgres')
      it('never prunes an event newer than the cut, even one sealed before an older one', async () => {
        const fresh = await createTestDatabase({ kind });
        try {
          await record(fresh, 2, 'early.k');
          // An event that commits late: written first (older), sealed after one written later.
          let release = () => {};
          const held = new Promise<void>((r) => {
            release = r;
          });
          const slow = fresh.sql.withSession((s) =>
            s.transaction(async (tx) => {
              await audit.append({ actor, action: 'key.updated', ref: 'old.k', version: 1 }, tx);
              await held;
            }),
          );
          await new Promise((r) => setTimeout(r, 50));
          const cut = new Date();
          await new Promise((r) => setTimeout(r, 20));
          await record(fresh, 1, 'new.k');
          release();
          await slow;
          await audit.seal(fresh.sql);
          // The cut falls before new.k's place: the two early events go; new.k and the late-sealed old.k stay.
          expect(await audit.prune(actor, cut, fresh.sql)).toBe(2);
          const left = (await audit.list({}, fresh.sql)).map((e) => e.ref ?? e.action).sort();
          expect(left).toEqual(['audit.pruned', 'new.k', 'old.k']);
          expect((await audit.verify(fresh.sql)).broken).toBeNull();
        } finally {
          await fresh.drop();
        }
      });

    it('prunes old events explicitly, recording the prune, and the rest still verifies', async () => {
      const fresh = await createTestDatabase({ kind });
      try {
        await record(fresh, 3);
        const cut = new Date(Date.now() + 1000);
        expect(await audit.prune(actor, cut, fresh.sql)).toBe(3);
        const left = await audit.list({}, fresh.sql);
        expect(left.map((e) => e.action)).toEqual(['audit.pruned']);
        expect(left[0]?.detail).toMatchObject({ count: 3 });
        await record(fresh, 2);
        const report = await audit.verify(fresh.sql);
        expect(report.broken).toBeNull();
        // Every prune is reported, with who did it: the one thing the chain cannot tell from an honest log.
        expect(report.prunes).toMatchObject([{ count: 3, actor: 'token:ci' }]);
        // Pruned again, everything sealed: the chain goes on from the newest prune's anchor.
        expect(await audit.prune(actor, new Date(Date.now() + 1000), fresh.sql)).toBe(3); // the prune and two
        await record(fresh, 1);
        expect((await audit.verify(fresh.sql)).broken).toBeNull();
      } finally {
        await fresh.drop();
      }
    });
  });
}
