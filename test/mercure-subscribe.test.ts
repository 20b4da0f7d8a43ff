/**
 * Subscribing on /.well-known/mercure with EventSource clients (the `eventsource` package, and the test client
 * of test/support/sse.ts that keeps every field): draft 07's `topic` and draft 08's `match`, Mercure ids, types
 * and retry on the wire, native and Mercure events together, resume from any Mercure id with the headers both
 * drafts ask for, private updates per token, anonymous readers limited to HERALD_PUBLIC_TOPICS.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EventSource } from "eventsource";
import { SignJWT } from "jose";
import { dispose, type Herald, startHerald } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

const SECRET = "a-secret-of-at-least-thirty-two-bytes!";
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

/** Mercure's anonymous mode: every topic public, private updates for tokens only; a heartbeat every 300 ms. */
let anonymous: Herald;
/** Only `news.*` and `https://example.com/public/*` without a token; three events kept per topic. */
let restricted: Herald;

beforeAll(async () => {
  [anonymous, restricted] = await Promise.all([
    startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "*", HERALD_HEARTBEAT_MS: "300" } }),
    startHerald({
      env: {
        HERALD_JWT_SECRET: SECRET,
        HERALD_PUBLIC_TOPICS: "news.*,https://example.com/public/*",
        HERALD_RETENTION_MAX_EVENTS: "3",
      },
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([dispose(anonymous), dispose(restricted)]);
});

/** A token for `claims`, expiring in ten minutes unless they say when. */
function sign(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ exp: now() + 600, ...claims }).setProtectedHeader({ alg: "HS256" }).sign(key);
}

let topics = 0;
/** A topic no other test uses: the hubs are shared. */
const fresh = (name: string) => `https://example.com/${name}/${++topics}`;

/** Publishes a Mercure update; resolves with the id the hub answered. */
async function publish(h: Herald, fields: Array<[string, string]>): Promise<string> {
  const res = await fetch(`${h.url}/.well-known/mercure`, {
    method: "POST",
    body: new URLSearchParams(fields).toString(),
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Bearer ${await sign({ mercure: { publish: ["*"] } })}`,
    },
  });
  expect(res.status).toBe(200);
  return res.text();
}

function hubUrl(h: Herald, params: Array<[string, string]>): string {
  return `${h.url}/.well-known/mercure?${new URLSearchParams(params)}`;
}

/** Opens a subscription and waits for its first bytes: from then on it receives every live event. */
async function subscribe(h: Herald, params: Array<[string, string]>, headers: Record<string, string> = {}): Promise<SseReader> {
  const r = await SseReader.open(hubUrl(h, params), headers);
  if (r.response.ok) await r.until((x) => x.retry !== undefined);
  return r;
}

const ids = (r: SseReader) => r.events.map((e) => e.id);

describe("GET /.well-known/mercure", () => {
  test("topic= and match= receive updates with the publisher's id, else urn:herald:<n>, type, retry and data lines", async () => {
    const topic = fresh("books");
    const uuid = `urn:uuid:${topics}`;
    const byTopic = await subscribe(anonymous, [["topic", topic]]);
    const byMatch = await subscribe(anonymous, [["match", topic]]);
    const all = await subscribe(anonymous, [["match_exact", "*"]]);
    expect(byTopic.response.headers.get("content-type")).toBe("text/event-stream");
    expect(byTopic.response.headers.get("mercure-last-event-id")).toBeNull();
    const first = await publish(anonymous, [
      ["topic", topic],
      ["data", "line 1\nline 2\r\nline 3"],
      ["id", uuid],
      ["type", "book.updated"],
      ["retry", "5000"],
    ]);
    await publish(anonymous, [
      ["topic", fresh("other")],
      ["data", "not for them"],
    ]);
    const second = await publish(anonymous, [
      ["topic", topic],
      ["data", "plain"],
    ]);
    expect(first).toBe(uuid);
    expect(second).toMatch(/^urn:herald:\d+$/);
    for (const r of [byTopic, byMatch]) {
      await r.count(2);
      expect(r.raw).toContain(`id: ${first}\nevent: book.updated\nretry: 5000\ndata: line 1\ndata: line 2\ndata: line 3\n\n`);
      expect(r.raw).toContain(`id: ${second}\ndata: plain\n\n`);
      expect(r.raw).not.toContain("not for them");
      expect(r.retry).toBe(5000);
    }
    await all.count(3);
    expect(ids(all)).toEqual([first, expect.stringMatching(/^urn:herald:/), second]);
    for (const r of [byTopic, byMatch, all]) r.close();
  });

  test("an update on several topics comes once to a subscriber of several of them, and to one of an alternate", async () => {
    const [a, b, c] = [fresh("a"), fresh("b"), fresh("c")];
    const both = await subscribe(anonymous, [
      ["topic", a],
      ["match", b],
    ]);
    const alternate = await subscribe(anonymous, [["match", c]]);
    const id = await publish(anonymous, [
      ["topic", a],
      ["topic", b],
      ["topic", c],
      ["data", "x"],
    ]);
    const end = await publish(anonymous, [
      ["topic", a],
      ["topic", c],
      ["data", "end"],
    ]);
    await Promise.all([both.count(2), alternate.count(2)]);
    expect(ids(both)).toEqual([id, end]);
    expect(ids(alternate)).toEqual([id, end]);
    both.close();
    alternate.close();
  });

  test("a native event reaches a Mercure subscriber as urn:herald:<n>; an update reaches /stream with its decimal id", async () => {
    const mercure = await subscribe(anonymous, [["topic", "orders.eu"]]);
    const native = await SseReader.open(streamUrl(anonymous.url, ["orders.*"]));
    await native.until((x) => x.retry !== undefined);
    const res = await fetch(`${anonymous.url}/topics/orders.eu/events`, {
      method: "POST",
      body: JSON.stringify({ data: { total: 1 }, event: "created" }),
      headers: { "content-type": "application/json", authorization: `Bearer ${await sign({ herald: { publish: ["*"] } })}` },
    });
    const { id } = (await res.json()) as { id: string };
    const update = await publish(anonymous, [
      ["topic", "orders.eu"],
      ["data", "from mercure"],
    ]);
    await Promise.all([mercure.count(2), native.count(2)]);
    expect(mercure.raw).toContain(`id: urn:herald:${id}\nevent: created\ndata: {"total":1}\n\n`);
    expect(ids(mercure)).toEqual([`urn:herald:${id}`, update]);
    expect(native.events.map((e) => e.id)).toEqual([id, update.slice("urn:herald:".length)]);
    expect(native.events[1]?.data).toBe("from mercure");
    mercure.close();
    native.close();
  });

  test("an idle stream gets heartbeats, as on /stream", async () => {
    const r = await subscribe(anonymous, [["match", fresh("idle")]]);
    await r.until((x) => x.comments.includes("heartbeat"), 3000);
    expect(r.ended).toBe(false);
    r.close();
  });

  const refusals: Array<[string, string]> = [
    ["no matcher", ""],
    ["an empty one", "match="],
    ["a control character", "match=a%01b"],
    ["a format character", "topic=a%E2%80%8Bb"],
    ["bytes that are not UTF-8", "match=%FF"],
    ["a matcher type the hub does not know", "match_regex=x"],
    ["the reserved namespace in another case", "Match=x"],
    ["a name that only starts with match", "matches=x"],
    ["too many matchers", Array.from({ length: 51 }, (_, i) => `match=t${i}`).join("&")],
    ["one too long", `match=${"x".repeat(2049)}`],
  ];
  test.each(refusals)("400 before any stream byte: %s", async (_, query) => {
    const res = await fetch(`${anonymous.url}/.well-known/mercure?${query}`);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/json");
  });
});

describe("resume", () => {
  /** Four updates on a fresh topic, with the publisher's ids p1, p2, p2 again (a repeat resolves to the earliest) and none. */
  async function history(): Promise<{ topic: string; sent: string[] }> {
    const topic = fresh("resume");
    const sent: string[] = [];
    for (const id of ["p1", "p2", "p2", ""]) {
      sent.push(
        await publish(anonymous, [
          ["topic", topic],
          ["data", `after ${sent.length}`],
          ...(id ? [["id", id] as [string, string]] : []),
        ]),
      );
    }
    return { topic, sent };
  }

  test("Last-Event-ID, last_event_id and lastEventID with a publisher's id or urn:herald:<n>; both response headers", async () => {
    const { topic, sent } = await history();
    // [query, headers, the index in `sent` of the event resumed after]
    const cases: Array<[Array<[string, string]>, Record<string, string>, number]> = [
      [[["last_event_id", "p1"]], {}, 0],
      [[["lastEventID", "p2"]], {}, 1],
      [[["last_event_id", sent[3] ?? ""]], {}, 3],
      // The header goes before the parameters; last_event_id before lastEventID.
      [[["last_event_id", "p1"]], { "last-event-id": "p2" }, 1],
      [
        [
          ["lastEventID", "p2"],
          ["last_event_id", "p1"],
        ],
        {},
        0,
      ],
    ];
    for (const [params, headers, after] of cases) {
      const r = await subscribe(anonymous, [["topic", topic], ...params], headers);
      expect(r.response.headers.get("mercure-last-event-id")).toBe(sent[after] ?? "");
      expect(r.response.headers.get("last-event-id")).toBe(sent[after] ?? "");
      const expected = sent.slice(after + 1);
      if (expected.length > 0) await r.count(expected.length);
      const live = await publish(anonymous, [
        ["topic", topic],
        ["data", "live"],
      ]);
      await r.count(expected.length + 1);
      expect(ids(r)).toEqual([...expected, live]);
      sent.push(live);
      r.close();
    }
  });

  test("an id beyond ASCII resumes from the header (UTF-8 bytes, as EventSource sends it) and from the query", async () => {
    const topic = fresh("unicode");
    const id = `книга-${topics}`;
    await publish(anonymous, [
      ["topic", topic],
      ["data", "1"],
      ["id", id],
    ]);
    const next = await publish(anonymous, [
      ["topic", topic],
      ["data", "2"],
    ]);
    const bytes = Buffer.from(id, "utf8").toString("latin1");
    for (const [params, headers] of [
      [[], { "last-event-id": bytes }],
      [[["last_event_id", id]], {}],
    ] as Array<[Array<[string, string]>, Record<string, string>]>) {
      const r = await subscribe(anonymous, [["topic", topic], ...params], headers);
      expect(r.response.headers.get("mercure-last-event-id")).toBe(bytes);
      await r.count(1);
      expect(ids(r)).toEqual([next]);
      r.close();
    }
  });

  test("earliest, an unknown id and an id from the future replay everything retained and say earliest", async () => {
    const { topic, sent } = await history();
    for (const given of ["earliest", "never-published", "urn:herald:999999999", "urn:herald:x"]) {
      const r = await subscribe(anonymous, [
        ["match", topic],
        ["last_event_id", given],
      ]);
      expect(r.response.headers.get("mercure-last-event-id")).toBe("earliest");
      expect(r.response.headers.get("last-event-id")).toBe("earliest");
      await r.count(sent.length);
      expect(ids(r)).toEqual(sent);
      r.close();
    }
  });

  test("an id retention deleted, or one after which it deleted matching events, replays what is left and says earliest", async () => {
    const [quiet, busy] = [`news.quiet.${++topics}`, `news.busy.${topics}`];
    const kept = await publish(restricted, [
      ["topic", quiet],
      ["data", "kept"],
      ["id", `${quiet}-kept`],
    ]);
    const sent: string[] = [];
    for (let n = 1; n <= 5; n++) {
      sent.push(
        await publish(restricted, [
          ["topic", busy],
          ["data", String(n)],
          ["id", `${busy}-${n}`],
        ]),
      );
    }
    await eventually(async () => {
      const res = await fetch(`${restricted.url}/topics?topic=${busy}`);
      return ((await res.json()) as { topics: Array<{ events: number }> }).topics[0]?.events === 3;
    }, 15_000);
    const left = [kept, ...sent.slice(2)];
    const cases: Array<[string, string, string[]]> = [
      // Deleted: unknown now.
      [sent[0] ?? "", "earliest", left],
      // Still there, but matching events after it went: a replay from it would skip them.
      [kept, "earliest", left],
      [sent[2] ?? "", sent[2] ?? "", sent.slice(3)],
    ];
    for (const [given, told, expected] of cases) {
      const r = await subscribe(restricted, [
        ["topic", quiet],
        ["topic", busy],
        ["last_event_id", given],
      ]);
      expect(r.response.headers.get("mercure-last-event-id")).toBe(told);
      await r.count(expected.length);
      expect(ids(r)).toEqual(expected);
      r.close();
    }
    // Resumed from the quiet topic alone, nothing it matches was deleted.
    const alone = await subscribe(restricted, [
      ["topic", quiet],
      ["last_event_id", kept],
    ]);
    expect(alone.response.headers.get("mercure-last-event-id")).toBe(kept);
    alone.close();
  });

  test("a real EventSource comes back with the id it last got when its token expires, and misses nothing", async () => {
    const topic = fresh("reconnect");
    // The stream of a token that grants private updates ends when it expires; the client comes back with a new one.
    let token = await sign({ mercure: { subscribe: [topic] }, exp: now() + 2 });
    const told: Array<string | null> = [];
    const es = new EventSource(hubUrl(anonymous, [["topic", topic]]), {
      fetch: async (url, init) => {
        const res = await fetch(url, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
        told.push(res.headers.get("mercure-last-event-id"));
        return res;
      },
    });
    const got: string[] = [];
    es.onmessage = (m) => got.push(m.lastEventId);
    await new Promise((resolve) => (es.onopen = resolve));
    const sent = [
      await publish(anonymous, [
        ["topic", topic],
        ["data", "1"],
        ["id", `es-${topics}`],
        ["retry", "100"],
      ]),
    ];
    sent.push(
      await publish(anonymous, [
        ["topic", topic],
        ["data", "2"],
        ["private", "on"],
      ]),
    );
    await eventually(async () => got.length === 2);
    token = await sign({ mercure: { subscribe: [topic] } });
    await eventually(async () => told.length === 2, 5000);
    sent.push(
      await publish(anonymous, [
        ["topic", topic],
        ["data", "3"],
      ]),
    );
    await eventually(async () => got.length === 3);
    es.close();
    expect(got).toEqual(sent);
    expect(told).toEqual([null, sent[1] ?? ""]);
  });
});

describe("authorization", () => {
  test("a private update goes only to a reader whose token grants one of its topics, live and in replay", async () => {
    const [secret, alternate] = [fresh("secret"), fresh("shared")];
    const tokens = {
      canonical: await sign({ mercure: { subscribe: [secret] } }),
      alternate: await sign({ mercure: { subscribe: [alternate] } }),
      other: await sign({ mercure: { subscribe: [fresh("elsewhere")] } }),
    };
    const params: Array<[string, string]> = [
      ["topic", secret],
      ["topic", alternate],
    ];
    const readers = {
      none: await subscribe(anonymous, params),
      canonical: await subscribe(anonymous, params, { authorization: `Bearer ${tokens.canonical}` }),
      alternate: await subscribe(anonymous, [...params, ["authorization", tokens.alternate]]),
      other: await subscribe(anonymous, params, { cookie: `mercureAuthorization=${tokens.other}` }),
    };
    const hidden = await publish(anonymous, [
      ["topic", secret],
      ["topic", alternate],
      ["data", "private"],
      ["private", "on"],
    ]);
    const shown = await publish(anonymous, [
      ["topic", secret],
      ["data", "public"],
    ]);
    for (const r of Object.values(readers)) await r.count(1);
    await readers.canonical.count(2);
    await readers.alternate.count(2);
    expect(ids(readers.canonical)).toEqual([hidden, shown]);
    expect(ids(readers.alternate)).toEqual([hidden, shown]);
    await Bun.sleep(100);
    expect(ids(readers.none)).toEqual([shown]);
    expect(ids(readers.other)).toEqual([shown]);
    for (const r of Object.values(readers)) r.close();
    // In replay, each event is checked against the token of this connection.
    const replayed = async (headers: Record<string, string>) => {
      const r = await subscribe(anonymous, [...params, ["last_event_id", "earliest"]], headers);
      await r.count(1);
      await Bun.sleep(100);
      r.close();
      return ids(r);
    };
    expect(await replayed({})).toEqual([shown]);
    expect(await replayed({ authorization: `Bearer ${tokens.other}` })).toEqual([shown]);
    expect(await replayed({ authorization: `Bearer ${tokens.canonical}` })).toEqual([hidden, shown]);
  });

  test("on the native API too, a private update goes only to a token that grants one of its topics", async () => {
    const topic = `news.private.${++topics}`;
    const granted = { authorization: `Bearer ${await sign({ mercure: { subscribe: [topic] } })}` };
    const other = { authorization: `Bearer ${await sign({ herald: { subscribe: ["news.other.*"] } })}` };
    const streams = {
      anonymous: await SseReader.open(streamUrl(restricted.url, ["news.*"])),
      other: await SseReader.open(streamUrl(restricted.url, ["news.*"]), other),
      granted: await SseReader.open(streamUrl(restricted.url, ["news.*"]), granted),
    };
    for (const r of Object.values(streams)) await r.until((x) => x.retry !== undefined);
    const hidden = await publish(restricted, [
      ["topic", topic],
      ["data", "private"],
      ["private", "on"],
    ]);
    const shown = await publish(restricted, [
      ["topic", topic],
      ["data", "public"],
    ]);
    const decimal = (id: string) => id.slice("urn:herald:".length);
    await streams.granted.count(2);
    expect(streams.granted.events.map((e) => e.id)).toEqual([decimal(hidden), decimal(shown)]);
    for (const r of [streams.anonymous, streams.other]) {
      await r.count(1);
      expect(r.events.map((e) => e.id)).toEqual([decimal(shown)]);
    }
    for (const r of Object.values(streams)) r.close();
    const history = async (headers: Record<string, string>) => {
      const res = await fetch(`${restricted.url}/events?topic=${topic}`, { headers });
      return ((await res.json()) as { events: Array<{ id: string }> }).events.map((e) => e.id);
    };
    expect(await history({})).toEqual([decimal(shown)]);
    expect(await history(other)).toEqual([decimal(shown)]);
    expect(await history(granted)).toEqual([decimal(hidden), decimal(shown)]);
  });

  test("a native stream of public topics goes on past its token's expiry, without private updates from then on", async () => {
    const topic = `news.expiring.${++topics}`;
    const exp = now() + 2;
    const token = await sign({ mercure: { subscribe: [topic] }, exp });
    const r = await SseReader.open(streamUrl(restricted.url, [topic]), { authorization: `Bearer ${token}` });
    await r.until((x) => x.retry !== undefined);
    await Bun.sleep(exp * 1000 - Date.now() + 50);
    await publish(restricted, [
      ["topic", topic],
      ["data", "private"],
      ["private", "on"],
    ]);
    const shown = await publish(restricted, [
      ["topic", topic],
      ["data", "public"],
    ]);
    await r.count(1);
    expect(r.events.map((e) => e.data)).toEqual(["public"]);
    expect(r.events[0]?.id).toBe(shown.slice("urn:herald:".length));
    expect(r.ended).toBe(false);
    r.close();
  });

  test("anonymous readers get HERALD_PUBLIC_TOPICS only; 401 and 403 carry the challenge the draft asks for", async () => {
    const open = await subscribe(restricted, [["topic", "news.today"]]);
    expect(open.response.status).toBe(200);
    open.close();
    // Mercure topics are public by the same rule, Herald's prefix selectors included.
    const url = await subscribe(restricted, [["match", "https://example.com/public/books/1"]]);
    expect(url.response.status).toBe(200);
    url.close();
    expect((await fetch(hubUrl(restricted, [["match", "https://example.com/publicity"]]))).status).toBe(401);
    // HEAD answers at once, with a GET's headers.
    const head = await fetch(hubUrl(restricted, [["topic", "news.today"]]), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("text/event-stream");
    const denied = await fetch(hubUrl(restricted, [["topic", "private.feed"]]));
    expect(denied.status).toBe(401);
    expect(denied.headers.get("www-authenticate")).toBe("Bearer");
    const bad = await fetch(hubUrl(restricted, [["topic", "private.feed"]]), { headers: { authorization: "Bearer nope" } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    const narrow = await sign({ mercure: { subscribe: ["private.other"] } });
    const forbidden = await fetch(hubUrl(restricted, [["topic", "private.feed"]]), {
      headers: { authorization: `Bearer ${narrow}` },
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope"');
    const everything = await fetch(hubUrl(restricted, [["topic", "*"]]));
    expect(everything.status).toBe(401);
    await everything.body?.cancel();
    const granted = await subscribe(restricted, [["topic", "private.feed"]], {
      authorization: `Bearer ${await sign({ mercure: { subscribe: ["private.*"] } })}`,
    });
    expect(granted.response.status).toBe(200);
    granted.close();
  });
});
