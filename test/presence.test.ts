/**
 * Presence: GET /subscriptions lists the open streams of both APIs that receive some topics, with their token's
 * subject and payload, paged; GET /topics counts each topic's streams once; /metrics counts what presence holds.
 * Streams leave both as soon as they close.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dispose, type Herald, startHerald } from "./support/herald";
import { SECRET, sign, subscribe, unique } from "./support/mercure";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

interface Listed {
  id: string;
  selectors: string[];
  subject: string | null;
  payload: unknown;
  since: string;
}
interface Page {
  subscriptions: Listed[];
  count: number;
  next: string | null;
}

let hub: Herald;
let readAll: string;

beforeAll(async () => {
  hub = await startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "pub.*" } });
  readAll = await sign({ herald: { subscribe: ["*"] } });
});
afterAll(() => dispose(hub));

/** A GET with `token` as bearer, or none when it is null. */
async function get(path: string, token: string | null = readAll): Promise<Response> {
  return fetch(`${hub.url}${path}`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
}

async function listed(query: string): Promise<Page> {
  const res = await get(`/subscriptions?${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

/** A native stream on `selectors`, opened with `token`, once its first bytes are in (it is registered by then). */
async function stream(selectors: string[], token = readAll): Promise<SseReader> {
  const r = await SseReader.open(streamUrl(hub.url, selectors), { authorization: `Bearer ${token}` });
  expect(r.response.status).toBe(200);
  await r.until((x) => x.retry !== undefined);
  return r;
}

/** Names no other test uses: `p<n>.` then the given ones. */
function names(): (name: string) => string {
  const base = `p${unique()}`;
  return (name) => `${base}.${name}`;
}

const selectorsOf = (page: Page) => page.subscriptions.map((s) => s.selectors.join(","));

describe("GET /subscriptions", () => {
  test("lists the streams, native and Mercure, whose selectors can match a topic the query's selectors match", async () => {
    const n = names();
    const readers = [
      await stream([n("orders.*")]),
      await stream([n("orders.eu")]),
      await stream([n("orders.us")]),
      await stream([n("users"), n("orders.eu.*")]),
      await stream([n("ordersx")]),
    ];
    const mercure = await subscribe(hub, [["topic", n("orders.eu")]], { authorization: `Bearer ${readAll}` });
    try {
      expect(selectorsOf(await listed(`topic=${n("orders.eu")}`)).sort()).toEqual(
        [n("orders.*"), n("orders.eu"), n("orders.eu")].sort(),
      );
      // A prefix query finds exact selectors under it and prefixes over or under it.
      expect(selectorsOf(await listed(`topic=${n("orders.*")}`)).sort()).toEqual(
        [n("orders.*"), n("orders.eu"), n("orders.us"), `${n("users")},${n("orders.eu.*")}`, n("orders.eu")].sort(),
      );
      expect(selectorsOf(await listed(`topic=${n("users")},${n("nobody")}`))).toEqual([`${n("users")},${n("orders.eu.*")}`]);
      expect((await listed(`topic=${n("nobody")}`)).count).toBe(0);
      const all = await listed(`topic=${n("*")}&limit=1000`);
      expect(all.count).toBe(6);
      expect(all.subscriptions.map((s) => s.id)).toEqual(all.subscriptions.map((s) => s.id).sort());
    } finally {
      for (const r of [...readers, mercure]) r.close();
    }
    await eventually(async () => (await listed(`topic=${n("*")}`)).count === 0, 2000);
  });

  test("each names its token's sub and the payload of its herald or mercure claim, when it opened, and a unique id", async () => {
    const n = names();
    const before = Date.now();
    const herald = await stream(
      [n("a")],
      await sign({ sub: "alice", herald: { subscribe: [n("*")], payload: { name: "Alice", seat: [1, 2] } } }),
    );
    const mercure = await subscribe(hub, [["match", n("a")]], {
      authorization: `Bearer ${await sign({ sub: "bob", mercure: { subscribe: ["*"], payload: "Bob" } })}`,
    });
    const bare = await stream([n("a")], await sign({ herald: { subscribe: ["*"] } }));
    const publicReader = await SseReader.open(streamUrl(hub.url, ["pub.x"]));
    await publicReader.until((x) => x.retry !== undefined);
    try {
      const page = await listed(`topic=${n("a")}`);
      const bySubject = new Map(page.subscriptions.map((s) => [s.subject, s]));
      expect(bySubject.get("alice")).toMatchObject({ selectors: [n("a")], payload: { name: "Alice", seat: [1, 2] } });
      expect(bySubject.get("bob")).toMatchObject({ selectors: [n("a")], payload: "Bob" });
      expect(bySubject.get(null)).toMatchObject({ selectors: [n("a")], payload: null });
      expect(new Set(page.subscriptions.map((s) => s.id)).size).toBe(3);
      for (const s of page.subscriptions) {
        expect(s.id).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
        expect(s.since).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(Date.parse(s.since)).toBeGreaterThanOrEqual(before - 5);
        expect(Date.parse(s.since)).toBeLessThanOrEqual(Date.now());
      }
      // A reader without a token is listed too, with neither subject nor payload.
      expect((await listed("topic=pub.x")).subscriptions).toEqual([expect.objectContaining({ subject: null, payload: null })]);
    } finally {
      for (const r of [herald, mercure, bare, publicReader]) r.close();
    }
  });

  test("pages with after and limit like /events: next is the last id of a full page, count is every match", async () => {
    const n = names();
    const readers = await Promise.all(Array.from({ length: 7 }, (_, i) => stream([n(`t${i}`)])));
    try {
      const seen: string[] = [];
      let after = "";
      for (;;) {
        const page = await listed(`topic=${n("*")}&limit=3${after && `&after=${after}`}`);
        expect(page.count).toBe(7);
        seen.push(...page.subscriptions.map((s) => s.id));
        if (page.next === null) {
          expect(page.subscriptions.length).toBeLessThan(3);
          break;
        }
        expect(page.next).toBe(page.subscriptions[2]?.id as string);
        after = page.next;
      }
      expect(seen.length).toBe(7);
      expect(seen).toEqual([...new Set(seen)].sort());
    } finally {
      for (const r of readers) r.close();
    }
  });

  test("needs the rights to read the topics asked about: public topics, or a token that covers them", async () => {
    expect((await get("/subscriptions?topic=pub.*", null)).status).toBe(200);
    const none = await get("/subscriptions?topic=secret", null);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe("Bearer");
    const narrow = await sign({ herald: { subscribe: ["other.*"] } });
    const refused = await get("/subscriptions?topic=secret.*", narrow);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    expect((await get("/subscriptions?topic=other.x", narrow)).status).toBe(200);
    expect((await get("/subscriptions?topic=x", "not-a-token")).status).toBe(401);
  });

  test("bad queries are JSON 400s naming what is wrong, as on /events", async () => {
    for (const [query, code, hint] of [
      ["", "invalid_selector", "topic"],
      ["topic=", "invalid_selector", "empty"],
      ["topic=bad%20topic", "invalid_selector", "bad topic"],
      ["topic=*&limit=0", "invalid_request", "1 to 1000"],
      ["topic=*&limit=1001", "invalid_request", "1 to 1000"],
      ["topic=*&after=42", "invalid_request", "subscription id"],
      ["topic=*&after=a&after=b", "repeated_parameter", "after"],
    ] as const) {
      const res = await get(`/subscriptions?${query}`);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code, query).toBe(code);
      expect(body.error.message, query).toContain(hint);
    }
  });
});

describe("GET /topics", () => {
  test("counts each topic's open streams once, whatever API and however many of its selectors match", async () => {
    const n = names();
    const writer = { authorization: `Bearer ${await sign({ herald: { publish: ["*"] } })}` };
    for (const t of ["eu", "us", "asia"]) {
      expect(
        (await fetch(`${hub.url}/topics/${n(`orders.${t}`)}/events`, { method: "POST", body: t, headers: writer })).status,
      ).toBe(201);
    }
    const readers = [
      await stream([n("orders.*"), n("orders.eu")]),
      await stream([n("orders.eu")]),
      await stream([n("orders.us"), n("orders.asia")]),
      await stream(["*"]),
    ];
    const mercure = [
      await subscribe(hub, [["topic", n("orders.eu")]], { authorization: `Bearer ${readAll}` }),
      await subscribe(hub, [["match", "*"]], { authorization: `Bearer ${readAll}` }),
    ];
    const counts = async () => {
      const res = await get(`/topics?topic=${n("*")}`);
      expect(res.status).toBe(200);
      const { topics } = (await res.json()) as { topics: Array<{ topic: string; subscribers: number }> };
      return Object.fromEntries(topics.map((t) => [t.topic.slice(t.topic.indexOf(".") + 1), t.subscribers]));
    };
    try {
      expect(await counts()).toEqual({ "orders.asia": 4, "orders.eu": 5, "orders.us": 4 });
      readers[0]?.close();
      mercure[1]?.close();
      await eventually(async () => (await counts())["orders.eu"] === 3, 2000);
      expect(await counts()).toEqual({ "orders.asia": 2, "orders.eu": 3, "orders.us": 2 });
    } finally {
      for (const r of [...readers, ...mercure]) r.close();
    }
    await eventually(async () => (await counts())["orders.eu"] === 0, 2000);
  });
});

describe("pattern subscriptions (URI templates, URL patterns)", () => {
  test("are counted by /topics and listed by /subscriptions for the topics they match, not those that only start alike", async () => {
    const n = names();
    const writer = { authorization: `Bearer ${await sign({ herald: { publish: ["*"] } })}` };
    const topics = ["books.7.reviews", "books.7.notes", "books.7", "books.8.reviews"];
    for (const t of topics) {
      expect((await fetch(`${hub.url}/topics/${n(t)}/events`, { method: "POST", body: t, headers: writer })).status).toBe(201);
    }
    const bearer = { authorization: `Bearer ${readAll}` };
    // A draft 07 template and a draft 08 URL pattern (relative, like the topics): both start with `books.`.
    const template = await subscribe(hub, [["topic", n("books.{id}.reviews")]], bearer);
    const pattern = await subscribe(hub, [["match_urlpattern", n("books.:id.notes")]], bearer);
    const prefix = await stream([n("books.*")]);
    const counts = async () => {
      const res = await get(`/topics?topic=${n("*")}`);
      const body = (await res.json()) as { topics: Array<{ topic: string; subscribers: number }> };
      return Object.fromEntries(body.topics.map((t) => [t.topic.slice(t.topic.indexOf(".") + 1), t.subscribers]));
    };
    const listedOn = async (topic: string) => selectorsOf(await listed(`topic=${n(topic)}`)).sort();
    try {
      expect(await counts()).toEqual({ "books.7": 1, "books.7.notes": 2, "books.7.reviews": 2, "books.8.reviews": 2 });
      expect(await listedOn("books.7.reviews")).toEqual([n("books.*"), n("books.{id}.reviews")].sort());
      expect(await listedOn("books.7.notes")).toEqual([n("books.*"), n("books.:id.notes")].sort());
      expect(await listedOn("books.7")).toEqual([n("books.*")]);
      template.close();
      await eventually(async () => (await counts())["books.7.reviews"] === 1, 2000);
      expect(await counts()).toEqual({ "books.7": 1, "books.7.notes": 2, "books.7.reviews": 1, "books.8.reviews": 1 });
    } finally {
      for (const r of [template, pattern, prefix]) r.close();
    }
  });
});

test("/metrics counts the subscriptions presence holds", async () => {
  const gauge = async () => {
    const text = await (await fetch(`${hub.url}/metrics`)).text();
    expect(text).toContain("# TYPE herald_presence_subscriptions gauge\n");
    return Number(/^herald_presence_subscriptions (\d+)$/m.exec(text)?.[1]);
  };
  await eventually(async () => (await gauge()) === 0, 2000);
  const readers = [await stream(["m.a"]), await stream(["m.b"])];
  expect(await gauge()).toBe(2);
  for (const r of readers) r.close();
  await eventually(async () => (await gauge()) === 0, 2000);
});
