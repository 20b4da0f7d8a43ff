/**
 * Paced fan-out: the highest rate a hub sustains with events arriving one at a time (open loop, each publish due
 * at its time whatever the hub answers), every event delivered to every stream, receive p99 within a bound. The
 * figure users can plan with: a closed-loop burst lets a hub that batches flatter itself. Herald runs it twice:
 * native `/stream` subscribers fed by native publishes, and Mercure `match=` subscribers fed by Mercure form posts.
 */

import { type Api, publishRequest, streamPath } from "../lib/api";
import { publish, type Target } from "../lib/http-client";
import { type HubKind, runStreamsJob } from "../lib/hubs";
import { cpuMeter } from "../lib/proc";
import { medianRun, percentiles } from "../lib/stats";
import { StreamGroup } from "../lib/streams";

/** A step passes when the 99th percentile from publish to receipt stays under this. */
export const P99_BOUND_MS = 100;
const FIRST_RATE = 40;

export interface PacedJob {
  readonly kind: "paced";
  readonly target: Target;
  readonly hubPid: number;
  /** The face the streams subscribe on and the events are published on. */
  readonly api: Api;
  readonly streams: number;
  readonly phaseMs: number;
  readonly sampled: number;
  /** Each step offers this many times the last one's rate. */
  readonly step: number;
}

export interface PacedStep {
  readonly ratePerSec: number;
  readonly delivered: boolean;
  readonly unsent: number;
  readonly receiveP50Ms: number;
  readonly receiveP99Ms: number;
  /** The hub's CPU (share of one core) during the step. */
  readonly hubCpu: number;
  readonly passed: boolean;
}

export interface PacedRun {
  readonly streams: number;
  /** The highest rate that passed, events published per second (0 if none did). */
  readonly sustainedPerSec: number;
  readonly deliveredPerSec: number;
  readonly receiveP50Ms: number;
  readonly receiveP99Ms: number;
  readonly hubCpu: number;
  readonly steps: readonly PacedStep[];
}

/** In the load generator: rates rise step by step until one fails; the last that passed is the figure. */
export async function pacedClient(job: PacedJob): Promise<PacedRun> {
  const { target, streams: n } = job;
  const set = await StreamGroup.open([target], n, { path: streamPath(job.api), sampled: job.sampled });
  const request = publishRequest(job.api, target);
  const warm = await publish(target, { connections: 8, durationMs: 1000, ratePerSec: FIRST_RATE }, request);
  let expected = warm.acked;
  await set.waitFor(expected);
  const steps: PacedStep[] = [];
  for (let rate = FIRST_RATE; ; rate = Math.ceil(rate * job.step)) {
    set.recordFrom = performance.now();
    const earlier = set.latenciesMs.length;
    const hubCpu = cpuMeter(job.hubPid);
    // Enough sockets that a free one is always there at the due time while the hub keeps up.
    const step = await publish(target, { connections: 64, durationMs: job.phaseMs, ratePerSec: rate }, request);
    expected += step.acked;
    const delivered = (await set.waitFor(expected)) && step.errors === 0;
    const receive = percentiles(set.latenciesMs.slice(earlier));
    const passed = delivered && step.unsent === 0 && receive.p99 <= P99_BOUND_MS;
    steps.push({
      ratePerSec: rate,
      delivered,
      unsent: step.unsent,
      receiveP50Ms: receive.p50,
      receiveP99Ms: receive.p99,
      hubCpu: hubCpu(),
      passed,
    });
    if (!passed || !delivered) break;
  }
  set.close();
  const best = steps.filter((s) => s.passed).at(-1);
  return {
    streams: n,
    sustainedPerSec: best?.ratePerSec ?? 0,
    deliveredPerSec: (best?.ratePerSec ?? 0) * n,
    receiveP50Ms: best?.receiveP50Ms ?? Number.NaN,
    receiveP99Ms: best?.receiveP99Ms ?? Number.NaN,
    hubCpu: best?.hubCpu ?? Number.NaN,
    steps,
  };
}

export interface PacedSettings {
  readonly streams: number;
  readonly repeats: number;
  readonly phaseMs: number;
  readonly sampled: number;
  readonly step: number;
}

export interface PacedResult {
  readonly streams: number;
  /** Herald, native streams and publishes. */
  readonly herald: PacedRun;
  readonly baseline: PacedRun;
  /** Herald, Mercure streams (`match=`) and publishes (form posts). */
  readonly mercure: PacedRun;
  /** Herald's sustained rate over the baseline's (medians). */
  readonly ratio: number;
  /** Herald's sustained rate on Mercure over its rate on the native API (medians). */
  readonly mercureRatio: number;
  readonly runs: { readonly herald: PacedRun[]; readonly baseline: PacedRun[]; readonly mercure: PacedRun[] };
}

/** One search on a fresh hub. */
export function measurePaced(kind: HubKind, api: Api, s: PacedSettings): Promise<PacedRun> {
  return runStreamsJob<PacedRun>(
    kind,
    s.streams,
    (target, hubPid): PacedJob => ({
      kind: "paced",
      target,
      hubPid,
      api,
      streams: s.streams,
      phaseMs: s.phaseMs,
      sampled: s.sampled,
      step: s.step,
    }),
  );
}

const medianPaced = (runs: readonly PacedRun[]): PacedRun => medianRun(runs, (r) => r.sustainedPerSec);

/** In the runner: Herald native, the in-memory baseline and Herald on Mercure, in turn, `repeats` times each. */
export async function runPaced(s: PacedSettings, log: (line: string) => void): Promise<PacedResult> {
  const herald: PacedRun[] = [];
  const baseline: PacedRun[] = [];
  const mercure: PacedRun[] = [];
  for (let i = 0; i < s.repeats; i++) {
    for (const [label, kind, api, runs] of [
      ["herald", "herald", "native", herald],
      ["baseline-memory", "baseline-memory", "native", baseline],
      ["herald mercure", "herald", "mercure", mercure],
    ] as const) {
      const run = await measurePaced(kind, api, s);
      runs.push(run);
      // A run where no step passed has no p99: NaN, which the load generator's JSON turns into null.
      const p99 = Number.isFinite(run.receiveP99Ms) ? `${run.receiveP99Ms.toFixed(1)} ms` : "none passed";
      log(`  paced fan-out ${s.streams} ${label} #${i + 1}: ${run.sustainedPerSec}/s sustained, p99 ${p99}`);
    }
  }
  const h = medianPaced(herald);
  const b = medianPaced(baseline);
  const m = medianPaced(mercure);
  return {
    streams: s.streams,
    herald: h,
    baseline: b,
    mercure: m,
    ratio: h.sustainedPerSec / Math.max(1, b.sustainedPerSec),
    mercureRatio: m.sustainedPerSec / Math.max(1, h.sustainedPerSec),
    runs: { herald, baseline, mercure },
  };
}
