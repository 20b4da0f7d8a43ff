/** Idle streams: the hub's RSS per open stream, and that every stream is still open after a long hold. */

import type { Target } from "../lib/http-client";
import { type HubKind, runStreamsJob } from "../lib/hubs";
import { TOPIC } from "../lib/payload";
import { rssBytes } from "../lib/proc";
import { median, medianOf } from "../lib/stats";
import { StreamSet } from "../lib/streams";

export interface IdleJob {
  readonly kind: "idle";
  readonly target: Target;
  readonly hubPid: number;
  readonly streams: number;
  readonly holdMs: number;
}

export interface IdleRun {
  readonly streams: number;
  readonly rssBeforeMb: number;
  /** RSS growth over the streams' count, a second after they opened and after the hold. */
  readonly perStreamAtOpenKiB: number;
  readonly perStreamAfterHoldKiB: number;
  readonly openAfterHold: number;
  /** The hub's own count of its streams (from /health) after the hold. */
  readonly hubSubscribers: number;
  readonly allOpen: boolean;
}

/** In the load generator. */
export async function idleClient(job: IdleJob): Promise<IdleRun> {
  const path = `/stream?topic=${TOPIC}`;
  // A few streams first, so allocations made once per process are not charged to the measured ones.
  const warm = new StreamSet(job.target);
  await warm.open(20, { path });
  warm.close();
  await Bun.sleep(1500);
  const rss0 = rssBytes(job.hubPid);
  const set = new StreamSet(job.target);
  await set.open(job.streams, { path });
  await Bun.sleep(1000);
  const rss1 = rssBytes(job.hubPid);
  await Bun.sleep(job.holdMs);
  const rss2 = rssBytes(job.hubPid);
  const openAfterHold = job.streams - set.closedCount();
  const health = (await (await fetch(`http://${job.target.host}:${job.target.port}/health`)).json()) as { subscribers?: number };
  set.close();
  const kib = (bytes: number) => bytes / 1024 / job.streams;
  return {
    streams: job.streams,
    rssBeforeMb: rss0 / 2 ** 20,
    perStreamAtOpenKiB: kib(rss1 - rss0),
    perStreamAfterHoldKiB: kib(rss2 - rss0),
    openAfterHold,
    hubSubscribers: health.subscribers ?? -1,
    allOpen: openAfterHold === job.streams && health.subscribers === job.streams,
  };
}

export interface IdleResult {
  readonly streams: number;
  readonly holdMs: number;
  readonly herald: IdleRun;
  readonly baseline: IdleRun;
  /** The larger of Herald's two per-stream figures (medians): what the target is judged on. */
  readonly heraldPerStreamKiB: number;
  readonly runs: { readonly herald: IdleRun[]; readonly baseline: IdleRun[] };
}

export interface IdleSettings {
  readonly streams: number;
  readonly holdMs: number;
  readonly repeats: number;
}

/** One run on a fresh hub. */
export function measureIdle(kind: HubKind, s: IdleSettings): Promise<IdleRun> {
  return runStreamsJob<IdleRun>(kind, s.streams, (target, hubPid): IdleJob => ({ kind: "idle", target, hubPid, ...s }));
}

export async function runIdle(s: IdleSettings, log: (line: string) => void): Promise<IdleResult> {
  const herald: IdleRun[] = [];
  const baseline: IdleRun[] = [];
  for (let i = 0; i < s.repeats; i++) {
    for (const [kind, runs] of [["herald", herald] as const, ["baseline-memory", baseline] as const]) {
      const run = await measureIdle(kind, s);
      runs.push(run);
      log(`  idle ${s.streams} ${kind} #${i + 1}: ${run.perStreamAfterHoldKiB.toFixed(2)} KiB/stream, ${run.openAfterHold} open`);
    }
  }
  const h = medianOf(herald);
  return {
    streams: s.streams,
    holdMs: s.holdMs,
    herald: h,
    baseline: medianOf(baseline),
    heraldPerStreamKiB: Math.max(
      median(herald.map((r) => r.perStreamAtOpenKiB)),
      median(herald.map((r) => r.perStreamAfterHoldKiB)),
    ),
    runs: { herald, baseline },
  };
}
