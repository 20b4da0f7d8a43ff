/** Cluster mode: three Herald nodes on one Redis behave as one hub. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Cluster, pick, startCluster } from "./support/cluster";
import { metric } from "./support/faults";
import { type Herald, history } from "./support/herald";
import { hasRedis, redisCommand } from "./support/redis";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

async function post(node: Herald, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${node.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

async function publishTo(node: Herald, topic: string, data: unknown): Promise<number> {
  const res = await post(node, `/topics/${topic}/events`, { data });
  expect(res.status).toBe(201);
  return Number(((await res.json()) as { id: string }).id);
}

async function newestId(node: Herald): Promise<number> {
  return Number(((await (await fetch(`${node.url}/health`)).json()) as { lastEventId: string }).lastEventId);
}

describe.skipIf(!hasRedis())("three nodes on one Redis", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(3);
  });
  afterAll(() => cluster.stop());

  test("20 subscribers over the nodes, joining at random with random Last-Event-IDs while publishers post to random nodes: each gets exactly the ids after its start, all in one order", async () => {
    const nodes = cluster.nodes;
    for (let b = 0; b < 10; b++) {
      const seed = Array.from({ length: 500 }, (_, i) => ({ topic: `mesh.${i % 3}`, data: `seed ${b}.${i}` }));
      expect((await post(pick(nodes), "/events", { events: seed })).status).toBe(201);
    }
    const PUBLISHERS = 4;
    const ROUNDS = 60;
    const publishers = Array.from({ length: PUBLISHERS }, async (_, p) => {
      for (let r = 0; r < ROUNDS; r++) {
        if (r % 3 === 0) {
          const events = Array.from({ length: 10 }, (_, k) => ({ topic: `mesh.${k % 3}`, data: `${p}.${r}.${k}` }));
          expect((await post(pick(nodes), "/events", { events })).status).toBe(201);
        } else {
          await Promise.all(Array.from({ length: 10 }, (_, k) => publishTo(pick(nodes), `mesh.${k % 3}`, `${p}.${r}.${k}`)));
        }
      }
    });
    const publishing = Promise.all(publishers);

    const readers: Array<{ reader: SseReader; from: number }> = [];
    for (let s = 0; s < 20; s++) {
      await Bun.sleep(Math.random() * 80);
      // The head as one node sees it, the stream on another: a node may trail the log by a moment.
      const from = Math.floor(Math.random() * (await newestId(pick(nodes))));
      readers.push({
        reader: await SseReader.open(streamUrl(pick(nodes).url, ["mesh.*"]), { "Last-Event-ID": String(from) }),
        from,
      });
    }
    await publishing;
    const last = Math.max(...(await Promise.all(nodes.map(newestId))));
    expect(last).toBe(5000 + PUBLISHERS * ROUNDS * 10);

    const order = new Map<string, string>();
    for (const { reader, from } of readers) {
      await reader.until((r) => Number(r.events[r.events.length - 1]?.id ?? 0) >= last, 20_000);
      expect(reader.ids()).toEqual(Array.from({ length: last - from }, (_, i) => from + 1 + i));
      for (const e of reader.events) {
        const id = e.id as string;
        if (!order.has(id)) order.set(id, e.data);
        expect(e.data).toBe(order.get(id) as string);
      }
      reader.close();
    }
  }, 90_000);

  test("a client hopping from node to node with Last-Event-ID while every node publishes misses nothing and sees nothing twice", async () => {
    const nodes = cluster.nodes;
    let running = true;
    const publishing = Promise.all(
      nodes.map(async (node, n) => {
        for (let i = 0; running; i++) await publishTo(node, "hop", `${n}.${i}`);
      }),
    );
    const start = await newestId(nodes[0] as Herald);
    const seen: number[] = [];
    for (let hop = 0; hop < 9; hop++) {
      const node = nodes[hop % nodes.length] as Herald;
      const reader = await SseReader.open(streamUrl(node.url, ["hop"]), { "Last-Event-ID": String(seen.at(-1) ?? start) });
      await reader.count(15);
      expect(reader.events.every((e) => e.event === undefined)).toBe(true);
      seen.push(...reader.ids());
      reader.close();
    }
    running = false;
    await publishing;
    const hopIds = (await history((nodes[1] as Herald).url, "hop")).map((e) => Number(e.id)).filter((id) => id > start);
    expect(seen).toEqual(hopIds.slice(0, seen.length));
  }, 60_000);

  test("a Mercure subscriber hopping from node to node with the Mercure id it last got misses nothing and sees nothing twice", async () => {
    const nodes = cluster.nodes;
    let running = true;
    // Every other update has a publisher's id: a resume finds it in the shared log, whichever node took it.
    const publishing = Promise.all(
      nodes.map(async (node, n) => {
        for (let i = 0; running; i++) {
          const fields: Array<[string, string]> = [
            ["topic", "mhop"],
            ["data", `${n}.${i}`],
          ];
          if (i % 2 === 0) fields.push(["id", `m-${n}.${i}`]);
          const res = await fetch(`${node.url}/.well-known/mercure`, {
            method: "POST",
            body: new URLSearchParams(fields).toString(),
            headers: { "content-type": "application/x-www-form-urlencoded" },
          });
          expect(res.status).toBe(200);
        }
      }),
    );
    const start = await newestId(nodes[0] as Herald);
    const seen: Array<{ id?: string; data: string }> = [];
    for (let hop = 0; hop < 9; hop++) {
      const node = nodes[hop % nodes.length] as Herald;
      const last = seen.at(-1)?.id ?? `urn:herald:${start}`;
      const reader = await SseReader.open(`${node.url}/.well-known/mercure?topic=mhop`, { "Last-Event-ID": last });
      expect(reader.response.headers.get("mercure-last-event-id")).toBe(last);
      await reader.count(15);
      seen.push(...reader.events);
      reader.close();
    }
    running = false;
    await publishing;
    const logged = (await history((nodes[1] as Herald).url, "mhop")).filter((e) => Number(e.id) > start);
    expect(seen.map((e) => e.data)).toEqual(logged.slice(0, seen.length).map((e) => String(e.data)));
    for (const [i, e] of seen.entries()) {
      const [n, k] = e.data.split(".").map(Number);
      expect(e.id).toBe((k ?? 1) % 2 === 0 ? `m-${n}.${k}` : `urn:herald:${logged[i]?.id}`);
    }
  }, 60_000);

  test("a Last-Event-ID acknowledged by one node is no gap on another whose tail is still reconnecting", async () => {
    const [a, b] = cluster.nodes as [Herald, Herald];
    for (let round = 0; round < 5; round++) {
      // Every node loses its connections; the tails come back a moment after the publishing ones.
      await redisCommand(cluster.redis.url, "CLIENT", ["KILL", "TYPE", "normal", "SKIPME", "yes"]);
      let res: Response;
      do res = await post(a, "/topics/fresh/events", { data: round });
      while (res.status === 503);
      const { id } = (await res.json()) as { id: string };
      const reader = await SseReader.open(streamUrl(b.url, ["fresh"]), { "Last-Event-ID": id });
      expect(reader.response.status).toBe(200);
      const next = await publishTo(a, "fresh", `${round} next`);
      await reader.count(1);
      expect(reader.events[0]).toMatchObject({ id: String(next) });
      await Bun.sleep(100);
      expect(reader.events).toHaveLength(1);
      reader.close();
    }
  }, 30_000);

  test("concurrent repeats of one Idempotency-Key on every node append once, and every node answers with the same event", async () => {
    for (let round = 0; round < 10; round++) {
      const key = `order-${round}`;
      const answers = await Promise.all(
        cluster.nodes.flatMap((node) =>
          [1, 2].map(() => post(node, "/topics/idem/events", { data: { round } }, { "Idempotency-Key": key })),
        ),
      );
      expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
      const ids = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as { id: string }).id)));
      expect(ids.size).toBe(1);
    }
    expect(await history((cluster.nodes[2] as Herald).url, "idem")).toHaveLength(10);
    const conflict = await post(
      cluster.nodes[1] as Herald,
      "/topics/idem/events",
      { data: "other" },
      { "Idempotency-Key": "order-0" },
    );
    expect(conflict.status).toBe(422);
  });

  test("each node counts the events it published, so that summing the nodes counts each event once", async () => {
    const nodes = cluster.nodes as Herald[];
    const before = await Promise.all(nodes.map((n) => metric(n, "herald_events_published_total")));
    for (let i = 0; i < 3; i++) await publishTo(nodes[0] as Herald, "counted", i);
    for (let i = 0; i < 5; i++) await publishTo(nodes[1] as Herald, "counted", i);
    expect(
      (
        await post(nodes[2] as Herald, "/events", {
          events: [
            { topic: "counted", data: 1 },
            { topic: "counted", data: 2 },
          ],
        })
      ).status,
    ).toBe(201);
    // Every node has read every commit by now: a count of the shared log's commits would show 10 on each.
    const last = await newestId(nodes[2] as Herald);
    await eventually(async () => (await Promise.all(nodes.map(newestId))).every((id) => id >= last));
    const after = await Promise.all(nodes.map((n) => metric(n, "herald_events_published_total")));
    expect(after.map((a, i) => a - (before[i] ?? 0))).toEqual([3, 5, 2]);
  });

  test("history, /topics and batches read the same from every node", async () => {
    const res = await post(cluster.nodes[0] as Herald, "/events", {
      events: [
        { topic: "same.a", data: 1 },
        { topic: "same.b", event: "typed", data: { two: 2 } },
      ],
    });
    expect(res.status).toBe(201);
    const bad = await post(cluster.nodes[1] as Herald, "/events", {
      events: [
        { topic: "same.a", data: 3 },
        { topic: "bad topic", data: 4 },
      ],
    });
    expect(bad.status).toBe(400);
    const views = await Promise.all(
      cluster.nodes.map(async (n) => ({
        events: await history(n.url, "same.*"),
        topics: ((await (await fetch(`${n.url}/topics`)).json()) as { topics: Array<{ topic: string }> }).topics.filter((t) =>
          t.topic.startsWith("same."),
        ),
      })),
    );
    expect(views[0]?.events.map((e) => e.data)).toEqual([1, { two: 2 }]);
    for (const v of views) expect(v).toEqual(views[0] as (typeof views)[number]);
  });
});

describe.skipIf(!hasRedis())("retention on every node at once", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(3, { HERALD_RETENTION_MAX_EVENTS: "50" });
  });
  afterAll(() => cluster.stop());

  test("each topic keeps exactly its newest 50, however many nodes prune, and the pruned range is announced", async () => {
    const ids: Record<string, number[]> = { "keep.a": [], "keep.b": [] };
    for (let b = 0; b < 20; b++) {
      const events = Array.from({ length: 40 }, (_, i) => ({ topic: i % 2 ? "keep.a" : "keep.b", data: i }));
      const res = await post(pick(cluster.nodes), "/events", { events });
      for (const e of ((await res.json()) as { events: Array<{ id: string; topic: string }> }).events) {
        ids[e.topic]?.push(Number(e.id));
      }
    }
    for (const topic of ["keep.a", "keep.b"]) {
      await eventually(async () => (await history(pick(cluster.nodes).url, topic)).length === 50);
      // A few retention rounds on all three nodes later: still exactly the newest 50.
      await Bun.sleep(2500);
      for (const node of cluster.nodes) {
        expect((await history(node.url, topic)).map((e) => Number(e.id))).toEqual((ids[topic] as number[]).slice(-50));
      }
    }
    const reader = await SseReader.open(streamUrl((cluster.nodes[1] as Herald).url, ["keep.a"]), { "Last-Event-ID": "1" });
    await reader.count(51);
    expect(reader.events[0]).toEqual({
      event: "herald.gap",
      data: JSON.stringify({ lastEventId: "1", prunedThrough: String((ids["keep.a"] as number[]).at(-51)) }),
    });
    reader.close();
  }, 30_000);
});
