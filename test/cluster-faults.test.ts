/**
 * Cluster mode under the faults a deployment meets: a Redis that pauses (SIGSTOP stands in for a pause or a
 * partition), a Redis rolled back to an older copy of its files, a node that falls behind past retention, a
 * replica that never confirms, many pruned topics, an outage met by a resume. Real processes throughout.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Cluster, startCluster } from "./support/cluster";
import { type Herald, history, publishBatch } from "./support/herald";
import { hasRedis, redisCommand } from "./support/redis";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

const clusters: Cluster[] = [];
afterAll(async () => {
  for (const c of clusters) await c.stop();
});

async function cluster(size: number, env: Record<string, string> = {}, args: string[] = []): Promise<Cluster> {
  const c = await startCluster(size, env, { args });
  clusters.push(c);
  return c;
}

async function health(node: Herald): Promise<{ code: number; status: string }> {
  const res = await fetch(`${node.url}/health`);
  return { code: res.status, status: ((await res.json()) as { status: string }).status };
}

/** A request's status and how long it took, or -1 when it got no answer at all. */
async function timed(url: string, init: RequestInit = {}): Promise<{ status: number; ms: number; code?: string }> {
  const started = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) });
    const body = (await res.json().catch(() => ({}))) as { error?: { code: string } };
    return { status: res.status, ms: performance.now() - started, code: body.error?.code };
  } catch {
    return { status: -1, ms: performance.now() - started };
  }
}

const post = (node: Herald, topic: string, data: string) =>
  timed(`${node.url}/topics/${topic}/events`, { method: "POST", body: data });

async function acknowledged(node: Herald, topic: string, data: string): Promise<number> {
  const res = await fetch(`${node.url}/topics/${topic}/events`, { method: "POST", body: data });
  expect(res.status).toBe(201);
  return Number(((await res.json()) as { id: string }).id);
}

async function batches(node: Herald, count: number, event: (i: number) => { topic: string; data: unknown }): Promise<void> {
  for (let from = 0; from < count; from += 1000) {
    await publishBatch(
      node.url,
      Array.from({ length: Math.min(1000, count - from) }, (_, i) => event(from + i)),
    );
  }
}

describe.skipIf(!hasRedis())("a Redis that pauses", () => {
  test("paused 12 s: publishes, reads and resumes are refused within seconds with 503 and /health degrades; after it every node delivers again, with no gap", async () => {
    const c = await cluster(2, { HERALD_HEARTBEAT_MS: "500" });
    const [a, b] = c.nodes as [Herald, Herald];
    const first = await acknowledged(a, "h", "before");
    const readers = await Promise.all(c.nodes.map((n) => SseReader.open(streamUrl(n.url, ["h"]))));

    c.redis.proc.kill("SIGSTOP");
    const paused = Date.now();
    try {
      const [publish, read, resume] = await Promise.all([
        post(a, "h", "during"),
        timed(`${b.url}/events?topic=h`),
        timed(streamUrl(b.url, ["h"]), { headers: { "Last-Event-ID": String(first - 1) } }),
      ]);
      for (const r of [publish, read, resume]) {
        expect(r).toMatchObject({ status: 503, code: "log_unavailable" });
        expect(r.ms).toBeLessThan(6000);
      }
      await eventually(async () => (await Promise.all(c.nodes.map(health))).every((h) => h.status === "degraded"), 6000);
      // Long enough for Bun's client to give up on a connection opened while Redis did not answer.
      await Bun.sleep(Math.max(0, 12_000 - (Date.now() - paused)));
    } finally {
      c.redis.proc.kill("SIGCONT");
    }

    await eventually(async () => (await Promise.all(c.nodes.map(health))).every((h) => h.code === 200), 10_000);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(await acknowledged(a, "h", `after ${i}`));
    for (const reader of readers) {
      await reader.until((r) => r.ids().includes(ids[4] as number), 10_000);
      expect(reader.ended).toBe(false);
      // Whatever the refused publish did in Redis once it woke up, the stream has no gap and no repeat.
      const seen = reader.ids();
      expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => (seen[0] as number) + i));
      reader.close();
    }
    const resumed = await SseReader.open(streamUrl(b.url, ["h"]), { "Last-Event-ID": String(ids[0]) });
    await resumed.until((r) => r.ids().includes(ids[4] as number), 10_000);
    expect(resumed.ids().slice(0, 4)).toEqual(ids.slice(1));
    resumed.close();
    // The publish answered 503 was not stored when Redis woke up: its script found its deadline passed.
    expect((await history(b.url, "h")).map((e) => e.data)).toEqual(["before", ...ids.map((_, i) => `after ${i}`)]);
  }, 60_000);
});

describe.skipIf(!hasRedis())("a Redis rolled back to an older copy of its files", () => {
  test("no id is handed out twice, live streams continue, and a resume from the lost range is told of the gap", async () => {
    const c = await cluster(2);
    const [a, b] = c.nodes as [Herald, Herald];
    const live = await SseReader.open(streamUrl(b.url, ["r.*"]));
    await batches(a, 1000, (i) => ({ topic: `r.${i % 4}`, data: i }));
    const copy = mkdtempSync(join(tmpdir(), "herald-redis-copy-"));
    cpSync(c.redis.dir, copy, { recursive: true });
    await batches(a, 1000, (i) => ({ topic: `r.${i % 4}`, data: 1000 + i }));
    await live.until((r) => r.ids().at(-1) === 2000, 10_000);

    await c.redis.kill();
    rmSync(c.redis.dir, { recursive: true, force: true });
    cpSync(copy, c.redis.dir, { recursive: true });
    rmSync(copy, { recursive: true, force: true });
    const acked: number[] = [];
    let running = true;
    const publishing = Promise.all(
      c.nodes.map(async (node, n) => {
        for (let i = 0; running; i++) {
          const res = await fetch(`${node.url}/topics/r.${n}/events`, { method: "POST", body: `after ${n}.${i}` }).catch(
            () => undefined,
          );
          if (res?.status === 201) acked.push(Number(((await res.json()) as { id: string }).id));
          else await Bun.sleep(20);
        }
      }),
    );
    await c.restartRedis();
    await eventually(() => acked.length >= 100, 20_000);
    running = false;
    await publishing;

    expect(Math.min(...acked)).toBeGreaterThan(2000);
    expect(new Set(acked).size).toBe(acked.length);
    const newest = Math.max(...acked);
    await live.until((r) => (r.ids().at(-1) ?? 0) >= newest, 10_000);
    const after = live.ids().filter((id) => id > 2000);
    expect(after).toEqual([...acked].sort((x, y) => x - y));
    expect(live.ended).toBe(false);
    live.close();

    const resume = await SseReader.open(streamUrl(a.url, ["r.*"]), { "Last-Event-ID": "1500" });
    await resume.until((r) => r.events.length > 0, 10_000);
    expect(resume.events[0]).toEqual({ event: "herald.gap", data: '{"lastEventId":"1500","prunedThrough":"2000"}' });
    resume.close();
  }, 90_000);
});

describe.skipIf(!hasRedis())("pruned-through with many topics", () => {
  test("a long replay over a prefix of 20,000 pruned topics never runs a slow pruned-through script in Redis", async () => {
    // Every script call slower than 5 ms is logged by Redis itself, whatever load the test machine is under.
    const c = await cluster(2, { HERALD_RETENTION_MAX_EVENTS: "1" }, ["--slowlog-log-slower-than", "5000"]);
    const [a, b] = c.nodes as [Herald, Herald];
    const TOPICS = 20_000;
    await batches(a, TOPICS, (i) => ({ topic: `u.${i}`, data: "old" }));
    await batches(a, TOPICS, (i) => ({ topic: `u.${i}`, data: "new" }));
    await redisCommand(c.redis.url, "SLOWLOG", ["RESET"]);

    const reader = await SseReader.open(streamUrl(b.url, ["u.*"]), { "Last-Event-ID": "1" });
    const latencies: number[] = [];
    while (reader.ids().length < TOPICS) {
      latencies.push((await post(a, "other", "x")).ms);
      await reader.until((r) => r.ids().length >= TOPICS || r.events.length > latencies.length * 50, 10_000);
    }
    expect(reader.events[0]?.event).toBe("herald.gap");
    expect(reader.ids()).toHaveLength(TOPICS);
    reader.close();

    const slow = (await redisCommand(c.redis.url, "SLOWLOG", ["GET", "1000"])) as [number, number, number, string[]][];
    // pruned-through reads the pruned hash and never the log; every other script names the log's key.
    const prunedThrough = slow.filter(
      ([, , , args]) => args.some((x) => x.endsWith(":pruned")) && !args.includes("{cluster}:log"),
    );
    expect(prunedThrough).toEqual([]);
    latencies.sort((x, y) => x - y);
    console.log(
      `pruned-through: ${slow.length} slow scripts in Redis during the replay, publishes beside it p50 ${latencies[latencies.length >> 1]?.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms over ${latencies.length}`,
    );
  }, 120_000);
});

describe.skipIf(!hasRedis())("large events", () => {
  test("the feed keeps fewer of them (about 64 MiB), and a node that fell behind it delivers every one from the log", async () => {
    const c = await cluster(2);
    const [a, b] = c.nodes as [Herald, Herald];
    const reader = await SseReader.open(streamUrl(b.url, ["big"]));
    await reader.until((r) => r.retry !== undefined);
    const big = (i: number) => `${i} ${"x".repeat(1_000_000)}`;
    b.proc.kill("SIGSTOP");
    try {
      for (let i = 0; i < 100; i++) await acknowledged(a, "big", big(i));
    } finally {
      b.proc.kill("SIGCONT");
    }
    // 64 MiB of 1 MB events, give or take Redis's whole nodes; 100 without the bound.
    const kept = Number(await redisCommand(c.redis.url, "XLEN", ["{cluster}:feed"]));
    expect(kept).toBeGreaterThanOrEqual(60);
    expect(kept).toBeLessThan(80);
    await reader.until((r) => r.events.length >= 100, 30_000);
    expect(reader.events.map((e) => e.data.slice(0, e.data.indexOf(" ")))).toEqual(
      Array.from({ length: 100 }, (_, i) => String(i)),
    );
    expect(reader.events.every((e, i) => e.data === big(i))).toBe(true);
    expect(reader.ended).toBe(false);
    reader.close();
  }, 90_000);
});

describe.skipIf(!hasRedis())("a node that falls behind past retention", () => {
  test("its stream on a quiet topic gets every retained event it missed, with no gap notice and no end", async () => {
    const c = await cluster(2, { HERALD_RETENTION_MAX_EVENTS: "100" });
    const [a, b] = c.nodes as [Herald, Herald];
    const reader = await SseReader.open(streamUrl(b.url, ["x3"]));
    await reader.until((r) => r.retry !== undefined);
    b.proc.kill("SIGSTOP");
    try {
      await batches(a, 20_000, () => ({ topic: "x1", data: "busy" }));
      for (let i = 0; i < 10; i++) await acknowledged(a, "x3", `quiet ${i}`);
    } finally {
      b.proc.kill("SIGCONT");
    }
    await reader.until((r) => r.events.length >= 10, 15_000);
    expect(reader.events.map((e) => e.data)).toEqual(Array.from({ length: 10 }, (_, i) => `quiet ${i}`));
    await Bun.sleep(300);
    expect(reader.ended).toBe(false);
    reader.close();
  }, 90_000);

  test("a stream that did lose matching events gets a gap notice naming them, then ends cleanly", async () => {
    const c = await cluster(2, { HERALD_RETENTION_MAX_EVENTS: "100" });
    const [a, b] = c.nodes as [Herald, Herald];
    const reader = await SseReader.open(streamUrl(b.url, ["y1"]));
    await reader.until((r) => r.retry !== undefined);
    b.proc.kill("SIGSTOP");
    try {
      await batches(a, 20_000, () => ({ topic: "y1", data: "busy" }));
    } finally {
      b.proc.kill("SIGCONT");
    }
    await reader.until((r) => r.ended, 15_000);
    expect(reader.endedCleanly).toBe(true);
    const notice = reader.events.find((e) => e.event === "herald.gap");
    expect(notice).toBeDefined();
    expect(Number((JSON.parse(notice?.data ?? "{}") as { prunedThrough: string }).prunedThrough)).toBeGreaterThanOrEqual(19_900);
  }, 90_000);
});

describe.skipIf(!hasRedis())("HERALD_REDIS_REPLICAS=1 with no replica", () => {
  test("publishes are refused, reads stay fast, /health says degraded", async () => {
    const c = await cluster(1, { HERALD_REDIS_REPLICAS: "1" });
    const node = c.nodes[0] as Herald;
    await eventually(async () => (await health(node)).status === "degraded", 5000);
    let publishing = true;
    const publishes = (async () => {
      const out: Array<{ status: number; code?: string }> = [];
      while (publishing) out.push(await post(node, "w", "x"));
      return out;
    })();
    const reads: number[] = [];
    for (let i = 0; i < 10; i++) {
      reads.push((await timed(`${node.url}/events?topic=w`)).ms);
      await Bun.sleep(150);
    }
    publishing = false;
    expect((await publishes).every((p) => p.status === 503 && p.code === "log_unavailable")).toBe(true);
    // The old node sent reads behind a WAIT of 2 s on its one connection.
    expect(Math.max(...reads)).toBeLessThan(1000);
    expect(await health(node)).toEqual({ code: 503, status: "degraded" });
  }, 60_000);
});

describe.skipIf(!hasRedis())("retention empties topics", () => {
  test("what it empties is freed: no key and no topic name is left behind", async () => {
    const c = await cluster(1, { HERALD_RETENTION_MAX_AGE: "1s" });
    const node = c.nodes[0] as Herald;
    await batches(node, 10_000, (i) => ({ topic: `gone.${i}`, data: i }));
    expect(Number(await redisCommand(c.redis.url, "DBSIZE", []))).toBeGreaterThan(10_000);
    await eventually(async () => Number(await redisCommand(c.redis.url, "XLEN", ["{cluster}:log"])) === 0, 20_000);
    // Left: the log's own keys (head, log, feed, and what was pruned: one entry per topic and per name prefix),
    // beside presence's (who listens, not what was published).
    await eventually(async () => ((await redisCommand(c.redis.url, "KEYS", ["{cluster}:t:*"])) as string[]).length === 0, 5000);
    const keys = (await redisCommand(c.redis.url, "KEYS", ["*"])) as string[];
    expect(keys.filter((k) => !k.startsWith("{cluster}:presence:")).length).toBeLessThanOrEqual(5);
    expect(Number(await redisCommand(c.redis.url, "ZCARD", ["{cluster}:topics"]))).toBe(0);
    const topics = (await (await fetch(`${node.url}/topics`)).json()) as { topics: unknown[] };
    expect(topics.topics).toEqual([]);
  }, 60_000);
});

describe.skipIf(!hasRedis())("an outage", () => {
  test("is logged once when it starts and once when it ends, and a resume meanwhile is a 503, not a reset", async () => {
    const c = await cluster(1);
    const node = c.nodes[0] as Herald;
    const last = await acknowledged(node, "o", "x");
    await c.redis.kill();
    const resume = await timed(streamUrl(node.url, ["o"]), { headers: { "Last-Event-ID": String(last - 1) } });
    expect(resume).toMatchObject({ status: 503, code: "log_unavailable" });
    await Bun.sleep(4000);
    await c.restartRedis();
    await eventually(async () => (await health(node)).code === 200, 10_000);
    await acknowledged(node, "o", "y");
    const errors = node.lines.filter((l) => l.includes('"level":"error"'));
    expect(errors.filter((l) => l.includes("retention failed")).length).toBeLessThanOrEqual(1);
    expect(errors.filter((l) => l.includes("log fault started")).length).toBeLessThanOrEqual(2);
  }, 60_000);
});
