/**
 * Every core (issue 22): what worker threads cost and buy, 1 worker against 2.
 * - Sharing: the hub's CPU, every thread summed, per delivered event at one paced rate (the spec: at most 1.25×).
 * - Publish: durable single events (HERALD_SYNC=full) from 32 connections, beside bare Bun in memory and
 *   redis-benchmark's XADD on a Redis with appendfsync always, the same connections.
 * - Replay: four clients replaying the whole log at once.
 * - Projection: from the 2-worker runs' CPU per event by thread, the capacity at more cores.
 */

import { startRedis } from "../../test/support/redis";
import { postRequest, publish, type Target } from "../lib/http-client";
import { runStreamsJob } from "../lib/hubs";
import { eventData, publishBody, TOPIC } from "../lib/payload";
import { pinned, type ThreadsCpu, threadsCpuMeter } from "../lib/proc";
import { medianOf, medianRun, percentiles } from "../lib/stats";
import { StreamSet } from "../lib/streams";
import { type HubPublishRun, measurePublish, type PublishRun, type PublishSettings, type PublishShape } from "./publish";
import { type ReplayRun, runReplay } from "./replay";

const WORKER_COUNTS = [1, 2] as const;
const workersEnv = (n: number) => ({ HERALD_WORKERS: String(n) });
/** Single native events, each synced before its answer. */
const DURABLE: PublishShape = { hub: "herald", sync: "full", batch: 1, api: "native" };

export interface SharingJob {
  readonly kind: "sharing";
  readonly target: Target;
  readonly hubPid: number;
  readonly streams: number;
  readonly ratePerSec: number;
  readonly phaseMs: number;
  readonly sampled: number;
}

export interface SharingRun {
  readonly workers: number;
  readonly ratePerSec: number;
  /** Every stream got every event, and no publish fell behind its due time. */
  readonly delivered: boolean;
  readonly deliveries: number;
  /** CPU of the hub's every thread (user + system) over the phase, ms. */
  readonly hubCpuMs: number;
  readonly cpuUsPerDelivery: number;
  /** The hub's CPU by thread over the phase, µs per event published. */
  readonly threadsUsPerEvent: ThreadsCpu;
  readonly receiveP50Ms: number;
  readonly receiveP99Ms: number;
}

/** In the load generator: a warm-up, then one phase at the rate; the hub's CPU from its first publish to the last delivery. */
export async function sharingClient(job: SharingJob): Promise<Omit<SharingRun, "workers">> {
  const set = new StreamSet(job.target);
  await set.open(job.streams, { path: `/stream?topic=${TOPIC}`, sampled: job.sampled });
  const request = (t: number) => postRequest(job.target, `/topics/${TOPIC}/events`, publishBody(t));
  const warm = await publish(job.target, { connections: 16, durationMs: 1000, ratePerSec: job.ratePerSec }, request);
  let expected = warm.acked;
  await set.waitFor(expected);
  set.recordFrom = performance.now();
  const hubCpu = threadsCpuMeter(job.hubPid);
  const phase = await publish(job.target, { connections: 64, durationMs: job.phaseMs, ratePerSec: job.ratePerSec }, request);
  expected += phase.acked;
  const delivered = (await set.waitFor(expected)) && phase.errors === 0 && phase.unsent === 0;
  const threadsMs = hubCpu();
  const hubCpuMs = allThreads(threadsMs);
  const latency = percentiles(set.latenciesMs);
  set.close();
  const deliveries = phase.acked * job.streams;
  return {
    ratePerSec: job.ratePerSec,
    delivered,
    deliveries,
    hubCpuMs,
    cpuUsPerDelivery: (hubCpuMs * 1000) / Math.max(1, deliveries),
    threadsUsPerEvent: perEvent(threadsMs, phase.acked),
    receiveP50Ms: latency.p50,
    receiveP99Ms: latency.p99,
  };
}

const allThreads = (t: ThreadsCpu) => t.main + t.workers + t.helpers;

/** CPU ms by thread over a phase, as µs per event of it. */
function perEvent(ms: ThreadsCpu, events: number): ThreadsCpu {
  const us = (cpuMs: number) => (cpuMs * 1000) / Math.max(1, events);
  return { main: us(ms.main), workers: us(ms.workers), helpers: us(ms.helpers) };
}

/** Cores the projection is drawn for. */
const PROJECTED_CORES = [4, 8, 16] as const;

export interface Capacity {
  readonly cores: number;
  readonly eventsPerSec: number;
  /** What stops it: the writer, the main thread busy all the time, or every core busy. */
  readonly bound: "writer" | "cores";
}

/**
 * Amdahl's bound for a pipeline, the load generator elsewhere: the main thread's work is serial, so events/s
 * ≤ 1 / its CPU per event, whatever the cores; the workers', the pool's and the runtime's run on any core, on all
 * `cores` (HERALD_WORKERS defaults to them, so the scheduler gives workers what the writer leaves of its own), so
 * events/s ≤ cores / every thread's CPU per event.
 */
function capacity(usPerEvent: ThreadsCpu, cores: number): Capacity {
  const writer = 1e6 / usPerEvent.main;
  const allCores = (cores * 1e6) / allThreads(usPerEvent);
  return writer <= allCores
    ? { cores, eventsPerSec: writer, bound: "writer" }
    : { cores, eventsPerSec: allCores, bound: "cores" };
}

export interface RedisXaddRun {
  readonly requestsPerSec: number;
  readonly p50Ms: number;
}

/** redis-benchmark's XADD of a bench-sized event, `connections` at once, on a fresh Redis syncing every write. */
async function redisXadd(connections: number, requests: number): Promise<RedisXaddRun> {
  const redis = await startRedis({ fsync: "always" });
  try {
    const args = ["redis-benchmark", "-h", "127.0.0.1", "-p", String(redis.port), "-c", String(connections)];
    const command = ["-n", String(requests), "-q", "XADD", "herald-bench", "*", "data", eventData(0)];
    const proc = Bun.spawn(pinned([...args, ...command], 1), { stdout: "pipe", stderr: "pipe" });
    const [out] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    const m = /([\d.]+) requests per second(?:, p50=([\d.]+) msec)?/.exec(out.split("\r").at(-1) ?? "");
    if (!m) throw new Error(`redis-benchmark failed: ${out}`);
    return { requestsPerSec: Number(m[1]), p50Ms: Number(m[2] ?? Number.NaN) };
  } finally {
    await redis.stop();
    redis.remove();
  }
}

export interface WorkersSettings {
  readonly repeats: number;
  readonly phaseMs: number;
  readonly warmupMs: number;
  readonly connections: number;
  readonly streams: number;
  readonly sampled: number;
  /** The paced rate of the sharing phase: well within one worker's capacity, so the figure is work, not queueing. */
  readonly ratePerSec: number;
  readonly replayEvents: number;
  /** How many requests redis-benchmark sends. */
  readonly redisRequests: number;
}

export interface WorkersResult {
  readonly sharing: { readonly one: SharingRun; readonly two: SharingRun; readonly ratio: number };
  readonly publish: {
    readonly one: PublishRun;
    readonly two: PublishRun;
    readonly bareBun: PublishRun;
    readonly redisXadd: RedisXaddRun | undefined;
  };
  readonly replay: { readonly clients: number; readonly one: ReplayRun; readonly two: ReplayRun };
  /** 2 workers: CPU µs per event by thread in the durable publish (its median run) and in sharing, and what they project. */
  readonly threads: {
    readonly publish: ThreadsCpu;
    readonly sharing: ThreadsCpu;
    readonly projection: readonly { readonly publish: Capacity; readonly sharing: Capacity }[];
  };
  readonly runs: { readonly sharing: SharingRun[] };
}

const REPLAY_CLIENTS = 4;

/** In the runner: each part for 1 and 2 workers, alternating, `repeats` times each. */
export async function runWorkers(s: WorkersSettings, log: (line: string) => void): Promise<WorkersResult> {
  const sharing: SharingRun[] = [];
  for (let i = 0; i < s.repeats; i++) {
    for (const workers of WORKER_COUNTS) {
      const run = await runStreamsJob<Omit<SharingRun, "workers">>(
        "herald",
        s.streams,
        (target, hubPid): SharingJob => ({
          kind: "sharing",
          target,
          hubPid,
          streams: s.streams,
          ratePerSec: s.ratePerSec,
          phaseMs: s.phaseMs,
          sampled: s.sampled,
        }),
        workersEnv(workers),
      );
      sharing.push({ ...run, workers });
      log(
        `  workers sharing, ${workers} worker(s) #${i + 1}: ${run.cpuUsPerDelivery.toFixed(3)} µs CPU per delivery, p99 ${run.receiveP99Ms.toFixed(1)} ms${run.delivered ? "" : " (NOT ALL DELIVERED)"}`,
      );
    }
  }
  const sharingOf = (workers: number) =>
    medianRun(
      sharing.filter((r) => r.workers === workers),
      (r) => r.cpuUsPerDelivery,
    );
  const one = sharingOf(1);
  const two = sharingOf(2);

  const publishSettings: PublishSettings = { ...s, durationMs: s.phaseMs, publisher: "bun" };
  const publishRuns = { one: [] as PublishRun[], two: [] as HubPublishRun[], bareBun: [] as PublishRun[] };
  const redisRuns: RedisXaddRun[] = [];
  for (let i = 0; i < s.repeats; i++) {
    publishRuns.one.push(await measurePublish(DURABLE, publishSettings, workersEnv(1)));
    publishRuns.two.push(await measurePublish(DURABLE, publishSettings, workersEnv(2)));
    publishRuns.bareBun.push(await measurePublish({ ...DURABLE, hub: "baseline-memory" }, publishSettings));
    if (Bun.which("redis-benchmark") !== null) redisRuns.push(await redisXadd(s.connections, s.redisRequests));
    const last = (runs: PublishRun[]) => Math.round(runs.at(-1)?.eventsPerSec ?? 0);
    log(
      `  workers publish #${i + 1}: 1 worker ${last(publishRuns.one)}/s, 2 workers ${last(publishRuns.two)}/s, bare Bun ${last(publishRuns.bareBun)}/s, redis XADD ${Math.round(redisRuns.at(-1)?.requestsPerSec ?? 0)}/s`,
    );
  }

  const replay = async (workers: number) =>
    (await runReplay({ events: s.replayEvents, repeats: s.repeats, clients: REPLAY_CLIENTS, env: workersEnv(workers) }, log))
      .median;
  const durable = medianRun(publishRuns.two, (r) => r.eventsPerSec);
  const threads = {
    publish: perEvent(durable.hubThreadsMs, (durable.eventsPerSec * s.phaseMs) / 1000),
    sharing: two.threadsUsPerEvent,
  };
  return {
    sharing: { one, two, ratio: two.cpuUsPerDelivery / one.cpuUsPerDelivery },
    publish: {
      one: medianOf(publishRuns.one),
      two: medianOf(publishRuns.two),
      bareBun: medianOf(publishRuns.bareBun),
      redisXadd: redisRuns.length > 0 ? medianOf(redisRuns) : undefined,
    },
    replay: { clients: REPLAY_CLIENTS, one: await replay(1), two: await replay(2) },
    threads: {
      ...threads,
      projection: PROJECTED_CORES.map((cores) => ({
        publish: capacity(threads.publish, cores),
        sharing: capacity(threads.sharing, cores),
      })),
    },
    runs: { sharing },
  };
}
