/**
 * Herald's other rules on the Mercure endpoint: streams per client counted with /stream's, the slow-consumer cut,
 * CORS, and the replay→live seam while Mercure publishers run at full speed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BoundStream, streamFrom } from "./support/bound-stream";
import { dispose, type Herald, publishBatch, startHerald } from "./support/herald";
import { hubUrl, subscribe } from "./support/mercure";
import { rawStream, type SseReader } from "./support/sse";
import { eventually } from "./support/wait";

const BUDGET = 256 * 1024;
const APP = "https://app.example";
let limited: Herald;
let herald: Herald;

beforeAll(async () => {
  [limited, herald] = await Promise.all([
    startHerald({ env: { HERALD_MAX_STREAMS_PER_CLIENT: "2", HERALD_CORS_ORIGINS: APP } }),
    startHerald({ env: { HERALD_SUBSCRIBER_BUFFER_BYTES: String(BUDGET) } }),
  ]);
});
afterAll(async () => {
  await dispose(limited);
  await dispose(herald);
});

const hubPath = (params: Array<[string, string]>) => `/.well-known/mercure?${new URLSearchParams(params)}`;

/** A Mercure publish in open mode; resolves with the id the hub answered. */
async function mercurePublish(h: Herald, topic: string, data: string): Promise<string> {
  const res = await fetch(`${h.url}/.well-known/mercure`, { method: "POST", body: new URLSearchParams({ topic, data }) });
  expect(res.status).toBe(200);
  return res.text();
}

describe("on the Mercure endpoint", () => {
  test("streams per client count Mercure streams and /stream together: past the limit, 429 before any stream byte", async () => {
    const from = "127.0.0.7";
    const open: BoundStream[] = [
      await streamFrom(limited.port, from, "/stream?topic=limits"),
      await streamFrom(limited.port, from, hubPath([["match", "limits"]])),
    ];
    try {
      expect(open.map((s) => s.status)).toEqual([200, 200]);
      const refused = await streamFrom(limited.port, from, hubPath([["topic", "limits"]]));
      expect(refused.status).toBe(429);
      expect(refused.text).toMatch(/\r\nretry-after: \d+\r\n/i);
      expect(refused.text).toContain('"code":"too_many_streams"');
      expect(refused.text).not.toContain("text/event-stream");
      // Another address is another client.
      const other = await streamFrom(limited.port, "127.0.0.8", hubPath([["match", "limits"]]));
      expect(other.status).toBe(200);
      other.close();
    } finally {
      for (const s of open) s.close();
    }
  });

  test("in open mode no one may read a private update: /topics counts none, and leaves out a topic of nothing else", async () => {
    const send = (topic: string, extra: Record<string, string>) =>
      fetch(`${herald.url}/.well-known/mercure`, { method: "POST", body: new URLSearchParams({ topic, data: "x", ...extra }) });
    const listed = async () => {
      const res = await fetch(`${herald.url}/topics?topic=open.private.*`);
      return ((await res.json()) as { topics: Array<{ topic: string; events: number }> }).topics.map((t) => [t.topic, t.events]);
    };
    expect((await send("open.private.a", { private: "on" })).status).toBe(200);
    expect(await listed()).toEqual([]);
    expect((await send("open.private.a", {})).status).toBe(200);
    expect(await listed()).toEqual([["open.private.a", 1]]);
  });

  test("CORS: a preflight for a Mercure publish, and a stream's headers, for allowed origins only", async () => {
    const preflight = await fetch(`${limited.url}/.well-known/mercure`, {
      method: "OPTIONS",
      headers: { origin: APP, "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(APP);
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    const allowed = await fetch(hubUrl(limited, [["match", "cors"]]), { headers: { origin: APP } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe(APP);
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    await allowed.body?.cancel();
    const stranger = await fetch(hubUrl(limited, [["match", "cors"]]), { headers: { origin: "https://evil.example" } });
    expect(stranger.headers.get("access-control-allow-origin")).toBeNull();
    await stranger.body?.cancel();
  });

  test("a Mercure reader that stops reading is cut at its budget; another keeps receiving everything", async () => {
    const subscribers = async () => ((await (await fetch(`${herald.url}/health`)).json()) as { subscribers: number }).subscribers;
    const stalled = await rawStream(herald.port, hubPath([["match", "firehose"]]), (_, s) => s.pause());
    const reader = await subscribe(herald, [["match", "firehose"]]);
    await eventually(async () => (await subscribers()) === 2);
    // 6 MB: far past the budget and what the kernel's socket buffers hold for a reader that takes nothing.
    const EVENTS = 1500;
    const payload = "x".repeat(4000);
    for (let i = 0; i < EVENTS; i += 50) {
      await publishBatch(
        herald.url,
        Array.from({ length: 50 }, (_, k) => ({ topic: "firehose", data: { i: i + k, payload } })),
      );
    }
    await eventually(() => herald.lines.some((l) => l.includes("slow subscriber dropped")));
    await eventually(async () => (await subscribers()) === 1);
    await reader.count(EVENTS, 20_000);
    expect(reader.ended).toBe(false);
    stalled.end();
    reader.close();
  }, 60_000);

  test("20 Mercure subscribers resuming from random urn:herald ids while Mercure and native publishers run: every id after theirs, once, in order", async () => {
    const lastId = async () =>
      Number(((await (await fetch(`${herald.url}/health`)).json()) as { lastEventId: string }).lastEventId);
    // Every id past `base` is this test's.
    const base = await lastId();
    for (let b = 0; b < 10; b++) {
      await publishBatch(
        herald.url,
        Array.from({ length: 500 }, (_, i) => ({ topic: "seam.m", data: `seed ${b}.${i}` })),
      );
    }
    const published: string[] = [];
    const publishers = Array.from({ length: 4 }, async (_, n) => {
      for (let i = 0; i < 300; i += 10) {
        const ids = await Promise.all(
          Array.from({ length: 10 }, (_, k) =>
            n % 2 === 0
              ? mercurePublish(herald, "seam.m", `${n}:${i + k}`)
              : fetch(`${herald.url}/topics/seam.m/events`, { method: "POST", body: `${n}:${i + k}` })
                  .then((r) => r.json() as Promise<{ id: string }>)
                  .then((r) => `urn:herald:${r.id}`),
          ),
        );
        published.push(...ids);
      }
    });
    const readers: Array<{ reader: SseReader; from: number }> = [];
    for (let s = 0; s < 20; s++) {
      await Bun.sleep(Math.random() * 40);
      const from = base + 1 + Math.floor(Math.random() * ((await lastId()) - base));
      const reader = await subscribe(herald, [["match", "seam.m"]], { "Last-Event-ID": `urn:herald:${from}` });
      expect(reader.response.headers.get("mercure-last-event-id")).toBe(`urn:herald:${from}`);
      readers.push({ reader, from });
    }
    await Promise.all(publishers);
    const last = Math.max(...published.map((id) => Number(id.slice("urn:herald:".length))));
    for (const { reader, from } of readers) {
      await eventually(() => reader.events.at(-1)?.id === `urn:herald:${last}`, 15_000);
      expect(reader.events.map((e) => e.id)).toEqual(Array.from({ length: last - from }, (_, i) => `urn:herald:${from + 1 + i}`));
      reader.close();
    }
  }, 60_000);
});
