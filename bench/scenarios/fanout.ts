/** Fan-out: N streams on one topic; delivered events/s at capacity, then latency at 80% of it. */

import { publishRequest, streamPath } from "../lib/api";
import { publish, type Target } from "../lib/http-client";
import { type HubKind, runStreamsJob } from "../lib/hubs";
import { cpuMeter, rssBytes } from "../lib/proc";
import { median, medianOf, percentiles } from "../lib/stats";
import { StreamGroup } from "../lib/streams";

export interface FanoutJob {
  readonly kind: "fanout";
  readonly target: Target;
  readonly hubPid: number;
  readonly streams: number;
  readonly connections: number;
  readonly phaseMs: number;
  readonly sampled: number;
  /** Nodes holding the streams, evenly (a cluster sharing one log); by default the publishing target alone. */
  readonly streamTargets?: readonly Target[];
}

export interface FanoutRun {
  readonly streams: number;
  /** Capacity: events delivered to all streams per second, from the first publish to the last delivery. */
  readonly deliveredPerSec: number;
  readonly ackedPerSec: number;
  /** From the last acknowledgement to the last stream having every event: how far delivery trails publishing. */
  readonly drainMs: number;
  /** Every stream got every acknowledged event exactly once, in both phases, and none was closed. */
  readonly allDelivered: boolean;
  readonly missing: number;
  readonly closedStreams: number;
  /** The latency phase: its publish rate (80% of capacity) and the percentiles it measured. */
  readonly latencyRatePerSec: number;
  /** Latency-phase publishes never sent because every socket was waiting on the hub: it fell behind the rate. */
  readonly unsent: number;
  readonly receiveP50Ms: number;
  readonly receiveP99Ms: number;
  readonly ackP50Ms: number;
  readonly ackP99Ms: number;
  readonly latencySamples: number;
  readonly hubCpu: number;
  readonly loadgenCpu: number;
  readonly hubRssMb: number;
}

function cpuSince(start: NodeJS.CpuUsage, t0: number): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / Math.max(1, performance.now() - t0);
}

/** In the load generator: streams and publishers in one process, so stamps and receipt share a clock. */
export async function fanoutClient(job: FanoutJob): Promise<FanoutRun> {
  const { target, streams: n, connections } = job;
  const set = await StreamGroup.open(job.streamTargets ?? [target], n, { path: streamPath("native"), sampled: job.sampled });
  const request = publishRequest("native", target);
  let expected = 0;

  // Warm-up, so the JIT of both sides is not part of the measurement.
  const warm = await publish(target, { connections, durationMs: Math.min(1000, job.phaseMs / 4) }, request);
  expected += warm.acked;
  await set.waitFor(expected);

  const hubCpu = cpuMeter(job.hubPid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const capacity = await publish(target, { connections, durationMs: job.phaseMs }, request);
  const acksDone = performance.now();
  expected += capacity.acked;
  const capacityDone = await set.waitFor(expected);
  const drainMs = performance.now() - acksDone;
  const deliveredPerSec = (capacity.acked * n * 1000) / (performance.now() - t0);
  const hubCpuShare = hubCpu();
  const loadgenCpu = cpuSince(cpu0, t0);
  const ackedPerSec = (capacity.acked * 1000) / capacity.durationMs;

  const rate = Math.max(1, Math.floor((0.8 * deliveredPerSec) / n));
  set.recordFrom = performance.now();
  // More sockets than the capacity phase, so free sockets never cap the offered rate (the loop is open).
  const paced = await publish(target, { connections: connections * 4, durationMs: job.phaseMs, ratePerSec: rate }, request);
  expected += paced.acked;
  const pacedDone = await set.waitFor(expected);
  const receive = percentiles(set.latenciesMs);
  const ack = percentiles(paced.latenciesMs);

  let missing = 0;
  let extra = 0;
  for (const s of set.streams) {
    missing += Math.max(0, expected - s.events);
    extra += Math.max(0, s.events - expected);
  }
  const closedStreams = set.closedCount();
  const hubRssMb = rssBytes(job.hubPid) / 2 ** 20;
  set.close();
  const errors = warm.errors + capacity.errors + paced.errors;
  return {
    streams: n,
    deliveredPerSec,
    ackedPerSec,
    drainMs,
    allDelivered: capacityDone && pacedDone && missing === 0 && extra === 0 && closedStreams === 0 && errors === 0,
    missing,
    closedStreams,
    latencyRatePerSec: rate,
    unsent: paced.unsent,
    receiveP50Ms: receive.p50,
    receiveP99Ms: receive.p99,
    ackP50Ms: ack.p50,
    ackP99Ms: ack.p99,
    latencySamples: receive.n,
    hubCpu: hubCpuShare,
    loadgenCpu,
    hubRssMb,
  };
}

export interface FanoutResult {
  readonly streams: number;
  readonly herald: FanoutRun;
  readonly baseline: FanoutRun;
  /** Herald's delivered events/s over the baseline's (medians). */
  readonly ratio: number;
  readonly runs: { readonly herald: FanoutRun[]; readonly baseline: FanoutRun[] };
}

export interface FanoutSettings {
  readonly streams: number;
  readonly repeats: number;
  readonly phaseMs: number;
  readonly connections: number;
  readonly sampled: number;
}

/** One run on a fresh hub. */
export function measureFanout(kind: HubKind, s: FanoutSettings): Promise<FanoutRun> {
  return runStreamsJob<FanoutRun>(
    kind,
    s.streams,
    (target, hubPid): FanoutJob => ({
      kind: "fanout",
      target,
      hubPid,
      streams: s.streams,
      connections: s.connections,
      phaseMs: s.phaseMs,
      sampled: s.sampled,
    }),
  );
}

/** In the runner: Herald and the in-memory baseline, alternating, `repeats` times each. */
export async function runFanout(s: FanoutSettings, log: (line: string) => void): Promise<FanoutResult> {
  const herald: FanoutRun[] = [];
  const baseline: FanoutRun[] = [];
  for (let i = 0; i < s.repeats; i++) {
    herald.push(await measureFanout("herald", s));
    log(`  fan-out ${s.streams} herald #${i + 1}: ${Math.round(herald[i]?.deliveredPerSec ?? 0)} delivered/s`);
    baseline.push(await measureFanout("baseline-memory", s));
    log(`  fan-out ${s.streams} baseline #${i + 1}: ${Math.round(baseline[i]?.deliveredPerSec ?? 0)} delivered/s`);
  }
  const h = medianOf(herald);
  const b = medianOf(baseline);
  return {
    streams: s.streams,
    herald: h,
    baseline: b,
    ratio: median(herald.map((r) => r.deliveredPerSec)) / median(baseline.map((r) => r.deliveredPerSec)),
    runs: { herald, baseline },
  };
}
