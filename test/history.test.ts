import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dispose, type Herald, startHerald } from "./support/herald";

let herald: Herald;
const ids: Record<string, string[]> = {};

interface Page {
  events: Array<{ id: string; topic: string; event: string | null; data: unknown; time: string }>;
  next: string | null;
}

beforeAll(async () => {
  herald = await startHerald();
  const events = [];
  for (let i = 0; i < 25; i++)
    events.push({
      topic: ["orders.eu", "orders.us", "orders", "users"][i % 4] as string,
      data: { i },
      event: i % 2 ? "odd" : undefined,
    });
  const res = await fetch(`${herald.url}/events`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ events: events.map(({ event, ...e }) => (event ? { ...e, event } : e)) }),
  });
  for (const e of ((await res.json()) as { events: Array<{ id: string; topic: string }> }).events) {
    ids[e.topic] = [...(ids[e.topic] ?? []), e.id];
  }
});
afterAll(() => dispose(herald));

async function page(query: string): Promise<Page> {
  const res = await fetch(`${herald.url}/events?${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

describe("GET /events", () => {
  test("exact topic, in id order, data exactly as published", async () => {
    const p = await page("topic=users");
    expect(p.events.map((e) => e.id)).toEqual(ids.users as string[]);
    expect(p.events[0]).toMatchObject({ topic: "users", data: { i: 3 }, event: "odd" });
    expect(p.next).toBeNull();
  });

  test("prefix and several selectors merge in id order without duplicates", async () => {
    const p = await page("topic=orders.*&topic=orders.eu&topic=users");
    const expected = [...(ids["orders.eu"] ?? []), ...(ids["orders.us"] ?? []), ...(ids.users ?? [])]
      .map(Number)
      .sort((a, b) => a - b);
    expect(p.events.map((e) => Number(e.id))).toEqual(expected);
    const all = await page("topic=*&limit=1000");
    expect(all.events.length).toBe(25);
  });

  test("pages: next is the last id of a full page, null on a partial one", async () => {
    const seen: string[] = [];
    let after = "0";
    let pages = 0;
    for (;;) {
      const p = await page(`topic=*&limit=10&after=${after}`);
      pages++;
      seen.push(...p.events.map((e) => e.id));
      if (p.next === null) break;
      expect(p.next).toBe(p.events[p.events.length - 1]?.id as string);
      after = p.next;
    }
    expect(pages).toBe(3);
    expect(seen.length).toBe(25);
    expect(new Set(seen).size).toBe(25);
  });

  test("bad queries are JSON 400s", async () => {
    for (const [q, code, hint] of [
      ["", "invalid_selector", "topic"],
      ["topic=bad%20topic", "invalid_selector", "bad topic"],
      ["topic=*&limit=0", "invalid_request", "1 to 1000"],
      ["topic=*&limit=1001", "invalid_request", "1 to 1000"],
      ["topic=*&limit=ten", "invalid_request", "1 to 1000"],
      ["topic=*&after=-1", "invalid_event_id", "after"],
      ["topic=*&after=x", "invalid_event_id", "after"],
    ] as const) {
      const res = await fetch(`${herald.url}/events?${q}`);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe(code);
      // Messages a person can act on: they name what is wrong.
      expect(error.message).toContain(hint);
    }
  });
});

describe("GET /topics", () => {
  test("sorted by name in byte order, with retained counts and first/last ids", async () => {
    const { topics } = (await (await fetch(`${herald.url}/topics`)).json()) as {
      topics: Array<{ topic: string; events: number; firstId: string; lastId: string; lastTime: string }>;
    };
    expect(topics.map((t) => t.topic)).toEqual(["orders", "orders.eu", "orders.us", "users"]);
    for (const t of topics) {
      const list = ids[t.topic] as string[];
      expect(t.events).toBe(list.length);
      expect(t.firstId).toBe(list[0] as string);
      expect(t.lastId).toBe(list[list.length - 1] as string);
      expect(Number.isNaN(Date.parse(t.lastTime))).toBe(false);
    }
  });
});

describe("GET /topics, a page at a time", () => {
  const topicsAt = async (query: string) => {
    const res = await fetch(`${herald.url}/topics${query}`);
    return { status: res.status, body: (await res.json()) as { topics: Array<{ topic: string }>; next: string | null } };
  };

  test("limit and after page through the list; next is the last topic of a full page, null on a partial one", async () => {
    const first = await topicsAt("?limit=3");
    expect(first.body.topics.map((t) => t.topic)).toEqual(["orders", "orders.eu", "orders.us"]);
    expect(first.body.next).toBe("orders.us");
    const second = await topicsAt(`?limit=3&after=${first.body.next}`);
    expect(second.body).toMatchObject({ topics: [{ topic: "users" }], next: null });
    expect((await topicsAt("?limit=4")).body.next).toBe("users");
    expect((await topicsAt("?limit=4&after=users")).body).toEqual({ topics: [], next: null });
    expect((await topicsAt("")).body.next).toBeNull();
  });

  test("topic selectors narrow the list, repeated or comma-separated, each topic once", async () => {
    expect((await topicsAt("?topic=orders.*")).body.topics.map((t) => t.topic)).toEqual(["orders.eu", "orders.us"]);
    expect((await topicsAt("?topic=users,orders*&topic=users")).body.topics.map((t) => t.topic)).toEqual([
      "orders",
      "orders.eu",
      "orders.us",
      "users",
    ]);
    expect((await topicsAt("?topic=orders*&after=orders.eu&limit=1")).body).toMatchObject({
      topics: [{ topic: "orders.us" }],
      next: "orders.us",
    });
  });

  test("bad input is a 400 naming it", async () => {
    for (const [query, code] of [
      ["?limit=0", "invalid_request"],
      ["?limit=1001", "invalid_request"],
      ["?after=", "invalid_topic"],
      ["?after=bad%01name", "invalid_topic"],
      ["?topic=", "invalid_selector"],
      ["?topic=a**", "invalid_selector"],
      ["?after=a&after=b", "repeated_parameter"],
    ] as const) {
      const { status, body } = await topicsAt(query);
      expect([query, status]).toEqual([query, 400]);
      expect((body as unknown as { error: { code: string } }).error.code).toBe(code);
    }
  });
});

describe("GET /health", () => {
  test("ok with subscribers, last event id and uptime", async () => {
    const h = (await (await fetch(`${herald.url}/health`)).json()) as Record<string, unknown>;
    expect(h).toMatchObject({ status: "ok", subscribers: 0, lastEventId: "25" });
    expect(typeof h.uptimeSeconds).toBe("number");
  });
});
