/**
 * Presence in cluster mode: three nodes on one redis-server list and count each other's streams; the streams of a
 * node that is SIGKILLed leave every other node within HERALD_PRESENCE_TTL_MS (shortened here to keep the test
 * short; 30 s by default); Redis failing for presence alone leaves streams, publishes and health as they were.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Cluster, startCluster } from "./support/cluster";
import type { Herald } from "./support/herald";
import { hasRedis, redisCommand } from "./support/redis";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

const TTL_MS = 3000;

interface Page {
  subscriptions: Array<{ id: string; selectors: string[] }>;
  count: number;
}

async function listed(node: Herald, selector: string): Promise<Page> {
  const res = await fetch(`${node.url}/subscriptions?topic=${encodeURIComponent(selector)}&limit=1000`);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

async function subscribers(node: Herald, topic: string): Promise<number | undefined> {
  const res = await fetch(`${node.url}/topics?topic=${topic}`);
  const { topics } = (await res.json()) as { topics: Array<{ topic: string; subscribers: number }> };
  return topics.find((t) => t.topic === topic)?.subscribers;
}

async function open(node: Herald, selectors: string[]): Promise<SseReader> {
  const r = await SseReader.open(streamUrl(node.url, selectors));
  expect(r.response.status).toBe(200);
  await r.until((x) => x.retry !== undefined);
  return r;
}

describe.skipIf(!hasRedis())("presence on three nodes", () => {
  let cluster: Cluster;
  let nodes: [Herald, Herald, Herald];
  beforeAll(async () => {
    cluster = await startCluster(3, { HERALD_PRESENCE_TTL_MS: String(TTL_MS) });
    nodes = [...cluster.nodes] as [Herald, Herald, Herald];
  });
  afterAll(() => cluster.stop());

  test("a stream on one node is listed and counted on every node, and leaves every node when it closes", async () => {
    const [a, b, c] = nodes;
    expect((await fetch(`${a.url}/topics/near.x/events`, { method: "POST", body: "x" })).status).toBe(201);
    const onA = await open(a, ["near.*"]);
    const onB = await open(b, ["near.x", "far"]);
    for (const node of nodes) {
      await eventually(async () => (await listed(node, "near.x")).count === 2, 2000);
      expect(await subscribers(node, "near.x")).toBe(2);
    }
    const ids = (await listed(a, "near.*")).subscriptions.map((s) => s.id);
    expect((await listed(c, "near.*")).subscriptions.map((s) => s.id)).toEqual(ids);
    onA.close();
    onB.close();
    for (const node of nodes) await eventually(async () => (await listed(node, "near.*")).count === 0, 2000);
    expect(await subscribers(c, "near.x")).toBe(0);
  });

  test("the streams of a SIGKILLed node leave every other node within the bound, and a node that comes up sees the rest", async () => {
    const [a, b] = nodes;
    const victim = await cluster.add();
    const streams = await Promise.all(Array.from({ length: 5 }, () => open(victim, ["doomed"])));
    const survivor = await open(a, ["doomed"]);
    for (const node of [a, b]) await eventually(async () => (await listed(node, "doomed")).count === 6, 2000);
    await victim.kill();
    const killedAt = Date.now();
    await Promise.all([a, b].map((node) => eventually(async () => (await listed(node, "doomed")).count === 1, TTL_MS + 2000)));
    const took = Date.now() - killedAt;
    expect(took).toBeLessThan(TTL_MS + 1000);
    for (const r of streams) r.close();
    // A node started now reads what the others hold, and nothing of the dead one.
    const late = await cluster.add();
    await eventually(async () => (await listed(late, "doomed")).count === 1, 2000);
    expect((await listed(late, "doomed")).subscriptions[0]?.id).toBe((await listed(a, "doomed")).subscriptions[0]?.id as string);
    survivor.close();
    await late.stop();
  }, 30_000);

  test("a node that stops cleanly is forgotten at once, not when its liveness runs out", async () => {
    const [a] = nodes;
    const leaving = await cluster.add();
    const r = await open(leaving, ["leaving"]);
    await eventually(async () => (await listed(a, "leaving")).count === 1, 2000);
    const stopping = leaving.stop();
    await eventually(async () => (await listed(a, "leaving")).count === 0, TTL_MS / 2);
    await stopping;
    r.close();
  });

  test("Redis failing for presence alone: streams, publishes and health go on; presence catches up once it is back", async () => {
    const [a, b] = nodes;
    const versions = "{cluster}:presence:versions";
    const saved = (await redisCommand(cluster.redis.url, "HGETALL", [versions])) as Record<string, string>;
    // Every presence script now fails (WRONGTYPE); the log's own keys are untouched.
    await redisCommand(cluster.redis.url, "DEL", [versions]);
    await redisCommand(cluster.redis.url, "SET", [versions, "not a hash"]);
    try {
      const reader = await open(b, ["fault.*"]);
      const res = await fetch(`${a.url}/topics/fault.x/events`, { method: "POST", body: "still" });
      expect(res.status).toBe(201);
      await reader.count(1);
      expect(reader.events[0]?.data).toBe("still");
      for (const node of nodes) expect((await fetch(`${node.url}/health`)).status).toBe(200);
      // Its own node lists it; the others cannot hear of it yet.
      expect((await listed(b, "fault.x")).count).toBe(1);
      await Bun.sleep(TTL_MS / 2);
      expect((await listed(a, "fault.x")).count).toBe(0);
      await redisCommand(cluster.redis.url, "DEL", [versions]);
      if (Object.keys(saved).length > 0)
        await redisCommand(cluster.redis.url, "HSET", [versions, ...Object.entries(saved).flat()]);
      await eventually(async () => (await listed(a, "fault.x")).count === 1, TTL_MS);
      reader.close();
      await eventually(async () => (await listed(a, "fault.x")).count === 0, 2000);
    } finally {
      await redisCommand(cluster.redis.url, "DEL", [versions]).catch(() => undefined);
    }
    expect(b.lines.filter((l) => l.includes("presence cannot use Redis")).length).toBe(1);
    expect(b.lines.some((l) => l.includes("presence reaches Redis again"))).toBe(true);
  }, 30_000);
});
