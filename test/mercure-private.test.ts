/**
 * Who reads what on /.well-known/mercure and the native API: a private update goes only to a token that grants
 * one of its topics (live, in replay, in history, until the token expires); readers without a token get
 * HERALD_PUBLIC_TOPICS, Mercure topics included; 401 and 403 carry the challenges draft 08 names.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dispose, type Herald, startHerald } from "./support/herald";
import { fresh, hubUrl, ids, now, publish, SECRET, sign, subscribe, unique } from "./support/mercure";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

/** Mercure's anonymous mode: every topic public, private updates for tokens only. */
let anonymous: Herald;
/** Only `news.*` and `https://example.com/public/*` without a token. */
let restricted: Herald;

beforeAll(async () => {
  [anonymous, restricted] = await Promise.all([
    startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "*" } }),
    startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "news.*,https://example.com/public/*" } }),
  ]);
});
afterAll(async () => {
  await Promise.all([dispose(anonymous), dispose(restricted)]);
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
    const topic = `news.private.${unique()}`;
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

  test("/topics shows each reader only what it may read of private updates, topics of nothing else left out", async () => {
    const base = `users.${unique()}`;
    const [inbox, mixed] = [`${base}.inbox`, `${base}.mixed`];
    const update = (topic: string, hidden: boolean) =>
      publish(anonymous, [["topic", topic], ["data", "x"], ...(hidden ? [["private", "on"] as [string, string]] : [])]);
    await update(inbox, true);
    await update(mixed, true);
    const shown = await update(mixed, false);
    await update(mixed, true);
    await update(inbox, true);
    const decimal = (id: string) => id.slice("urn:herald:".length);
    const list = async (query: string, token?: Record<string, unknown>) => {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${await sign(token)}` } : {};
      const res = await fetch(`${anonymous.url}/topics?${query}`, { headers });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        topics: Array<{ topic: string; events: number; firstId: string; lastId: string }>;
        next: string | null;
      };
      return {
        topics: body.topics.map((t) => [t.topic, t.events, t.firstId === t.lastId ? t.firstId : "several"]),
        next: body.next,
      };
    };
    const onlyShown = [mixed, 1, decimal(shown)];
    // Without a token (every topic public here), and for a token that grants other topics: the public event only.
    for (const token of [undefined, { mercure: { subscribe: ["elsewhere.*"] } }]) {
      expect(await list(`topic=${base}.*`, token)).toEqual({ topics: [onlyShown], next: null });
      expect((await list("", token)).topics.map(([topic]) => topic)).not.toContain(inbox);
    }
    // A token decides topic by topic: the one it grants is shown whole.
    expect(await list(`topic=${base}.*`, { mercure: { subscribe: [inbox] } })).toEqual({
      topics: [[inbox, 2, "several"], onlyShown],
      next: null,
    });
    expect(await list(`topic=${base}.*`, { herald: { subscribe: [`${base}.*`] } })).toEqual({
      topics: [
        [inbox, 2, "several"],
        [mixed, 3, "several"],
      ],
      next: null,
    });
    // As on /events, a page's `next` moves past what the reader is not shown: a full page may show less.
    expect(await list(`topic=${base}.*&limit=1`)).toEqual({ topics: [], next: inbox });
    expect(await list(`topic=${base}.*&limit=1&after=${inbox}`)).toEqual({ topics: [onlyShown], next: mixed });
    expect(await list(`topic=${base}.*&limit=1&after=${mixed}`)).toEqual({ topics: [], next: null });
  });

  test("a native stream of public topics opened with a token ends when it expires; back without one, no private update", async () => {
    const topic = `news.expiring.${unique()}`;
    const exp = now() + 2;
    const token = await sign({ mercure: { subscribe: [topic] }, exp });
    const r = await SseReader.open(streamUrl(restricted.url, [topic]), { authorization: `Bearer ${token}` });
    await r.until((x) => x.retry !== undefined);
    const before = await publish(restricted, [
      ["topic", topic],
      ["data", "private before"],
      ["private", "on"],
    ]);
    await r.count(1);
    await eventually(() => r.ended, 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
    expect(r.endedCleanly).toBe(true);
    await publish(restricted, [
      ["topic", topic],
      ["data", "private"],
      ["private", "on"],
    ]);
    const shown = await publish(restricted, [
      ["topic", topic],
      ["data", "public"],
    ]);
    const back = await SseReader.open(streamUrl(restricted.url, [topic]), {
      "last-event-id": before.slice("urn:herald:".length),
    });
    await back.count(1);
    expect(back.events.map((e) => e.data)).toEqual(["public"]);
    expect(back.events[0]?.id).toBe(shown.slice("urn:herald:".length));
    back.close();
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
    // Without HERALD_MERCURE_AUDIENCE there is no protected resource metadata for a challenge to name.
    expect(denied.headers.get("www-authenticate")).toBe("Bearer");
    expect((await fetch(`${restricted.url}/.well-known/oauth-protected-resource/.well-known/mercure`)).status).toBe(404);
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
