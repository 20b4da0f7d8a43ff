import { afterAll, describe, expect, test } from "bun:test";
import { buildLog } from "./support/bulk-log";
import { type Herald, logBytes, publish, publishBatch, removeDir, startHerald, tempDir, testLog } from "./support/herald";
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

async function counts(h: Herald): Promise<Map<string, number>> {
  const res = await fetch(`${h.url}/topics`);
  return new Map(
    ((await res.json()) as { topics: Array<{ topic: string; events: number }> }).topics.map((t) => [t.topic, t.events]),
  );
}

async function prunedTotal(h: Herald): Promise<number> {
  const metrics = await (await fetch(`${h.url}/metrics`)).text();
  return Number(/^herald_events_pruned_total (\d+)/m.exec(metrics)?.[1]);
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

  test("under steady load with retention the log stops growing: it holds the retained events and one round", async () => {
    const PER_TOPIC = 500;
    const h = await start({ HERALD_RETENTION_MAX_EVENTS: String(PER_TOPIC), HERALD_SYNC: "normal" });
    const payload = "r".repeat(1000);
    const topics = ["load.0", "load.1", "load.2", "load.3"];
    const round = () =>
      Promise.all(
        Array.from({ length: 5 }, () =>
          publishBatch(
            h.url,
            Array.from({ length: 400 }, (_, i) => ({ topic: topics[i % 4] as string, data: payload })),
          ),
        ),
      );
    // Each round adds 2000 events, as many as are retained; once pruning has caught up, the log is measured (a
    // SQLite file with its WAL checkpointed): a size that follows the pruning, not the sweeps' timing.
    const sizes: number[] = [];
    for (let r = 0; r < 12; r++) {
      await round();
      await eventually(async () => {
        const retained = await counts(h);
        return topics.every((t) => retained.get(t) === PER_TOPIC);
      }, 20_000);
      sizes.push(await logBytes(h));
    }
    // 24,000 events of 1 KB went in. The first round is exactly what is retained: the log may hold that and
    // one round more (what arrives before a sweep), never the 12 rounds a log without pruning keeps.
    const retainedSize = sizes[0] as number;
    if (process.env.HERALD_TEST_VERBOSE) console.log({ sizes });
    expect(Math.max(...sizes)).toBeLessThan(2 * retainedSize);
    // The Redis log also trims a topic as it appends to it; only the embedded log leaves all of it to retention.
    if (testLog === "sqlite") expect(await prunedTotal(h)).toBe(22_000);
  }, 60_000);

  // A backlog built as a SQLite file: the Redis log never lets one pile up, it trims as it appends.
  test.skipIf(testLog !== "sqlite")(
    "publishing does not stall behind pruning: publishes complete between the sweep's batches",
    async () => {
      const dir = tempDir();
      const BACKLOG = 50_000;
      buildLog(dir, "bulk", BACKLOG, JSON.stringify("b".repeat(1000)));
      const h = await startHerald({ dir, env: { HERALD_RETENTION_MAX_EVENTS: "1000", HERALD_SYNC: "normal" } });
      started.push(h);
      // Each probe publishes, then reads how many events the backlog's topic still has. A sweep that deletes the
      // backlog in one transaction holds the hub throughout: no probe completes while it is partly done.
      const during: number[] = [];
      for (let left = BACKLOG; left > 1000; ) {
        await publish(h.url, "probe", "x");
        left = (await counts(h)).get("bulk") ?? 0;
        if (left > 1000 && left < BACKLOG) during.push(left);
      }
      if (process.env.HERALD_TEST_VERBOSE) console.log({ during: new Set(during).size });
      expect(new Set(during).size).toBeGreaterThanOrEqual(3);
    },
    60_000,
  );

  test("a lowered limit reaches every topic over it within a sweep or two, however many there are", async () => {
    const dir = tempDir();
    const TOPICS = 200;
    const first = await startHerald({ dir, env: { HERALD_SYNC: "normal" } });
    await publishBatch(
      first.url,
      Array.from({ length: TOPICS * 3 }, (_, i) => ({ topic: `lowered.${i % TOPICS}`, data: i })),
    );
    await first.stop();
    const h = await startHerald({ dir, env: { HERALD_RETENTION_MAX_EVENTS: "1", HERALD_SYNC: "normal" } });
    started.push(h);
    // Sweeps run a second apart: a log that trimmed a few topics a sweep would take many seconds for 200.
    await eventually(async () => {
      const res = await fetch(`${h.url}/topics?topic=lowered.*&limit=1000`);
      const { topics } = (await res.json()) as { topics: Array<{ events: number }> };
      return topics.length === TOPICS && topics.every((t) => t.events === 1);
    }, 4000);
    expect(await prunedTotal(h)).toBe(TOPICS * 2);
  }, 30_000);

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
