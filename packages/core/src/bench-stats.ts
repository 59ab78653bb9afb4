/**
 * The statistics every `pnpm bench` prints (`@attune/core/bench`): benches only, never product code. Each takes the
 * samples as given and sorts a copy.
 */

/** The `q` quantile of `xs` by nearest rank (0.5: the p50, 0.99: the p99); `xs` must not be empty. */
export function quantile(xs: readonly number[], q: number): number {
  return [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] as number;
}

/** The median of `xs`: the middle sample, or the mean of the two middle ones for an even count; `xs` must not be empty. */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return Number.isInteger(mid)
    ? ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
    : (sorted[Math.floor(mid)] as number);
}
