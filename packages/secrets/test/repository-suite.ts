import { createHash } from 'node:crypto';
import { EncryptionKey } from '@attune/crypto';
import type { Database } from '@attune/db';
import { describe, expect, it } from 'vitest';
import {
  EncryptionKeyRequiredError,
  InvalidKeyInputError,
  KeyConflictError,
  KeyDeletedError,
  KeyNotFoundError,
  OwnerNotFoundError,
} from '../src/index.js';
import { actor, capturingLogger, keyService, makePack } from './helpers.js';

const PASSWORD = 'repository-suite-password-0123456789abc';
export const KEY = EncryptionKey.fromPassword(PASSWORD);
const SECRET = 'sk_live_abc123_canary_9f8e7d';

/** The key repository's behaviour, run against whichever database `getDb` gives (PostgreSQL or PGlite). */
export function repositorySuite(getDb: () => Database): void {
  const repo = (key: EncryptionKey | null = KEY) => {
    const { logger, lines } = capturingLogger();
    return {
      keys: keyService(getDb().prisma, key ?? undefined, logger),
      lines,
    };
  };
  const rawRow = async (ref: string) =>
    (await getDb().sql.query<Record<string, unknown>>('SELECT * FROM attune.key WHERE ref = $1', [ref]))[0];

  describe('key repository', () => {
    it("creates a key from the seed's API example (pack owner by id) and reads it back", async () => {
      const { pack } = await makePack(getDb().prisma);
      const { keys } = repo();
      const created = await keys.create(actor, {
        ref: `${pack.ref}.api_key`,
        owner: { type: 'pack', pack: pack.id },
        name: 'api_key',
        value: 'sk_live_abc123',
        encrypted: true,
      });
      expect(created).toMatchObject({
        ownerType: 'pack',
        ownerPack: pack.id,
        name: 'api_key',
        envName: 'SECRET_API_KEY',
      });
      expect(created.value).toBeNull();
      expect((await keys.get(actor, created.ref)).value).toBeNull();
      expect((await keys.get(actor, created.ref, { decrypt: true })).value).toBe('sk_live_abc123');
    });

    it("stores encrypted values only under the owner's data key, wrapped by the master key, never in clear", async () => {
      const { pack } = await makePack(getDb().prisma);
      const { keys, lines } = repo();
      await keys.create(actor, {
        owner: { type: 'pack', pack: pack.ref },
        name: 'canary',
        value: SECRET,
        encrypted: true,
      });
      const row = await rawRow(`${pack.ref}.canary`);
      expect(JSON.stringify(row)).not.toContain(SECRET);
      // e1:<data key id>.<version>:… (docs/encryption.md#envelope-encryption), no master key hash on the row.
      expect(String(row?.value)).toMatch(new RegExp(`^e1:${row?.data_key_id}\\.1:`));
      expect(row?.encryption_key_hash).toBeNull();
      const [dataKey] = await getDb().sql.query<Record<string, unknown>>(
        'SELECT * FROM attune.data_key WHERE id = $1',
        [row?.data_key_id],
      );
      expect(dataKey).toMatchObject({ owner_type: 'pack', owner_pack: pack.id, version: 1, state: 'active' });
      expect(String(dataKey?.wrapped).startsWith('v1:')).toBe(true);
      expect(dataKey?.master_key_hash).toBe(KEY.keyHash);
      // Not the reference implementation's hash, which is the AES key itself.
      expect(dataKey?.master_key_hash).not.toBe(createHash('sha256').update(PASSWORD).digest('hex'));
      // The version row holds the same, and nothing in clear either.
      const [version] = await getDb().sql.query<Record<string, unknown>>(
        'SELECT * FROM attune.key_version WHERE key_id = $1',
        [row?.id],
      );
      expect(version).toMatchObject({
        version: 1,
        origin: 'create',
        actor_type: 'cli',
        data_key_id: row?.data_key_id,
      });
      expect(JSON.stringify(version)).not.toContain(SECRET);
      await keys.get(actor, `${pack.ref}.canary`, { decrypt: true });
      expect(lines.join('\n')).not.toContain(SECRET);
      // Who created and who decrypted it is logged, with the ref: the audit log will build on it.
      const said = lines.map((l) => JSON.parse(l) as { msg: string; actor?: string; ref?: string });
      for (const msg of ['key created', 'key decrypted'])
        expect(said.find((l) => l.msg === msg)).toMatchObject({
          actor: 'cli:tester@test',
          ref: `${pack.ref}.canary`,
        });
    });

    it('keeps unencrypted and structured values as JSON', async () => {
      const { pack } = await makePack(getDb().prisma);
      const { keys } = repo();
      const structured = { user: 'svc', password: 'p@ss', ports: [5432, 6432], tls: true };
      await keys.create(actor, { owner: { type: 'pack', pack: pack.id }, name: 'plain', value: 'visible' });
      await keys.create(actor, { owner: { type: 'pack', pack: pack.id }, name: 'db', value: structured });
      await keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'db_enc',
        value: structured,
        encrypted: true,
      });
      await keys.create(actor, { owner: { type: 'pack', pack: pack.id }, name: 'num', value: 42 });
      await keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'flag',
        value: false,
        encrypted: true,
      });
      expect((await keys.get(actor, `${pack.ref}.plain`)).value).toBe('visible');
      expect((await keys.get(actor, `${pack.ref}.db`)).value).toEqual(structured);
      expect((await keys.get(actor, `${pack.ref}.db_enc`, { decrypt: true })).value).toEqual(structured);
      expect((await keys.get(actor, `${pack.ref}.num`)).value).toBe(42);
      expect((await keys.get(actor, `${pack.ref}.flag`, { decrypt: true })).value).toBe(false);
      expect((await rawRow(`${pack.ref}.db`))?.value).toEqual(structured);
    });

    it('refuses to encrypt without a configured key, and writes nothing', async () => {
      const { pack } = await makePack(getDb().prisma);
      const { keys } = repo(null);
      await expect(
        keys.create(actor, {
          owner: { type: 'pack', pack: pack.id },
          name: 'x',
          value: SECRET,
          encrypted: true,
        }),
      ).rejects.toThrow(EncryptionKeyRequiredError);
      await expect(
        keys.create(actor, {
          owner: { type: 'pack', pack: pack.id },
          name: 'x',
          value: SECRET,
          encrypted: true,
        }),
      ).rejects.toThrow(
        /no encryption key is configured.*--config FILE or ATTUNE_CONFIG.*ATTUNE__SECURITY__ENCRYPTION_KEY_FILE/,
      );
      expect(await getDb().prisma.key.count({ where: { ownerPack: pack.id } })).toBe(0);
    });

    it('validates names and writes nothing for a bad one', async () => {
      const { pack } = await makePack(getDb().prisma);
      const { keys } = repo();
      for (const name of ['api_key', 'db-password', 'oauth_token']) {
        await keys.create(actor, { owner: { type: 'pack', pack: pack.id }, name, value: 'v' });
      }
      for (const name of ['has space', 'a=b', 'a.b', 'nul\0', '', 'n'.repeat(129)]) {
        const error = await keys
          .create(actor, { owner: { type: 'pack', pack: pack.id }, name, value: SECRET })
          .catch((e: unknown) => e);
        expect(error, JSON.stringify(name)).toBeInstanceOf(InvalidKeyInputError);
        expect((error as Error).message).not.toContain(SECRET);
      }
      expect(await getDb().prisma.key.count({ where: { ownerPack: pack.id } })).toBe(3);
    });

    it('refuses two names of one owner that map to the same env var, naming the other key', async () => {
      const { pack } = await makePack(getDb().prisma);
      const other = await makePack(getDb().prisma);
      const { keys } = repo();
      await keys.create(actor, { owner: { type: 'pack', pack: pack.id }, name: 'api-key', value: 'a' });
      const error = await keys
        .create(actor, { owner: { type: 'pack', pack: pack.id }, name: 'api_key', value: SECRET })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyConflictError);
      expect((error as KeyConflictError).field).toBe('name');
      expect((error as Error).message).toContain(
        `'${pack.ref}.api-key' (name 'api-key') maps to the same env var SECRET_API_KEY`,
      );
      expect((error as Error).message).not.toContain(SECRET);
      await expect(
        keys.create(actor, { owner: { type: 'pack', pack: pack.id }, name: 'API_KEY', value: 'c' }),
      ).rejects.toThrow(KeyConflictError);
      // The same name under another owner is fine: that is what overriding is.
      await keys.create(actor, { owner: { type: 'pack', pack: other.pack.id }, name: 'api_key', value: 'b' });
      await keys.create(actor, {
        owner: { type: 'action', action: other.actions[0]?.ref as string },
        name: 'api_key',
        value: 'c',
      });
    });

    it('refuses an existing ref with a conflict', async () => {
      const { pack } = await makePack(getDb().prisma);
      const { keys } = repo();
      await keys.create(actor, {
        ref: `${pack.ref}.dup`,
        owner: { type: 'pack', pack: pack.id },
        name: 'one',
        value: 'a',
      });
      const error = await keys
        .create(actor, {
          ref: `${pack.ref}.dup`,
          owner: { type: 'pack', pack: pack.id },
          name: 'two',
          value: 'b',
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyConflictError);
      expect((error as KeyConflictError).field).toBe('ref');
      expect((error as Error).message).toBe(`A key with ref '${pack.ref}.dup' already exists.`);
    });

    it('lets exactly one of many concurrent creates of one ref or env var win', async () => {
      const { pack } = await makePack(getDb().prisma);
      const { keys } = repo();
      const sameRef = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          keys.create(actor, {
            ref: `${pack.ref}.race`,
            owner: { type: 'pack', pack: pack.id },
            name: `race${i}`,
            value: SECRET,
            encrypted: true,
          }),
        ),
      );
      expect(sameRef.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of sameRef.filter((r) => r.status === 'rejected')) {
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(KeyConflictError);
      }
      const sameEnv = await Promise.allSettled(
        ['tok-en', 'tok_en', 'TOK_EN', 'Tok-En', 'tok_EN'].map((name, i) =>
          keys.create(actor, {
            ref: `${pack.ref}.env${i}`,
            owner: { type: 'pack', pack: pack.id },
            name,
            value: 'v',
          }),
        ),
      );
      expect(sameEnv.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(await getDb().prisma.key.count({ where: { ownerPack: pack.id } })).toBe(2);
    });

    it('refuses a missing owner and a malformed owner', async () => {
      const { keys } = repo();
      await expect(
        keys.create(actor, { owner: { type: 'pack', pack: 999_999 }, name: 'x', value: 'v' }),
      ).rejects.toThrow(OwnerNotFoundError);
      await expect(
        keys.create(actor, { owner: { type: 'action', action: 'no.such' }, name: 'x', value: 'v' }),
      ).rejects.toThrow("No action 'no.such'.");
      await expect(
        keys.create(actor, { owner: { type: 'pack', pack: -1 }, name: 'x', value: 'v' }),
      ).rejects.toThrow(InvalidKeyInputError);
      await expect(
        keys.create(actor, { owner: { type: 'galaxy' } as never, name: 'x', value: 'v' }),
      ).rejects.toThrow(/Unknown owner type 'galaxy'/);
    });

    it('updates values and turns encryption on and off', async () => {
      const { pack } = await makePack(getDb().prisma);
      const { keys } = repo();
      const ref = `${pack.ref}.rot`;
      await keys.create(actor, { ref, owner: { type: 'pack', pack: pack.id }, name: 'rot', value: 'one' });
      expect((await keys.update(actor, ref, { value: 'two' })).value).toBe('two');
      const encrypted = await keys.update(actor, ref, { encrypted: true });
      expect(encrypted.value).toBeNull();
      expect(String((await rawRow(ref))?.value).startsWith('e1:')).toBe(true);
      expect((await keys.get(actor, ref, { decrypt: true })).value).toBe('two');
      await keys.update(actor, ref, { value: { rotated: 3 } });
      expect((await keys.get(actor, ref, { decrypt: true })).value).toEqual({ rotated: 3 });
      const plain = await keys.update(actor, ref, { encrypted: false });
      expect(plain.value).toEqual({ rotated: 3 });
      expect((await rawRow(ref))?.encryption_key_hash).toBeNull();
      await expect(keys.update(actor, `${pack.ref}.nope`, { value: 'x' })).rejects.toThrow(KeyNotFoundError);
      await expect(keys.update(actor, ref, {})).rejects.toThrow(InvalidKeyInputError);
    });

    it('refuses to re-encrypt a value written with another key, and changes nothing', async () => {
      const { pack } = await makePack(getDb().prisma);
      const ref = `${pack.ref}.foreign`;
      const foreign = EncryptionKey.fromPassword('some-other-installation-password-0123');
      await repo(foreign).keys.create(actor, {
        ref,
        owner: { type: 'pack', pack: pack.id },
        name: 'foreign',
        value: SECRET,
        encrypted: true,
      });
      const before = await rawRow(ref);
      const error = await repo()
        .keys.update(actor, ref, { encrypted: false })
        .catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/key_hash_mismatch/);
      expect((error as Error).message).not.toContain(SECRET);
      expect(await rawRow(ref)).toEqual(before);
    });

    it("never shows a stored key hash other than the configured key's own (the seed's is the key itself)", async () => {
      const { pack } = await makePack(getDb().prisma);
      // A row as the seed wrote it: its key hash is hex(SHA-256(password)), i.e. the AES key.
      const seedHash = createHash('sha256').update(PASSWORD, 'utf8').digest('hex');
      await getDb().prisma.key.create({
        data: {
          ref: `${pack.ref}.legacy`,
          ownerType: 'pack',
          ownerPack: pack.id,
          name: 'legacy',
          value: KEY.encrypt('seed-era-secret'),
          valueType: 'string',
          encrypted: true,
          encryptionKeyHash: seedHash,
        },
      });
      const foreign = EncryptionKey.fromPassword('some-other-installation-password-4567');
      await repo(foreign).keys.create(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'foreign2',
        value: SECRET,
        encrypted: true,
      });
      const { keys } = repo();
      const legacy = await keys.get(actor, `${pack.ref}.legacy`);
      expect(legacy.encryptionKeyHash).toBeNull();
      expect(await keys.get(actor, `${pack.ref}.legacy`, { decrypt: true })).toMatchObject({
        value: 'seed-era-secret',
      });
      expect((await keys.get(actor, `${pack.ref}.foreign2`)).encryptionKeyHash).toBeNull();
      const listed = await keys.list(actor, { pack: pack.id });
      expect(JSON.stringify(listed)).not.toContain(seedHash);
      expect(JSON.stringify(listed)).not.toContain(foreign.keyHash);
      // With no key configured, nothing is the configured key's: no hash at all.
      expect(JSON.stringify(await repo(null).keys.list(actor, { pack: pack.id }))).not.toContain(seedHash);
      // Another installation's data key now serves that pack; ours writes where its own keys are.
      const mine = await makePack(getDb().prisma);
      const own = await keys.create(actor, {
        owner: { type: 'pack', pack: mine.pack.id },
        name: 'own',
        value: 'v-own',
        encrypted: true,
      });
      expect(own.encryptionKeyHash).toBe(KEY.keyHash);
    });

    it('sets: creates, then replaces the value; never overwrites a key of another owner', async () => {
      const { pack } = await makePack(getDb().prisma);
      const other = await makePack(getDb().prisma);
      const { keys } = repo();
      // A pack given by id still gets the default ref from its real ref.
      const first = await keys.set(actor, {
        owner: { type: 'pack', pack: pack.id },
        name: 'token',
        value: 'one',
        encrypted: true,
      });
      expect(first).toMatchObject({ created: true, key: { ref: `${pack.ref}.token` } });
      const second = await keys.set(actor, {
        owner: { type: 'pack', pack: pack.ref },
        name: 'token',
        value: 'two',
        encrypted: true,
      });
      expect(second.created).toBe(false);
      expect((await keys.get(actor, `${pack.ref}.token`, { decrypt: true })).value).toBe('two');
      const error = await keys
        .set(actor, {
          ref: `${pack.ref}.token`,
          owner: { type: 'pack', pack: other.pack.id },
          name: 'token',
          value: SECRET,
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyConflictError);
      expect((error as Error).message).not.toContain(SECRET);
      expect((await keys.get(actor, `${pack.ref}.token`, { decrypt: true })).value).toBe('two');
    });

    it('deletes keys softly (undelete brings them back), and for good with purge', async () => {
      const { pack } = await makePack(getDb().prisma);
      const { keys } = repo();
      await keys.create(actor, { owner: { type: 'pack', pack: pack.id }, name: 'gone', value: 'v' });
      await keys.delete(actor, `${pack.ref}.gone`);
      expect((await keys.get(actor, `${pack.ref}.gone`)).deletedAt).toBeInstanceOf(Date);
      expect((await keys.list(actor, { pack: pack.id })).total).toBe(0);
      expect((await keys.list(actor, { pack: pack.id, deleted: true })).total).toBe(1);
      await expect(keys.update(actor, `${pack.ref}.gone`, { value: 'w' })).rejects.toThrow(KeyDeletedError);
      await expect(
        keys.create(actor, { owner: { type: 'pack', pack: pack.id }, name: 'gone', value: 'again' }),
      ).rejects.toThrow(/deleted key with ref .* exists; undelete it/);
      expect((await keys.undelete(actor, `${pack.ref}.gone`)).deletedAt).toBeNull();
      expect((await keys.get(actor, `${pack.ref}.gone`)).value).toBe('v');
      await keys.delete(actor, `${pack.ref}.gone`, { purge: true });
      await expect(keys.get(actor, `${pack.ref}.gone`)).rejects.toThrow(KeyNotFoundError);
      await expect(keys.delete(actor, `${pack.ref}.gone`)).rejects.toThrow(KeyNotFoundError);
    });

    it('lists by owner, paginated, without encrypted values', async () => {
      const { pack, actions } = await makePack(getDb().prisma);
      const { keys } = repo();
      for (let i = 0; i < 7; i++) {
        await keys.create(actor, {
          owner: { type: 'pack', pack: pack.id },
          name: `k${i}`,
          value: `v${i}`,
          encrypted: i % 2 === 0,
        });
      }
      await keys.create(actor, {
        owner: { type: 'action', action: actions[0]?.id as number },
        name: 'only',
        value: 'a',
      });
      const first = await keys.list(actor, { pack: pack.ref, perPage: 3 });
      expect(first).toMatchObject({ total: 7, page: 1, perPage: 3 });
      expect(first.items.map((k) => k.name)).toEqual(['k0', 'k1', 'k2']);
      expect(first.items.map((k) => k.value)).toEqual([null, 'v1', null]);
      const third = await keys.list(actor, { pack: pack.id, perPage: 3, page: 3 });
      expect(third.items.map((k) => k.name)).toEqual(['k6']);
      const byAction = await keys.list(actor, { ownerType: 'action', action: actions[0]?.ref as string });
      expect(byAction.items.map((k) => k.ref)).toEqual([`${actions[0]?.ref}.only`]);
      await expect(keys.list(actor, { perPage: 0 })).rejects.toThrow(InvalidKeyInputError);
      await expect(keys.list(actor, { page: 1.5 })).rejects.toThrow(InvalidKeyInputError);
    });

    it('keeps integrity in the database itself', async () => {
      const { pack, actions } = await makePack(getDb().prisma);
      const { keys } = repo();
      await keys.create(actor, {
        owner: { type: 'action', action: actions[0]?.id as number },
        name: 'held',
        value: 'v',
      });
      const sql = getDb().sql;
      // owner columns must match owner_type
      await expect(
        sql.query(
          `INSERT INTO attune.key (ref, owner_type, owner_pack, name, value) VALUES ('bad.one', 'system', $1, 'one', '"v"')`,
          [pack.id],
        ),
      ).rejects.toThrow(/key_owner_matches_type/);
      // names are checked by the database too
      await expect(
        sql.query(
          `INSERT INTO attune.key (ref, owner_type, name, value) VALUES ('bad.two', 'system', 'a b', '"v"')`,
        ),
      ).rejects.toThrow(/key_name_format/);
      // identity cannot change
      await expect(
        sql.query(`UPDATE attune.key SET name = 'renamed' WHERE ref = $1`, [`${actions[0]?.ref}.held`]),
      ).rejects.toThrow(/cannot change/);
      // an action or pack that still owns keys cannot be deleted
      await expect(sql.query('DELETE FROM attune.action WHERE id = $1', [actions[0]?.id])).rejects.toThrow(
        /key_owner_action_fkey/,
      );
      await expect(sql.query('DELETE FROM attune.pack WHERE id = $1', [pack.id])).rejects.toThrow(
        /key_owner_action_fkey/,
      );
      // Soft-deleted, it still holds its owner; purged, it does not.
      await keys.delete(actor, `${actions[0]?.ref}.held`);
      await expect(sql.query('DELETE FROM attune.action WHERE id = $1', [actions[0]?.id])).rejects.toThrow(
        /key_owner_action_fkey/,
      );
      await keys.delete(actor, `${actions[0]?.ref}.held`, { purge: true });
      await sql.query('DELETE FROM attune.pack WHERE id = $1', [pack.id]);
      expect(await getDb().prisma.action.count({ where: { packId: pack.id } })).toBe(0);
    });
  });
}
