/**
 * Paced fan-out: the highest rate a hub sustains with events arriving one at a time (open loop, each publish due
 * at its time whatever the hub answers), every event delivered to every stream, receive p99 within a bound. The
 * figure users can plan with: a closed-loop burst lets a hub that batches flatter itself.
 */

import { postRequest, publish, type Target } from "../lib/http-client";
import { type HubKind, runStreamsJob } from "../lib/hubs";
import { publishBody, TOPIC } from "../lib/payload";
import { cpuMeter } from "../lib/proc";
import { median, percentiles } from "../lib/stats";
import { StreamGroup } from "../lib/streams";

/** A step passes when the 99th percentile from publish to receipt stays under this. */
export const P99_BOUND_MS = 100;
const FIRST_RATE = 40;

export interface PacedJob {
  readonly kind: "paced";
  readonly target: Target;
  readonly hubPid: number;
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
  const set = await StreamGroup.open([target], n, { path: `/stream?topic=${TOPIC}`, sampled: job.sampled });
  const request = (t: number) => postRequest(target, `/topics/${TOPIC}/events`, publishBody(t));
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
  readonly herald: PacedRun;
  readonly baseline: PacedRun;
  /** Herald's sustained rate over the baseline's (medians). */
  readonly ratio: number;
  readonly runs: { readonly herald: PacedRun[]; readonly baseline: PacedRun[] };
}

function once(kind: HubKind, s: PacedSettings): Promise<PacedRun> {
  return runStreamsJob<PacedRun>(
    kind,
    s.streams,
    (target, hubPid): PacedJob => ({
      kind: "paced",
      target,
      hubPid,
      streams: s.streams,
      phaseMs: s.phaseMs,
      sampled: s.sampled,
      step: s.step,
    }),
  );
}

const medianRun = (runs: readonly PacedRun[]): PacedRun => {
  const m = median(runs.map((r) => r.sustainedPerSec));
  return runs.find((r) => r.sustainedPerSec === m) ?? (runs[0] as PacedRun);
};

/** In the runner: Herald and the in-memory baseline, alternating, `repeats` times each. */
export async function runPaced(s: PacedSettings, log: (line: string) => void): Promise<PacedResult> {
  const herald: PacedRun[] = [];
  const baseline: PacedRun[] = [];
  for (let i = 0; i < s.repeats; i++) {
    for (const [kind, runs] of [
      ["herald", herald],
      ["baseline-memory", baseline],
    ] as const) {
      const run = await once(kind, s);
      runs.push(run);
      log(
        `  paced fan-out ${s.streams} ${kind} #${i + 1}: ${run.sustainedPerSec}/s sustained, p99 ${run.receiveP99Ms.toFixed(1)} ms`,
      );
    }
  }
  const h = medianRun(herald);
  const b = medianRun(baseline);
  return {
    streams: s.streams,
    herald: h,
    baseline: b,
    ratio: h.sustainedPerSec / Math.max(1, b.sustainedPerSec),
    runs: { herald, baseline },
  };
}
