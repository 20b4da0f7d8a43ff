import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dispose, type Herald, startHerald } from "./support/herald";
import { publish as mercurePublish, SECRET, sign, unique } from "./support/mercure";
import { SseReader, streamUrl } from "./support/sse";

let herald: Herald;
const ids: Record<string, string[]> = {};

interface Page {
  events: Array<{ id: string; topic: string; event: string | null; data: unknown; time: string; mercure?: unknown }>;
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

describe("Mercure updates in the JSON history", () => {
  /** Every topic public (Mercure's anonymous mode): a private update needs a token that grants one of its topics. */
  let secured: Herald;
  let open: Herald;
  beforeAll(async () => {
    [secured, open] = await Promise.all([
      startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "*" } }),
      startHerald(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([dispose(secured), dispose(open)]);
  });

  const decimal = (mercureId: string) => mercureId.slice("urn:herald:".length);
  const bearer = async (subscribe: string[]) => ({
    authorization: `Bearer ${await sign({ herald: { publish: ["*"], subscribe } })}`,
  });
  async function read(h: Herald, query: string, headers: Record<string, string> = {}): Promise<Page> {
    const res = await fetch(`${h.url}/events?${query}`, { headers });
    expect(res.status).toBe(200);
    return (await res.json()) as Page;
  }

  test("an update shows its Mercure id, topics, private flag and retry; events without Mercure fields are unchanged", async () => {
    const n = unique();
    const [book, user, name] = [`https://example.com/books/${n}`, `https://example.com/users/${n}`, `books.${n}`];
    await mercurePublish(secured, [
      ["topic", book],
      ["topic", user],
      ["topic", name],
      ["data", "one"],
      ["id", `urn:uuid:${n}`],
      ["type", "book.updated"],
      ["retry", "5000"],
    ]);
    const alternate = await mercurePublish(secured, [
      ["topic", name],
      ["topic", book],
      ["data", "two"],
    ]);
    const plain = await mercurePublish(secured, [
      ["topic", name],
      ["data", "three"],
    ]);
    const native = await fetch(`${secured.url}/topics/${name}/events`, {
      method: "POST",
      headers: { ...(await bearer([])), "content-type": "application/json" },
      body: JSON.stringify({ data: { four: 4 }, event: "native" }),
    });
    expect(native.status).toBe(201);
    const { events } = await read(secured, `topic=${name}`);
    expect(events.map((e) => e.data)).toEqual(["one", "two", "three", { four: 4 }]);
    expect(events[0]).toMatchObject({
      topic: book,
      event: "book.updated",
      mercure: { id: `urn:uuid:${n}`, topics: [book, user, name], private: false, retry: 5000 },
    });
    expect(events[1]).toMatchObject({
      id: decimal(alternate),
      topic: name,
      event: null,
      mercure: { id: alternate, topics: [name, book], private: false, retry: null },
    });
    // No Mercure field beyond one topic and data: the Mercure id is urn:herald:<id>, and the JSON is a native event's.
    expect(events[2]?.id).toBe(decimal(plain));
    for (const e of events.slice(2)) expect(Object.keys(e)).toEqual(["id", "topic", "event", "data", "time"]);

    // The stream's envelope is the same JSON.
    const stream = await SseReader.open(streamUrl(secured.url, [name], { envelope: "true", lastEventId: "0" }));
    await stream.count(4);
    stream.close();
    expect(stream.events.map((e) => JSON.parse(e.data))).toEqual(events);
  });

  test("a private update is shown only to a reader whose token grants one of its topics, an alternate too", async () => {
    const n = unique();
    const [secret, shared] = [`secret.${n}`, `shared.${n}`];
    const hidden = await mercurePublish(secured, [
      ["topic", secret],
      ["topic", shared],
      ["data", "private"],
      ["private", "on"],
    ]);
    const shown = await mercurePublish(secured, [
      ["topic", secret],
      ["data", "public"],
    ]);
    const ids = async (headers?: Record<string, string>) =>
      (await read(secured, `topic=${secret}`, headers)).events.map((e) => e.id);
    expect(await ids()).toEqual([decimal(shown)]);
    expect(await ids(await bearer([`other.${n}`]))).toEqual([decimal(shown)]);
    expect(await ids(await bearer([secret]))).toEqual([decimal(hidden), decimal(shown)]);
    expect(await ids(await bearer([shared]))).toEqual([decimal(hidden), decimal(shown)]);
    expect(await ids(await bearer(["shared.*"]))).toEqual([decimal(hidden), decimal(shown)]);
    // A page that held only the hidden update is empty, and its `next` moves past it.
    expect(await read(secured, `topic=${secret}&limit=1`)).toEqual({ events: [], next: decimal(hidden) });
    const granted = await read(secured, `topic=${shared}`, await bearer([shared]));
    expect(granted.events[0]?.mercure).toEqual({ id: hidden, topics: [secret, shared], private: true, retry: null });
  });

  test("in open mode no one is shown a private update, token or not", async () => {
    const topic = `open.private.${unique()}`;
    await mercurePublish(open, [
      ["topic", topic],
      ["data", "private"],
      ["private", "on"],
    ]);
    const shown = await mercurePublish(open, [
      ["topic", topic],
      ["data", "public"],
    ]);
    for (const headers of [{}, await bearer(["*"])]) {
      expect((await read(open, `topic=${topic}`, headers)).events.map((e) => e.id)).toEqual([decimal(shown)]);
    }
  });

  test("/topics counts an update in each of its topics, alternates included", async () => {
    const n = unique();
    const [a, b, c] = [`count.${n}.a`, `count.${n}.b`, `count.${n}.c`];
    const first = decimal(
      await mercurePublish(secured, [
        ["topic", a],
        ["topic", b],
        ["data", "1"],
      ]),
    );
    const second = decimal(
      await mercurePublish(secured, [
        ["topic", c],
        ["topic", b],
        ["topic", a],
        ["data", "2"],
      ]),
    );
    const res = await fetch(`${secured.url}/topics?topic=count.${n}.*`);
    const { topics } = (await res.json()) as {
      topics: Array<{ topic: string; events: number; firstId: string; lastId: string }>;
    };
    expect(topics.map(({ topic, events, firstId, lastId }) => [topic, events, firstId, lastId])).toEqual([
      [a, 2, first, second],
      [b, 2, first, second],
      [c, 1, second, second],
    ]);
  });

  test("/topics pages over a token's topics in byte order, names past U+FFFF included, each topic once", async () => {
    const n = unique();
    // UTF-16 puts an astral character (a surrogate pair, D800 to DFFF) before U+E000 to U+FFFF; UTF-8 bytes, and
    // so both logs, put it after them. Full-width letters and emoji both turn up in topic names.
    const topicEnding = (last: string) => `https://example.com/${n}/${last}`;
    const [plain, fullWidth, emoji] = [topicEnding("a"), topicEnding("\uFF21"), topicEnding("\u{1F600}")];
    const granted = await startHerald({ env: { HERALD_JWT_SECRET: SECRET } });
    try {
      for (const topic of [emoji, fullWidth, plain])
        await mercurePublish(granted, [
          ["topic", topic],
          ["data", "x"],
        ]);
      // Without `topic`, /topics lists what the token may read: one selector per topic it grants.
      const token = await sign({ mercure: { subscribe: [emoji, fullWidth, plain] } });
      const list = async (query: string) => {
        const res = await fetch(`${granted.url}/topics?${query}`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        return (await res.json()) as { topics: Array<{ topic: string }>; next: string | null };
      };
      expect((await list("")).topics.map((t) => t.topic)).toEqual([plain, fullWidth, emoji]);
      const seen: string[] = [];
      let next: string | null = "";
      for (let pages = 0; next !== null && pages < 5; pages++) {
        const body = await list(`limit=1${next ? `&after=${encodeURIComponent(next)}` : ""}`);
        seen.push(...body.topics.map((t) => t.topic));
        next = body.next;
      }
      expect(seen).toEqual([plain, fullWidth, emoji]);
    } finally {
      await dispose(granted);
    }
  });
});
