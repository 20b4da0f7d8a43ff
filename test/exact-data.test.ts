/** Data comes back exactly as published (up to insignificant whitespace): history, streams, envelopes, retries. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dispose, type Herald, startHerald } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";

let herald: Herald;
/** The default HERALD_MAX_EVENT_BYTES. */
const MAX = 1024 * 1024;
beforeAll(async () => {
  herald = await startHerald();
});
afterAll(() => dispose(herald));

const JSON_TYPE = { "content-type": "application/json" };

async function publishText(topic: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${herald.url}/topics/${topic}/events`, { method: "POST", headers: { ...JSON_TYPE, ...headers }, body });
}

/** The raw text of `/events` for a topic: compared as text, since parsing it would round the numbers under test. */
async function historyText(topic: string): Promise<string> {
  const res = await fetch(`${herald.url}/events?topic=${topic}`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The data lines of every event on a topic, plain and in envelopes, read from the start of the log. */
async function streamed(topic: string, count: number): Promise<{ plain: string[]; envelope: string[] }> {
  const plain = await SseReader.open(streamUrl(herald.url, [topic], { lastEventId: "0" }));
  const envelope = await SseReader.open(streamUrl(herald.url, [topic], { lastEventId: "0", envelope: "true" }));
  try {
    await Promise.all([plain.count(count), envelope.count(count)]);
    return { plain: plain.events.map((e) => e.data), envelope: envelope.events.map((e) => e.data) };
  } finally {
    plain.close();
    envelope.close();
  }
}

describe("numbers keep every digit", () => {
  const data = '{"orderId":9007199254740993,"big":1e400,"tiny":1e-400,"precise":0.10000000000000000555,"neg":-0}';

  test("through /events, /stream and /stream?envelope=true", async () => {
    expect((await publishText("exact.numbers", `{"data":${data}}`)).status).toBe(201);
    expect(await historyText("exact.numbers")).toContain(`"data":${data},"time"`);
    const { plain, envelope } = await streamed("exact.numbers", 1);
    expect(plain).toEqual([data]);
    expect(envelope[0]).toContain(`"data":${data},"time"`);
  });

  test("an idempotent retry of the same text gets the original answer; a number that differs only past double precision is a different body", async () => {
    const key = { "idempotency-key": "exact-1" };
    const first = await publishText("exact.retry", `{"data":${data}}`, key);
    expect(first.status).toBe(201);
    const again = await publishText("exact.retry", `{"data":${data}}`, key);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    const rounded = await publishText("exact.retry", `{"data":${data.replace("993", "992")}}`, key);
    expect(rounded.status).toBe(422);
    expect(await historyText("exact.retry")).toContain(`"data":${data},"time"`);
  });
});

describe("the publisher's text, minified", () => {
  test("whitespace between tokens goes, whitespace and escapes inside strings stay", async () => {
    const body = '{ "data" :\n\t{ "a" : [ 1 , 2.50 , "x  y" ] ,\r\n "e" : "\\u00e9\\/" } , "event" : "spaced" }';
    const stored = '{"a":[1,2.50,"x  y"],"e":"\\u00e9\\/"}';
    expect((await publishText("exact.spaces", body)).status).toBe(201);
    expect(await historyText("exact.spaces")).toContain(`"event":"spaced","data":${stored},"time"`);
    const { plain } = await streamed("exact.spaces", 1);
    expect(plain).toEqual([stored]);
  });

  test("string data goes out on SSE as its lines, escapes decoded: CR LF, U+2028, surrogate pairs, quotes", async () => {
    const written = '"one\\r\\ntwo\\u2028still two \\ud83d\\ude00 \\"q\\"\\nthree"';
    expect((await publishText("exact.lines", `{"data":${written}}`)).status).toBe(201);
    expect(await historyText("exact.lines")).toContain(`"data":${written},"time"`);
    const { plain, envelope } = await streamed("exact.lines", 1);
    expect(plain).toEqual(['one\ntwo\u2028still two 😀 "q"\nthree']);
    expect(envelope[0]).toContain(`"data":${written},"time"`);
  });

  test("the per-event limit is measured on the compact JSON, not on the spacing around it", async () => {
    const value = JSON.stringify({ s: "x".repeat(MAX - 100) });
    const spaced = `{"data": ${value.replace(":", `${" ".repeat(MAX)}:\n\t`)}}`;
    expect(Buffer.byteLength(spaced)).toBeGreaterThan(MAX);
    expect((await publishText("exact.size", spaced)).status).toBe(201);
    const over = `{"data":${JSON.stringify({ s: "x".repeat(MAX) })}}`;
    expect((await publishText("exact.size", over)).status).toBe(413);
  });
});

describe("deep nesting is bounded only by the size limit", () => {
  const levels = 100_000;
  const arrays = `${"[".repeat(levels)}${"]".repeat(levels)}`;
  const objects = `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

  test("100,000 levels of arrays (a 200 KB body): accepted and read back exactly", async () => {
    expect((await publishText("exact.deep", `{"data":${arrays}}`)).status).toBe(201);
    expect(await historyText("exact.deep")).toContain(`"data":${arrays},"time"`);
    const { plain } = await streamed("exact.deep", 1);
    expect(plain[0]).toBe(arrays);
  });

  test("100,000 levels of objects (600 KB) with an Idempotency-Key (compared as JSON values) and in a batch", async () => {
    const key = { "idempotency-key": "deep-1" };
    const first = await publishText("exact.deep2", `{"data":${objects}}`, key);
    expect(first.status).toBe(201);
    const again = await publishText("exact.deep2", `{"data":${objects}}`, key);
    expect(again.status).toBe(200);
    const batch = await fetch(`${herald.url}/events`, {
      method: "POST",
      headers: JSON_TYPE,
      body: `{"events":[{"topic":"exact.deep2","data":${arrays}}]}`,
    });
    expect(batch.status).toBe(201);
    const text = await historyText("exact.deep2");
    expect(text).toContain(`"data":${objects},"time"`);
    expect(text).toContain(`"data":${arrays},"time"`);
    expect((await fetch(`${herald.url}/health`)).status).toBe(200);
  });
});

describe("what JSON cannot carry is refused, not altered", () => {
  const cases: Array<[string, string]> = [
    ["a raw line break inside a string (it would split the SSE data line)", '{"data":"a\nb"}'],
    ["a lone surrogate escape (I-JSON; no UTF-8 form)", '{"data":"\\ud800"}'],
    ["a low surrogate first", '{"data":"\\udc00\\ud800"}'],
    ["a number with a leading zero", '{"data":01}'],
    ["NaN", '{"data":NaN}'],
    ["a trailing comma", '{"data":[1,]}'],
    ["text after the value", '{"data":1} {}'],
  ];
  for (const [name, body] of cases) {
    test(name, async () => {
      const res = await publishText("exact.bad", body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
    });
  }
  test("nothing was written", async () => {
    expect(await historyText("exact.bad")).toBe('{"events":[],"next":null}');
  });
});
