/**
 * Paired publish cost: two Herald checkouts on the one hub core at once, each sent the same paced load, and each
 * one's CPU per acknowledged request. Run one after the other, a figure drifts by a few percent from one run to the
 * next on this VM (the closed-loop publish figures of bench:compare move by as much as the gaps they compare); run
 * side by side, both meet the same drift, so their ratio holds to about 1%.
 */
import { publishRequest } from "../lib/api";
import { publish, type Target } from "../lib/http-client";
import { runLoadgen, type SyncMode, startHub } from "../lib/hubs";
import { cpuMs } from "../lib/proc";

export interface PairedJob {
  readonly kind: "paired";
  readonly targets: readonly [Target, Target];
  readonly hubPids: readonly [number, number];
  /** Requests a second to each hub. */
  readonly ratePerSec: number;
  readonly warmupMs: number;
  readonly phaseMs: number;
}

export interface PairedRun {
  /** Each hub's CPU (every thread, user and system) over the measured phase, in µs per acknowledged request. */
  readonly cpuUsPerRequest: readonly [number, number];
  /** Every request of both phases sent on time and answered 2xx. */
  readonly allAcked: boolean;
}

/** Enough sockets that a free one is there at each due time while a hub keeps up. */
const CONNECTIONS = 16;

/** In the load generator: the same open-loop load to both hubs at once, warm-up first. */
export async function pairedClient(job: PairedJob): Promise<PairedRun> {
  const both = (durationMs: number) =>
    Promise.all(
      job.targets.map((target) =>
        publish(target, { connections: CONNECTIONS, durationMs, ratePerSec: job.ratePerSec }, publishRequest("native", target)),
      ),
    );
  const warm = await both(job.warmupMs);
  const cpu0 = job.hubPids.map(cpuMs);
  const measured = await both(job.phaseMs);
  const perRequest = (i: 0 | 1) => ((cpuMs(job.hubPids[i]) - (cpu0[i] ?? 0)) * 1000) / Math.max(1, measured[i]?.acked ?? 0);
  const allAcked = [...warm, ...measured].every((r) => r.errors === 0 && r.unsent === 0);
  return { cpuUsPerRequest: [perRequest(0), perRequest(1)], allAcked };
}

export interface PairedSettings {
  readonly sync: SyncMode;
  readonly ratePerSec: number;
  readonly warmupMs: number;
  readonly phaseMs: number;
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
  const first = await startHub("herald", s.sync);
  try {
    startFrom(roots[1]);
    const second = await startHub("herald", s.sync);
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
      } satisfies PairedJob);
    } finally {
      await second.stop();
    }
  } finally {
    await first.stop();
  }
}
