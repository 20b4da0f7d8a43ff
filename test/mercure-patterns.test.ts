/**
 * Pattern matchers on /.well-known/mercure: draft 07's URI templates (`topic=`, and in the `mercure` claim) and
 * draft 08's URL patterns (`match_urlpattern`, and `match_type: "urlpattern"` in authorization details), live
 * and in replay, for private updates, with the refusals of patterns that cannot be parsed or cost too much.
 * Each subscriber's stream ends its check with a marker update it matches: what did not come before it, never will.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { dispose, type Herald, startHerald } from "./support/herald";
import { publish, SECRET, sign, subscribe, unique } from "./support/mercure";
import type { SseReader } from "./support/sse";

/** The hub's URL: what relative URL patterns and topics resolve against, and the audience of access tokens. */
const HUB = "https://hub.example.com/.well-known/mercure";
/** Every topic public, private updates for tokens only. */
let anonymous: Herald;
/** Nothing public but `news.*`: every other matcher needs a grant. */
let restricted: Herald;

beforeAll(async () => {
  [anonymous, restricted] = await Promise.all([
    startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "*", HERALD_MERCURE_AUDIENCE: HUB } }),
    startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "news.*" } }),
  ]);
});
afterAll(async () => {
  await Promise.all([dispose(anonymous), dispose(restricted)]);
});

/** Publishes an update on `topics` whose data is the first topic, private or not; resolves with its id. */
const update = (h: Herald, topics: string[], isPrivate = false) =>
  publish(h, [
    ...topics.map((t): [string, string] => ["topic", t]),
    ["data", topics[0] as string],
    ...(isPrivate ? [["private", "on"] as [string, string]] : []),
  ]);

/** Publishes a native event on `/topics/{topic}/events`. */
async function publishNative(h: Herald, topic: string, data: string): Promise<void> {
  const res = await fetch(`${h.url}/topics/${topic}/events`, {
    method: "POST",
    body: JSON.stringify({ data }),
    headers: { "content-type": "application/json", authorization: `Bearer ${await sign({ herald: { publish: ["*"] } })}` },
  });
  expect(res.status).toBe(201);
}

/** The data of every update `r` got up to and including the marker (the marker's data is `marker`). */
async function untilMarker(r: SseReader, marker: string): Promise<string[]> {
  await r.until((x) => x.events.some((e) => e.data === marker));
  const got = r.events.map((e) => e.data);
  return got.slice(0, got.indexOf(marker));
}

describe("URI templates (draft 07's topic=)", () => {
  test("levels 1 to 4 receive the topics they expand to, and the topic that is the template itself", async () => {
    const base = `https://example.com/t${unique()}`;
    const marker = `${base}/marker`;
    const templates = {
      simple: `${base}/books/{id}`,
      reserved: `${base}/files/{+path}`,
      query: `${base}/search{?q,page}`,
      path: `${base}/tree{/segments*}`,
    };
    const readers = Object.fromEntries(
      await Promise.all(
        Object.entries(templates).map(
          async ([name, t]) =>
            [
              name,
              await subscribe(anonymous, [
                ["topic", t],
                ["match", marker],
              ]),
            ] as const,
        ),
      ),
    );
    const topics = [
      `${base}/books/1`,
      `${base}/books/1/reviews`,
      `${base}/books/{id}`,
      `${base}/files/a/b/c.txt`,
      `${base}/files/a b`,
      `${base}/search?q=bun&page=2`,
      `${base}/search?page=2&q=bun`,
      `${base}/search`,
      `${base}/tree/a/b/c`,
      `${base}/tree.x`,
    ];
    for (const t of [...topics, marker]) await update(anonymous, [t]);
    expect(await untilMarker(readers.simple as SseReader, marker)).toEqual([`${base}/books/1`, `${base}/books/{id}`]);
    expect(await untilMarker(readers.reserved as SseReader, marker)).toEqual([`${base}/files/a/b/c.txt`]);
    expect(await untilMarker(readers.query as SseReader, marker)).toEqual([`${base}/search?q=bun&page=2`, `${base}/search`]);
    expect(await untilMarker(readers.path as SseReader, marker)).toEqual([`${base}/tree/a/b/c`]);
    for (const r of Object.values(readers)) r.close();
  });

  test("a native event reaches a template subscriber of its topic, and an update reaches it by an alternate", async () => {
    const n = unique();
    const marker = `orders.${n}.marker`;
    const r = await subscribe(anonymous, [
      ["topic", `orders.${n}.{id}.created`],
      ["match", marker],
    ]);
    await publishNative(anonymous, `orders.${n}.7.created`, "native");
    await publishNative(anonymous, `orders.${n}.7.deleted`, "not this one");
    await update(anonymous, [`https://example.com/orders/${n}`, `orders.${n}.8.created`]);
    await update(anonymous, [marker]);
    expect(await untilMarker(r, marker)).toEqual(["native", `https://example.com/orders/${n}`]);
    r.close();
  });

  test("a template whose literal part ends in any character replays the topics it gets live", async () => {
    // U+203FF, a CJK ideograph, is two UTF-16 units, the second DFFF: raising that unit names no upper bound.
    const base = `https://example.com/t${unique()}/\u{203FF}`;
    const marker = `${base}/marker`;
    const params: Array<[string, string]> = [
      ["topic", `${base}{id}`],
      ["match", marker],
    ];
    const live = await subscribe(anonymous, params);
    for (const t of [`${base}1`, `${base}/2`, marker]) await update(anonymous, [t]);
    expect(await untilMarker(live, marker)).toEqual([`${base}1`]);
    live.close();
    const replay = await subscribe(anonymous, [...params, ["last_event_id", "earliest"]]);
    expect(await untilMarker(replay, marker)).toEqual([`${base}1`]);
    replay.close();
  });

  test("a template that cannot be parsed, or has too many variables, is a 400; draft 08's match still reads such a topic", async () => {
    const base = `https://example.com/t${unique()}`;
    const many = Array.from({ length: 9 }, (_, i) => `{v${i}}`).join("/");
    for (const template of [`${base}/{not closed`, `${base}/{}`, `${base}/{id:99999}`, `${base}/{a b}`, `${base}/${many}`]) {
      const res = await fetch(`${anonymous.url}/.well-known/mercure?${new URLSearchParams([["topic", template]])}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_selector");
      // In a token, such a selector would grant nothing anyone could check: the token is refused.
      const token = await sign({ mercure: { subscribe: [template] } });
      const claimed = await fetch(`${anonymous.url}/.well-known/mercure?${new URLSearchParams([["topic", base]])}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(claimed.status).toBe(401);
    }
    const r = await subscribe(anonymous, [
      ["match", `${base}/{not closed`],
      ["match", `${base}/marker`],
    ]);
    for (const t of [`${base}/x`, `${base}/{not closed`, `${base}/marker`]) await update(anonymous, [t]);
    expect(await untilMarker(r, `${base}/marker`)).toEqual([`${base}/{not closed`]);
    r.close();
  });
});

describe("URL patterns (draft 08's match_urlpattern)", () => {
  test("absolute and relative patterns receive the topics they match, relative ones resolved against the hub's URL", async () => {
    const n = unique();
    const base = `https://example.com/u${n}`;
    const marker = `${base}/marker`;
    const books = await subscribe(anonymous, [
      ["match_urlpattern", `${base}/books/:id`],
      ["match", marker],
    ]);
    const relative = await subscribe(anonymous, [
      ["match_urlpattern", `/u${n}/items/*`],
      ["match", marker],
    ]);
    const topics = [
      `${base}/books/1`,
      `${base}/books/1/reviews`,
      `${base}/authors/1`,
      `/u${n}/items/3/4`,
      `/u${n}/books/5`,
      `https://hub.example.com/u${n}/items/6`,
    ];
    for (const t of [...topics, marker]) await update(anonymous, [t]);
    expect(await untilMarker(books, marker)).toEqual([`${base}/books/1`]);
    expect(await untilMarker(relative, marker)).toEqual([`/u${n}/items/3/4`, `https://hub.example.com/u${n}/items/6`]);
    books.close();
    relative.close();
  });

  test.each([
    ["one that cannot be parsed", "https://["],
    ["a custom regular expression", "https://example.com/books/:id(\\d+)"],
    ["a repeated group", "https://example.com/:path+"],
    ["three wildcards", "https://example.com/*x*y*"],
  ])("400 invalid_selector before any stream byte: %s", async (_, pattern) => {
    const res = await fetch(`${anonymous.url}/.well-known/mercure?${new URLSearchParams([["match_urlpattern", pattern]])}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_selector");
  });
});

describe("replay through a pattern", () => {
  test.each([
    ["topic", (base: string) => `${base}/books/{id}`],
    ["match_urlpattern", (base: string) => `${base}/books/:id`],
  ])("Last-Event-ID with %s replays the matching events only", async (name, pattern) => {
    const base = `https://example.com/r${unique()}`;
    const first = await update(anonymous, [`${base}/books/0`]);
    await update(anonymous, [`${base}/books/1`]);
    await update(anonymous, [`${base}/books/1/reviews`]);
    await update(anonymous, [`${base}/other/2`]);
    await update(anonymous, [`https://example.com/elsewhere/${unique()}`, `${base}/books/3`]);
    await update(anonymous, [`${base}/booksX`]);
    const marker = `${base}/books/marker`;
    await update(anonymous, [marker]);
    const r = await subscribe(anonymous, [[name, pattern(base)]], { "last-event-id": first });
    expect(r.response.headers.get("mercure-last-event-id")).toBe(first);
    const got = await untilMarker(r, marker);
    expect(got).toEqual([`${base}/books/1`, expect.stringMatching(/^https:\/\/example\.com\/elsewhere\//)]);
    r.close();
  });
});

describe("private updates through pattern grants", () => {
  test("a template grant (mercure claim) and a URL pattern grant (authorization_details) read what they match", async () => {
    const base = `https://example.com/p${unique()}`;
    const detail = (match: string, matchType: string) => ({
      authorization_details: [
        {
          type: "https://mercure.rocks/authorization-detail",
          actions: ["subscribe"],
          topics: [{ match, match_type: matchType }],
        },
      ],
    });
    // Draft 08's access tokens carry `typ: at+jwt`.
    const at = (claims: Record<string, unknown>) =>
      new SignJWT({ exp: Math.floor(Date.now() / 1000) + 600, aud: HUB, ...claims })
        .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
        .sign(new TextEncoder().encode(SECRET));
    const tokens = {
      template: await sign({ mercure: { subscribe: [`${base}/books/{id}`] } }),
      urlpattern: await at(detail(`${base}/books/:id`, "urlpattern")),
      alternate: await sign({ mercure: { subscribe: [`${base}/users/foo/{?topic}`] } }),
      other: await sign({ mercure: { subscribe: [`${base}/authors/{id}`] } }),
    };
    const marker = `${base}/books/marker`;
    const readers = Object.fromEntries(
      await Promise.all(
        Object.entries({ none: undefined, ...tokens }).map(
          async ([name, token]) =>
            [
              name,
              await subscribe(
                anonymous,
                [
                  ["topic", `${base}/books/{id}`],
                  ["match", `${base}/books/1/notes`],
                ],
                token ? { authorization: `Bearer ${token}` } : {},
              ),
            ] as const,
        ),
      ),
    );
    await update(anonymous, [`${base}/books/1`], true);
    // It starts like the topics the grants match, but none matches it.
    await update(anonymous, [`${base}/books/1/notes`], true);
    await update(anonymous, [`${base}/books/2`, `${base}/users/foo/?topic=${encodeURIComponent(`${base}/books/2`)}`], true);
    await update(anonymous, [marker]);
    const got = async (name: string) => untilMarker(readers[name] as SseReader, marker);
    expect(await got("template")).toEqual([`${base}/books/1`, `${base}/books/2`]);
    expect(await got("urlpattern")).toEqual([`${base}/books/1`, `${base}/books/2`]);
    expect(await got("alternate")).toEqual([`${base}/books/2`]);
    expect(await got("other")).toEqual([]);
    expect(await got("none")).toEqual([]);
    for (const r of Object.values(readers)) r.close();
  });

  test("where topics are not public, a pattern subscription needs the same pattern, a covering prefix or *", async () => {
    const base = `https://example.com/q${unique()}`;
    const template = `${base}/books/{id}`;
    const open = async (name: string, matcher: string, grants: string[]) => {
      const token = await sign({ mercure: { subscribe: grants } });
      const r = await subscribe(restricted, [[name, matcher]], { authorization: `Bearer ${token}` });
      r.close();
      return r.response.status;
    };
    expect(await open("topic", template, [template])).toBe(200);
    expect(await open("topic", template, [`${base}/*`])).toBe(200);
    expect(await open("topic", template, ["*"])).toBe(200);
    expect(await open("topic", template, [`${base}/books/1`])).toBe(403);
    expect(await open("topic", template, [`${base}/authors/*`])).toBe(403);
    expect(await open("match_urlpattern", `${base}/books/:id`, [`${base}/*`])).toBe(403);
    expect(await open("match_urlpattern", `${base}/books/:id`, ["*"])).toBe(200);
    expect(await open("match", `${base}/books/7`, [template])).toBe(200);
    expect(await open("match", `${base}/authors/7`, [template])).toBe(403);
    expect(await open("match", `${base}/books/7/notes`, [template])).toBe(403);
  });
});
