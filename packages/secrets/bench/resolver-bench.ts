/**
 * `pnpm bench` for @attune/secrets: resolve the 30 secrets of one action (10 per level, 3 names overridden at every
 * level) in a table of ~100k keys with 5 versions each (~500k version rows), every value under its owner's data key
 * (envelope encryption: ~10k data keys wrapped by the master key), side by side in one run:
 *   (a) the seed's design: three queries (system, pack, action) through Prisma, then decrypt and merge;
 *   (b) the floor: one hand-written prepared `pg` query, then decrypt and merge;
 *   (c) ours: SecretResolver.resolveForAction (one round trip, through the pool Prisma also uses);
 *   (d) ours under the `declared` policy: the action declares 3 of its 24 secrets; only those are fetched.
 * Prints throughput and latency with one in flight, and ratios. Not a test: it prints, it does not assert.
 */

import { quantile as pct } from '@attune/core/bench';
import {
  type EncryptionKey,
  generateKeyBytes,
  EncryptionKey as Key,
  openEnvelope,
  sealEnvelope,
  unwrapDataKey,
  wrapDataKey,
} from '@attune/crypto';
import { createTestDatabase } from '@attune/db/testing';
import { Keyring, RESOLVE_SQL, resolveDeclaredSql, SecretResolver, valueContext } from '@attune/secrets';
import pg from 'pg';
import { pino } from 'pino';

const PACKS = 5000; // × (10 pack keys + 1 action × 10 action keys) + 10 system keys ≈ 100k keys
const ITERATIONS = 2000;
const ROUNDS = 5;
const key = Key.fromPassword('resolver-bench-password-0123456789abcdef');
const VERSIONS = 5;
const logger = pino({ level: 'silent' });

const db = await createTestDatabase();
try {
  process.stdout.write(`seeding ${PACKS} packs, ${PACKS} actions, ~${PACKS * 20 + 10} keys…\n`);
  const seedStart = Date.now();
  await db.sql.query(
    `INSERT INTO attune.pack (ref, label, version) SELECT 'p' || i, 'p' || i, '1.0.0' FROM generate_series(0, $1 - 1) i`,
    [PACKS],
  );
  await db.sql.query(
    `INSERT INTO attune.action (ref, pack_id, name, runner_type, entry_point, timeout_seconds)
     SELECT ref || '.run', id, 'run', 'shell', 'run.sh', 60 FROM attune.pack`,
  );
  const owners = await db.sql.query<{ pack_id: number; action_id: number; pack_ref: string }>(
    'SELECT p.id AS pack_id, a.id AS action_id, p.ref AS pack_ref FROM attune.pack p JOIN attune.action a ON a.pack_id = p.id',
  );
  const names = (level: string) =>
    Array.from({ length: 10 }, (_, i) => (i < 3 ? `shared_${i}` : `${level}_${i}`));
  // One data key per owner (system, each pack, each action), wrapped by the master key.
  const dataKeys = new Map<string, { id: number; key: EncryptionKey }>();
  const dkRows: Array<[number, string, number | null, number | null, string]> = [];
  const addOwner = (type: string, pack: number | null, action: number | null) => {
    const id = dkRows.length + 1;
    const raw = generateKeyBytes();
    dkRows.push([id, type, pack, action, wrapDataKey(key, raw, { id, version: 1 })]);
    dataKeys.set(`${type}:${pack}:${action}`, { id, key: Key.fromBytes(raw) });
    raw.fill(0);
  };
  addOwner('system', null, null);
  for (const o of owners) {
    addOwner('pack', o.pack_id, null);
    addOwner('action', null, o.action_id);
  }
  for (let i = 0; i < dkRows.length; i += 10_000) {
    const batch = dkRows.slice(i, i + 10_000);
    await db.sql.query(
      `INSERT INTO attune.data_key (id, owner_type, owner_pack, owner_action, version, state, wrapped, master_key_hash)
       SELECT i, t::attune.owner_type, p, a, 1, 'active', w, $6
       FROM unnest($1::int[], $2::text[], $3::int[], $4::int[], $5::text[]) AS u(i, t, p, a, w)`,
      [
        batch.map((r) => r[0]),
        batch.map((r) => r[1]),
        batch.map((r) => r[2]),
        batch.map((r) => r[3]),
        batch.map((r) => r[4]),
        key.keyHash,
      ],
    );
  }
  await db.sql.query(`SELECT setval(pg_get_serial_sequence('attune.data_key', 'id'), $1)`, [dkRows.length]);
  const rows: Array<[string, string, number | null, number | null, string]> = [];
  for (const name of names('system')) rows.push([`system.${name}`, 'system', null, null, name]);
  for (const o of owners) {
    for (const name of names('pack')) rows.push([`${o.pack_ref}.${name}`, 'pack', o.pack_id, null, name]);
    for (const name of names('action'))
      rows.push([`${o.pack_ref}.run.${name}`, 'action', null, o.action_id, name]);
  }
  for (let i = 0; i < rows.length; i += 10_000) {
    const batch = rows.slice(i, i + 10_000);
    const sealed = batch.map((r) => {
      const dk = dataKeys.get(`${r[1]}:${r[2]}:${r[3]}`) as { id: number; key: EncryptionKey };
      return {
        dk: dk.id,
        value: sealEnvelope(
          dk.key,
          { id: dk.id, version: 1 },
          `value-of-${r[0]}`.padEnd(40, '.'),
          valueContext(r[0], VERSIONS),
        ),
      };
    });
    const ids = await db.sql.query<{ id: number; v: string; dk: number }>(
      `INSERT INTO attune.key (ref, owner_type, owner_pack, owner_action, name, value, value_type, encrypted, data_key_id, current_version)
       SELECT r, t::attune.owner_type, p, a, n, to_jsonb(v), 'string', true, d, $8
       FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::text[], $6::text[], $7::int[]) AS u(r, t, p, a, n, v, d)
       RETURNING id, value #>> '{}' AS v, data_key_id AS dk`,
      [
        batch.map((r) => r[0]),
        batch.map((r) => r[1]),
        batch.map((r) => r[2]),
        batch.map((r) => r[3]),
        batch.map((r) => r[4]),
        sealed.map((x) => x.value),
        sealed.map((x) => x.dk),
        VERSIONS,
      ],
    );
    // Five versions of each (the ciphertext is bound to the ref and the data key, so one serves every version row).
    await db.sql.query(
      `INSERT INTO attune.key_version (key_id, version, value, value_type, encrypted, data_key_id, origin, actor_type, actor_id, actor_name)
       SELECT k, g, to_jsonb(v), 'string', true, d, CASE WHEN g = 1 THEN 'create' ELSE 'update' END, 'system', 'bench', 'bench'
       FROM unnest($1::int[], $2::text[], $3::int[]) AS u(k, v, d), generate_series(1, $4::int) g`,
      [ids.map((r) => r.id), ids.map((r) => r.v), ids.map((r) => r.dk), VERSIONS],
    );
  }
  await db.sql.query('ANALYZE attune.key; ANALYZE attune.key_version; ANALYZE attune.data_key');
  const [{ count } = { count: '0' }] = await db.sql.query<{ count: string }>(
    'SELECT count(*)::text AS count FROM attune.key',
  );
  const [{ versions = '0' } = {}] = await db.sql.query<{ versions: string }>(
    'SELECT count(*)::text AS versions FROM attune.key_version',
  );
  process.stdout.write(
    `seeded ${count} keys, ${versions} versions, ${dkRows.length} data keys in ${((Date.now() - seedStart) / 1000).toFixed(1)} s\n\n`,
  );

  const target = owners[Math.floor(owners.length / 2)] as (typeof owners)[number];
  const actionRef = `${target.pack_ref}.run`;
  type KeyRow = {
    ref: string;
    owner_type: string;
    env_name: string;
    value: unknown;
    encrypted: boolean;
    expires_at: Date | null;
    dk_id: number;
    dk_version: number;
    wrapped: string;
  };
  const LEVEL: Record<string, number> = { system: 0, pack: 1, action: 2 };
  type Merged = {
    ref: string;
    level: string;
    envName: string;
    value: unknown;
    dk: { id: number; version: number; wrapped: string };
  };
  /** Decrypt and merge as a hand-written resolver would: unwrapped data keys cached (as the resolver's are). */
  const cache = new Map<number, EncryptionKey>();
  const decryptAndMerge = (keyRows: Merged[]) => {
    const winners = new Map<string, Merged>();
    for (const r of keyRows) {
      const w = winners.get(r.envName);
      if (!w || (LEVEL[r.level] as number) > (LEVEL[w.level] as number)) winners.set(r.envName, r);
    }
    const out = new Map<string, string>();
    for (const [env, r] of winners) {
      let dataKey = cache.get(r.dk.id);
      if (!dataKey) {
        dataKey = unwrapDataKey(key, r.dk.wrapped, r.dk);
        cache.set(r.dk.id, dataKey);
      }
      out.set(env, openEnvelope(dataKey, r.value as string, valueContext(r.ref, VERSIONS)));
    }
    return out;
  };

  // (a) The seed's three queries, through Prisma (the action's pack id and id come with the execution).
  const threeQueries = async () => {
    const select = {
      ref: true,
      ownerType: true,
      envName: true,
      value: true,
      dataKey: { select: { id: true, version: true, wrapped: true } },
    } as const;
    const [sys, pack, action] = [
      await db.prisma.key.findMany({ where: { ownerType: 'system', deletedAt: null }, select }),
      await db.prisma.key.findMany({
        where: { ownerType: 'pack', ownerPack: target.pack_id, deletedAt: null },
        select,
      }),
      await db.prisma.key.findMany({
        where: { ownerType: 'action', ownerAction: target.action_id, deletedAt: null },
        select,
      }),
    ];
    return decryptAndMerge(
      [...sys, ...pack, ...action].map((k) => ({
        ref: k.ref,
        level: k.ownerType,
        envName: k.envName,
        value: k.value,
        dk: k.dataKey as { id: number; version: number; wrapped: string },
      })),
    );
  };

  // (b) The hand-written floor: one prepared pg query on a dedicated client.
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const floor = async () => {
    const result = await client.query<KeyRow>({
      name: 'floor',
      text: `SELECT k.ref, k.owner_type, k.env_name, k.value, k.encrypted, k.expires_at, d.id AS dk_id, d.version AS dk_version, d.wrapped
             FROM attune.key k JOIN attune.data_key d ON d.id = k.data_key_id
             WHERE k.deleted_at IS NULL AND (k.owner_type = 'system' OR (k.owner_type = 'pack' AND k.owner_pack = $1)
               OR (k.owner_type = 'action' AND k.owner_action = $2))`,
      values: [target.pack_id, target.action_id],
    });
    // The check resolution must also make: is it expired? (This bench's secrets never are.)
    const now = Date.now();
    return decryptAndMerge(
      result.rows
        .filter((k) => k.expires_at === null || k.expires_at.getTime() > now)
        .map((k) => ({
          ref: k.ref,
          level: k.owner_type,
          envName: k.env_name,
          value: k.value,
          dk: { id: k.dk_id, version: k.dk_version, wrapped: k.wrapped },
        })),
    );
  };

  // (c) Ours.
  const resolver = new SecretResolver({ sql: db.sql, keyring: Keyring.of(key), logger });
  const ours = async () => (await resolver.resolveForAction(actionRef)).secrets;
  const declaredOnly = ['SECRET_SHARED_0', 'SECRET_ACTION_5', 'SECRET_SYSTEM_9'];
  const declared = async () => (await resolver.resolveForAction(actionRef, { only: declaredOnly })).secrets;
  if ((await declared()).length !== 3) throw new Error('the declared variant does not resolve its 3 secrets');

  const expected = await floor();
  if (
    (await threeQueries()).size !== expected.size ||
    (await ours()).length !== expected.size ||
    expected.size !== 24
  ) {
    throw new Error(`variants disagree: expected 24 secrets, floor has ${expected.size}`);
  }

  const variants = {
    'seed three queries (Prisma)': threeQueries,
    'hand-written floor (pg)': floor,
    'ours (SecretResolver)': ours,
    'ours, declared (3 of 24)': declared,
  };
  const samples = new Map<string, number[]>(Object.keys(variants).map((k) => [k, []]));
  const elapsed = new Map<string, number>(Object.keys(variants).map((k) => [k, 0]));
  for (const fn of Object.values(variants)) for (let i = 0; i < 200; i++) await fn(); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [label, fn] of Object.entries(variants)) {
      const list = samples.get(label) as number[];
      const roundStart = process.hrtime.bigint();
      for (let i = 0; i < ITERATIONS / ROUNDS; i++) {
        const start = process.hrtime.bigint();
        await fn();
        list.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      elapsed.set(label, (elapsed.get(label) as number) + Number(process.hrtime.bigint() - roundStart) / 1e9);
    }
  }
  await client.end();

  const rate = (label: string) => ITERATIONS / (elapsed.get(label) as number);
  const lines = [
    '@attune/secrets — resolve 30 secrets (24 after overrides) of one action among ~100k keys × 5 versions, each',
    'under its owner’s data key (envelope encryption), 1 in flight',
    '',
  ];
  lines.push(
    `${'variant'.padEnd(30)} ${'resolves/s'.padStart(11)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`,
  );
  for (const label of Object.keys(variants)) {
    const xs = samples.get(label) as number[];
    lines.push(
      `${label.padEnd(30)} ${rate(label).toFixed(0).padStart(11)} ${pct(xs, 0.5).toFixed(3).padStart(8)} ${pct(xs, 0.99).toFixed(3).padStart(8)}`,
    );
  }
  const ourRate = rate('ours (SecretResolver)');
  const vsThree = ourRate / rate('seed three queries (Prisma)');
  const vsFloor = ourRate / rate('hand-written floor (pg)');
  const p99 = pct(samples.get('ours (SecretResolver)') as number[], 0.99);
  lines.push('', 'targets:');
  lines.push(`  round trips per resolve: 1 (one statement; see the resolver's round-trip test)`);
  lines.push(`  ≥ 2.5× the three-query design: ${vsThree.toFixed(2)}× ${vsThree >= 2.5 ? 'met' : 'MISSED'}`);
  lines.push(`  ≥ 0.8× the hand-written floor: ${vsFloor.toFixed(2)}× ${vsFloor >= 0.8 ? 'met' : 'MISSED'}`);
  lines.push(`  p99 ≤ 5 ms with one in flight: ${p99.toFixed(3)} ms ${p99 <= 5 ? 'met' : 'MISSED'}`);
  const vsAll = rate('ours, declared (3 of 24)') / ourRate;
  lines.push(
    `  declared policy (3 of 24 fetched, decrypted) vs all: ${vsAll.toFixed(2)}× the resolves/s (no target; fetches less)`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  // The two statements' plans, as the pool runs them (generic plans of prepared statements after 5 runs).
  for (const [label, sql, params] of [
    ['all', RESOLVE_SQL, [actionRef]],
    ['declared', resolveDeclaredSql(declaredOnly.length), [actionRef, ...[...declaredOnly].sort()]],
  ] as const) {
    const plan = await db.sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${sql}`, [
      ...params,
    ]);
    process.stdout.write(`\nplan (${label}):\n${plan.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}\n`);
  }
} finally {
  await db.drop();
}
