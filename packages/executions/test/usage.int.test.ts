import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Actor, silentLogger } from '@attune/core';
import { createTestDatabase, type TestDatabase } from '@attune/db/testing';
import { PackStore, registerPack } from '@attune/registry';
import { createSecretsServices, type KeyService } from '@attune/secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionService, ExecutionStore, type SecretReceived, SecretUsageService } from '../src/index.js';

const EXAMPLES = fileURLToPath(new URL('../../../packs/examples', import.meta.url));
const actor: Actor = { type: 'cli', id: 'tester@test', name: 'tester@test' };
const DAY = 86_400_000;

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`secret usage (${kind})`, () => {
    let db: TestDatabase;
    let executions: ExecutionStore;
    let service: ExecutionService;
    let keys: KeyService;
    let usage: SecretUsageService;

    beforeAll(async () => {
      db = await createTestDatabase({ kind });
      const dir = join(mkdtempSync(join(tmpdir(), 'attune-usage-')), 'examples');
      cpSync(EXAMPLES, dir, { recursive: true });
      await registerPack(db.prisma, dir);
      executions = new ExecutionStore(db.sql);
      const packs = new PackStore(db.prisma);
      service = new ExecutionService({
        executions,
        actions: packs,
        publish: async () => {},
        logger: silentLogger(),
      });
      keys = createSecretsServices({
        prisma: db.prisma,
        sql: db.sql,
        owners: packs,
        security: {
          keyring: [{ id: 'k1', password: 'usage-test-master-key-0123456789' }],
          activeKeyId: 'k1',
        },
        logger: silentLogger(),
      }).keys;
      usage = new SecretUsageService({ executions, keys });
    });
    afterAll(async () => {
      await db?.drop();
    });

    /** Runs `action` the way a worker stores it: claimed, then ended with the secrets it received. */
    async function ran(action: string, secrets: SecretReceived[], daysAgo = 0): Promise<string> {
      const id = String(await service.create(actor, action, {}));
      expect(await executions.claim(id, 'w1')).not.toBeNull();
      const ended = await executions.finish(id, 'w1', {
        status: 'succeeded',
        exitCode: 0,
        durationMs: 1,
        stdout: '',
        stderr: '',
        stdoutTruncated: false,
        stderrTruncated: false,
        result: null,
        warnings: [],
        secrets,
      });
      expect(ended).toBe(true);
      // An execution of the past: the test moves its end back in time.
      if (daysAgo > 0)
        await db.sql.query(`UPDATE attune.execution SET finished_at = now() - $2::interval WHERE id = $1`, [
          id,
          `${daysAgo} days`,
        ]);
      return id;
    }
    const got = (ref: string, version: number, env = 'SECRET_API_KEY'): SecretReceived => ({
      env_name: env,
      ref,
      level: 'pack',
      version,
      key_hash: 'ab'.repeat(32),
      data_key: '1.1',
      overrides: [],
    });

    it("answers a secret's last use, the actions and versions that used it, and who got version N", async () => {
      for (const name of ['api_key', 'db-password', 'stale'])
        await keys.create(actor, { owner: { type: 'pack', pack: 'examples' }, name, value: `v-${name}` });
      await db.sql.query(`UPDATE attune.key SET created = now() - interval '90 days'`);
      const old = await ran(
        'examples.report',
        [got('examples.api_key', 1), got('examples.stale', 1, 'SECRET_S')],
        60,
      );
      const v1 = await ran('examples.check', [got('examples.api_key', 1)], 10);
      const v2a = await ran('examples.check', [got('examples.api_key', 2)], 2);
      const v2b = await ran('examples.report', [
        got('examples.api_key', 2),
        got('examples.db-password', 1, 'SECRET_DB'),
      ]);

      const u = await usage.usage(actor, 'examples.api_key');
      expect(u.lastUse).toMatchObject({ executionId: v2b, actionRef: 'examples.report', version: 2 });
      // The last 30 days: three executions, two actions, two versions; the one of 60 days ago is outside.
      expect(u.byAction.map((a) => [a.actionRef, a.version, a.executions])).toEqual([
        ['examples.report', 2, 1],
        ['examples.check', 2, 1],
        ['examples.check', 1, 1],
      ]);
      const wider = await usage.usage(actor, 'examples.api_key', { from: new Date(Date.now() - 90 * DAY) });
      expect(wider.byAction.reduce((n, a) => n + a.executions, 0)).toBe(4);

      // Incident response: every execution that received version 1, newest first, paginated.
      const page1 = await usage.receivedVersion(actor, 'examples.api_key', 1, { limit: 1 });
      expect(page1.executions.map((e) => e.executionId)).toEqual([v1]);
      expect(page1.executions[0]).toMatchObject({ status: 'succeeded', workerId: 'w1', version: 1 });
      const page2 = await usage.receivedVersion(actor, 'examples.api_key', 1, {
        limit: 1,
        before: page1.next as string,
      });
      expect(page2.executions.map((e) => e.executionId)).toEqual([old]);
      expect(
        (await usage.receivedVersion(actor, 'examples.api_key', 2)).executions.map((e) => e.executionId),
      ).toEqual([v2b, v2a]);
      expect((await usage.receivedVersion(actor, 'examples.api_key', 3)).executions).toEqual([]);

      // Unused for 30 days: `stale` (last used 60 days ago); api_key and db-password were used since.
      const unused = await usage.unused(actor, 30);
      expect(unused.map((k) => k.ref)).toEqual(['examples.stale']);
      expect(unused[0]?.lastUsedAt?.getTime()).toBeLessThan(Date.now() - 59 * DAY);
      // A secret created yesterday is not "unused for 30 days"; one never used shows with no last use.
      await keys.create(actor, { owner: { type: 'system' }, name: 'fresh', value: 'x' });
      await keys.create(actor, { owner: { type: 'system' }, name: 'never', value: 'y' });
      await db.sql.query(
        `UPDATE attune.key SET created = now() - interval '40 days' WHERE ref = 'system.never'`,
      );
      expect((await usage.unused(actor, 30)).map((k) => [k.ref, k.lastUsedAt])).toEqual([
        ['system.never', null],
        ['examples.stale', expect.any(Date)],
      ]);
      expect((await usage.unused(actor, 5)).map((k) => k.ref)).toContain('examples.stale');
    });

    it('refuses bad input with the field named', async () => {
      await expect(usage.unused(actor, 0)).rejects.toMatchObject({ category: 'invalid', field: 'days' });
      await expect(usage.receivedVersion(actor, 'examples.api_key', 0)).rejects.toMatchObject({
        field: 'version',
      });
      await expect(
        usage.usage(actor, 'examples.api_key', { from: new Date(), to: new Date(Date.now() - DAY) }),
      ).rejects.toMatchObject({ field: 'from' });
    });
  });
}
