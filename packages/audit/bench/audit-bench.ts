/**
 * `pnpm bench` for @attune/audit (docs/audit.md): listing the events of one ref in a log of 1,000,000 events, the
 * way `GET /api/v1/audit?ref=…` does it (`AuditLog.list`), target p99 ≤ 50 ms, served by `audit_event_ref_idx`.
 *
 * The log is filled through the product's own BEFORE INSERT trigger (`INSERT … SELECT generate_series` in batches:
 * the trigger gives each row its id and time), then sealed by the product's `attune.audit_seal` in batches of 50,000
 * (what the API's sealer does every second, here all at once), so the chain is the one the product would write; the
 * fill's and the seal's durations are printed, and the chain checked. Every event is a
 * `key.updated` carrying a value HMAC, as with `audit.hmac_key` set (the larger rows and one more index to fill). 10,000 refs:
 * 10 hot ones with 10,000 events each, 9,990 with ~90 each, their events scattered over the whole table as a
 * long-lived log's are. Then, after ANALYZE: the first page (limit 100) of random refs; a page below a random
 * `before` cursor deep in a hot ref's history; as a baseline in the same run, the newest page of the whole log
 * (primary key, no filter); the plan of the very statement `list` sends (EXPLAIN through a wrapping queryable); and
 * what the same listing costs without the index (dropped inside a transaction that is rolled back).
 * Prints; does not assert.
 */
import { AuditLog } from '@attune/audit';
import { quantile as p } from '@attune/core/bench';
import type { SqlQueryable } from '@attune/db';
import { createTestDatabase } from '@attune/db/testing';

const EVENTS = 1_000_000;
const BATCH = 100_000;
const HOT_REFS = 10; // every 10th event goes to one of these: 10,000 events each
const COLD_REFS = 9990;
const SAMPLES = 2000;
const WARMUP = 200;
const WITHOUT_INDEX_SAMPLES = 10;
const TARGET_MS = 50;

const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)] as T;
const coldRef = (n: number) => `bench.k${n}`;
const hotRef = (n: number) => `bench.hot${n}`;

const db = await createTestDatabase();
try {
  const log = new AuditLog();
  const filling = performance.now();
  for (let from = 0; from < EVENTS; from += BATCH) {
    await db.sql.query(
      `INSERT INTO "attune"."audit_event" (actor_type, actor_id, actor_name, action, ref, version, outcome, detail)
       SELECT 'cli', 'bench@bench', 'bench@bench', 'key.updated',
              CASE WHEN i % 10 = 0 THEN 'bench.hot' || (i / 10 % $3) ELSE 'bench.k' || ((i - i / 10 - 1) % $4) END,
              1 + i / 10000, 'ok',
              jsonb_build_object('data_key', i % 97, 'value_hmac', encode(sha256(int4send(i)), 'hex'))
       FROM generate_series($1::int, $2::int) i`,
      [from, Math.min(from + BATCH, EVENTS) - 1, HOT_REFS, COLD_REFS],
    );
  }
  const fillSeconds = (performance.now() - filling) / 1000;
  const sealing = performance.now();
  while ((await log.seal(db.sql, 50_000)) > 0);
  const sealSeconds = (performance.now() - sealing) / 1000;
  await db.sql.exec('ANALYZE "attune"."audit_event"');
  const [facts] = await db.sql.query<{
    events: number;
    refs: number;
    broken: number;
    tableSize: string;
    indexSize: string;
  }>(
    `SELECT count(*)::int AS events, count(DISTINCT ref)::int AS refs,
            count(*) FILTER (WHERE prev_hash <> coalesce(before, repeat('0', 64)))::int AS broken,
            pg_size_pretty(pg_table_size('"attune"."audit_event"')) AS "tableSize",
            pg_size_pretty(pg_relation_size('"attune"."audit_event_ref_idx"')) AS "indexSize"
     FROM (SELECT ref, prev_hash, lag(hash) OVER (ORDER BY seq) AS before FROM "attune"."audit_event") e`,
  );

  const coldRefs = Array.from({ length: COLD_REFS }, (_, n) => coldRef(n));
  const hotRefs = Array.from({ length: HOT_REFS }, (_, n) => hotRef(n));
  const [bounds] = await db.sql.query<{ lo: string; hi: string }>(
    `SELECT min(id)::text AS lo, max(id)::text AS hi FROM "attune"."audit_event"`,
  );
  const lo = Number(bounds?.lo);
  const hi = Number(bounds?.hi);
  // A cursor anywhere in the log: below it, a hot ref still has thousands of events on average.
  const randomCursor = () => String(lo + Math.floor(Math.random() * (hi - lo)));

  const time = async (run: () => Promise<unknown[]>, count: number, warmup = WARMUP) => {
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < warmup + count; i++) {
      const start = performance.now();
      const page = await run();
      if (i >= warmup) {
        times.push(performance.now() - start);
        rows += page.length;
      }
    }
    return { times, rows: rows / count };
  };
  // Interleaved so that drift (the other tenants of this machine) hits every kind alike.
  const kinds = {
    'newest page, whole log (baseline)': () => log.list({ limit: 100 }, db.sql),
    'ref, first page': () => log.list({ ref: pick(coldRefs), limit: 100 }, db.sql),
    'hot ref, first page': () => log.list({ ref: pick(hotRefs), limit: 100 }, db.sql),
    'hot ref, before a cursor': () =>
      log.list({ ref: pick(hotRefs), before: randomCursor(), limit: 100 }, db.sql),
  } as const;
  const results = new Map<string, { times: number[]; rows: number }>(
    Object.keys(kinds).map((k) => [k, { times: [], rows: 0 }]),
  );
  for (let round = 0; round < 4; round++) {
    for (const [name, run] of Object.entries(kinds)) {
      const r = await time(run, SAMPLES / 4, round === 0 ? WARMUP : 0);
      const into = results.get(name) as { times: number[]; rows: number };
      into.times.push(...r.times);
      into.rows += r.rows / 4;
    }
  }

  // The plan of the statement `list` sends, with the parameters it binds: EXPLAIN through a wrapping queryable.
  const plans: string[][] = [];
  const explaining: SqlQueryable = {
    async query<Row extends object>(text: string, params?: readonly unknown[]) {
      const rows = await db.sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params);
      plans.push(rows.map((r) => r['QUERY PLAN']));
      return [] as Row[];
    },
  };
  await log.list({ ref: pick(coldRefs), limit: 100 }, explaining);
  await log.list({ ref: pick(hotRefs), before: randomCursor(), limit: 100 }, explaining);
  // The plan's nodes, outermost first (`Limit → … → Index Scan … using audit_event_ref_idx`), and its time.
  const nodes = (plan: string[]) =>
    plan
      .filter((l, i) => i === 0 || l.includes('->'))
      .map((l) => l.replace(/^[\s>-]+/, '').replace(/ {2}\(.*$/, ''))
      .join(' → ');
  const took = (plan: string[]) =>
    plan.find((l) => l.startsWith('Execution Time'))?.replace('Execution Time: ', '') ?? '';

  // The counterfactual: the same listing with the index gone (in a transaction rolled back: nothing changes).
  const withoutIndex = await db.sql.withSession(async (session) => {
    await session.query('BEGIN');
    try {
      await session.query('DROP INDEX "attune"."audit_event_ref_idx"');
      const r = await time(
        () => log.list({ ref: pick(coldRefs), limit: 100 }, session),
        WITHOUT_INDEX_SAMPLES,
        1,
      );
      const plan: string[] = [];
      await log.list(
        { ref: pick(coldRefs), limit: 100 },
        {
          async query<Row extends object>(text: string, params?: readonly unknown[]) {
            const rows = await session.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, params);
            plan.push(...rows.map((row) => row['QUERY PLAN']));
            return [] as Row[];
          },
        },
      );
      return { ...r, plan };
    } finally {
      await session.query('ROLLBACK');
    }
  });

  const refP99 = p(results.get('ref, first page')?.times ?? [], 0.99);
  const cursorP99 = p(results.get('hot ref, before a cursor')?.times ?? [], 0.99);
  const baseP50 = p(results.get('newest page, whole log (baseline)')?.times ?? [], 0.5);
  const lines = [
    `@attune/audit — AuditLog.list by ref over ${facts?.events.toLocaleString('en')} events, ${facts?.refs.toLocaleString('en')} refs`,
    `fill through the insert trigger: ${fillSeconds.toFixed(1)} s (${((facts?.events ?? 0) / fillSeconds).toFixed(0)} events/s); ` +
      `sealed by attune.audit_seal: ${sealSeconds.toFixed(1)} s (${((facts?.events ?? 0) / sealSeconds).toFixed(0)} events/s); ` +
      `chain ${facts?.broken === 0 ? 'intact' : `BROKEN (${facts?.broken} events do not link to the one before)`}; table ${facts?.tableSize}, audit_event_ref_idx ${facts?.indexSize}`,
    '',
    `list, limit 100 (ms, ${SAMPLES} calls each, interleaved):`,
    `  ${'kind'.padEnd(36)} ${'rows'.padStart(5)} ${'p50'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(7)} ${'p50 ratio'.padStart(10)}`,
  ];
  for (const [name, r] of results) {
    const p50 = p(r.times, 0.5);
    lines.push(
      `  ${name.padEnd(36)} ${r.rows.toFixed(0).padStart(5)} ${p50.toFixed(2).padStart(7)} ${p(r.times, 0.99).toFixed(2).padStart(7)} ` +
        `${Math.max(...r.times)
          .toFixed(2)
          .padStart(7)} ${`${(p50 / baseP50).toFixed(2)}×`.padStart(10)}`,
    );
  }
  lines.push(
    `  ${'ref, first page, index dropped'.padEnd(36)} ${withoutIndex.rows.toFixed(0).padStart(5)} ${p(withoutIndex.times, 0.5).toFixed(2).padStart(7)} ` +
      `${'—'.padStart(7)} ${Math.max(...withoutIndex.times)
        .toFixed(2)
        .padStart(7)} ${`${(p(withoutIndex.times, 0.5) / baseP50).toFixed(2)}×`.padStart(10)}` +
      `  (${WITHOUT_INDEX_SAMPLES} calls)`,
    '',
    'plans (EXPLAIN ANALYZE of the statement list sends):',
    `  ref:               ${nodes(plans[0] ?? [])} (${took(plans[0] ?? [])})`,
    `  hot ref + cursor:  ${nodes(plans[1] ?? [])} (${took(plans[1] ?? [])})`,
    `  index dropped:     ${nodes(withoutIndex.plan)}`,
    '',
    'targets:',
    `  list by ref p99 ≤ ${TARGET_MS} ms over 1M events: ${refP99.toFixed(2)} ms ${refP99 <= TARGET_MS ? 'met' : 'MISSED'}`,
    `  list by ref below a cursor p99 ≤ ${TARGET_MS} ms: ${cursorP99.toFixed(2)} ms ${cursorP99 <= TARGET_MS ? 'met' : 'MISSED'}`,
    `  served by audit_event_ref_idx: ${plans.every((plan) => plan.some((l) => l.includes('audit_event_ref_idx'))) ? 'yes' : 'NO'}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await db.drop();
}
