/** Query values are taken literally on every route: no brackets stripped, no JSON, no trimming, no second guess. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dispose, type Herald, publish, startHerald } from "./support/herald";
import { SseReader } from "./support/sse";

let herald: Herald;
beforeAll(async () => {
  herald = await startHerald();
  // Topics an Elysia-coerced value would land on: `[event` became `even`, `[event]` became `event`.
  for (const topic of ["even", "event", "x", "a", "b"]) await publish(herald.url, topic, topic);
});
afterAll(() => dispose(herald));

async function refused(path: string, status: number, code: string, named?: string): Promise<void> {
  const res = await fetch(`${herald.url}${path}`, { method: path.startsWith("/topics/") ? "POST" : "GET", body: undefined });
  expect(res.status, path).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  const { error } = (await res.json()) as { error: { code: string; message: string } };
  expect(error.code, path).toBe(code);
  if (named !== undefined) expect(error.message, path).toContain(named);
}

describe("selectors: every item literal, an empty or invalid item is a 400 naming it", () => {
  const cases: Array<[string, string]> = [
    ["topic=[event", '"[event"'],
    ["topic=[event]", '"[event]"'],
    ["topic=[x", '"[x"'],
    ["topic=x]", '"x]"'],
    ["topic=%5Bx%5D", '"[x]"'],
    ["topic=a,,b", '"a,,b"'],
    ["topic=a,", '"a,"'],
    ["topic=", '""'],
    ["topic=a&topic=", '""'],
    ["topic=a+b", '"a b"'],
    ["topic=%20a", '" a"'],
    ["topic=a%20", '"a "'],
    ['topic=["a","b"]', '"[\\"a\\""'],
    ["topic=a*b", '"a*b"'],
    ["", "topic"],
  ];
  for (const route of ["/stream", "/events"]) {
    for (const [query, named] of cases) {
      test(`${route}?${query}`, () => refused(`${route}?${query}`, 400, "invalid_selector", named));
    }
  }

  test("more than 50 selectors in all, repeated or comma-separated, is a 400", async () => {
    const fifty = Array.from({ length: 50 }, (_, i) => `t${i}`);
    expect((await fetch(`${herald.url}/events?topic=${fifty.join(",")}`)).status).toBe(200);
    await refused(`/events?topic=${fifty.join(",")}&topic=one.more`, 400, "invalid_selector", "50");
    await refused(
      `/stream?topic=${fifty.slice(0, 25).join(",")}&topic=${fifty.slice(25).join(",")},t50`,
      400,
      "invalid_selector",
    );
  });

  test("a comma list is the same as repeating the parameter", async () => {
    const ids = async (query: string) =>
      ((await (await fetch(`${herald.url}/events?${query}`)).json()) as { events: Array<{ id: string }> }).events.map(
        (e) => e.id,
      );
    const repeated = await ids("topic=a&topic=b");
    expect(repeated.length).toBe(2);
    expect(await ids("topic=a,b")).toEqual(repeated);
    expect(await ids("topic=a%2Cb")).toEqual(repeated);
    const stream = await SseReader.open(`${herald.url}/stream?topic=b,a&lastEventId=0`);
    try {
      await stream.count(2);
      expect(stream.events.map((e) => e.data)).toEqual(["a", "b"]);
    } finally {
      stream.close();
    }
  });
});

describe("single values: literal, and given at most once", () => {
  const invalid: Array<[string, string, string]> = [
    ["/events?topic=x&limit=1e2", "invalid_request", '"1e2"'],
    ["/events?topic=x&limit=[5]", "invalid_request", '"[5]"'],
    ["/events?topic=x&limit=%2B5", "invalid_request", '"+5"'],
    ["/events?topic=x&limit=5.0", "invalid_request", '"5.0"'],
    ["/events?topic=x&limit=%205", "invalid_request", '" 5"'],
    ["/events?topic=x&limit=", "invalid_request", "1 to 1000"],
    ["/events?topic=x&limit=0x10", "invalid_request", '"0x10"'],
    ["/events?topic=x&after=[1]", "invalid_event_id", '"[1]"'],
    ["/events?topic=x&after=1e2", "invalid_event_id", '"1e2"'],
    ["/events?topic=x&after=%201", "invalid_event_id", '" 1"'],
    ["/events?topic=x&after=", "invalid_event_id", "after"],
    ["/stream?topic=x&envelope=[true]", "invalid_request", '"[true]"'],
    ["/stream?topic=x&envelope=1", "invalid_request", '"1"'],
    ["/stream?topic=x&envelope=TRUE", "invalid_request", '"TRUE"'],
    ["/stream?topic=x&envelope=", "invalid_request", "envelope"],
    ["/stream?topic=x&lastEventId=[1]", "invalid_event_id", '"[1]"'],
    ["/stream?topic=x&lastEventId=-1", "invalid_event_id", '"-1"'],
    ["/topics/x/events?event=[x]", "invalid_event_type", "[x]"],
    ["/topics/x/events?event=", "invalid_event_type", '""'],
  ];
  for (const [path, code, named] of invalid) test(path, () => refused(path, 400, code, named));

  const repeated = [
    "/events?topic=x&after=1&after=2",
    "/events?topic=x&limit=1&limit=1",
    "/events?topic=x&access_token=a&access_token=b",
    "/stream?topic=x&envelope=true&envelope=false",
    "/stream?topic=x&lastEventId=1&lastEventId=2",
    "/stream?topic=x&access_token=a&access_token=a",
    "/topics/x/events?event=a&event=b",
    "/topics/x/events?access_token=a&access_token=b",
    "/topics?access_token=a&access_token=b",
  ];
  for (const path of repeated) test(`repeated: ${path}`, () => refused(path, 400, "repeated_parameter"));

  test("a repeated batch-publish token is refused before anything is written", async () => {
    const res = await fetch(`${herald.url}/events?access_token=a&access_token=b`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events: [{ topic: "never", data: 1 }] }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("repeated_parameter");
    expect(((await (await fetch(`${herald.url}/events?topic=never`)).json()) as { events: unknown[] }).events).toEqual([]);
  });

  test("valid values work, and unknown parameters (cache busters), even repeated, are ignored", async () => {
    const page = (await (await fetch(`${herald.url}/events?topic=a&limit=1&after=0&_=1&_=2`)).json()) as {
      events: Array<{ data: string }>;
    };
    expect(page.events.map((e) => e.data)).toEqual(["a"]);
    const typed = await fetch(`${herald.url}/topics/typed/events?event=note&_=1&_=2`, { method: "POST", body: "hi" });
    expect(typed.status).toBe(201);
    expect(((await typed.json()) as { event: string }).event).toBe("note");
    const stream = await SseReader.open(`${herald.url}/stream?topic=x&envelope=true&lastEventId=0&v=1&v=2`);
    try {
      await stream.count(1);
      expect(JSON.parse(stream.events[0]?.data ?? "")).toMatchObject({ topic: "x", data: "x" });
    } finally {
      stream.close();
    }
  });
});
