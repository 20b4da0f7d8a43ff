/**
 * Paired publish cost: two Herald checkouts on the one hub core at once, each sent the same paced load, and each
 * one's CPU per acknowledged request. Run one after the other, a figure drifts by a few percent from one run to the
 * next on this VM (the closed-loop publish figures of bench:compare move by as much as the gaps they compare); run
 * side by side, both meet the same drift, so their ratio holds to about 1%.
 *
 * With `streams`, each hub also holds that many streams, each on a topic of its own (`u.<k>.feed`), and the
 * publishes go to those topics in turn: the routing scenario's exact case (routing.ts), side by side.
 */
import { publishRequest } from "../lib/api";
import { postRequest, publish, type RequestFactory, type Target } from "../lib/http-client";
import { runLoadgen, type SyncMode, startHub } from "../lib/hubs";
import { publishBody } from "../lib/payload";
import { cpuMs } from "../lib/proc";
import { StreamSet } from "../lib/streams";
import { ownShare, streamPath, userPublishPath } from "./routing";

export interface PairedJob {
  readonly kind: "paired";
  readonly targets: readonly [Target, Target];
  readonly hubPids: readonly [number, number];
  /** Requests a second to each hub. */
  readonly ratePerSec: number;
  readonly warmupMs: number;
  readonly phaseMs: number;
  /** Streams held on each hub, each on its own topic; 0: none, every publish to the bench topic. */
  readonly streams: number;
}

export interface PairedRun {
  /** Each hub's CPU (every thread, user and system) over the measured phase, in µs per acknowledged request. */
  readonly cpuUsPerRequest: readonly [number, number];
  /** Every request of both phases sent on time and answered 2xx, and every stream got exactly its topic's events. */
  readonly allAcked: boolean;
  /** What went wrong otherwise, a line each. */
  readonly problems: readonly string[];
}

/** Enough sockets that a free one is there at each due time while a hub keeps up. */
const CONNECTIONS = 16;

/** In the load generator: the same open-loop load to both hubs at once, warm-up first. */
export async function pairedClient(job: PairedJob): Promise<PairedRun> {
  const n = job.streams;
  const sets = job.targets.map((target) => new StreamSet(target));
  for (const set of sets) await set.open(n, { path: streamPath.exact });
  const sent: [number, number] = [0, 0];
  const request = (i: 0 | 1): RequestFactory => {
    const target = job.targets[i];
    if (n === 0) return publishRequest("native", target);
    return (t) => postRequest(target, userPublishPath(sent[i]++ % n), publishBody(t));
  };
  const both = async (durationMs: number) => {
    const runs = await Promise.all(
      ([0, 1] as const).map((i) =>
        publish(job.targets[i], { connections: CONNECTIONS, durationMs, ratePerSec: job.ratePerSec }, request(i)),
      ),
    );
    const delivered = await Promise.all(sets.map((set, i) => set.waitForTotal(n === 0 ? 0 : sent[i as 0 | 1])));
    return runs.map((r, i) => ({ ...r, delivered: delivered[i] === true }));
  };
  const warm = await both(job.warmupMs);
  const cpu0 = job.hubPids.map(cpuMs);
  const measured = await both(job.phaseMs);
  const perRequest = (i: 0 | 1) => ((cpuMs(job.hubPids[i]) - (cpu0[i] ?? 0)) * 1000) / Math.max(1, measured[i]?.acked ?? 0);
  const problems: string[] = [];
  for (const i of [0, 1] as const) {
    const runs = [warm[i], measured[i]];
    const errors = runs.reduce((sum, r) => sum + (r?.errors ?? 0), 0);
    const unsent = runs.reduce((sum, r) => sum + (r?.unsent ?? 0), 0);
    if (errors > 0 || unsent > 0) problems.push(`hub ${i}: ${errors} requests failed, ${unsent} never sent`);
    if (runs.some((r) => !r?.delivered)) problems.push(`hub ${i}: its streams stopped short of ${sent[i]} events`);
    // Publishes go to the topics in turn, so each stream's share is known: none short, none twice.
    const wrong = n === 0 ? 0 : (sets[i]?.streams.filter((s, k) => s.events !== ownShare(sent[i], n, k)).length ?? 0);
    const closed = sets[i]?.closedCount() ?? 0;
    if (wrong > 0 || closed > 0) problems.push(`hub ${i}: ${wrong} streams with the wrong count, ${closed} closed`);
  }
  for (const set of sets) set.close();
  return { cpuUsPerRequest: [perRequest(0), perRequest(1)], allAcked: problems.length === 0, problems };
}

export interface PairedSettings {
  readonly sync: SyncMode;
  readonly ratePerSec: number;
  readonly warmupMs: number;
  readonly phaseMs: number;
  readonly streams: number;
  /** Settings of both hubs besides the bench's. */
  readonly env?: Record<string, string>;
}

/**
 * One paired run: a fresh hub from each checkout (`startFrom` points the next `startHub` at it), both pinned to the
 * hub core, the load generator on the other. Their CPU per request, in the order of `roots`.
 */
export async function measurePaired(
  roots: readonly [string, string],
  startFrom: (root: string) => void,
  s: PairedSettings,
): Promise<PairedRun> {
  startFrom(roots[0]);
  const first = await startHub("herald", s.sync, s.env);
  try {
    startFrom(roots[1]);
    const second = await startHub("herald", s.sync, s.env);
    try {
      return await runLoadgen<PairedRun>({
        kind: "paired",
        targets: [
          { host: first.host, port: first.port },
          { host: second.host, port: second.port },
        ],
        hubPids: [first.pid, second.pid],
        ratePerSec: s.ratePerSec,
        warmupMs: s.warmupMs,
        phaseMs: s.phaseMs,
        streams: s.streams,
      } satisfies PairedJob);
    } finally {
      await second.stop();
    }
  } finally {
    await first.stop();
  }
}
