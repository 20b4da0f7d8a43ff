/**
 * HERALD_WORKERS=2: two worker threads serve on one port and the main thread writes the log. Every guarantee of
 * one thread holds across them: one id order, every event once per stream whichever worker holds it, resume on
 * whichever worker a reconnect lands, idempotency, batches, stream limits and metrics for the whole hub.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BoundStream, streamFrom } from "./support/bound-stream";
import { dispose, type Herald, history, startHerald } from "./support/herald";
import { eventually } from "./support/wait";
import { burstOnEvery, fresh, publishFresh, ResumingClient, streamsOnEvery, workerOf } from "./support/workers";

const WORKERS = { HERALD_WORKERS: "2" };
let herald: Herald;
beforeAll(async () => {
  herald = await startHerald({ env: WORKERS });
});
afterAll(() => dispose(herald));

function metric(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.slice(name.length + 1));
}

async function lastEventId(): Promise<number> {
  return Number(((await (await fetch(`${herald.url}/health`)).json()) as { lastEventId: string }).lastEventId);
}

describe("two workers on one port", () => {
  test("connections land on both workers, and /metrics counts the workers", async () => {
    const workers = new Set<number>();
    for (let i = 0; i < 40 && workers.size < 2; i++) {
      const res = await fresh(`${herald.url}/health`);
      expect(res.status).toBe(200);
      workers.add(workerOf(res));
    }
    expect([...workers].sort()).toEqual([1, 2]);
    expect(metric(await (await fetch(`${herald.url}/metrics`)).text(), "herald_workers")).toBe(2);
  });

  test("a publish on either worker reaches every stream on both, in id order; /metrics sums over workers", async () => {
    const streams = await streamsOnEvery(herald.url, ["fan"], 2, 2);
    const published: Array<{ id: number; worker: number }> = [];
    for (let i = 0; i < 24; i++) published.push(await publishFresh(herald.url, "fan", `event ${i}`));
    expect(new Set(published.map((p) => p.worker)).size).toBe(2);
    const ids = published.map((p) => p.id);
    for (const s of streams) {
      await s.count(ids.length);
      expect(s.ids()).toEqual(ids);
      expect(s.events.map((e) => e.data)).toEqual(published.map((_, i) => `event ${i}`));
    }
    const text = await (await fetch(`${herald.url}/metrics`)).text();
    // Each worker hands every commit to its streams: the published count is the log's, not twice it.
    expect(metric(text, "herald_events_published_total")).toBe(ids.length);
    expect(metric(text, "herald_events_delivered_total")).toBe(streams.length * ids.length);
    expect(metric(text, "herald_subscribers")).toBe(streams.length);
    expect(metric(text, "herald_publish_duration_seconds_count")).toBe(ids.length);
    const health = (await (await fetch(`${herald.url}/health`)).json()) as { subscribers: number };
    expect(health.subscribers).toBe(streams.length);
    for (const s of streams) s.close();
  });

  test("clients hopping between workers with Last-Event-ID get every id once, in order, while four publishers run", async () => {
    // Earlier tests' events are on other topics: each client resumes from inside what is seeded here, so that every
    // id after its own is one of its selector's.
    const before = await lastEventId();
    for (let b = 0; b < 5; b++) {
      const seed = Array.from({ length: 1000 }, (_, i) => ({ topic: `hop.${i % 2}`, data: `seed ${b}.${i}` }));
      const res = await fresh(`${herald.url}/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ events: seed }),
      });
      expect(res.status).toBe(201);
    }
    const head = await lastEventId();
    const froms = Array.from({ length: 8 }, () => before + Math.floor(Math.random() * (head - before)));
    const clients = froms.map((from) => new ResumingClient(herald.url, ["hop.*"], from));
    const acked: number[] = [];
    let hopping = true;
    const hops = (async () => {
      while (hopping) {
        await Bun.sleep(40);
        clients[Math.floor(Math.random() * clients.length)]?.hop();
      }
    })();
    await Promise.all(
      Array.from({ length: 4 }, async (_, n) => {
        for (let i = 0; i < 150; i++) acked.push((await publishFresh(herald.url, `hop.${i % 2}`, `${n}:${i}`)).id);
      }),
    );
    hopping = false;
    await hops;
    const last = Math.max(...acked);
    for (const c of clients) await c.stopAt(last);
    clients.forEach((c, k) => {
      const from = froms[k] as number;
      expect(c.ids).toEqual(Array.from({ length: last - from }, (_, i) => from + 1 + i));
    });
    const workersSeen = new Set(clients.flatMap((c) => c.workers));
    expect(workersSeen.size).toBe(2);
  }, 60_000);
});

describe("one log for both workers", () => {
  test("an Idempotency-Key used on one worker is known on the other: one 201, the rest 200 with the same id; another body is 422", async () => {
    // A key and a topic for each burst: only a burst that reached both workers is judged.
    const { answers, round } = await burstOnEvery(
      2,
      (r) => {
        const key = { "Idempotency-Key": `workers-key-${r}` };
        return Promise.all(Array.from({ length: 16 }, () => publishFresh(herald.url, `idem.${r}`, "once", key)));
      },
      (a) => a.worker,
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(15);
    expect(new Set(answers.map((a) => a.id)).size).toBe(1);
    const key = { "Idempotency-Key": `workers-key-${round}` };
    const { answers: conflicts } = await burstOnEvery(
      2,
      () => Promise.all(Array.from({ length: 6 }, () => publishFresh(herald.url, `idem.${round}`, "other", key))),
      (c) => c.worker,
    );
    for (const c of conflicts) expect(c.status).toBe(422);
    expect((await history(herald.url, `idem.${round}`)).map((e) => e.data)).toEqual(["once"]);
  });

  test("batches from both workers at once take increasing ids in request order, all or nothing", async () => {
    const batch = (round: number, n: number) =>
      fresh(`${herald.url}/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ events: Array.from({ length: 50 }, (_, i) => ({ topic: `batch.${round}.${n}`, data: i })) }),
      });
    const { answers: responses } = await burstOnEvery(
      2,
      (r) => Promise.all(Array.from({ length: 8 }, (_, n) => batch(r, n))),
      workerOf,
    );
    const ranges: number[][] = [];
    for (const res of responses) {
      expect(res.status).toBe(201);
      const ids = ((await res.json()) as { events: Array<{ id: string }> }).events.map((e) => Number(e.id));
      expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => (ids[0] as number) + i));
      ranges.push(ids);
    }
    // Every batch one transaction: no two interleave.
    const firsts = ranges.map((r) => r[0] as number).sort((a, b) => a - b);
    for (let i = 1; i < firsts.length; i++) expect(firsts[i]).toBeGreaterThanOrEqual((firsts[i - 1] as number) + 50);

    const before = await lastEventId();
    const { answers: refused } = await burstOnEvery(
      2,
      () =>
        Promise.all(
          Array.from({ length: 6 }, () =>
            fresh(`${herald.url}/events`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({
                events: [
                  { topic: "batch.ok", data: 1 },
                  { topic: "bad topic", data: 2 },
                ],
              }),
            }),
          ),
        ),
      workerOf,
    );
    for (const res of refused) expect(res.status).toBe(400);
    expect(await lastEventId()).toBe(before);
  });
});

describe("stream limits over both workers", () => {
  let limited: Herald;
  const open: BoundStream[] = [];
  beforeAll(async () => {
    limited = await startHerald({ env: { ...WORKERS, HERALD_MAX_STREAMS_PER_CLIENT: "2", HERALD_MAX_SUBSCRIBERS: "6" } });
  });
  afterAll(async () => {
    for (const s of open) s.close();
    await dispose(limited);
  });

  const workerIn = (s: BoundStream) => Number(/\r\nherald-worker: (\d+)\r\n/i.exec(s.text)?.[1]);

  /** Opens `times` streams from the address `from`, one after the other; those that open stay open. */
  async function tryFrom(from: string, times: number): Promise<BoundStream[]> {
    const results: BoundStream[] = [];
    for (let i = 0; i < times; i++) {
      const s = await streamFrom(limited.port, from, "/stream?topic=limits");
      if (s.status === 200) open.push(s);
      results.push(s);
    }
    return results;
  }

  test("a client's streams count on both workers together: its third is refused on either", async () => {
    const first = await tryFrom("127.0.0.2", 2);
    expect(first.map((s) => s.status)).toEqual([200, 200]);
    const refused = await tryFrom("127.0.0.2", 12);
    for (const s of refused) {
      expect(s.status).toBe(429);
      expect(s.text).toContain('"code":"too_many_streams"');
    }
    expect(new Set(refused.map(workerIn)).size).toBe(2);
    // Its slots come back when a stream closes, whichever worker held it.
    first[0]?.close();
    await eventually(async () => (await tryFrom("127.0.0.2", 1))[0]?.status === 200, 1000);
  });

  test("HERALD_MAX_SUBSCRIBERS counts every worker's streams", async () => {
    for (const from of ["127.0.0.3", "127.0.0.4"]) expect((await tryFrom(from, 2)).map((s) => s.status)).toEqual([200, 200]);
    const over = await tryFrom("127.0.0.5", 12);
    for (const s of over) {
      expect(s.status).toBe(503);
      expect(s.text).toContain('"code":"too_many_subscribers"');
    }
    expect(new Set(over.map(workerIn)).size).toBe(2);
    const text = await (await fetch(`${limited.url}/metrics`)).text();
    expect(metric(text, "herald_subscribers")).toBe(6);
    expect(metric(text, "herald_streams_refused_per_client_total")).toBeGreaterThanOrEqual(12);
    // A HEAD answers what a GET would, on either worker, and holds no slot.
    for (let i = 0; i < 6; i++) expect((await fetch(`${limited.url}/stream?topic=limits`, { method: "HEAD" })).status).toBe(503);
    expect(metric(await (await fetch(`${limited.url}/metrics`)).text(), "herald_subscribers")).toBe(6);
  });
});

/** Publishes `count` events on fresh connections, each with its own key and resent until answered; the acknowledged ids and data. */
async function publishThrough(
  base: string,
  topic: string,
  name: string,
  count: number,
  acked: Map<number, string>,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const data = `${name}:${i}`;
    for (;;) {
      const answer = await publishFresh(base, topic, data, { "Idempotency-Key": data }).catch(() => undefined);
      if (answer && (answer.status === 201 || answer.status === 200)) {
        acked.set(answer.id, data);
        break;
      }
      await Bun.sleep(10);
    }
  }
}

describe("a worker that dies", () => {
  test("is replaced, logged and counted; its clients resume with nothing lost while publishers run", async () => {
    const h = await startHerald({ env: WORKERS });
    try {
      const clients = Array.from({ length: 6 }, () => new ResumingClient(h.url, ["kill.*"], 0));
      // Until the clients' current streams are on both workers.
      await eventually(() => clients.every((c) => c.workers.length > 0));
      while (new Set(clients.map((c) => c.workers.at(-1))).size < 2) {
        const c = clients[Math.floor(Math.random() * clients.length)] as ResumingClient;
        const hops = c.workers.length;
        c.hop();
        await eventually(() => c.workers.length > hops);
      }
      const acked = new Map<number, string>();
      const publishing = Promise.all([0, 1, 2].map((n) => publishThrough(h.url, `kill.${n}`, `p${n}`, 120, acked)));
      await eventually(() => acked.size >= 60, 20_000);
      h.proc.kill("SIGUSR2");
      await publishing;
      const last = Math.max(...acked.keys());
      for (const c of clients) await c.stopAt(last);

      const killed = Number(/"msg":"SIGUSR2: ending a worker as a crash would","worker":(\d)/.exec(h.lines.join("\n"))?.[1]);
      expect([1, 2]).toContain(killed);
      expect(
        h.lines.some((l) => l.includes('"msg":"worker died; starting another in its place"') && l.includes(`"worker":${killed}`)),
      ).toBe(true);
      // Clients that were on it came back, on another connection.
      expect(clients.filter((c) => c.workers.includes(killed) && c.workers.length > 1).length).toBeGreaterThan(0);
      for (const c of clients) expect(c.ids).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      const logged = await history(h.url, "kill.*");
      for (const [id, data] of acked) expect(logged.find((e) => Number(e.id) === id)?.data).toBe(data);

      const text = await (await fetch(`${h.url}/metrics`)).text();
      expect(metric(text, "herald_workers_replaced_total")).toBe(1);
      expect(metric(text, "herald_workers")).toBe(2);
      const workers = new Set<number>();
      for (let i = 0; i < 40 && workers.size < 2; i++) workers.add(workerOf(await fresh(`${h.url}/health`)));
      expect(workers.size).toBe(2);
    } finally {
      await dispose(h);
    }
  }, 60_000);
});

describe("stopping", () => {
  test("SIGTERM drains both workers within 5 s: streams end cleanly, publishes are answered, exit 0", async () => {
    const h = await startHerald({ env: WORKERS });
    const streams = await streamsOnEvery(h.url, ["term"], 2, 2);
    const acked = new Map<number, string>();
    let publishing = true;
    const publishers = [0, 1, 2].map(async (n) => {
      for (let i = 0; publishing; i++) {
        const answer = await publishFresh(h.url, "term", `t${n}:${i}`).catch(() => undefined);
        if (answer?.status === 201) acked.set(answer.id, `t${n}:${i}`);
        else publishing = false;
      }
    });
    await eventually(() => acked.size >= 30);
    const started = performance.now();
    expect(await h.stop()).toBe(0);
    expect(performance.now() - started).toBeLessThan(5000);
    publishing = false;
    await Promise.all(publishers);
    for (const s of streams) {
      await s.until((r) => r.ended);
      expect(s.endedCleanly).toBe(true);
    }
    const again = await startHerald({ env: WORKERS, dir: h.dir });
    try {
      const logged = await history(again.url, "term");
      for (const [id, data] of acked) expect(logged.find((e) => Number(e.id) === id)?.data).toBe(data);
    } finally {
      await dispose(again);
    }
  }, 30_000);

  test("a SIGKILL of the whole process loses nothing acknowledged", async () => {
    const h = await startHerald({ env: WORKERS });
    const acked = new Map<number, string>();
    let killed = false;
    const publishers = [0, 1, 2, 3].map(async (n) => {
      for (let i = 0; !killed; i++) {
        const answer = await publishFresh(h.url, "sigkill", `k${n}:${i}`).catch(() => undefined);
        if (answer?.status === 201) acked.set(answer.id, `k${n}:${i}`);
      }
    });
    await eventually(() => acked.size >= 200, 20_000);
    await h.kill();
    killed = true;
    await Promise.all(publishers);
    const again = await startHerald({ env: WORKERS, dir: h.dir });
    try {
      const logged = new Map((await history(again.url, "sigkill")).map((e) => [Number(e.id), e.data]));
      for (const [id, data] of acked) expect(logged.get(id)).toBe(data);
    } finally {
      await dispose(again);
    }
  }, 30_000);
});
