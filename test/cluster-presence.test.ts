/**
 * Presence in cluster mode: three nodes on one redis-server list and count each other's streams, and announce
 * each other's Mercure subscriptions; the streams of a node that is SIGKILLed leave every other node, with a
 * closing event, within HERALD_PRESENCE_TTL_MS (shortened here to keep the test short; 30 s by default); Redis
 * failing for presence alone leaves streams, publishes and health as they were.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Cluster, startCluster } from "./support/cluster";
import type { Herald } from "./support/herald";
import { SECRET, sign } from "./support/mercure";
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

/** Publishes a text event with a token that may. */
async function post(node: Herald, topic: string, body: string): Promise<Response> {
  const authorization = `Bearer ${await sign({ herald: { publish: ["*"] } })}`;
  return fetch(`${node.url}/topics/${topic}/events`, { method: "POST", body, headers: { authorization } });
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
    cluster = await startCluster(3, {
      HERALD_PRESENCE_TTL_MS: String(TTL_MS),
      HERALD_JWT_SECRET: SECRET,
      HERALD_PUBLIC_TOPICS: "*",
      HERALD_MERCURE_SUBSCRIPTIONS: "true",
    });
    nodes = [...cluster.nodes] as [Herald, Herald, Herald];
  });
  afterAll(() => cluster.stop());

  test("a stream on one node is listed and counted on every node, and leaves every node when it closes", async () => {
    const [a, b, c] = nodes;
    expect((await post(a, "near.x", "x")).status).toBe(201);
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

  test("a template on one node and a URL pattern on another count on a third only for the topics they match, told in their drafts' forms", async () => {
    const [a, b, c] = nodes;
    for (const topic of ["shelf.1.reviews", "shelf.1.notes", "shelf.1"]) expect((await post(a, topic, "x")).status).toBe(201);
    const watchAll = {
      authorization: `Bearer ${await sign({ mercure: { subscribe: ["/.well-known/mercure/subscriptions*"] } })}`,
    };
    // Watchers that match no shelf topic: they would count there.
    const everyOne = encodeURIComponent("/.well-known/mercure/subscriptions/{topic}/{subscriber}");
    const seven = await SseReader.open(`${c.url}/.well-known/mercure?topic=${everyOne}`, watchAll);
    const eight = await SseReader.open(
      `${c.url}/.well-known/mercure?match_urlpattern=/.well-known/mercure/subscriptions/*`,
      watchAll,
    );
    await Promise.all([seven, eight].map((r) => r.until((x) => x.retry !== undefined)));
    const template = await SseReader.open(`${a.url}/.well-known/mercure?topic=${encodeURIComponent("shelf.{id}.reviews")}`);
    const pattern = await SseReader.open(`${b.url}/.well-known/mercure?match_urlpattern=shelf.:id.notes`);
    try {
      await eventually(async () => (await subscribers(c, "shelf.1.reviews")) === 1, 2000);
      await eventually(async () => (await subscribers(c, "shelf.1.notes")) === 1, 2000);
      expect(await subscribers(c, "shelf.1")).toBe(0);
      const told = (r: SseReader, match: string) =>
        r.events
          .filter((e) => e.event === "mercure")
          .map((e) => JSON.parse(e.data) as Record<string, unknown>)
          .filter((d) => d.topic === match || d.match === match);
      await seven.until((r) => told(r, "shelf.{id}.reviews").length === 1);
      await eight.until((r) => told(r, "shelf.:id.notes").length === 1);
      expect(told(eight, "shelf.:id.notes")[0]).toMatchObject({ type: "subscription", match_type: "urlpattern" });
      expect(told(seven, "shelf.{id}.reviews")[0]).toMatchObject({ type: "Subscription", topic: "shelf.{id}.reviews" });
    } finally {
      for (const r of [template, pattern, seven, eight]) r.close();
    }
  });

  test("the streams of a SIGKILLed node leave every other node within the bound, closing events told, and a node that comes up sees the rest", async () => {
    const [a, b] = nodes;
    const victim = await cluster.add();
    const watchAll = {
      authorization: `Bearer ${await sign({ mercure: { subscribe: ["/.well-known/mercure/subscriptions*"] } })}`,
    };
    const watcher = await SseReader.open(`${b.url}/.well-known/mercure?match=*`, watchAll);
    await watcher.until((r) => r.retry !== undefined);
    const streams = await Promise.all(Array.from({ length: 4 }, () => open(victim, ["doomed"])));
    const mercure = await SseReader.open(`${victim.url}/.well-known/mercure?match=doomed`);
    const survivor = await open(a, ["doomed"]);
    // Four native streams and a Mercure one on the victim, one stream on a, and the watcher on b (`*`).
    for (const node of [a, b]) await eventually(async () => (await listed(node, "doomed")).count === 7, 2000);
    // Its Mercure subscription is announced on another node, and listed by another node's web API.
    const doomed = (r: SseReader) => r.events.filter((e) => e.event === "mercure" && e.data.includes('"match":"doomed"'));
    await watcher.until((r) => doomed(r).length === 1);
    expect(JSON.parse(doomed(watcher)[0]?.data as string)).toMatchObject({ match: "doomed", active: true });
    const api = await fetch(`${a.url}/.well-known/mercure/subscriptions/exact/doomed`, { headers: watchAll });
    expect(((await api.json()) as { subscriptions: unknown[] }).subscriptions.length).toBe(1);
    await victim.kill();
    const killedAt = Date.now();
    await Promise.all([a, b].map((node) => eventually(async () => (await listed(node, "doomed")).count === 2, TTL_MS + 2000)));
    const took = Date.now() - killedAt;
    expect(took).toBeLessThan(TTL_MS + 1000);
    await watcher.until((r) => doomed(r).length === 2, 1000);
    expect(JSON.parse(doomed(watcher)[1]?.data as string)).toMatchObject({ match: "doomed", active: false });
    for (const r of [...streams, mercure, watcher]) r.close();
    await eventually(async () => (await listed(a, "doomed")).count === 1, 2000);
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
      const res = await post(a, "fault.x", "still");
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
