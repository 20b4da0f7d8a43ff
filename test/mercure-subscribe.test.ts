/**
 * Subscribing on /.well-known/mercure with EventSource clients (the `eventsource` package, and the test client
 * of test/support/sse.ts that keeps every field): draft 07's `topic` and draft 08's `match`, Mercure ids, types
 * and retry on the wire, native and Mercure events together, heartbeats, refusals, and resume from any Mercure
 * id with the headers both drafts ask for. Private updates and readers: mercure-private.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EventSource } from "eventsource";
import { dispose, type Herald, startHerald } from "./support/herald";
import { fresh, hubUrl, ids, now, publish, SECRET, sign, subscribe, unique } from "./support/mercure";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

/** Mercure's anonymous mode: every topic public; a heartbeat every 300 ms. */
let anonymous: Herald;
/** Three events kept per topic. */
let retained: Herald;

beforeAll(async () => {
  [anonymous, retained] = await Promise.all([
    startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "*", HERALD_HEARTBEAT_MS: "300" } }),
    startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "*", HERALD_RETENTION_MAX_EVENTS: "3" } }),
  ]);
});
afterAll(async () => {
  await Promise.all([dispose(anonymous), dispose(retained)]);
});

describe("GET /.well-known/mercure", () => {
  test("topic= and match= receive updates with the publisher's id, else urn:herald:<n>, type, retry and data lines", async () => {
    const n = unique();
    const topic = `https://example.com/books/${n}`;
    const uuid = `urn:uuid:${n}`;
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
    const n = unique();
    const topic = `https://example.com/unicode/${n}`;
    const id = `книга-${n}`;
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
    const n = unique();
    const [quiet, busy] = [`news.quiet.${n}`, `news.busy.${n}`];
    const kept = await publish(retained, [
      ["topic", quiet],
      ["data", "kept"],
      ["id", `${quiet}-kept`],
    ]);
    const sent: string[] = [];
    for (let n = 1; n <= 5; n++) {
      sent.push(
        await publish(retained, [
          ["topic", busy],
          ["data", String(n)],
          ["id", `${busy}-${n}`],
        ]),
      );
    }
    await eventually(async () => {
      const res = await fetch(`${retained.url}/topics?topic=${busy}`);
      return ((await res.json()) as { topics: Array<{ events: number }> }).topics[0]?.events === 3;
    }, 15_000);
    const left = [kept, ...sent.slice(2)];
    // The Herald ids of what is left of the busy topic: the first left follows the last deleted.
    const history = (await (await fetch(`${retained.url}/events?topic=${busy}`)).json()) as { events: Array<{ id: string }> };
    const firstLeft = Number(history.events[0]?.id);
    const cases: Array<[string, string, string[]]> = [
      // Deleted: unknown now, by the publisher's id or by its own.
      [sent[0] ?? "", "earliest", left],
      [`urn:herald:${firstLeft - 1}`, "earliest", left],
      // Still there, but matching events after it went: a replay from it would skip them.
      [kept, "earliest", left],
      [sent[2] ?? "", sent[2] ?? "", sent.slice(3)],
      [`urn:herald:${firstLeft}`, `urn:herald:${firstLeft}`, sent.slice(3)],
    ];
    for (const [given, told, expected] of cases) {
      const r = await subscribe(retained, [
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
    const alone = await subscribe(retained, [
      ["topic", quiet],
      ["last_event_id", kept],
    ]);
    expect(alone.response.headers.get("mercure-last-event-id")).toBe(kept);
    alone.close();
  });

  test("a real EventSource comes back with the id it last got when its token expires, and misses nothing", async () => {
    const n = unique();
    const topic = `https://example.com/reconnect/${n}`;
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
        ["id", `es-${n}`],
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
