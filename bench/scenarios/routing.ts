/**
 * Routing cost (issue 22): the hub's CPU per event at a paced rate when every stream has a selector of its own and
 * each event reaches one stream, the selectors being prefixes (`u.<k>.*`, the per-user pattern) or exact topics
 * (`u.<k>.feed`), or URI templates on the Mercure endpoint (`u.<k>.{kind}`, a template per user). Equal figures
 * mean finding a prefix's or a template's streams costs no more than finding a topic's, however many are open.
 */

import { postRequest, publish, type Target } from "../lib/http-client";
import { runStreamsJob } from "../lib/hubs";
import { publishBody } from "../lib/payload";
import { cpuMs } from "../lib/proc";
import { medianOf } from "../lib/stats";
import { StreamSet } from "../lib/streams";

export type RoutingSelectors = "prefix" | "exact" | "template";

export interface RoutingJob {
  readonly kind: "routing";
  readonly target: Target;
  readonly hubPid: number;
  readonly selectors: RoutingSelectors;
  readonly streams: number;
  readonly ratePerSec: number;
  readonly phaseMs: number;
}

export interface RoutingRun {
  readonly streams: number;
  /** Events published in the measured phase. */
  readonly events: number;
  /** Every publish answered on time, and every stream got exactly its user's events. */
  readonly delivered: boolean;
  /** The hub's CPU (user + system) from the first publish of the phase to the last delivery, over its events. */
  readonly hubCpuMsPerEvent: number;
}

/** Where user `user`'s events are published: each user's own topic. */
export const userPublishPath = (user: number) => `/topics/u.${user}.feed/events`;

/** Of `sent` events published to `n` users in turn from user 0, how many reach user `user`. */
export const ownShare = (sent: number, n: number, user: number) => Math.floor(sent / n) + (user < sent % n ? 1 : 0);

export const streamPath: Record<RoutingSelectors, (user: number) => string> = {
  prefix: (user) => `/stream?topic=u.${user}.*`,
  exact: (user) => `/stream?topic=u.${user}.feed`,
  template: (user) => `/.well-known/mercure?topic=${encodeURIComponent(`u.${user}.{kind}`)}`,
};

/** In the load generator: one stream per user, events to the users in turn. */
export async function routingClient(job: RoutingJob): Promise<RoutingRun> {
  const { target, streams: n } = job;
  const set = new StreamSet(target);
  await set.open(n, { path: streamPath[job.selectors] });
  let sent = 0;
  const request = (t: number) => postRequest(target, userPublishPath(sent++ % n), publishBody(t));
  const phase = async (durationMs: number) => {
    // Enough sockets that a free one is always there at the due time while the hub keeps up.
    const step = await publish(target, { connections: 64, durationMs, ratePerSec: job.ratePerSec }, request);
    return (await set.waitForTotal(sent)) && step.errors === 0 && step.unsent === 0;
  };
  // Warm-up, so the JIT of both sides is not part of the measurement.
  const warm = await phase(Math.min(1000, job.phaseMs / 4));
  const cpu0 = cpuMs(job.hubPid);
  const before = sent;
  const measured = await phase(job.phaseMs);
  const hubCpuMs = cpuMs(job.hubPid) - cpu0;
  const exact = set.streams.every((s, user) => s.events === ownShare(sent, n, user));
  const open = set.closedCount() === 0;
  set.close();
  const events = sent - before;
  return { streams: n, events, delivered: warm && measured && exact && open, hubCpuMsPerEvent: hubCpuMs / events };
}

export interface RoutingSettings {
  readonly streams: number;
  readonly ratePerSec: number;
  readonly phaseMs: number;
  readonly repeats: number;
}

export interface RoutingResult {
  readonly streams: number;
  readonly ratePerSec: number;
  readonly prefix: RoutingRun;
  readonly exact: RoutingRun;
  readonly template: RoutingRun;
  /** Hub CPU per event with prefixes over with exact topics (medians). */
  readonly ratio: number;
  /** The same with URI templates over exact topics. */
  readonly templateRatio: number;
  readonly runs: Readonly<Record<RoutingSelectors, RoutingRun[]>>;
}

/**
 * Heartbeats out of the figure: at the default 15 s, thousands of streams that each get an event every few seconds
 * would add a comment write per stream as costly as the events themselves, alike in both cases.
 */
export const NO_HEARTBEAT = { HERALD_HEARTBEAT_MS: String(3_600_000) };

/** One run on a fresh Herald. */
export function measureRouting(selectors: RoutingSelectors, s: RoutingSettings): Promise<RoutingRun> {
  return runStreamsJob<RoutingRun>(
    "herald",
    s.streams,
    (target, hubPid): RoutingJob => ({
      kind: "routing",
      target,
      hubPid,
      selectors,
      streams: s.streams,
      ratePerSec: s.ratePerSec,
      phaseMs: s.phaseMs,
    }),
    NO_HEARTBEAT,
  );
}

/** In the runner: prefixes, exact topics and templates, in turn, `repeats` times each, each on a fresh Herald. */
export async function runRouting(s: RoutingSettings, log: (line: string) => void): Promise<RoutingResult> {
  const runs: Record<RoutingSelectors, RoutingRun[]> = { prefix: [], exact: [], template: [] };
  for (let i = 0; i < s.repeats; i++) {
    for (const selectors of ["prefix", "exact", "template"] as const) {
      const run = await measureRouting(selectors, s);
      runs[selectors].push(run);
      log(
        `  routing ${s.streams} streams on ${selectors} selectors #${i + 1}: ${run.hubCpuMsPerEvent.toFixed(3)} ms hub CPU per event${run.delivered ? "" : " (NOT ALL DELIVERED)"}`,
      );
    }
  }
  const [prefix, exact, template] = [medianOf(runs.prefix), medianOf(runs.exact), medianOf(runs.template)];
  return {
    streams: s.streams,
    ratePerSec: s.ratePerSec,
    prefix,
    exact,
    template,
    ratio: prefix.hubCpuMsPerEvent / exact.hubCpuMsPerEvent,
    templateRatio: template.hubCpuMsPerEvent / exact.hubCpuMsPerEvent,
    runs,
  };
}
