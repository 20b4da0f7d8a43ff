/** Replay: clients resuming from Last-Event-ID 0 over a seeded log (one, or several at once); their rate and the hub's RSS growth. */

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
  /** Clients replaying the whole log at once; 1 when omitted. */
  readonly clients?: number;
}

export interface ReplayRun {
  readonly events: number;
  /** Events delivered per second, every client's together. */
  readonly eventsPerSec: number;
  readonly seedEventsPerSec: number;
  /** Peak hub RSS during the replay over its RSS just before. */
  readonly rssGrowthMb: number;
  /** Exactly the seeded events arrived at each client, and every stream stayed open. */
  readonly allDelivered: boolean;
  readonly delivered: number;
  readonly hubCpu: number;
  readonly loadgenCpu: number;
}

/** In the load generator. */
export async function replayClient(job: ReplayJob): Promise<ReplayRun> {
  const { target, events, clients = 1 } = job;
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
  await set.open(clients, { path: `/stream?topic=${TOPIC}`, headers: { "Last-Event-ID": "0" } });
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
    allDelivered: done && open && delivered === seeded * clients && seeded >= events,
    delivered,
    hubCpu: hubShare,
    loadgenCpu: (used.user + used.system) / 1000 / elapsed,
  };
}

export interface ReplaySettings {
  readonly events: number;
  readonly repeats: number;
  readonly clients?: number;
  /** On top of the bench's hub settings (HERALD_WORKERS). */
  readonly env?: Record<string, string>;
}

/** One run on a fresh Herald, seeded by the client. */
export async function measureReplay(s: ReplaySettings): Promise<ReplayRun> {
  const hub = await startHub("herald", "full", s.env);
  try {
    const target = { host: hub.host, port: hub.port };
    const job: ReplayJob = { kind: "replay", target, hubPid: hub.pid, events: s.events, clients: s.clients };
    return await runLoadgen<ReplayRun>(job);
  } finally {
    await hub.stop();
  }
}

/** In the runner: a fresh Herald per run, so each replay reads a log it just wrote. */
export async function runReplay(
  s: ReplaySettings,
  log: (line: string) => void,
): Promise<{ median: ReplayRun; runs: ReplayRun[] }> {
  const runs: ReplayRun[] = [];
  for (let i = 0; i < s.repeats; i++) {
    const run = await measureReplay(s);
    runs.push(run);
    const who = `${s.clients ?? 1} client(s)${s.env?.HERALD_WORKERS ? `, ${s.env.HERALD_WORKERS} workers` : ""}`;
    log(
      `  replay ${s.events} to ${who} #${i + 1}: ${Math.round(run.eventsPerSec)} events/s, RSS +${run.rssGrowthMb.toFixed(1)} MB`,
    );
  }
  return { median: medianOf(runs), runs };
}
