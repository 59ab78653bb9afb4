/**
 * `pnpm bench` for @attune/secrets, the keyring (docs/secrets-management.md#rotating-the-encryption-key):
 *   1. master-key rotation with 100k versions over 5k owners: how long rewrapping every data key takes, and the
 *      resolution p99 while it runs against the p99 at rest (target ≤ 2×);
 *   2. data-key re-encryption of one owner's 10k versions (and 2k current values), in versions/s, beside a floor
 *      measured in the same run: the same batched SELECT … FOR UPDATE and UPDATE statements without cryptography
 *      (target ≥ 0.5× the floor).
 * Prints; does not assert.
 */

import { quantile } from '@attune/core/bench';
import { EncryptionKey, generateKeyBytes, sealEnvelope, wrapDataKey } from '@attune/crypto';
import { createTestDatabase } from '@attune/db/testing';
import {
  DataKeyStore,
  Keyring,
  REENCRYPT_BATCH,
  reencrypt,
  reencryptRows,
  rotateMasterKey,
  SecretResolver,
  ValueCipher,
  valueContext,
} from '@attune/secrets';
import { pino } from 'pino';

const OWNERS = 5000;
const KEYS_PER_OWNER = 4;
const VERSIONS = 5; // 5000 × 4 × 5 = 100k versions
const BIG_KEYS = 2000; // the owner whose data key is rotated: 2000 keys × 5 versions
const logger = pino({ level: 'silent' });
const k1 = EncryptionKey.fromPassword('keyring-bench-master-key-one-0123456789ab');
const k2 = EncryptionKey.fromPassword('keyring-bench-master-key-two-0123456789ab');

const db = await createTestDatabase();
try {
  const started = Date.now();
  await db.sql.query(
    `INSERT INTO attune.pack (ref, label, version) SELECT 'p' || i, 'p' || i, '1.0.0' FROM generate_series(0, $1 - 1) i`,
    [OWNERS + 1],
  );
  await db.sql.query(
    `INSERT INTO attune.action (ref, pack_id, name, runner_type, entry_point, timeout_seconds)
     SELECT ref || '.run', id, 'run', 'shell', 'run.sh', 60 FROM attune.pack`,
  );
  const packs = await db.sql.query<{ id: number; ref: string }>(
    'SELECT id, ref FROM attune.pack ORDER BY id',
  );
  // One data key per pack, wrapped by k1; every pack's keys and versions under it.
  for (let i = 0; i < packs.length; i += 500) {
    const batch = packs.slice(i, i + 500);
    const dks = batch.map((p, j) => {
      const id = i + j + 1;
      const raw = generateKeyBytes();
      const wrapped = wrapDataKey(k1, raw, { id, version: 1 });
      const key = EncryptionKey.fromBytes(raw);
      raw.fill(0);
      return { id, pack: p, wrapped, key };
    });
    await db.sql.query(
      `INSERT INTO attune.data_key (id, owner_type, owner_pack, version, state, wrapped, master_key_hash)
       SELECT i, 'pack', p, 1, 'active', w, $4 FROM unnest($1::int[], $2::int[], $3::text[]) AS u(i, p, w)`,
      [dks.map((d) => d.id), dks.map((d) => d.pack.id), dks.map((d) => d.wrapped), k1.keyHash],
    );
    const keys = dks.flatMap((d) => {
      const count = d.pack.ref === `p${OWNERS}` ? BIG_KEYS : KEYS_PER_OWNER;
      return Array.from({ length: count }, (_, n) => {
        const ref = `${d.pack.ref}.k${n}`;
        return {
          ref,
          pack: d.pack.id,
          name: `k${n}`,
          dk: d.id,
          value: sealEnvelope(
            d.key,
            { id: d.id, version: 1 },
            `value-${ref}`.padEnd(40, '.'),
            valueContext(ref, VERSIONS),
          ),
        };
      });
    });
    for (let j = 0; j < keys.length; j += 5000) {
      const part = keys.slice(j, j + 5000);
      const ids = await db.sql.query<{ id: number; ref: string; dk: number }>(
        `INSERT INTO attune.key (ref, owner_type, owner_pack, name, value, value_type, encrypted, data_key_id, current_version)
         SELECT r, 'pack', p, n, to_jsonb(v), 'string', true, d, $6 FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::int[]) AS u(r, p, n, v, d)
         RETURNING id, ref, data_key_id AS dk`,
        [
          part.map((k) => k.ref),
          part.map((k) => k.pack),
          part.map((k) => k.name),
          part.map((k) => k.value),
          part.map((k) => k.dk),
          VERSIONS,
        ],
      );
      // Each version sealed for itself: a value is bound to its ref and version.
      const keyOf = new Map(dks.map((d) => [d.id, d.key]));
      const versions = ids.flatMap((r) =>
        Array.from({ length: VERSIONS }, (_, g) => ({
          k: r.id,
          g: g + 1,
          d: r.dk,
          v: sealEnvelope(
            keyOf.get(r.dk) as EncryptionKey,
            { id: r.dk, version: 1 },
            `value-${r.ref}-${g + 1}`.padEnd(40, '.'),
            valueContext(r.ref, g + 1),
          ),
        })),
      );
      await db.sql.query(
        `INSERT INTO attune.key_version (key_id, version, value, value_type, encrypted, data_key_id, origin, actor_type, actor_id, actor_name)
         SELECT k, g, to_jsonb(v), 'string', true, d, 'update', 'system', 'bench', 'bench'
         FROM unnest($1::int[], $2::int[], $3::text[], $4::int[]) AS u(k, g, v, d)`,
        [
          versions.map((x) => x.k),
          versions.map((x) => x.g),
          versions.map((x) => x.v),
          versions.map((x) => x.d),
        ],
      );
    }
  }
  await db.sql.query(`SELECT setval(pg_get_serial_sequence('attune.data_key', 'id'), $1)`, [packs.length]);
  await db.sql.query('ANALYZE attune.key; ANALYZE attune.key_version; ANALYZE attune.data_key');
  const [{ n = 0 } = {}] = await db.sql.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM attune.key_version',
  );
  process.stdout.write(
    `seeded ${packs.length} owners, ${n} versions in ${((Date.now() - started) / 1000).toFixed(1)} s\n\n`,
  );

  // 1. Master-key rotation, with resolutions running all along (fresh resolvers: their data key caches are cold).
  const actions = packs.map((p) => `${p.ref}.run`);
  const resolveLoop = async (keyring: Keyring, until: () => boolean, min: number) => {
    const samples: number[] = [];
    let i = 0;
    while (!until() || samples.length < min) {
      const resolver = new SecretResolver({ sql: db.sql, keyring, logger });
      const start = process.hrtime.bigint();
      const r = await resolver.resolveForAction(actions[(i++ * 7919) % actions.length] as string);
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (r.warnings.length > 0) throw new Error('a secret did not resolve during the rotation');
    }
    return samples;
  };
  const p99 = (xs: number[]) => quantile(xs, 0.99);
  const both = new Keyring(
    [
      { id: 'k1', key: k1 },
      { id: 'k2', key: k2 },
    ],
    'k2',
  );
  const atRest = await resolveLoop(both, () => true, 2000);
  // Rotations back and forth between the two keys, so that enough resolutions run during one.
  const back = new Keyring(
    [
      { id: 'k1', key: k1 },
      { id: 'k2', key: k2 },
    ],
    'k1',
  );
  let rotating = true;
  const during = resolveLoop(both, () => !rotating, 0);
  for (let i = 0; i < 4; i++) await rotateMasterKey(db.sql, i % 2 === 0 ? both : back);
  const rewrap = await rotateMasterKey(db.sql, both);
  rotating = false;
  const duringSamples = await during;
  const restP99 = p99(atRest);
  const duringP99 = p99(duringSamples);

  // 2. Data-key re-encryption of the big owner, beside the same statements without cryptography.
  const big = packs.find((p) => p.ref === `p${OWNERS}`) as { id: number };
  const owner = { ownerType: 'pack' as const, ownerPack: big.id, ownerAction: null };
  // The floor runs the job's own statements (reencryptRows) on the same rows, writing each value back unchanged:
  // all the job does but the cryptography. The owner's data key is retired first, so that both see every value as
  // still to move (the job then resumes that rotation).
  await db.sql.withSession((session) =>
    session.transaction(async (tx) => {
      await new DataKeyStore().retireActive(owner, tx);
    }),
  );
  const floor = async () => {
    const t = performance.now();
    let moved = 0;
    await db.sql.withSession(async (session) => {
      for (const table of ['keys', 'versions'] as const) {
        let after = '0';
        for (;;) {
          const rows = await session.transaction(async (tx) => {
            const got = await reencryptRows[table](owner, after, REENCRYPT_BATCH, tx);
            const same = got.map((r) => ({
              id: r.id,
              value: r.value as string,
              dataKeyId: r.dk_id as number,
            }));
            await (table === 'keys'
              ? reencryptRows.writeKeys(same, tx)
              : reencryptRows.writeVersions(same, tx));
            return got;
          });
          if (rows.length === 0) break;
          after = rows.at(-1)?.id as string;
          moved += rows.length;
        }
      }
    });
    return { moved, seconds: (performance.now() - t) / 1000 };
  };
  const floorRun = await floor();
  const k2only = new Keyring([{ id: 'k2', key: k2 }], 'k2');
  const job = await reencrypt({
    sql: db.sql,
    cipher: new ValueCipher({ keyring: k2only }),
    selection: owner,
    rotate: true,
  });
  const jobMoved = job.reencrypted.keys + job.reencrypted.versions;
  const jobRate = jobMoved / job.seconds;
  const floorRate = floorRun.moved / floorRun.seconds;

  const lines = ['@attune/secrets — the keyring', ''];
  lines.push(
    `master-key rotation: ${rewrap.rewrapped} data keys (over ${n} versions) rewrapped in ${rewrap.seconds.toFixed(2)} s`,
    `  resolution p99 at rest ${restP99.toFixed(3)} ms, during rotations ${duringP99.toFixed(3)} ms (${duringSamples.length} resolutions over 5 rotations, in this process)`,
    `data-key re-encryption: ${jobMoved} values in ${job.seconds.toFixed(2)} s = ${jobRate.toFixed(0)} values/s; floor (the job's statements, no cryptography) ${floorRate.toFixed(0)} values/s`,
    '',
    'targets:',
    `  resolution p99 during master-key rotation ≤ 2× at rest: ${(duringP99 / restP99).toFixed(2)}× ${duringP99 <= 2 * restP99 ? 'met' : 'MISSED'}`,
    `  data-key re-encryption ≥ 0.5× the floor: ${(jobRate / floorRate).toFixed(2)}× ${jobRate >= 0.5 * floorRate ? 'met' : 'MISSED'}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await db.drop();
}
