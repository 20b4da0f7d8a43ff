/**
 * Cluster mode: the Redis log beside the SQLite figures of scenario 2 (publish acked/s, appendfsync always
 * and everysec), fan-out through two nodes against one, publish-to-receive across nodes, and Redis memory
 * per retained event.
 */
import { type Fsync, type RedisServer, redisCommand, startRedis } from "../../test/support/redis";
import { type Hub, runLoadgen, startHub } from "../lib/hubs";
import { batchBody } from "../lib/payload";
import { cpuMeter } from "../lib/proc";
import { medianOf } from "../lib/stats";
import type { FanoutJob, FanoutRun } from "./fanout";
import type { PublishJob, PublishRun } from "./publish";

export type ClusterPublishCase = "redis-always" | "redis-always-batch100" | "redis-everysec" | "redis-everysec-batch100";

const PUBLISH_CASES: Record<ClusterPublishCase, { fsync: Fsync; batch: number }> = {
  "redis-always": { fsync: "always", batch: 1 },
  "redis-always-batch100": { fsync: "always", batch: 100 },
  "redis-everysec": { fsync: "everysec", batch: 1 },
  "redis-everysec-batch100": { fsync: "everysec", batch: 100 },
};

export interface ClusterSettings {
  readonly repeats: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly connections: number;
  readonly streams: number;
  readonly sampled: number;
  /** Events published to measure memory per retained event. */
  readonly memoryEvents: number;
}

export interface ClusterResult {
  readonly publish: Record<ClusterPublishCase, PublishRun>;
  /** The same streams on one node, then split over two (publishing on the first), appendfsync always. */
  readonly fanout: { readonly oneNode: FanoutRun; readonly twoNodes: FanoutRun };
  readonly memory: { readonly events: number; readonly bytesPerEvent: number; readonly dataBytesPerEvent: number };
  readonly runs: { readonly publish: Record<ClusterPublishCase, PublishRun[]>; readonly fanout: Record<string, FanoutRun[]> };
}

/** Runs `work` against `nodes` Herald processes on a fresh redis-server, then stops them all. */
async function withCluster<T>(fsync: Fsync, nodes: number, work: (hubs: Hub[], redis: RedisServer) => Promise<T>): Promise<T> {
  const redis = await startRedis({ fsync });
  const hubs: Hub[] = [];
  try {
    for (let i = 0; i < nodes; i++) hubs.push(await startHub("herald", "full", { HERALD_REDIS_URL: redis.url }));
    return await work(hubs, redis);
  } finally {
    for (const hub of hubs) await hub.stop();
    await redis.stop();
    redis.remove();
  }
}

function publishOnce(c: ClusterPublishCase, s: ClusterSettings): Promise<PublishRun> {
  const { fsync, batch } = PUBLISH_CASES[c];
  return withCluster(fsync, 1, async ([hub]) => {
    const target = { host: (hub as Hub).host, port: (hub as Hub).port };
    const measure = (durationMs: number) =>
      runLoadgen<PublishRun>({
        kind: "publish",
        target,
        batch,
        api: "native",
        connections: s.connections,
        durationMs,
      } satisfies PublishJob);
    if (s.warmupMs > 0) await measure(s.warmupMs);
    const hubCpu = cpuMeter((hub as Hub).pid);
    return { ...(await measure(s.durationMs)), hubCpu: hubCpu() };
  });
}

function fanoutOnce(nodes: number, s: ClusterSettings): Promise<FanoutRun> {
  return withCluster("always", nodes, ([first, ...rest]) => {
    const at = (h: Hub) => ({ host: h.host, port: h.port });
    const publisher = first as Hub;
    return runLoadgen<FanoutRun>({
      kind: "fanout",
      target: at(publisher),
      hubPid: publisher.pid,
      streams: s.streams,
      connections: s.connections,
      phaseMs: s.durationMs,
      sampled: s.sampled,
      streamTargets: [publisher, ...rest].map(at),
    } satisfies FanoutJob);
  });
}

/** Redis's memory growth per event retained, events of the bench's ~100 bytes published in batches of 100. */
function memoryPerEvent(events: number): Promise<ClusterResult["memory"]> {
  return withCluster("everysec", 1, async ([hub], redis) => {
    const used = async () => Number(/used_memory:(\d+)/.exec(String(await redisCommand(redis.url, "INFO", ["memory"])))?.[1]);
    const body = batchBody(100);
    const post = () =>
      fetch(`${(hub as Hub).url}/events`, { method: "POST", headers: { "content-type": "application/json" }, body });
    // A first batch creates the keys; the feed fills to its length before the growth is measured.
    for (let i = 0; i < 60; i++) await post();
    const before = await used();
    for (let i = 0; i < events / 100; i++) await post();
    const after = await used();
    const data = (JSON.parse(body) as { events: Array<{ data: unknown }> }).events[0]?.data;
    return { events, bytesPerEvent: (after - before) / events, dataBytesPerEvent: JSON.stringify(data).length };
  });
}

export async function runCluster(s: ClusterSettings, log: (line: string) => void): Promise<ClusterResult> {
  const names = Object.keys(PUBLISH_CASES) as ClusterPublishCase[];
  const publish = Object.fromEntries(names.map((n) => [n, [] as PublishRun[]])) as Record<ClusterPublishCase, PublishRun[]>;
  const fanout: Record<"oneNode" | "twoNodes", FanoutRun[]> = { oneNode: [], twoNodes: [] };
  for (let i = 0; i < s.repeats; i++) {
    for (const name of names) {
      publish[name].push(await publishOnce(name, s));
      log(`  cluster publish ${name} #${i + 1}: ${Math.round(publish[name].at(-1)?.eventsPerSec ?? 0)} events/s`);
    }
    for (const [key, nodes] of [
      ["oneNode", 1],
      ["twoNodes", 2],
    ] as const) {
      fanout[key].push(await fanoutOnce(nodes, s));
      log(
        `  cluster fan-out ${s.streams} streams on ${nodes} node(s) #${i + 1}: ${Math.round(fanout[key].at(-1)?.deliveredPerSec ?? 0)} delivered/s`,
      );
    }
  }
  const memory = await memoryPerEvent(s.memoryEvents);
  log(`  cluster memory: ${Math.round(memory.bytesPerEvent)} bytes per retained event`);
  return {
    publish: Object.fromEntries(names.map((n) => [n, medianOf(publish[n])])) as Record<ClusterPublishCase, PublishRun>,
    fanout: { oneNode: medianOf(fanout.oneNode), twoNodes: medianOf(fanout.twoNodes) },
    memory,
    runs: { publish, fanout },
  };
}
