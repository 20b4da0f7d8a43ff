import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EventSource } from "eventsource";
import { dispose, type Herald, publish, startHerald } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

let herald: Herald;

beforeAll(async () => {
  herald = await startHerald({ env: { HERALD_RETRY_MS: "1500", HERALD_MAX_SUBSCRIBERS: "40" } });
});
afterAll(() => dispose(herald));

async function subscribers(): Promise<number> {
  return ((await (await fetch(`${herald.url}/health`)).json()) as { subscribers: number }).subscribers;
}

describe("GET /stream", () => {
  test("headers, then retry and a comment at once, before any event exists", async () => {
    const r = await SseReader.open(streamUrl(herald.url, ["empty.topic"]));
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("content-type")).toBe("text/event-stream");
    expect(r.response.headers.get("cache-control")).toBe("no-cache");
    expect(r.response.headers.get("x-accel-buffering")).toBe("no");
    await r.until((x) => x.retry !== undefined && x.comments.length > 0, 1000);
    expect(r.retry).toBe(1500);
    expect(r.raw.startsWith("retry: 1500\n:")).toBe(true);
    r.close();
  });

  test("live events: exact selector, id and event lines, multi-line data split on CR, LF and CRLF", async () => {
    const r = await SseReader.open(streamUrl(herald.url, ["wire"]));
    await r.until((x) => x.retry !== undefined);
    const { id } = await publish(herald.url, "wire", "one\ntwo\r\nthree\rfour", "created");
    await publish(herald.url, "other", "not for us");
    const { id: id2 } = await publish(herald.url, "wire", { json: [1, 2] });
    await r.count(2);
    expect(r.raw).toContain(`id: ${id}\nevent: created\ndata: one\ndata: two\ndata: three\ndata: four\n\n`);
    expect(r.raw).toContain(`id: ${id2}\ndata: {"json":[1,2]}\n\n`);
    expect(r.raw).not.toContain("not for us");
    r.close();
  });

  test("prefix selectors and overlapping selectors deliver each event once, in id order", async () => {
    const r = await SseReader.open(streamUrl(herald.url, ["shop.*", "shop.eu.*", "shop.eu.orders"]));
    await r.until((x) => x.retry !== undefined);
    const ids = [];
    for (const topic of ["shop.eu.orders", "shopping", "shop.us", "shop.eu.orders", "shop"])
      ids.push((await publish(herald.url, topic, topic)).id);
    await r.count(3);
    await Bun.sleep(100);
    expect(r.events.map((e) => e.id)).toEqual([ids[0], ids[2], ids[3]]);
    r.close();
  });

  test("envelope=true names each event's topic", async () => {
    const r = await SseReader.open(streamUrl(herald.url, ["env.*"], { envelope: "true" }));
    await r.until((x) => x.retry !== undefined);
    const { id } = await publish(herald.url, "env.a", "line1\nline2", "kind");
    await r.count(1);
    const env = JSON.parse(r.events[0]?.data ?? "") as Record<string, unknown>;
    expect(env).toMatchObject({ id, topic: "env.a", event: "kind", data: "line1\nline2" });
    expect(typeof env.time).toBe("string");
    r.close();
  });

  test("unicode and emoji round-trip through a real EventSource", async () => {
    const topic = "unicode";
    const values = ["héllo wörld", "😀🎉 emoji\nsecond line", "中文 العربية", "  leading spaces", ""];
    const es = new EventSource(streamUrl(herald.url, [topic]));
    const got: string[] = [];
    const opened = new Promise((resolve) => (es.onopen = resolve));
    es.onmessage = (m) => got.push(m.data);
    await opened;
    for (const v of values) await publish(herald.url, topic, v);
    await eventually(async () => got.length === values.length);
    expect(got).toEqual(values);
    es.close();
  });

  test("resume: publish 10, reconnect from the 8th, publish one more: exactly 9, 10, 11", async () => {
    const topic = "resume.ten";
    const ids: string[] = [];
    for (let i = 1; i <= 10; i++) ids.push((await publish(herald.url, topic, i)).id);
    const r = await SseReader.open(streamUrl(herald.url, [topic]), { "Last-Event-ID": ids[7] as string });
    await r.count(2);
    const { id: eleventh } = await publish(herald.url, topic, 11);
    await r.count(3);
    await Bun.sleep(100);
    expect(r.events.map((e) => e.data)).toEqual(["9", "10", "11"]);
    expect(r.events.map((e) => e.id)).toEqual([ids[8], ids[9], eleventh]);
    r.close();
  });

  test("lastEventId query parameter works; the header wins over it", async () => {
    const topic = "resume.query";
    const ids: string[] = [];
    for (let i = 1; i <= 3; i++) ids.push((await publish(herald.url, topic, i)).id);
    const q = await SseReader.open(streamUrl(herald.url, [topic], { lastEventId: ids[0] as string }));
    await q.count(2);
    expect(q.events.map((e) => e.data)).toEqual(["2", "3"]);
    q.close();
    const h = await SseReader.open(streamUrl(herald.url, [topic], { lastEventId: ids[0] as string }), {
      "Last-Event-ID": ids[1] as string,
    });
    await h.count(1);
    await Bun.sleep(100);
    expect(h.events.map((e) => e.data)).toEqual(["3"]);
    h.close();
  });

  test("Last-Event-ID 0 replays everything retained, with no gap notice", async () => {
    const r = await SseReader.open(streamUrl(herald.url, ["resume.ten"]), { "Last-Event-ID": "0" });
    await r.count(10);
    expect(r.events[0]?.data).toBe("1");
    expect(r.events.some((e) => e.event === "herald.gap")).toBe(false);
    r.close();
  });

  test("a Last-Event-ID beyond the newest id gets a herald.gap notice with prunedThrough null, then live events", async () => {
    const r = await SseReader.open(streamUrl(herald.url, ["beyond"]), { "Last-Event-ID": "999999999" });
    await r.count(1);
    expect(r.events[0]).toEqual({ event: "herald.gap", data: JSON.stringify({ lastEventId: "999999999", prunedThrough: null }) });
    expect(r.raw).not.toContain("id: 999999999");
    const { id } = await publish(herald.url, "beyond", "after");
    await r.count(2);
    expect(r.events[1]).toEqual({ id, data: "after" });
    r.close();
  });

  test("ids past 2^53 are told back exactly as given, from the header and from the query", async () => {
    for (const id of ["9007199254740992", "9007199254740993", "9223372036854775807"]) {
      const fromHeader = await SseReader.open(streamUrl(herald.url, ["huge"]), { "Last-Event-ID": id });
      const fromQuery = await SseReader.open(streamUrl(herald.url, ["huge"], { lastEventId: id }));
      for (const r of [fromHeader, fromQuery]) {
        await r.count(1);
        expect(r.events[0]).toEqual({ event: "herald.gap", data: JSON.stringify({ lastEventId: id, prunedThrough: null }) });
        r.close();
      }
    }
  });

  test("HEAD answers a stream's headers at once and opens no stream; a bad HEAD is refused as a GET would be", async () => {
    const res = await fetch(streamUrl(herald.url, ["head"]), { method: "HEAD", signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const bad = await fetch(streamUrl(herald.url, ["bad topic"]), { method: "HEAD", signal: AbortSignal.timeout(5000) });
    expect(bad.status).toBe(400);
    const health = (await (await fetch(`${herald.url}/health`)).json()) as { subscribers: number };
    expect(health.subscribers).toBe(0);
  });

  test("bad requests are refused before any stream byte", async () => {
    const cases: Array<[string, Record<string, string>, string]> = [
      [`${herald.url}/stream`, {}, "invalid_selector"],
      [streamUrl(herald.url, ["bad topic"]), {}, "invalid_selector"],
      [streamUrl(herald.url, ["a**"]), {}, "invalid_selector"],
      [streamUrl(herald.url, ["a"]), { "Last-Event-ID": "abc" }, "invalid_event_id"],
      [streamUrl(herald.url, ["a"]), { "Last-Event-ID": "-1" }, "invalid_event_id"],
      [streamUrl(herald.url, ["a"]), { "Last-Event-ID": "99999999999999999999" }, "invalid_event_id"],
      [streamUrl(herald.url, ["a"], { lastEventId: "1.5" }), {}, "invalid_event_id"],
      [
        streamUrl(
          herald.url,
          Array.from({ length: 51 }, (_, i) => `t${i}`),
        ),
        {},
        "invalid_selector",
      ],
    ];
    for (const [url, headers, code] of cases) {
      const res = await fetch(url, { headers });
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    expect((await fetch(`${herald.url}/health`)).status).toBe(200);
  });

  test("a client that closes is forgotten within 1 s", async () => {
    await eventually(async () => (await subscribers()) === 0);
    const readers = await Promise.all(Array.from({ length: 5 }, () => SseReader.open(streamUrl(herald.url, ["gone"]))));
    await eventually(async () => (await subscribers()) === 5);
    for (const r of readers) r.close();
    const closedAt = Date.now();
    await eventually(async () => (await subscribers()) === 0, 1000);
    expect(Date.now() - closedAt).toBeLessThan(1000);
  });

  test("past HERALD_MAX_SUBSCRIBERS: 503 with Retry-After, and the slot frees on close", async () => {
    await eventually(async () => (await subscribers()) === 0);
    const readers = await Promise.all(Array.from({ length: 40 }, () => SseReader.open(streamUrl(herald.url, ["full"]))));
    const res = await fetch(streamUrl(herald.url, ["full"]));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("too_many_subscribers");
    // HEAD answers what GET would, and takes no slot.
    const head = await fetch(streamUrl(herald.url, ["full"]), { method: "HEAD" });
    expect(head.status).toBe(503);
    expect(head.headers.get("retry-after")).toMatch(/^\d+$/);
    readers[0]?.close();
    await eventually(async () => (await subscribers()) === 39);
    expect((await fetch(streamUrl(herald.url, ["full"]), { method: "HEAD" })).status).toBe(200);
    expect((await fetch(streamUrl(herald.url, ["full"]), { method: "HEAD" })).status).toBe(200);
    const again = await SseReader.open(streamUrl(herald.url, ["full"]));
    expect(again.response.status).toBe(200);
    again.close();
    for (const r of readers) r.close();
  });
});
