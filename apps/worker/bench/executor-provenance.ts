/**
 * The cost of provenance (docs/audit.md#provenance: the secrets each execution received, stored in the statement of
 * its outcome) at eight in flight with isolation on: the same executor storing it and not, in alternating rounds of
 * the shell action; throughput of each side, the median of the rounds' on/off ratios (target: ≥ 0.95) and the p50 of
 * the `finish` statement on each side.
 */

import { median, quantile as p } from '@attune/core/bench';
import type { SqlQueryable } from '@attune/db';
import { ExecutionStore, type RunEnding } from '@attune/executions';
import { type Harness, type Report, throughput } from './executor-harness.js';

const PROVENANCE_ROUNDS = 8; // per side, alternating which side goes first
const PROVENANCE_ROUND = 250;

/** The product's store, with the time of each `finish` (the statement that stores outcome and provenance). */
class TimedStore extends ExecutionStore {
  readonly finishTimes: number[] = [];

  override async finish(
    id: string,
    workerId: string,
    ending: RunEnding,
    tx?: SqlQueryable,
  ): Promise<boolean> {
    const start = performance.now();
    try {
      return await super.finish(id, workerId, ending, tx);
    } finally {
      this.finishTimes.push(performance.now() - start);
    }
  }
}

/** The bench's "provenance off": the same statement, with no secrets to store. A bench switch, not a product one. */
class NoProvenance extends TimedStore {
  override finish(id: string, workerId: string, ending: RunEnding, tx?: SqlQueryable): Promise<boolean> {
    return super.finish(id, workerId, { ...ending, secrets: [] }, tx);
  }
}

export async function provenance(bench: Harness, { lines, verdicts }: Report): Promise<void> {
  const { db, strongest, helper, makeExecutor, requested, ours } = bench;
  // Provenance on and off, same executor otherwise, at 8 in flight with isolation on: rounds alternate sides (and
  // which side goes first) so that drift hits both alike. The ratio judged is the median of the rounds' on/off
  // ratios: each compares two runs back to back, which the load of other processes on the host moves less than it
  // moves the ratio of the two sides' medians (printed too).
  const sides = {
    on: { store: new TimedStore(db.sql), rates: [] as number[] },
    off: { store: new NoProvenance(db.sql), rates: [] as number[] },
  };
  const sideExecutors = {
    on: makeExecutor(helper, strongest, sides.on.store),
    off: makeExecutor(helper, strongest, sides.off.store),
  };
  await throughput(ours(sideExecutors.on, 'sh'), 40);
  await throughput(ours(sideExecutors.off, 'sh'), 40);
  sides.on.store.finishTimes.length = 0;
  sides.off.store.finishTimes.length = 0;
  const roundRatios: number[] = [];
  const sampleIds: { on?: bigint; off?: bigint } = {};
  for (let round = 0; round < PROVENANCE_ROUNDS; round++) {
    const order = round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
    const rate = { on: 0, off: 0 };
    for (const side of order) {
      const queue = await requested('sh', PROVENANCE_ROUND);
      sampleIds[side] = queue[0];
      rate[side] = await throughput(ours(sideExecutors[side], 'sh', queue), PROVENANCE_ROUND);
      sides[side].rates.push(rate[side]);
    }
    roundRatios.push(rate.on / rate.off);
  }
  // What each side stored, read back from one of its executions.
  const storedSecrets = async (id: bigint | undefined) =>
    (
      await db.sql.query<{ n: number }>(
        `SELECT jsonb_array_length(secrets)::int AS n FROM "attune"."execution" WHERE id = $1`,
        [String(id)],
      )
    )[0]?.n ?? '?';
  const stored = { on: await storedSecrets(sampleIds.on), off: await storedSecrets(sampleIds.off) };
  const onRate = median(sides.on.rates);
  const offRate = median(sides.off.rates);
  const provenanceRatio = median(roundRatios);
  const finishOn = p(sides.on.store.finishTimes, 0.5);
  const finishOff = p(sides.off.store.finishTimes, 0.5);
  lines.push(
    '',
    `provenance at eight in flight (sh, isolation ${strongest.mode}, ${PROVENANCE_ROUNDS} alternating rounds of ${PROVENANCE_ROUND} per side, secrets stored per execution: on ${stored.on}, off ${stored.off}):`,
    `  on  ${onRate.toFixed(0).padStart(5)}/s  off ${offRate.toFixed(0).padStart(5)}/s (medians, ${(onRate / offRate).toFixed(2)}×)  ` +
      `on/off per round ${roundRatios.map((r) => r.toFixed(2)).join(' ')}, median ${provenanceRatio.toFixed(2)}×`,
    `  finish statement p50: on ${finishOn.toFixed(2)} ms  off ${finishOff.toFixed(2)} ms  (+${(finishOn - finishOff).toFixed(2)} ms per execution)`,
  );
  verdicts.push(
    `provenance costs ≤ 5% of throughput at 8 in flight (on/off ≥ 0.95): ${provenanceRatio.toFixed(2)}× ${provenanceRatio >= 0.95 ? 'met' : 'MISSED'}`,
  );
}
