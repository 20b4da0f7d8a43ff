/** Replay: one client resuming from Last-Event-ID 0 over a seeded log; its rate and the hub's RSS growth. */

import { postRequest, publish, type Target } from "../lib/http-client";
import { runLoadgen, startHub } from "../lib/hubs";
import { batchBody, TOPIC } from "../lib/payload";
import { cpuMeter, rssBytes, rssPeak } from "../lib/proc";
import { medianOf } from "../lib/stats";
import { StreamSet } from "../lib/streams";

/** The largest batch POST /events takes: the fastest way to seed. */
const SEED_BATCH = 1000;

export interface ReplayJob {
  readonly kind: "replay";
  readonly target: Target;
  readonly hubPid: number;
  readonly events: number;
}

export interface ReplayRun {
  readonly events: number;
  readonly eventsPerSec: number;
  readonly seedEventsPerSec: number;
  /** Peak hub RSS during the replay over its RSS just before. */
  readonly rssGrowthMb: number;
  /** Exactly the seeded events arrived, and the stream stayed open. */
  readonly allDelivered: boolean;
  readonly delivered: number;
  readonly hubCpu: number;
  readonly loadgenCpu: number;
}

/** In the load generator. */
export async function replayClient(job: ReplayJob): Promise<ReplayRun> {
  const { target, events } = job;
  const seedRequest = postRequest(target, "/events", batchBody(SEED_BATCH));
  const seedStart = performance.now();
  const seed = await publish(
    target,
    { connections: 4, durationMs: 600_000, maxRequests: Math.ceil(events / SEED_BATCH) },
    () => seedRequest,
  );
  const seeded = seed.acked * SEED_BATCH;
  const seedEventsPerSec = (seeded * 1000) / (performance.now() - seedStart);
  await Bun.sleep(1000);

  const rss0 = rssBytes(job.hubPid);
  const peak = rssPeak(job.hubPid, 20);
  const hubCpu = cpuMeter(job.hubPid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const set = new StreamSet(target);
  await set.open(1, { path: `/stream?topic=${TOPIC}`, headers: { "Last-Event-ID": "0" } });
  const done = await set.waitFor(seeded, 5000);
  const elapsed = performance.now() - t0;
  const used = process.cpuUsage(cpu0);
  const hubShare = hubCpu();
  const growth = peak() - rss0;
  await Bun.sleep(200);
  const delivered = set.total();
  const open = set.closedCount() === 0;
  set.close();
  return {
    events: seeded,
    eventsPerSec: (delivered * 1000) / elapsed,
    seedEventsPerSec,
    rssGrowthMb: growth / 2 ** 20,
    allDelivered: done && open && delivered === seeded && seeded >= events,
    delivered,
    hubCpu: hubShare,
    loadgenCpu: (used.user + used.system) / 1000 / elapsed,
  };
}

export interface ReplaySettings {
  readonly events: number;
  readonly repeats: number;
}

/** In the runner: a fresh Herald per run, so each replay reads a log it just wrote. */
export async function runReplay(
  s: ReplaySettings,
  log: (line: string) => void,
): Promise<{ median: ReplayRun; runs: ReplayRun[] }> {
  const runs: ReplayRun[] = [];
  for (let i = 0; i < s.repeats; i++) {
    const hub = await startHub("herald", "full");
    try {
      const job: ReplayJob = { kind: "replay", target: { host: hub.host, port: hub.port }, hubPid: hub.pid, events: s.events };
      const run = await runLoadgen<ReplayRun>(job);
      runs.push(run);
      log(`  replay ${s.events} #${i + 1}: ${Math.round(run.eventsPerSec)} events/s, RSS +${run.rssGrowthMb.toFixed(1)} MB`);
    } finally {
      await hub.stop();
    }
  }
  return { median: medianOf(runs), runs };
}
