import { afterAll, describe, expect, test } from "bun:test";
import { type Herald, logBytes, publish, publishBatch, removeDir, startHerald, testLog } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

const started: Herald[] = [];
afterAll(async () => {
  for (const h of started) {
    await h.stop();
    removeDir(h.dir);
  }
});

async function start(env: Record<string, string>): Promise<Herald> {
  const h = await startHerald({ env });
  started.push(h);
  return h;
}

async function history(h: Herald, topic: string): Promise<string[]> {
  const res = await fetch(`${h.url}/events?topic=${topic}&limit=1000`);
  return ((await res.json()) as { events: Array<{ id: string }> }).events.map((e) => e.id);
}

describe("retention", () => {
  test("max events per topic: oldest pruned, the gap announced on resume, then what is left", async () => {
    const h = await start({ HERALD_RETENTION_MAX_EVENTS: "3" });
    const ids: string[] = [];
    for (let i = 1; i <= 10; i++) ids.push((await publish(h.url, "kept", i)).id);
    await publish(h.url, "other", "untouched");
    await eventually(async () => (await history(h, "kept")).length === 3);
    expect(await history(h, "kept")).toEqual(ids.slice(7));
    expect(await history(h, "other")).toHaveLength(1);

    const topics = (await (await fetch(`${h.url}/topics`)).json()) as {
      topics: Array<{ topic: string; events: number; firstId: string }>;
    };
    expect(topics.topics.find((t) => t.topic === "kept")).toMatchObject({ events: 3, firstId: ids[7] });

    const r = await SseReader.open(streamUrl(h.url, ["kept"]), { "Last-Event-ID": ids[1] as string });
    await r.count(4);
    expect(r.events[0]).toEqual({ event: "herald.gap", data: JSON.stringify({ lastEventId: ids[1], prunedThrough: ids[6] }) });
    expect(r.events.slice(1).map((e) => e.id)).toEqual(ids.slice(7));
    r.close();

    // Resuming at or after the pruned range is no gap; neither is 0 ("everything retained").
    for (const from of [ids[6] as string, "0"]) {
      const clean = await SseReader.open(streamUrl(h.url, ["kept"]), { "Last-Event-ID": from });
      await clean.count(3);
      await Bun.sleep(50);
      expect(clean.events.every((e) => e.event !== "herald.gap")).toBe(true);
      clean.close();
    }
  });

  test("max age: old events go, and ids are never reused even when the log empties", async () => {
    const h = await start({ HERALD_RETENTION_MAX_AGE: "1s" });
    const { id } = await publish(h.url, "fleeting", "soon gone");
    await eventually(async () => (await history(h, "fleeting")).length === 0);
    const next = await publish(h.url, "fleeting", "new");
    expect(Number(next.id)).toBeGreaterThan(Number(id));
    expect((await (await fetch(`${h.url}/health`)).json()) as object).toMatchObject({ lastEventId: next.id });
  });

  test("under steady load with retention, publishing does not stall and the log stops growing", async () => {
    const h = await start({ HERALD_RETENTION_MAX_EVENTS: "2000", HERALD_SYNC: "normal" });
    const payload = "r".repeat(1000);
    const latencies: number[] = [];
    const sizes: number[] = [];
    for (let round = 0; round < 24; round++) {
      for (let b = 0; b < 10; b++) {
        const events = Array.from({ length: 200 }, (_, i) => ({ topic: `load.${i % 4}`, data: payload }));
        const t0 = performance.now();
        const res = await fetch(`${h.url}/events`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ events }),
        });
        latencies.push(performance.now() - t0);
        expect(res.status).toBe(201);
        // Single publishes in between: these are what a long prune would stall.
        const s0 = performance.now();
        await publish(h.url, "load.single", "x");
        latencies.push(performance.now() - s0);
      }
      await Bun.sleep(120);
      sizes.push(await logBytes(h));
    }
    // 48k events of 1 KB went in; at most 8000 are retained, so ~40 MB were pruned along the way.
    const grewLate = (sizes[23] as number) - (sizes[11] as number);
    expect(grewLate).toBeLessThan(0.1 * (sizes[11] as number));
    latencies.sort((a, b) => a - b);
    expect(latencies[Math.floor(latencies.length * 0.99)]).toBeLessThan(100);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(Number(/^herald_events_pruned_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(30_000);
  }, 60_000);

  test("per-topic limits reach every topic, however many busy topics sort before it", async () => {
    const h = await start({ HERALD_RETENTION_MAX_EVENTS: "10", HERALD_SYNC: "normal" });
    const post = (events: Array<{ topic: string; data: unknown }>) => publishBatch(h.url, events);
    const retained = async () =>
      new Map(
        ((await (await fetch(`${h.url}/topics`)).json()) as { topics: Array<{ topic: string; events: number }> }).topics.map(
          (t) => [t.topic, t.events],
        ),
      );
    await post(Array.from({ length: 1000 }, (_, i) => ({ topic: "zzz", data: i })));
    await post(Array.from({ length: 10 }, (_, i) => ({ topic: "zzz", data: i })));
    // The embedded log leaves pruning to retention; the Redis log also trims a topic as it appends to it.
    expect((await retained()).get("zzz")).toBe(testLog === "sqlite" ? 1010 : 10);

    // Sixteen busy topics that sort first stay over their limit at every sweep while three publishers run.
    const busy = Array.from({ length: 16 }, (_, i) => `a${String(i).padStart(2, "0")}`);
    let loading = true;
    const publishers = Array.from({ length: 3 }, async () => {
      while (loading) await post(busy.flatMap((topic) => Array.from({ length: 10 }, (_, i) => ({ topic, data: i }))));
    });
    try {
      await eventually(async () => (await retained()).get("zzz") === 10, 8000);
    } finally {
      loading = false;
      await Promise.all(publishers);
    }
    await eventually(async () => {
      const counts = await retained();
      return busy.every((t) => counts.get(t) === 10);
    });
  }, 30_000);
});
