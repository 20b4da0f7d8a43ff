/**
 * Mercure's active subscriptions (HERALD_MERCURE_SUBSCRIPTIONS=true), both drafts: a private `mercure` event
 * when a subscription opens and closes, for streams whose matchers and token cover its topic, under an id that
 * resumes exactly and never in the log; the subscriptions web API with the last event id.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { dispose, type Herald, startHerald } from "./support/herald";
import { fresh, publish, SECRET, sign, subscribe } from "./support/mercure";
import type { SseReader } from "./support/sse";
import { eventually } from "./support/wait";

const SUBSCRIPTIONS = "/.well-known/mercure/subscriptions";

let hub: Herald;
let off: Herald;
let watchAll: string;

beforeAll(async () => {
  const env = { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "*" };
  [hub, off] = await Promise.all([startHerald({ env: { ...env, HERALD_MERCURE_SUBSCRIPTIONS: "true" } }), startHerald({ env })]);
  // Herald's prefix grant: the collection's URL and every one under it.
  watchAll = await sign({ mercure: { subscribe: [`${SUBSCRIPTIONS}*`] } });
});
afterAll(async () => {
  await Promise.all([dispose(hub), dispose(off)]);
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The subscription events a watcher got about `match`, as parsed documents. */
function about(r: SseReader, match: string): Array<Record<string, unknown>> {
  return r.events
    .filter((e) => e.event === "mercure")
    .map((e) => JSON.parse(e.data) as Record<string, unknown>)
    .filter((d) => d.match === match || d.topic === match);
}

describe("subscription events", () => {
  test("draft 08: a watcher of the subscriptions topics hears of each opening and closing, with its payload", async () => {
    const topic = fresh("watched");
    const watcher = await subscribe(hub, [["match", "*"]], bearer(watchAll));
    const token = await sign({ sub: "ann", mercure: { subscribe: [topic], payload: { name: "Ann" } } });
    const watched = await subscribe(hub, [["match", topic]], bearer(token));
    await watcher.until((r) => about(r, topic).length === 1);
    const [opened] = about(watcher, topic);
    const subscriber = String(opened?.subscriber);
    expect(subscriber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(opened).toEqual({
      id: `${SUBSCRIPTIONS}/exact/${encode(topic)}/${encode(subscriber)}`,
      type: "subscription",
      match_type: "exact",
      match: topic,
      subscriber,
      active: true,
      payload: { name: "Ann" },
    });
    watched.close();
    await watcher.until((r) => about(r, topic).length === 2);
    expect(about(watcher, topic)[1]).toEqual({ ...opened, active: false });
    watcher.close();
  });

  test("draft 08: a subscription's payload is that of the first subscribe authorization detail that covers its matcher", async () => {
    const [a, b] = [fresh("detailed"), fresh("detailed")];
    const detail = (match: string, payload: unknown) => ({
      type: "https://mercure.rocks/authorization-detail",
      actions: ["subscribe"],
      topics: [{ match }],
      payload,
    });
    const token = await new SignJWT({
      exp: Math.floor(Date.now() / 1000) + 600,
      mercure: { payload: "claim" },
      authorization_details: [detail(a, { custom: 1 }), detail("*", { custom: 3 })],
    })
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
      .sign(new TextEncoder().encode(SECRET));
    const watcher = await subscribe(hub, [["match", "*"]], bearer(watchAll));
    const watched = await subscribe(
      hub,
      [
        ["match", a],
        ["match", b],
      ],
      bearer(token),
    );
    await watcher.until((r) => about(r, a).length === 1 && about(r, b).length === 1);
    expect(about(watcher, a)[0]?.payload).toEqual({ custom: 1 });
    expect(about(watcher, b)[0]?.payload).toEqual({ custom: 3 });
    // /subscriptions shows the claim's payload, one per connection.
    const listed = (await (await fetch(`${hub.url}/subscriptions?topic=*&limit=1000`)).json()) as {
      subscriptions: Array<{ selectors: string[]; payload: unknown }>;
    };
    expect(listed.subscriptions.find((x) => x.selectors.includes(a))?.payload).toBe("claim");
    for (const r of [watched, watcher]) r.close();
  });

  test("draft 07: a watcher that subscribed with topic= gets draft 07's JSON-LD, one event per matcher", async () => {
    const [a, b] = [fresh("seven"), fresh("seven")];
    const watcher = await subscribe(hub, [["topic", "*"]], bearer(watchAll));
    const watched = await subscribe(hub, [
      ["topic", a],
      ["topic", b],
    ]);
    await watcher.until((r) => about(r, a).length === 1 && about(r, b).length === 1);
    const [doc] = about(watcher, a);
    const subscriber = String(doc?.subscriber);
    expect(doc).toEqual({
      "@context": "https://mercure.rocks/",
      id: `${SUBSCRIPTIONS}/${encode(a)}/${encode(subscriber)}`,
      type: "Subscription",
      topic: a,
      subscriber,
      active: true,
    });
    // One connection, one subscriber: its two subscriptions share the id.
    expect(about(watcher, b)[0]?.subscriber).toBe(subscriber);
    expect(watcher.events.every((e) => e.event === "mercure")).toBe(true);
    watched.close();
    watcher.close();
  });

  test("a URL pattern is told in draft 08's form, a URI template in draft 07's, each to watchers that match its topic", async () => {
    const base = fresh("patterned");
    const [template, pattern] = [`${base}/books/{id}`, `${base}/books/:id`];
    // Draft 07's way to watch every subscription is itself a template; draft 08's a URL pattern.
    const seven = await subscribe(hub, [["topic", `${SUBSCRIPTIONS}/{topic}/{subscriber}`]], bearer(watchAll));
    const eight = await subscribe(hub, [["match_urlpattern", `${SUBSCRIPTIONS}/*`]], bearer(watchAll));
    const byTemplate = await subscribe(hub, [["topic", template]]);
    const byPattern = await subscribe(hub, [["match_urlpattern", pattern]]);
    await seven.until((r) => about(r, template).length === 1);
    await eight.until((r) => about(r, pattern).length === 1);
    const [told7] = about(seven, template);
    const [told8] = about(eight, pattern);
    expect(told7).toEqual({
      "@context": "https://mercure.rocks/",
      id: `${SUBSCRIPTIONS}/${encode(template)}/${encode(String(told7?.subscriber))}`,
      type: "Subscription",
      topic: template,
      subscriber: String(told7?.subscriber),
      active: true,
    });
    expect(told8).toEqual({
      id: `${SUBSCRIPTIONS}/urlpattern/${encode(pattern)}/${encode(String(told8?.subscriber))}`,
      type: "subscription",
      match_type: "urlpattern",
      match: pattern,
      subscriber: String(told8?.subscriber),
      active: true,
    });
    // The web API lists each where its draft can name it: the pattern by its type, the template by itself.
    const list = async (path: string) =>
      (
        (await (await fetch(`${hub.url}${SUBSCRIPTIONS}${path}`, { headers: bearer(watchAll) })).json()) as {
          subscriptions: Array<Record<string, unknown>>;
        }
      ).subscriptions;
    expect(await list(`/urlpattern/${encode(pattern)}`)).toEqual([{ ...told8 }]);
    expect(await list(`/exact/${encode(pattern)}`)).toEqual([]);
    expect((await list(`/${encode(template)}`)).map((d) => d.topic)).toEqual([template]);
    const all = await list("");
    expect(all.some((d) => d.match === template)).toBe(false);
    byTemplate.close();
    byPattern.close();
    await seven.until((r) => about(r, template).length === 2);
    await eight.until((r) => about(r, pattern).length === 2);
    expect(about(seven, template)[1]).toEqual({ ...told7, active: false });
    // Neither draft's form of a matcher it has no word for.
    expect(about(seven, pattern)).toEqual([]);
    expect(about(eight, template)).toEqual([]);
    seven.close();
    eight.close();
  });

  test("private: a watcher whose token does not grant the subscriptions topic, or that has none, hears nothing", async () => {
    const topic = fresh("hidden");
    const granted = await subscribe(hub, [["match", "*"]], bearer(watchAll));
    const elsewhere = await subscribe(
      hub,
      [["match", "*"]],
      bearer(await sign({ mercure: { subscribe: ["https://example.com/*"] } })),
    );
    const anonymous = await subscribe(hub, [["match", "*"]]);
    const watched = await subscribe(hub, [["match", topic]]);
    await granted.until((r) => about(r, topic).length === 1);
    watched.close();
    await granted.until((r) => about(r, topic).length === 2);
    await Bun.sleep(100);
    expect(about(elsewhere, topic)).toEqual([]);
    expect(about(anonymous, topic)).toEqual([]);
    for (const r of [granted, elsewhere, anonymous]) r.close();
  });

  test("their id is the stream's place in the log: a reconnect with it resumes exactly, and they are never replayed", async () => {
    const topic = fresh("resume");
    const before = await publish(hub, [
      ["topic", topic],
      ["data", "before"],
    ]);
    const watcher = await subscribe(
      hub,
      [
        ["match", topic],
        ["match", "*"],
      ],
      bearer(watchAll),
    );
    const other = fresh("other");
    const watched = await subscribe(hub, [["match", other]]);
    await watcher.until((r) => about(r, other).length === 1);
    const notice = watcher.events.find((e) => e.event === "mercure" && e.data.includes(JSON.stringify(other)));
    // The log's newest event when the notice went out: every event up to it was before the stream began.
    const herald = (await (await fetch(`${hub.url}/health`)).json()) as { lastEventId: string };
    expect(notice?.id).toBe(`urn:herald:${herald.lastEventId}`);
    watcher.close();
    watched.close();
    const after = await publish(hub, [
      ["topic", topic],
      ["data", "after"],
    ]);
    const again = await subscribe(hub, [["match", topic]], { ...bearer(watchAll), "Last-Event-ID": notice?.id as string });
    expect(again.response.headers.get("mercure-last-event-id")).toBe(notice?.id as string);
    await again.count(1);
    await Bun.sleep(100);
    expect(again.events.map((e) => e.id)).toEqual([after]);
    expect(before).not.toBe(after);
    again.close();
    // From the start of the log: the events, and no subscription event of the past.
    const replay = await subscribe(
      hub,
      [
        ["match", "*"],
        ["last_event_id", "earliest"],
      ],
      bearer(watchAll),
    );
    await replay.until((r) => r.events.some((e) => e.id === after));
    expect(about(replay, other)).toEqual([]);
    replay.close();
    const history = (await (await fetch(`${hub.url}/events?topic=*&limit=1000`)).json()) as { events: Array<{ topic: string }> };
    expect(history.events.filter((e) => e.topic.includes("subscriptions"))).toEqual([]);
  });

  test("off by default: no events, no web API", async () => {
    const topic = fresh("off");
    const watcher = await subscribe(off, [["match", "*"]], bearer(watchAll));
    const watched = await subscribe(off, [["match", topic]]);
    await Bun.sleep(200);
    watched.close();
    expect(watcher.events).toEqual([]);
    watcher.close();
    expect((await fetch(`${off.url}${SUBSCRIPTIONS}`, { headers: bearer(watchAll) })).status).toBe(404);
  });

  test("/metrics counts the subscription events written to streams", async () => {
    const count = async () =>
      Number(/^herald_presence_events_sent_total (\d+)$/m.exec(await (await fetch(`${hub.url}/metrics`)).text())?.[1]);
    const was = await count();
    const topic = fresh("counted");
    const watcher = await subscribe(hub, [["match", "*"]], bearer(watchAll));
    const watched = await subscribe(hub, [["match", topic]]);
    await watcher.until((r) => about(r, topic).length === 1);
    watched.close();
    await watcher.until((r) => about(r, topic).length === 2);
    // The watcher hears of its own opening too.
    expect(about(watcher, "*").length).toBeGreaterThan(0);
    await eventually(async () => (await count()) >= was + 3);
    watcher.close();
  });
});

describe("the subscriptions web API", () => {
  async function api(path: string, headers: Record<string, string> = bearer(watchAll)): Promise<Response> {
    return fetch(`${hub.url}${SUBSCRIPTIONS}${path}`, { headers });
  }

  test("lists active subscriptions in draft 08's form, or draft 07's for application/ld+json, with the last event id", async () => {
    const [a, b] = [fresh("listed"), fresh("listed")];
    const token = await sign({ sub: "bo", mercure: { subscribe: ["*"], payload: 7 } });
    const stream = await subscribe(
      hub,
      [
        ["match", a],
        ["match", b],
      ],
      bearer(token),
    );
    try {
      const lastId = await publish(hub, [
        ["topic", a],
        ["data", "x"],
      ]);
      const res = await api("");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(res.headers.get("link")).toBe(
        `<${hub.url}/.well-known/mercure>; rel="mercure"; last-event-id="${lastId}"; type="mercure"; content-type="application/json"`,
      );
      const all = (await res.json()) as { id: string; type: string; subscriptions: Array<Record<string, unknown>> };
      expect(all.id).toBe(SUBSCRIPTIONS);
      expect(all.type).toBe("subscriptions");
      const mine = all.subscriptions.filter((s) => s.match === a || s.match === b);
      expect(mine.map((s) => s.match)).toEqual([a, b]);
      const subscriber = String(mine[0]?.subscriber);
      expect(mine[0]).toEqual({
        id: `${SUBSCRIPTIONS}/exact/${encode(a)}/${encode(subscriber)}`,
        type: "subscription",
        match_type: "exact",
        match: a,
        subscriber,
        active: true,
        payload: 7,
      });

      const ld = await api("", { ...bearer(watchAll), accept: "application/ld+json" });
      expect(ld.headers.get("content-type")).toBe("application/ld+json");
      const seven = (await ld.json()) as Record<string, unknown> & { subscriptions: Array<Record<string, unknown>> };
      expect(seven).toMatchObject({
        "@context": "https://mercure.rocks/",
        id: SUBSCRIPTIONS,
        type: "Subscriptions",
        lastEventID: lastId,
      });
      expect(seven.subscriptions.find((s) => s.topic === a)).toEqual({
        id: `${SUBSCRIPTIONS}/${encode(a)}/${encode(subscriber)}`,
        type: "Subscription",
        topic: a,
        subscriber,
        active: true,
        payload: 7,
      });

      // Draft 08's collection for one matcher, and one subscription.
      const byMatch = (await (await api(`/exact/${encode(a)}`)).json()) as Record<string, unknown>;
      expect(byMatch).toEqual({ id: `${SUBSCRIPTIONS}/exact/${encode(a)}`, type: "subscriptions", subscriptions: [mine[0]] });
      expect(await (await api(`/exact/${encode(a)}/${encode(subscriber)}`)).json()).toEqual(mine[0] as Record<string, unknown>);
      // Draft 07's: a topic, then a topic and a subscriber (with the last event id in the document).
      const byTopic = (await (await api(`/${encode(b)}`)).json()) as { subscriptions: Array<{ topic: string }> };
      expect(byTopic.subscriptions.map((s) => s.topic)).toEqual([b]);
      const one = await api(`/${encode(b)}/${encode(subscriber)}`);
      expect(one.headers.get("content-type")).toBe("application/ld+json");
      expect(await one.json()).toMatchObject({ "@context": "https://mercure.rocks/", topic: b, subscriber, lastEventID: lastId });
    } finally {
      stream.close();
    }
  });

  test("a subscription that closed or never was is a 404; a matcher type draft 08 does not define is a 400", async () => {
    const topic = fresh("gone");
    const watcher = await subscribe(hub, [["match", "*"]], bearer(watchAll));
    const stream = await subscribe(hub, [["match", topic]]);
    await watcher.until((r) => about(r, topic).length === 1);
    const subscriber = String(about(watcher, topic)[0]?.subscriber);
    const path = `/exact/${encode(topic)}/${encode(subscriber)}`;
    expect((await api(path)).status).toBe(200);
    stream.close();
    await watcher.until((r) => about(r, topic).length === 2);
    const gone = await api(path);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe("not_found");
    expect((await api(`/exact/${encode(topic)}/urn%3Auuid%3Anone`)).status).toBe(404);
    expect((await api(`/regex/${encode(topic)}/${encode(subscriber)}`)).status).toBe(400);
    expect((await api("/%E0%A4%A/x")).status).toBe(400);
    watcher.close();
  });

  test("the URL is the topic a token must grant: public topics are not enough", async () => {
    const none = await api("", {});
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe("Bearer");
    const other = await api("", bearer(await sign({ mercure: { subscribe: ["https://example.com/*"] } })));
    expect(other.status).toBe(403);
    expect(other.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope"');
    const exactly = await sign({ mercure: { subscribe: [`${SUBSCRIPTIONS}/exact/${encode("https://example.com/x")}`] } });
    expect((await api(`/exact/${encode("https://example.com/x")}`, bearer(exactly))).status).toBe(200);
    expect((await api("", bearer(exactly))).status).toBe(403);
    // Draft 08: a URL pattern grant covers the paths it matches.
    const patterned = await new SignJWT({
      exp: Math.floor(Date.now() / 1000) + 600,
      authorization_details: [
        {
          type: "https://mercure.rocks/authorization-detail",
          actions: ["subscribe"],
          topics: [{ match: `${SUBSCRIPTIONS}/exact/*`, match_type: "urlpattern" }],
        },
      ],
    })
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
      .sign(new TextEncoder().encode(SECRET));
    expect((await api(`/exact/${encode("https://example.com/x")}`, bearer(patterned))).status).toBe(200);
    expect((await api("", bearer(patterned))).status).toBe(403);
    expect((await api("", bearer("junk"))).headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
  });

  test("a watcher that subscribes first, then reads the list, misses no subscription: earlier ones listed, later ones told", async () => {
    const topic = fresh("race");
    const last = /last-event-id="([^"]*)"/.exec((await api("")).headers.get("link") ?? "")?.[1] as string;
    const update = await publish(hub, [
      ["topic", topic],
      ["data", "after the list"],
    ]);
    const early = await subscribe(hub, [["match", topic]]);
    // From the list's last event id, the updates since come first.
    const watcher = await subscribe(
      hub,
      [
        ["match", "*"],
        ["last_event_id", last],
      ],
      bearer(watchAll),
    );
    await watcher.until((r) => r.events.some((e) => e.id === update));
    const listed = (await (await api(`/exact/${encode(topic)}`)).json()) as { subscriptions: Array<{ subscriber: string }> };
    expect(listed.subscriptions.length).toBe(1);
    const late = await subscribe(hub, [["match", topic]]);
    await watcher.until((r) => about(r, topic).length === 1);
    // Subscription events are live: the one opened before the watcher is in the list, the later one is told.
    expect(about(watcher, topic)[0]?.subscriber).not.toBe(listed.subscriptions[0]?.subscriber);
    for (const r of [early, late, watcher]) r.close();
  });
});
