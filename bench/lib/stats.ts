/** Medians and percentiles of measured figures. */

export interface Percentiles {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[at] as number;
}

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  return {
    n: list.length,
    p50: percentile(list, 50),
    p90: percentile(list, 90),
    p99: percentile(list, 99),
    max: list[list.length - 1] ?? Number.NaN,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The run whose `figure` is the median, so its other figures belong with it; the first run when the median falls between two. */
export function medianRun<T>(runs: readonly T[], figure: (run: T) => number): T {
  const m = median(runs.map(figure));
  const run = runs.find((r) => figure(r) === m) ?? runs[0];
  if (run === undefined) throw new Error("no runs");
  return run;
}

/** The median of each numeric field over several runs of the same measurement; flags hold only if they hold in every run. */
export function medianOf<T extends object>(runs: readonly T[]): T {
  const first = runs[0];
  if (first === undefined) throw new Error("no runs");
  const rows = runs.map((r) => new Map(Object.entries(r)));
  const out = new Map(Object.entries(first));
  for (const [key, value] of out) {
    if (typeof value === "number") out.set(key, median(rows.map((r) => r.get(key) as number)));
    else if (typeof value === "boolean")
      out.set(
        key,
        rows.every((r) => r.get(key) === true),
      );
  }
  return Object.fromEntries(out) as T;
}
