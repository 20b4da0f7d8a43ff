import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dispose, type Herald, startHerald } from "./support/herald";

let herald: Herald;
const MAX = 4096;

beforeAll(async () => {
  herald = await startHerald({ env: { HERALD_MAX_EVENT_BYTES: String(MAX) } });
});
afterAll(() => dispose(herald));

async function history(topic = "*"): Promise<Array<{ id: string; topic: string; event: string | null; data: unknown }>> {
  const res = await fetch(`${herald.url}/events?topic=${encodeURIComponent(topic)}&limit=1000`);
  return ((await res.json()) as { events: Array<{ id: string; topic: string; event: string | null; data: unknown }> }).events;
}

function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${herald.url}${path}`, { method: "POST", body, headers });
}

describe("POST /topics/{topic}/events", () => {
  test("JSON body: 201 after commit, with id, topic, event and time", async () => {
    const res = await post("/topics/orders.eu.created/events", JSON.stringify({ data: { n: 1 }, event: "created" }), {
      "content-type": "application/json; charset=utf-8",
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({ topic: "orders.eu.created", event: "created" });
    expect(body.id).toMatch(/^\d+$/);
    expect(new Date(body.time as string).toISOString()).toBe(body.time as string);
    const [stored] = await history("orders.eu.created");
    expect(stored).toMatchObject({ id: body.id, data: { n: 1 }, event: "created" });
  });

  test("curl's default form type: the whole body is the data string", async () => {
    const proc = Bun.spawnSync(["curl", "-s", "-d", "Hey!", `${herald.url}/topics/news/events`]);
    const body = JSON.parse(proc.stdout.toString()) as { id: string; event: null };
    expect(body.event).toBeNull();
    const stored = (await history("news")).find((e) => e.id === body.id);
    expect(stored?.data).toBe("Hey!");
  });

  test("text body takes its type from ?event=", async () => {
    const res = await post("/topics/news/events?event=note", "line 1\nline 2", { "content-type": "text/plain" });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { event: string }).event).toBe("note");
  });

  test("null, numbers, arrays, unicode and emoji are stored exactly", async () => {
    const values = [null, 0, -1.5, true, [1, "two", { three: 3 }], "", "héllo wörld ✓ 😀 \u2028 \u0000", { "🔑": "值" }];
    const ids: string[] = [];
    for (const data of values) {
      const res = await post("/topics/values/events", JSON.stringify({ data }), { "content-type": "application/json" });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const stored = await history("values");
    expect(stored.map((e) => e.data)).toEqual(values);
    expect(stored.map((e) => e.id)).toEqual(ids);
  });

  test("ids are strictly increasing across topics", async () => {
    const ids: number[] = [];
    for (const topic of ["a", "b", "a", "c"]) {
      const res = await post(`/topics/${topic}/events`, "x");
      ids.push(Number(((await res.json()) as { id: string }).id));
    }
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    expect(new Set(ids).size).toBe(4);
  });
});

describe("POST /events (batch)", () => {
  test("201 with ids increasing in request order", async () => {
    const events = [
      { topic: "b1", data: 1 },
      { topic: "b2", data: "two", event: "second" },
      { topic: "b1", data: null },
    ];
    const res = await post("/events", JSON.stringify({ events }), { "content-type": "application/json" });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { events: Array<{ id: string; topic: string; event: string | null }> };
    expect(body.events.map((e) => e.topic)).toEqual(["b1", "b2", "b1"]);
    expect(body.events.map((e) => e.event)).toEqual([null, "second", null]);
    const ids = body.events.map((e) => Number(e.id));
    expect(ids[1]).toBe((ids[0] as number) + 1);
    expect(ids[2]).toBe((ids[0] as number) + 2);
  });

  test("1000 items are accepted", async () => {
    const events = Array.from({ length: 1000 }, (_, i) => ({ topic: "big", data: i }));
    const res = await post("/events", JSON.stringify({ events }), { "content-type": "application/json" });
    expect(res.status).toBe(201);
    expect((await history("big")).length).toBe(1000);
  });
});

describe("bad input: the right status and code, nothing written, server healthy", () => {
  const big = "x".repeat(MAX + 1);
  const json = { "content-type": "application/json" };
  const cases: Array<[string, string, string, Record<string, string>, number, string]> = [
    ["invalid topic", "/topics/bad%20topic/events", "x", {}, 400, "invalid_topic"],
    ["topic starting with a dot", "/topics/.hidden/events", "x", {}, 400, "invalid_topic"],
    ["topic too long", `/topics/${"t".repeat(201)}/events`, "x", {}, 400, "invalid_topic"],
    ["malformed JSON", "/topics/t/events", "{bad", json, 400, "invalid_json"],
    ["empty JSON body", "/topics/t/events", "", json, 400, "invalid_json"],
    ["missing data", "/topics/t/events", '{"event":"x"}', json, 400, "invalid_request"],
    ["JSON that is not an object", "/topics/t/events", '"just a string"', json, 400, "invalid_request"],
    ["unknown property", "/topics/t/events", '{"data":1,"evnt":"x"}', json, 400, "invalid_request"],
    ["invalid event type", "/topics/t/events", '{"data":1,"event":"a b"}', json, 400, "invalid_event_type"],
    ["event type with a line break", "/topics/t/events", '{"data":1,"event":"a\\nb"}', json, 400, "invalid_event_type"],
    [
      "event type too long",
      "/topics/t/events",
      JSON.stringify({ data: 1, event: "e".repeat(65) }),
      json,
      400,
      "invalid_event_type",
    ],
    ["reserved event type", "/topics/t/events", '{"data":1,"event":"herald.gap"}', json, 400, "reserved_event_type"],
    ["reserved type in ?event=", "/topics/t/events?event=herald.x", "x", {}, 400, "reserved_event_type"],
    ["CR/LF in ?event=", "/topics/t/events?event=a%0D%0Ab", "x", {}, 400, "invalid_event_type"],
    ["text data too large", "/topics/t/events", big, { "content-type": "text/plain" }, 413, "payload_too_large"],
    ["JSON data too large", "/topics/t/events", JSON.stringify({ data: big }), json, 413, "payload_too_large"],
    ["batch: empty", "/events", '{"events":[]}', json, 400, "invalid_request"],
    [
      "batch: 1001 items",
      "/events",
      JSON.stringify({ events: Array.from({ length: 1001 }, () => ({ topic: "t", data: 1 })) }),
      json,
      400,
      "invalid_request",
    ],
    [
      "batch: one bad topic",
      "/events",
      JSON.stringify({
        events: [
          { topic: "ok", data: 1 },
          { topic: "no way", data: 2 },
        ],
      }),
      json,
      400,
      "invalid_topic",
    ],
    [
      "batch: one missing data",
      "/events",
      JSON.stringify({ events: [{ topic: "ok", data: 1 }, { topic: "ok" }] }),
      json,
      400,
      "invalid_request",
    ],
    [
      "batch: one reserved type",
      "/events",
      JSON.stringify({
        events: [
          { topic: "ok", data: 1 },
          { topic: "ok", data: 1, event: "herald.x" },
        ],
      }),
      json,
      400,
      "reserved_event_type",
    ],
    [
      "batch: one too large",
      "/events",
      JSON.stringify({
        events: [
          { topic: "ok", data: 1 },
          { topic: "ok", data: big },
        ],
      }),
      json,
      413,
      "payload_too_large",
    ],
    ["batch: malformed JSON", "/events", "{", json, 400, "invalid_json"],
    ["batch: not an array", "/events", '{"events":{}}', json, 400, "invalid_request"],
  ];

  for (const [name, path, body, headers, status, code] of cases) {
    test(name, async () => {
      const before = (await (await fetch(`${herald.url}/health`)).json()) as { lastEventId: string };
      const res = await post(path, body, headers);
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toContain("application/json");
      const text = await res.text();
      const parsed = JSON.parse(text) as { error: { code: string; message: string } };
      expect(parsed.error.code).toBe(code);
      expect(parsed.error.message.length).toBeGreaterThan(0);
      expect(text).not.toContain("    at ");
      const health = await fetch(`${herald.url}/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { lastEventId: string }).lastEventId).toBe(before.lastEventId);
    });
  }

  test("a body past the request limit is a JSON 413, declared or chunked", async () => {
    const huge = "a".repeat(33 * 1024 * 1024);
    const declared = await post("/topics/t/events", huge, { "content-type": "text/plain" });
    const tooLarge = async (res: Response) => {
      expect(res.status).toBe(413);
      // The request limit, not the per-event one, answered: nothing was parsed.
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain("request body");
    };
    await tooLarge(declared);
    const chunked = await fetch(`${herald.url}/topics/t/events`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(huge.slice(0, 32 * 1024 * 1024 + 10)));
          c.close();
        },
      }),
    });
    await tooLarge(chunked);
    expect((await fetch(`${herald.url}/health`)).status).toBe(200);
  });

  test("unknown route is a JSON 404", async () => {
    const res = await fetch(`${herald.url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  test.each([
    ["DELETE", "/topics/news/events", "POST"],
    ["GET", "/topics/news/events", "POST"],
    ["HEAD", "/topics/news/events", "POST"],
    ["PUT", "/events", "GET, HEAD, POST"],
    ["POST", "/stream?topic=a", "GET, HEAD"],
    ["PATCH", "/.well-known/mercure", "GET, HEAD, POST"],
    ["DELETE", "/docs/assets/swagger-ui.css", "GET, HEAD"],
  ])("%s %s is a JSON 405 whose Allow names %s, and writes nothing", async (method, path, allow) => {
    const before = await (await fetch(`${herald.url}/events?topic=news`)).text();
    const res = await fetch(`${herald.url}${path}`, { method, body: method === "GET" || method === "HEAD" ? undefined : "x" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe(allow);
    if (method !== "HEAD") expect(((await res.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
    expect(await (await fetch(`${herald.url}/events?topic=news`)).text()).toBe(before);
  });
});
