/** Cluster mode under faults: Redis killed and restarted, a node killed, a replica gone. Real processes, SIGKILL. */
import { afterAll, describe, expect, test } from "bun:test";
import { type Cluster, pick, startCluster } from "./support/cluster";
import { mercurePost } from "./support/faults";
import { type Herald, history } from "./support/herald";
import { publishers } from "./support/load";
import { hasRedis, startRedis } from "./support/redis";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

const clusters: Cluster[] = [];
afterAll(async () => {
  for (const c of clusters) await c.stop();
});

async function cluster(size: number, env: Record<string, string> = {}): Promise<Cluster> {
  const c = await startCluster(size, env);
  clusters.push(c);
  return c;
}

async function allEvents(node: Herald): Promise<Map<string, unknown>> {
  return new Map((await history(node.url)).map((e) => [e.id, e.data]));
}

async function health(node: Herald): Promise<{ code: number; status: string }> {
  const res = await fetch(`${node.url}/health`);
  return { code: res.status, status: ((await res.json()) as { status: string }).status };
}

describe.skipIf(!hasRedis())("Redis killed mid-load", () => {
  test("publishes get 503 log_unavailable, /health degrades, streams stay open; after a restart from the AOF every acknowledged event is there with its id, ids go on, streams continue with no gap", async () => {
    const c = await cluster(2, { HERALD_HEARTBEAT_MS: "200" });
    const reader = await SseReader.open(streamUrl(pick(c.nodes).url, ["load.*"]));
    const load = publishers(() => c.nodes, 6);
    await eventually(() => load.acked.size > 300, 15_000);

    await c.redis.kill();
    const ackedAtKill = load.acked.size;
    await eventually(async () =>
      (await Promise.all(c.nodes.map(health))).every((h) => h.code === 503 && h.status === "degraded"),
    );
    await eventually(() => load.refusals.length > 20);
    const mercure = await mercurePost(pick(c.nodes), "load.mercure", "during");
    expect([mercure.status, mercure.body.error?.code, mercure.retryAfter]).toEqual([503, "log_unavailable", "5"]);
    const heartbeats = reader.comments.length;
    await eventually(() => reader.comments.length > heartbeats + 3);
    expect(reader.ended).toBe(false);

    await c.restartRedis();
    await eventually(async () => (await Promise.all(c.nodes.map(health))).every((h) => h.code === 200), 15_000);
    await eventually(() => load.acked.size > ackedAtKill + 300, 15_000);
    await load.stop();

    // Nothing acknowledged was lost, nothing half-written was refused: each refusal is a clean 503.
    const stored = await allEvents(pick(c.nodes));
    for (const [id, data] of load.acked) expect(stored.get(id)).toBe(data);
    for (const r of load.refusals) expect(r).toEqual({ status: 503, code: "log_unavailable", retryAfter: "5" });
    // Ids never repeat: the map has one entry per acknowledged id, and every one is stored once.
    expect(new Set(load.acked.values()).size).toBe(load.acked.size);

    // The stream that lived through the outage has every event since it opened, in order, once.
    const last = Math.max(...[...stored.keys()].map(Number));
    await reader.until((r) => Number(r.ids().at(-1)) >= last, 15_000);
    const ids = reader.ids();
    const first = ids[0] as number;
    expect(ids).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
    reader.close();
  }, 90_000);
});

describe.skipIf(!hasRedis())("a node killed", () => {
  test("its clients resume on another node and lose nothing, while publishers use every node", async () => {
    const c = await cluster(2);
    const [doomed, survivor] = c.nodes as [Herald, Herald];
    const alive = [doomed, survivor];
    const load = publishers(() => alive, 4);
    const first = await SseReader.open(streamUrl(doomed.url, ["load.*"]), { "Last-Event-ID": "0" });
    await first.count(200, 15_000);
    alive.splice(0, 1);
    await doomed.kill();
    await first.until((r) => r.ended);
    const seen = first.ids();
    const second = await SseReader.open(streamUrl(survivor.url, ["load.*"]), { "Last-Event-ID": String(seen.at(-1)) });
    await second.count(200, 15_000);
    await load.stop();
    const last = Math.max(...[...(await allEvents(survivor)).keys()].map(Number));
    await second.until((r) => Number(r.ids().at(-1)) >= last);
    const all = [...seen, ...second.ids()];
    expect(all).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    second.close();
  }, 60_000);
});

describe.skipIf(!hasRedis())("HERALD_REDIS_REPLICAS", () => {
  test("a 201 waits for the replica; with the replica gone, a publish is a 503 log_unavailable", async () => {
    const c = await cluster(1, { HERALD_REDIS_REPLICAS: "1" });
    const replica = await startRedis({ args: ["--replicaof", "127.0.0.1", String(c.redis.port)] });
    try {
      const node = c.nodes[0] as Herald;
      await eventually(
        async () => (await fetch(`${node.url}/topics/replicated/events`, { method: "POST", body: "x" })).status === 201,
      );
      await replica.kill();
      const res = await fetch(`${node.url}/topics/replicated/events`, { method: "POST", body: "y" });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: "log_unavailable",
      });
    } finally {
      await replica.kill();
      replica.remove();
    }
  }, 30_000);
});
