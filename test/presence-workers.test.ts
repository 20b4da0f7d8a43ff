/**
 * Presence on a hub of two worker threads (HERALD_WORKERS=2): /subscriptions, /topics' subscribers, Mercure's
 * subscription events and subscriptions API, and /metrics describe the streams of both workers, whichever worker
 * answers, at once; the streams of a worker that dies close everywhere; in cluster mode the workers of one node
 * are listed on every worker of another. Each stream is placed on the worker named (its Herald-Worker header).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Cluster, startCluster } from "./support/cluster";
import { dispose, type Herald, startHerald } from "./support/herald";
import { SECRET, sign, subscribe, unique } from "./support/mercure";
import { hasRedis } from "./support/redis";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";
import { fromEvery, openOn, workerOf } from "./support/workers";

const SUBSCRIPTIONS = "/.well-known/mercure/subscriptions";
const ENV = {
  HERALD_WORKERS: "2",
  HERALD_JWT_SECRET: SECRET,
  HERALD_PUBLIC_TOPICS: "*",
  HERALD_MERCURE_SUBSCRIPTIONS: "true",
};

let watchAll: Record<string, string>;
let writer: Record<string, string>;
beforeAll(async () => {
  watchAll = { authorization: `Bearer ${await sign({ mercure: { subscribe: [`${SUBSCRIPTIONS}*`] } })}` };
  writer = { authorization: `Bearer ${await sign({ herald: { publish: ["*"] } })}` };
});

interface Placed {
  readonly reader: SseReader;
  /** A topic no other stream reads: those opened on the way to this worker had topics of their own. */
  readonly topic: string;
}

/** A native stream on a topic of its own, on worker `worker` of `h`. */
async function streamOn(h: Herald, worker: number): Promise<Placed> {
  let topic = "";
  const reader = await openOn(worker, async () => {
    topic = `pw${unique()}`;
    const r = await SseReader.open(streamUrl(h.url, [topic]));
    await r.until((x) => x.retry !== undefined);
    return r;
  });
  return { reader, topic };
}

/** A Mercure subscription on a topic of its own, on worker `worker` of `h`. */
async function mercureOn(h: Herald, worker: number, headers: Record<string, string> = {}): Promise<Placed> {
  let topic = "";
  const reader = await openOn(worker, () => {
    topic = `https://example.com/pw/${unique()}`;
    return subscribe(h, [["match", topic]], headers);
  });
  return { reader, topic };
}

/** A watcher of every subscription event, on worker `worker`. */
const watcherOn = (h: Herald, worker: number) => openOn(worker, () => subscribe(h, [["match", "*"]], watchAll));

/** The subscription events `r` got about `topic`. */
function about(r: SseReader, topic: string): Array<{ active: boolean; subscriber: string }> {
  return r.events
    .filter((e) => e.event === "mercure")
    .map((e) => JSON.parse(e.data) as { match: string; active: boolean; subscriber: string })
    .filter((d) => d.match === topic);
}

/** /subscriptions for `topic` as each worker answers it: the ids listed, by worker. */
async function listedOnEvery(h: Herald, topic: string): Promise<Map<number, string[]>> {
  const answers = await fromEvery(`${h.url}/subscriptions?topic=${encodeURIComponent(topic)}`, 2);
  const out = new Map<number, string[]>();
  for (const [worker, res] of answers) {
    expect(res.status).toBe(200);
    out.set(
      worker,
      ((await res.json()) as { subscriptions: Array<{ id: string }> }).subscriptions.map((s) => s.id),
    );
  }
  return out;
}

/** Mercure's subscriptions API for `topic` as each worker answers it: the subscriptions listed, by worker. */
async function apiOnEvery(h: Herald, topic: string): Promise<Map<number, Array<{ match: string; active: boolean }>>> {
  const answers = await fromEvery(`${h.url}${SUBSCRIPTIONS}/exact/${encodeURIComponent(topic)}`, 2, { headers: watchAll });
  const out = new Map<number, Array<{ match: string; active: boolean }>>();
  for (const [worker, res] of answers) {
    expect(res.status).toBe(200);
    out.set(worker, ((await res.json()) as { subscriptions: Array<{ match: string; active: boolean }> }).subscriptions);
  }
  return out;
}

function gauge(text: string, name: string): number {
  return Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1]);
}

describe("two workers", () => {
  let hub: Herald;
  beforeAll(async () => {
    hub = await startHerald({ env: ENV });
  });
  afterAll(() => dispose(hub));

  test("a stream on either worker is listed and counted by both, as soon as its first bytes are out", async () => {
    const placed = [await streamOn(hub, 1), await streamOn(hub, 2)];
    for (const [i, { topic, reader }] of placed.entries()) {
      expect(workerOf(reader.response)).toBe(i + 1);
      expect((await fetch(`${hub.url}/topics/${topic}/events`, { method: "POST", body: "x", headers: writer })).status).toBe(201);
      const listed = await listedOnEvery(hub, topic);
      // The worker that does not hold the stream lists it too, without waiting: the same one id on both.
      expect(listed.get(1)?.length).toBe(1);
      expect(listed.get(2)).toEqual(listed.get(1) as string[]);
      for (const [worker, res] of await fromEvery(`${hub.url}/topics?topic=${topic}`, 2)) {
        const { topics } = (await res.json()) as { topics: Array<{ subscribers: number }> };
        expect(topics[0]?.subscribers, `worker ${worker}`).toBe(1);
      }
    }
    // /metrics is the whole hub's: both streams, once each (those closed on the way to a worker leave soon).
    await eventually(async () => gauge(await (await fetch(`${hub.url}/metrics`)).text(), "herald_presence_subscriptions") === 2);
    const [first, second] = placed as [Placed, Placed];
    first.reader.close();
    await eventually(async () => (await listedOnEvery(hub, first.topic)).get(2)?.length === 0, 2000);
    expect((await listedOnEvery(hub, second.topic)).get(1)?.length).toBe(1);
    second.reader.close();
    await eventually(async () => gauge(await (await fetch(`${hub.url}/metrics`)).text(), "herald_presence_subscriptions") === 0);
  });

  test("Mercure: a watcher on each worker hears of subscriptions opening and closing on both; the API on both lists them", async () => {
    const watchers = [await watcherOn(hub, 1), await watcherOn(hub, 2)];
    const watched = [await mercureOn(hub, 1), await mercureOn(hub, 2)];
    try {
      for (const { topic } of watched) {
        for (const w of watchers) await w.until((r) => about(r, topic).length === 1);
        for (const [worker, listed] of await apiOnEvery(hub, topic)) {
          expect(listed, `worker ${worker}`).toEqual([expect.objectContaining({ match: topic, active: true })]);
        }
      }
      for (const { reader, topic } of watched) {
        reader.close();
        for (const w of watchers) await w.until((r) => about(r, topic).length === 2);
        for (const w of watchers) expect(about(w, topic).map((d) => d.active)).toEqual([true, false]);
      }
      // The same subscriber id on both workers' events.
      for (const { topic } of watched) {
        expect(new Set(watchers.map((w) => about(w, topic)[0]?.subscriber)).size).toBe(1);
      }
    } finally {
      for (const r of [...watchers, ...watched.map((p) => p.reader)]) r.close();
    }
  });
});

describe("a worker that dies", () => {
  test("its streams close on the other worker at once, told to its watchers; the replacement lists the survivors'", async () => {
    const h = await startHerald({ env: ENV });
    try {
      const watchers = [await watcherOn(h, 1), await watcherOn(h, 2)];
      const streams = [await mercureOn(h, 1), await mercureOn(h, 2)];
      for (const { topic } of streams) for (const w of watchers) await w.until((r) => about(r, topic).length === 1);
      h.proc.kill("SIGUSR2");
      await eventually(() => h.lines.some((l) => l.includes('"msg":"SIGUSR2: ending a worker as a crash would"')));
      const killed = Number(/"msg":"SIGUSR2: ending a worker as a crash would","worker":(\d)/.exec(h.lines.join("\n"))?.[1]);
      const survivor = killed === 1 ? 2 : 1;
      const [lost, kept] = [streams[killed - 1] as Placed, streams[survivor - 1] as Placed];
      const watcher = watchers[survivor - 1] as SseReader;
      // Announced closed on the surviving worker by the main thread, not by the dead one.
      await watcher.until((r) => about(r, lost.topic).length === 2, 2000);
      expect(about(watcher, lost.topic)[1]?.active).toBe(false);
      expect(about(watcher, kept.topic).map((d) => d.active)).toEqual([true]);
      await eventually(() => h.lines.some((l) => l.includes('"msg":"worker replaced"')));
      for (const [worker, listed] of await apiOnEvery(h, lost.topic)) expect(listed, `worker ${worker}`).toEqual([]);
      for (const [worker, listed] of await apiOnEvery(h, kept.topic)) expect(listed.length, `worker ${worker}`).toBe(1);
    } finally {
      await dispose(h);
    }
  }, 30_000);
});

describe.skipIf(!hasRedis())("cluster mode, two nodes of two workers", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(2, ENV);
  });
  afterAll(() => cluster.stop());

  test("the streams of every worker of one node are listed by every worker of the other; a worker's death leaves them at once", async () => {
    const [a, b] = cluster.nodes as [Herald, Herald];
    const streams = [await streamOn(a, 1), await streamOn(a, 2)];
    for (const { topic } of streams) {
      await eventually(async () => [...(await listedOnEvery(b, topic)).values()].every((ids) => ids.length === 1), 2000);
    }
    a.proc.kill("SIGUSR2");
    await eventually(() => a.lines.some((l) => l.includes('"msg":"SIGUSR2: ending a worker as a crash would"')));
    const killed = Number(/"msg":"SIGUSR2: ending a worker as a crash would","worker":(\d)/.exec(a.lines.join("\n"))?.[1]);
    const [lost, kept] = [streams[killed - 1] as Placed, streams[2 - killed] as Placed];
    // Well within the 30 s a dead node's streams may stay: the node is alive, and its main thread says so.
    await eventually(async () => [...(await listedOnEvery(b, lost.topic)).values()].every((ids) => ids.length === 0), 3000);
    expect([...(await listedOnEvery(b, kept.topic)).values()].map((ids) => ids.length)).toEqual([1, 1]);
    kept.reader.close();
    await eventually(async () => [...(await listedOnEvery(b, kept.topic)).values()].every((ids) => ids.length === 0), 2000);
  }, 30_000);
});
