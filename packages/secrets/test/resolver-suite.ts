import { EncryptionKey } from '@attune/crypto';
import type { Database, SqlExecutor } from '@attune/db';
import { describe, expect, it } from 'vitest';
import { ActionNotFoundError, prepareSecretEnv, SecretManager, SecretResolver } from '../src/index.js';
import { actor, capturingLogger, keyService, makePack, testOwners } from './helpers.js';
import { KEY } from './repository-suite.js';

const CANARY = 'canary-value-that-must-never-be-logged-7c1e';

/** The resolver's behaviour, run against whichever database `getDb` gives (PostgreSQL or PGlite). */
export function resolverSuite(getDb: () => Database): void {
  const setup = async () => {
    const db = getDb();
    const { logger, lines } = capturingLogger();
    const keys = keyService(db.prisma, KEY, logger);
    const a = await makePack(db.prisma, ['deploy', 'backup']);
    const b = await makePack(db.prisma, ['deploy']);
    // Unique system names per test: system keys are shared by every action in the database.
    const tag = a.pack.ref;
    return { db, keys, logger, lines, a, b, tag };
  };
  const resolver = (
    db: Database,
    logger: ReturnType<typeof capturingLogger>['logger'],
    key: EncryptionKey | null = KEY,
  ) => new SecretResolver({ sql: db.sql, encryptionKey: key ?? undefined, logger });
  const byEnv = (secrets: readonly { envName: string; value: unknown; level: string }[]) =>
    Object.fromEntries(secrets.map((s) => [s.envName, { value: s.value, level: s.level }]));

  describe('secret resolver', () => {
    it('overrides system → pack → action, by env var name', async () => {
      const { db, keys, logger, a, b, tag } = await setup();
      const name = `${tag}_token`;
      await keys.create(actor, { owner: { type: 'system' }, name, value: 'from-system', encrypted: true });
      await keys.create(actor, {
        owner: { type: 'pack', pack: a.pack.id },
        name,
        value: 'from-pack',
        encrypted: true,
      });
      await keys.create(actor, {
        owner: { type: 'action', action: a.actions[0]?.id as number },
        name,
        value: 'from-action',
        encrypted: true,
      });
      const env = `SECRET_${name.toUpperCase()}`;
      const r = resolver(db, logger);
      const deploy = await r.resolveForAction(a.actions[0]?.ref as string);
      expect(byEnv(deploy.secrets)[env]).toEqual({ value: 'from-action', level: 'action' });
      expect(deploy.secrets.find((s) => s.envName === env)?.overrides).toEqual(
        [`${a.pack.ref}.${name}`, `system.${name}`].reverse(),
      );
      expect(byEnv((await r.resolveForAction(a.actions[1]?.ref as string)).secrets)[env]).toEqual({
        value: 'from-pack',
        level: 'pack',
      });
      expect(byEnv((await r.resolveForAction(b.actions[0]?.ref as string)).secrets)[env]).toEqual({
        value: 'from-system',
        level: 'system',
      });
      expect(deploy.warnings).toEqual([]);
    });

    it('resolves only the env vars asked for (the declared policy), still most specific first', async () => {
      const { db, keys, logger, a, tag } = await setup();
      const wanted = `${tag}_wanted`;
      const other = `${tag}_other`;
      await keys.create(actor, {
        owner: { type: 'system' },
        name: wanted,
        value: 'from-system',
        encrypted: true,
      });
      await keys.create(actor, {
        owner: { type: 'pack', pack: a.pack.id },
        name: wanted,
        value: 'from-pack',
        encrypted: true,
      });
      await keys.create(actor, {
        owner: { type: 'system' },
        name: other,
        value: 'not-asked',
        encrypted: true,
      });
      // A secret not asked for is not even read: one this resolver cannot decrypt gives no warning.
      await keys.create(actor, {
        owner: { type: 'system' },
        name: `${tag}_locked`,
        value: 'locked',
        encrypted: true,
      });
      const env = `SECRET_${wanted.toUpperCase()}`;
      const r = resolver(db, logger, EncryptionKey.fromPassword('another-key-entirely-0123456789abcdef'));
      const all = await r.resolveForAction(a.actions[0]?.ref as string);
      expect(all.warnings.length).toBeGreaterThan(0);
      const only = await resolver(db, logger).resolveForAction(a.actions[0]?.ref as string, { only: [env] });
      expect(only.secrets.map((s) => [s.envName, s.value, s.overrides])).toEqual([
        [env, 'from-pack', [`system.${wanted}`]],
      ]);
      // A long declaration (past one statement's scalar parameters) and repeated names: the same answer.
      const many = Array.from({ length: 70 }, (_, i) => `SECRET_${tag.toUpperCase()}_UNSET_${i}`);
      const long = await resolver(db, logger).resolveForAction(a.actions[0]?.ref as string, {
        only: [...many, env, env],
      });
      expect(long.secrets.map((s) => [s.envName, s.value])).toEqual([[env, 'from-pack']]);
      const none = await r.resolveForAction(a.actions[0]?.ref as string, { only: [] });
      expect([none.secrets, none.warnings]).toEqual([[], []]);
      await expect(r.resolveForAction('no.such_action', { only: [env] })).rejects.toThrow(
        ActionNotFoundError,
      );
    });

    it('overrides across spellings that share an env var (pack db-password over system db_password)', async () => {
      const { db, keys, logger, a, tag } = await setup();
      await keys.create(actor, { owner: { type: 'system' }, name: `${tag}_db_password`, value: 'sys' });
      await keys.create(actor, {
        owner: { type: 'pack', pack: a.pack.id },
        name: `${tag}-db-password`,
        value: 'pack',
      });
      const { secrets } = await resolver(db, logger).resolveForAction(a.actions[0]?.ref as string);
      const env = `SECRET_${tag.toUpperCase()}_DB_PASSWORD`;
      expect(secrets.filter((s) => s.envName === env)).toHaveLength(1);
      expect(byEnv(secrets)[env]).toEqual({ value: 'pack', level: 'pack' });
    });

    it("never gives pack A's or action A1's secrets to another pack or action", async () => {
      const { db, keys, logger, a, b } = await setup();
      await keys.create(actor, {
        owner: { type: 'pack', pack: a.pack.id },
        name: 'pack_only',
        value: 'a-pack',
        encrypted: true,
      });
      await keys.create(actor, {
        owner: { type: 'action', action: a.actions[0]?.id as number },
        name: 'action_only',
        value: 'a-deploy',
      });
      const r = resolver(db, logger);
      const envB = byEnv((await r.resolveForAction(b.actions[0]?.ref as string)).secrets);
      expect(envB.SECRET_PACK_ONLY).toBeUndefined();
      expect(envB.SECRET_ACTION_ONLY).toBeUndefined();
      const envBackup = byEnv((await r.resolveForAction(a.actions[1]?.ref as string)).secrets);
      expect(envBackup.SECRET_PACK_ONLY).toEqual({ value: 'a-pack', level: 'pack' });
      expect(envBackup.SECRET_ACTION_ONLY).toBeUndefined();
    });

    it('resolves unencrypted and structured values, and prepares the env as the seed names it', async () => {
      const { db, keys, logger, a } = await setup();
      await keys.create(actor, {
        owner: { type: 'pack', pack: a.pack.id },
        name: 'api_key',
        value: 'sk_live_abc123',
        encrypted: true,
      });
      await keys.create(actor, {
        owner: { type: 'pack', pack: a.pack.id },
        name: 'db-password',
        value: 'plain-pw',
      });
      await keys.create(actor, {
        owner: { type: 'pack', pack: a.pack.id },
        name: 'oauth_token',
        value: { token: 't', scopes: ['a', 'b'] },
        encrypted: true,
      });
      await keys.create(actor, { owner: { type: 'pack', pack: a.pack.id }, name: 'retries', value: 3 });
      const { secrets } = await resolver(db, logger).resolveForAction(a.actions[0]?.ref as string);
      const env = prepareSecretEnv(secrets);
      expect(env.SECRET_API_KEY).toBe('sk_live_abc123');
      expect(env.SECRET_DB_PASSWORD).toBe('plain-pw');
      expect(env.SECRET_OAUTH_TOKEN).toBe('{"token":"t","scopes":["a","b"]}');
      expect(env.SECRET_RETRIES).toBe('3');
    });

    it('skips a secret per failure (hash mismatch, tampered, copied) with a warning, and resolves the rest', async () => {
      const { db, keys, logger, lines, a } = await setup();
      const foreign = keyService(
        db.prisma,
        EncryptionKey.fromPassword('another-installation-password-123456'),
        logger,
      );
      // Another installation's master key wraps the data key of the action it wrote for.
      await foreign.create(actor, {
        ref: `${a.pack.ref}.foreign`,
        owner: { type: 'action', action: a.actions[0]?.id as number },
        name: 'foreign',
        value: CANARY,
        encrypted: true,
      });
      for (const [name, value] of [
        ['tampered', CANARY],
        ['donor', CANARY],
        ['copied', 'x'],
        ['fine', 'still-here'],
      ] as const) {
        await keys.create(actor, { owner: { type: 'pack', pack: a.pack.id }, name, value, encrypted: true });
      }
      const tamperedRef = `${a.pack.ref}.tampered`;
      const [row] = await db.sql.query<{ value: string }>('SELECT value FROM attune.key WHERE ref = $1', [
        tamperedRef,
      ]);
      const flipped = `${row?.value.slice(0, -6)}${row?.value.slice(-6, -5) === 'A' ? 'B' : 'A'}${row?.value.slice(-5)}`;
      await db.sql.query('UPDATE attune.key SET value = to_jsonb($1::text) WHERE ref = $2', [
        flipped,
        tamperedRef,
      ]);
      await db.sql.query(
        'UPDATE attune.key SET value = (SELECT value FROM attune.key WHERE ref = $1) WHERE ref = $2',
        [`${a.pack.ref}.donor`, `${a.pack.ref}.copied`],
      );
      const result = await resolver(db, logger).resolveForAction(a.actions[0]?.ref as string);
      expect(byEnv(result.secrets).SECRET_FINE).toEqual({ value: 'still-here', level: 'pack' });
      expect(byEnv(result.secrets).SECRET_DONOR).toEqual({ value: CANARY, level: 'pack' });
      const reasons = Object.fromEntries(result.warnings.map((w) => [w.name, w.reason]));
      expect(reasons).toEqual({
        foreign: 'key_hash_mismatch',
        tampered: 'authentication_failed',
        copied: 'authentication_failed',
      });
      for (const w of result.warnings) {
        expect(w.ref).toBe(`${a.pack.ref}.${w.name}`);
        expect(w.message).toContain(w.ref);
        expect(JSON.stringify(w)).not.toContain(CANARY);
      }
      expect(lines.filter((l) => l.includes('secret skipped'))).toHaveLength(3);
      expect(lines.join('\n')).not.toContain(CANARY);
    });

    it('withholds the less specific value when an override cannot be decrypted', async () => {
      const { db, keys, logger, a } = await setup();
      await keys.create(actor, {
        owner: { type: 'pack', pack: a.pack.id },
        name: 'endpoint_token',
        value: 'staging-token',
        encrypted: true,
      });
      const foreign = keyService(
        db.prisma,
        EncryptionKey.fromPassword('another-installation-password-123456'),
        logger,
      );
      await foreign.create(actor, {
        owner: { type: 'action', action: a.actions[0]?.id as number },
        name: 'endpoint_token',
        value: 'prod-token',
        encrypted: true,
      });
      const result = await resolver(db, logger).resolveForAction(a.actions[0]?.ref as string);
      expect(byEnv(result.secrets).SECRET_ENDPOINT_TOKEN).toBeUndefined();
      expect(result.warnings).toHaveLength(1);
      expect(result.warnings[0]).toMatchObject({
        level: 'action',
        reason: 'key_hash_mismatch',
        withheld: [`${a.pack.ref}.endpoint_token`],
      });
      expect(result.warnings[0]?.message).toContain('withheld');
    });

    it('resolves plain secrets and warns per encrypted one when no key is configured', async () => {
      const { db, keys, logger, a } = await setup();
      await keys.create(actor, {
        owner: { type: 'pack', pack: a.pack.id },
        name: 'enc',
        value: CANARY,
        encrypted: true,
      });
      await keys.create(actor, { owner: { type: 'pack', pack: a.pack.id }, name: 'plain', value: 'ok' });
      const result = await resolver(db, logger, null).resolveForAction(a.actions[0]?.ref as string);
      expect(byEnv(result.secrets).SECRET_PLAIN).toEqual({ value: 'ok', level: 'pack' });
      expect(result.warnings.find((w) => w.name === 'enc')?.reason).toBe('no_key_configured');
    });

    it('reads a row written by another implementation that follows the seed (seed format, no key hash)', async () => {
      const { db, logger, a } = await setup();
      await db.sql.query(
        `INSERT INTO attune.key (ref, owner_type, owner_pack, name, value, encrypted) VALUES ($1, 'pack', $2, 'legacy', to_jsonb($3::text), true)`,
        [`${a.pack.ref}.legacy`, a.pack.id, KEY.encrypt('seed-written')],
      );
      const { secrets } = await resolver(db, logger).resolveForAction(a.actions[0]?.ref as string);
      expect(byEnv(secrets).SECRET_LEGACY).toEqual({ value: 'seed-written', level: 'pack' });
    });

    it('makes one database round trip for the whole set', async () => {
      const { db, keys, logger, a, tag } = await setup();
      for (const level of ['system', 'pack', 'action'] as const) {
        for (let i = 0; i < 3; i++) {
          const owner =
            level === 'system'
              ? ({ type: 'system' } as const)
              : level === 'pack'
                ? ({ type: 'pack', pack: a.pack.id } as const)
                : ({ type: 'action', action: a.actions[0]?.id as number } as const);
          await keys.create(actor, { owner, name: `${tag}_rt_${level}_${i}`, value: 'v', encrypted: true });
        }
      }
      let calls = 0;
      const counting: SqlExecutor = {
        ...db.sql,
        kind: db.sql.kind,
        query: (text, params, name) => {
          calls++;
          return db.sql.query(text, params, name);
        },
      };
      const result = await new SecretResolver({ sql: counting, encryptionKey: KEY, logger }).resolveForAction(
        a.actions[0]?.ref as string,
      );
      expect(calls).toBe(1);
      expect(result.secrets.filter((s) => s.name.startsWith(`${tag}_rt_`))).toHaveLength(9);
    });

    it('says clearly when the action does not exist', async () => {
      const { db, logger } = await setup();
      await expect(resolver(db, logger).resolveForAction('nopack.noaction')).rejects.toThrow(
        ActionNotFoundError,
      );
      await expect(resolver(db, logger).resolveForAction('nopack.noaction')).rejects.toThrow(
        "No action 'nopack.noaction'.",
      );
    });

    it('offers the seed SecretManager facade over the same parts', async () => {
      const { db, logger, a } = await setup();
      const manager = new SecretManager({
        prisma: db.prisma,
        sql: db.sql,
        owners: testOwners(db.prisma),
        encryptionKey: KEY,
        logger,
      });
      await manager.keys.create(actor, {
        owner: { type: 'action', action: a.actions[0]?.ref as string },
        name: 'api_key',
        value: 'sk',
        encrypted: true,
      });
      const resolved = await manager.fetchSecretsForAction(a.actions[0]?.ref as string);
      expect(manager.prepareSecretEnv(resolved.secrets).SECRET_API_KEY).toBe('sk');
      const stored = manager.encryptValue('v', 'some.ref');
      expect(await manager.decryptIfNeeded({ ref: 'some.ref', ...stored })).toBe('v');
      // A value the key service stored, under its owner's data key, reads the same way.
      const row = await db.prisma.key.findUniqueOrThrow({ where: { ref: `${a.actions[0]?.ref}.api_key` } });
      expect(await manager.decryptIfNeeded({ ...row, valueType: row.valueType })).toBe('sk');
    });
  });
}
