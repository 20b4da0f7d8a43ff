/**
 * The MUSTs and SHOULDs of Mercure drafts 07 and 08 that the other mercure-*.test.ts files leave out, section by
 * section: publication (`private` without a value, data lines, limits, the reserved namespace whatever the
 * token), authorization (token sources and their precedence, malformed presentations, JWS rules, authorization
 * details, the cookie and CSRF), subscription (exact matching, caching, CORS, HEAD) and reconciliation (a
 * replay gives every field of an update back). Tests marked `todo` need a change in a file another helper owns.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { dispose, type Herald, startHerald } from "./support/herald";
import { fresh, hubUrl, ids, now, publish, SECRET, sign, subscribe, unique } from "./support/mercure";
import { SseReader } from "./support/sse";

const APP = "https://app.example";
const AUDIENCE = "https://hub.example/.well-known/mercure";
const ISSUER = "https://app.example";
/** The hub's protected resource metadata (RFC 9728), at the path derived from its resource identifier. */
const METADATA_URL = "https://hub.example/.well-known/oauth-protected-resource/.well-known/mercure";
const DETAIL = "https://mercure.rocks/authorization-detail";
const key = new TextEncoder().encode(SECRET);

/** Topics under https://example.com/public/ are read without a token (Mercure's anonymous subscribers); the rest need one. */
let hub: Herald;
let endpoint: string;

beforeAll(async () => {
  hub = await startHerald({
    env: {
      HERALD_JWT_SECRET: SECRET,
      HERALD_PUBLIC_TOPICS: "https://example.com/public/*",
      HERALD_CORS_ORIGINS: APP,
      HERALD_MERCURE_AUDIENCE: AUDIENCE,
      HERALD_MERCURE_ISSUER: ISSUER,
    },
  });
  endpoint = `${hub.url}/.well-known/mercure`;
});
afterAll(() => dispose(hub));

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const publisher = () => sign({ mercure: { publish: ["*"] } });
const bearer = async (claims: Record<string, unknown>) => ({ authorization: `Bearer ${await sign(claims)}` });

/** A POST of `body` as it is (no encoding), with the headers given and a query string if any. */
function post(body: string, headers: Record<string, string>, query = ""): Promise<Response> {
  return fetch(`${endpoint}${query}`, { method: "POST", body, headers: { ...FORM, ...headers } });
}

function form(fields: Array<[string, string]>): string {
  return new URLSearchParams(fields).toString();
}

/** A Bearer challenge with these attributes, then the `resource_metadata` every challenge of the hub names. */
function challenge(attributes = ""): string {
  return `Bearer ${attributes}${attributes === "" ? "" : ", "}resource_metadata="${METADATA_URL}"`;
}

/** The status, error code and challenge of a refusal. */
async function refusal(res: Response): Promise<[number, string | null, string | null]> {
  const challenge = res.headers.get("www-authenticate");
  if (!res.headers.get("content-type")?.startsWith("application/json")) {
    await res.body?.cancel();
    return [res.status, null, challenge];
  }
  const body = (await res.json()) as { error: { code: string } };
  return [res.status, body.error.code, challenge];
}

/** A token for `claims` with the protected header given (HS256 with the hub's secret unless it says otherwise). */
function signed(claims: Record<string, unknown>, header: Record<string, unknown> = {}, secret = key): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", ...header }).sign(secret);
}

/** A draft 08 access token for the test hub: `at+jwt`, an `exp`, its `aud` and `iss`, and these authorization details. */
const accessToken = (details: unknown[], claims: Record<string, unknown> = {}) =>
  signed(
    { exp: now() + 600, aud: AUDIENCE, iss: ISSUER, sub: "s", authorization_details: details, ...claims },
    { typ: "at+jwt" },
  );

describe("publication", () => {
  test("`private` makes an update private whatever its value, and given without one (draft 08: presence alone counts)", async () => {
    const topic = fresh("public");
    const anonymous = await subscribe(hub, [["match", topic]]);
    const reader = await subscribe(hub, [["match", topic]], await bearer({ mercure: { subscribe: [topic] } }));
    const auth = { authorization: `Bearer ${await publisher()}` };
    const hidden: string[] = [];
    for (const flag of ["private", "private=", "private=off", "private=false"]) {
      const res = await post(`topic=${encodeURIComponent(topic)}&data=hidden&${flag}`, auth);
      expect(res.status).toBe(200);
      hidden.push(await res.text());
    }
    const shown = await publish(hub, [
      ["topic", topic],
      ["data", "shown"],
    ]);
    await reader.count(5);
    expect(ids(reader)).toEqual([...hidden, shown]);
    // Events come in log order: once the last one is in, nothing private came before it.
    await anonymous.count(1);
    expect(ids(anonymous)).toEqual([shown]);
    anonymous.close();
    reader.close();
  });

  test("data goes out as one data: line per line, split on CR, LF and CRLF: a value cannot inject an id, a type or a retry", async () => {
    const topic = fresh("public");
    const r = await subscribe(hub, [["match", topic]]);
    const id = await publish(hub, [
      ["topic", topic],
      ["data", "one\rtwo\nid: forged\r\nevent: forged\n\nretry: 1"],
    ]);
    await r.count(1);
    expect(r.raw).toContain(`id: ${id}\ndata: one\ndata: two\ndata: id: forged\ndata: event: forged\ndata: \ndata: retry: 1\n\n`);
    expect(r.events.map((e) => [e.id, e.event])).toEqual([[id, undefined]]);
    r.close();
  });

  test("an id, a type or a number of fields past the hub's limits is a 413, and nothing is dispatched", async () => {
    const topic = fresh("public");
    const r = await subscribe(hub, [["match", topic]]);
    const auth = { authorization: `Bearer ${await publisher()}` };
    const tooLarge = [
      form([
        ["topic", topic],
        ["id", "i".repeat(2049)],
      ]),
      form([
        ["topic", topic],
        ["type", "t".repeat(257)],
      ]),
      `${form([["topic", topic]])}${"&x=1".repeat(200)}`,
    ];
    for (const body of tooLarge) expect((await post(body, auth)).status).toBe(413);
    const marker = await publish(hub, [["topic", topic]]);
    await r.count(1);
    expect(ids(r)).toEqual([marker]);
    r.close();
  });

  test("the reserved namespace and the topic * are a 400 whatever the token grants, never a 403", async () => {
    const allowed = fresh("allowed");
    const narrow = { authorization: `Bearer ${await sign({ mercure: { publish: [allowed] } })}` };
    const nothing = { authorization: `Bearer ${await sign({ mercure: { publish: [] } })}` };
    const forged = [
      form([
        ["topic", allowed],
        ["topic", "/.well-known/mercure/subscriptions/x"],
      ]),
      form([
        ["topic", allowed],
        ["topic", "*"],
      ]),
      form([["topic", `${hub.url}/.well-known/mercure/subscriptions/x`]]),
    ];
    for (const headers of [narrow, nothing]) {
      for (const body of forged) expect((await post(body, headers)).status).toBe(400);
    }
    // Draft 07: an empty mercure.publish authorizes no update at all.
    expect((await post(form([["topic", allowed]]), nothing)).status).toBe(403);
    expect((await post(form([["topic", allowed]]), narrow)).status).toBe(200);
  });

  test("a charset parameter on the form's media type is accepted", async () => {
    const res = await post(form([["topic", fresh("charset")]]), {
      "content-type": "application/x-www-form-urlencoded; charset=UTF-8",
      authorization: `Bearer ${await publisher()}`,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
  });
});

describe("authorization: presenting the token", () => {
  test("the Authorization header wins over the authorization parameter and the cookie, the parameter over the cookie; the scheme is case-insensitive", async () => {
    const good = await publisher();
    const body = form([["topic", fresh("sources")]]);
    const cookie = (token: string) => ({ cookie: `mercureAuthorization=${token}` });
    expect((await post(body, { authorization: `Bearer ${good}`, ...cookie("stale") }, "?authorization=stale")).status).toBe(200);
    for (const scheme of ["bearer", "BEARER"])
      expect((await post(body, { authorization: `${scheme} ${good}` })).status).toBe(200);
    expect(await refusal(await post(body, { authorization: "Bearer stale" }, `?authorization=${good}`))).toEqual([
      401,
      "unauthorized",
      challenge('error="invalid_token"'),
    ]);
    expect((await post(body, cookie("stale"), `?authorization=${good}`)).status).toBe(200);
    expect((await refusal(await post(body, cookie(good), "?authorization=stale")))[0]).toBe(401);
  });

  test("a malformed presentation (Bearer without a token, two tokens, an empty or a repeated parameter) is a 400 invalid_request", async () => {
    const good = await publisher();
    const body = form([["topic", fresh("malformed")]]);
    const malformed: Array<[Record<string, string>, string]> = [
      [{ authorization: "Bearer" }, ""],
      [{ authorization: `Bearer ${good} ${good}` }, ""],
      [{}, "?authorization="],
      [{}, `?authorization=${good}&authorization=${good}`],
    ];
    for (const [headers, query] of malformed) {
      expect(await refusal(await post(body, headers, query))).toEqual([
        400,
        "invalid_request",
        challenge('error="invalid_request"'),
      ]);
      const url = `${hubUrl(hub, [["match", fresh("public")]])}${query.replace("?", "&")}`;
      expect(await refusal(await fetch(url, { headers }))).toEqual([
        400,
        "invalid_request",
        expect.stringMatching(/^Bearer error="invalid_request"/),
      ]);
    }
  });

  test("a publish authenticated by its cookie needs an Origin or a Referer of an allowed origin (drafts 07 and 08: no header, no publish)", async () => {
    const topic = fresh("csrf");
    const cookie = { cookie: `mercureAuthorization=${await publisher()}` };
    expect(await refusal(await post(form([["topic", topic]]), cookie))).toEqual([403, "cross_site_request", null]);
    expect((await post(form([["topic", topic]]), { ...cookie, origin: hub.url })).status).toBe(200);
    expect((await post(form([["topic", topic]]), { ...cookie, origin: APP })).status).toBe(200);
    expect((await post(form([["topic", topic]]), { ...cookie, referer: `${hub.url}/console` })).status).toBe(200);
    // A token the client put in the request itself is no ambient credential.
    expect((await post(form([["topic", topic]]), { authorization: `Bearer ${await publisher()}` })).status).toBe(200);
  });

  test("a cookie whose token fails validation is a 401 invalid_token, public topics or not (draft 08: the cookie MUST be used)", async () => {
    const res = await fetch(hubUrl(hub, [["match", fresh("public")]]), { headers: { cookie: "mercureAuthorization=stale" } });
    expect(await refusal(res)).toEqual([401, "unauthorized", expect.stringMatching(/^Bearer error="invalid_token"/)]);
  });
});

describe("authorization: protected resource metadata (draft 08, RFC 9728)", () => {
  test("served at the path derived from the hub's resource identifier: the aud to name, the detail type, the header, the cookie", async () => {
    const res = await fetch(`${hub.url}/.well-known/oauth-protected-resource/.well-known/mercure`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    expect(await res.json()).toEqual({
      resource: AUDIENCE,
      authorization_details_types_supported: [DETAIL],
      bearer_methods_supported: ["header"],
      mercure_cookie: "mercureAuthorization",
      mercure_matcher_types_supported: ["exact", "urlpattern"],
    });
  });

  test("says mercure_subscriptions: true when active subscriptions are on, and leaves it out otherwise", async () => {
    const path = "/.well-known/oauth-protected-resource/.well-known/mercure";
    expect(await (await fetch(`${hub.url}${path}`)).json()).not.toHaveProperty("mercure_subscriptions");
    const tracking = await startHerald({
      env: { HERALD_JWT_SECRET: SECRET, HERALD_MERCURE_AUDIENCE: AUDIENCE, HERALD_MERCURE_SUBSCRIPTIONS: "true" },
    });
    try {
      expect(await (await fetch(`${tracking.url}${path}`)).json()).toMatchObject({
        resource: AUDIENCE,
        mercure_subscriptions: true,
      });
    } finally {
      await dispose(tracking);
    }
  });

  test("every challenge of a publish names it, the one without error included", async () => {
    const body = form([["topic", fresh("challenge")]]);
    expect(await refusal(await post(body, {}))).toEqual([401, "unauthorized", challenge()]);
    const reader = { authorization: `Bearer ${await sign({ mercure: { subscribe: ["*"] } })}` };
    expect(await refusal(await post(body, reader))).toEqual([403, "forbidden", challenge('error="insufficient_scope"')]);
  });

  test("every challenge of a subscription names it", async () => {
    const url = hubUrl(hub, [["match", fresh("private-feed")]]);
    expect(await refusal(await fetch(url))).toEqual([401, "unauthorized", challenge()]);
    const narrow = { authorization: `Bearer ${await sign({ mercure: { subscribe: [fresh("other")] } })}` };
    expect(await refusal(await fetch(url, { headers: narrow }))).toEqual([
      403,
      "forbidden",
      challenge('error="insufficient_scope"'),
    ]);
  });
});

describe("authorization: token validation", () => {
  const reject = async (token: string) =>
    refusal(await post(form([["topic", fresh("jws")]]), { authorization: `Bearer ${token}` }));
  const INVALID: [number, string, string] = [401, "unauthorized", challenge('error="invalid_token"')];
  const grants = { mercure: { publish: ["*"] }, exp: now() + 600 };

  test("alg none, another algorithm, a key the token brings, nbf to come and exp gone: 401 invalid_token", async () => {
    const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const other = new TextEncoder().encode("another-secret-of-at-least-32-bytes!!");
    const tokens = [
      `${part({ alg: "none", typ: "JWT" })}.${part(grants)}.`,
      await signed(grants, { alg: "HS512" }),
      await signed(grants, { jwk: { kty: "oct", k: Buffer.from(other).toString("base64url") } }, other),
      await signed({ ...grants, nbf: now() + 600 }),
      await signed({ ...grants, exp: now() - 60 }),
    ];
    for (const token of tokens) expect(await reject(token)).toEqual(INVALID);
    expect((await post(form([["topic", fresh("jws")]]), { authorization: `Bearer ${await signed(grants)}` })).status).toBe(200);
  });

  test("draft 08 SHOULD: tokens signed with ES256 (and EdDSA, RS256) against a configured public key", async () => {
    // HERALD_JWT_PUBLIC_KEY beside HERALD_JWT_SECRET: each key's type fixes the one algorithm it verifies.
    const keys = await Promise.all(
      (["ES256", "EdDSA", "RS256"] as const).map(async (alg) => {
        const [trusted, stranger] = await Promise.all([generateKeyPair(alg), generateKeyPair(alg)]);
        return { alg, trusted, stranger, pem: await exportSPKI(trusted.publicKey) };
      }),
    );
    const limited = await startHerald({
      env: { HERALD_JWT_SECRET: SECRET, HERALD_JWT_PUBLIC_KEY: keys.map((k) => k.pem).join("") },
    });
    try {
      const answer = async (alg: string, key: CryptoKey) => {
        const token = await new SignJWT(grants).setProtectedHeader({ alg }).sign(key);
        const res = await fetch(`${limited.url}/.well-known/mercure`, {
          method: "POST",
          body: form([["topic", fresh("signed")]]),
          headers: { ...FORM, authorization: `Bearer ${token}` },
        });
        return [res.status, res.headers.get("www-authenticate")];
      };
      for (const { alg, trusted, stranger } of keys) {
        expect(await answer(alg, trusted.privateKey)).toEqual([200, null]);
        expect(await answer(alg, stranger.privateKey)).toEqual([401, 'Bearer error="invalid_token"']);
      }
    } finally {
      await dispose(limited);
    }
  });

  test("authorization details: an exp is required, every detail must be well formed, unknown actions and other types grant nothing", async () => {
    /** A Mercure authorization detail: these actions on these topic matchers (every topic by default). */
    const detail = (actions: unknown[], topics: unknown[] = [{ match: "*" }]) => ({ type: DETAIL, actions, topics });
    const invalid = [
      signed({ aud: AUDIENCE, iss: ISSUER, sub: "s", authorization_details: [detail(["publish"])] }, { typ: "at+jwt" }),
      accessToken([detail([1])]),
      accessToken([detail([])]),
      accessToken([detail(["publish"], [])]),
      accessToken([detail(["publish"], [{}])]),
      accessToken([detail(["publish"], [{ match: "x", match_type: "regex" }])]),
      accessToken([detail(["publish"], [{ match: "x".repeat(2049) }])]),
      accessToken([
        detail(
          ["publish"],
          Array.from({ length: 101 }, (_, i) => ({ match: `t${i}` })),
        ),
      ]),
      accessToken(Array.from({ length: 101 }, () => detail(["publish"]))),
      // No partial acceptance: one bad detail rejects the token, a good one beside it notwithstanding.
      accessToken([detail(["publish"]), detail(["publish"], [])]),
    ];
    for (const token of await Promise.all(invalid)) expect(await reject(token)).toEqual(INVALID);
    const body = form([["topic", fresh("details")]]);
    const status = async (token: Promise<string>) => (await post(body, { authorization: `Bearer ${await token}` })).status;
    expect(await status(accessToken([detail(["publish", "a-future-action"])]))).toBe(200);
    expect(await status(accessToken([{ type: "https://other.example/detail", whatever: 1 }, detail(["publish"])]))).toBe(200);
    expect(await status(accessToken([detail(["a-future-action"])]))).toBe(403);
    expect(await status(accessToken([{ ...detail(["publish"]), type: `${DETAIL}/` }]))).toBe(403);
  });

  test("a hub without HERALD_MERCURE_AUDIENCE and ISSUER warns at start-up that it checks neither (herald.md: checked when set)", async () => {
    const unconfigured = await startHerald({ env: { HERALD_JWT_SECRET: SECRET } });
    try {
      const token = await accessToken([{ type: DETAIL, actions: ["publish"], topics: [{ match: "*" }] }], {
        aud: "https://any-hub.example/.well-known/mercure",
        iss: "https://anyone.example",
      });
      const res = await fetch(`${unconfigured.url}/.well-known/mercure`, {
        method: "POST",
        body: form([["topic", fresh("unconfigured")]]),
        headers: { ...FORM, authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      const warning = unconfigured.lines.find((l) => l.includes("HERALD_MERCURE_AUDIENCE or HERALD_MERCURE_ISSUER is unset"));
      expect(JSON.parse(warning as string)).toMatchObject({ level: "warn", audience: false, issuer: false });
    } finally {
      await dispose(unconfigured);
    }
    // The configured hub of this file says nothing of the kind.
    expect(hub.lines.some((l) => l.includes("HERALD_MERCURE_AUDIENCE or HERALD_MERCURE_ISSUER is unset"))).toBe(false);
  });

  test("a stream opened with a token closes when the token expires, even one that grants nothing (draft 07 and 08: MUST)", async () => {
    const r = await subscribe(hub, [["match", fresh("public")]], await bearer({ mercure: { publish: ["*"] }, exp: now() + 2 }));
    expect(r.response.status).toBe(200);
    await r.until((x) => x.ended, 5000);
    expect(r.endedCleanly).toBe(true);
  });
});

describe("gaps that need a setting of their own", () => {
  test("draft 08 SHOULD: a stream opened with a token ends past HERALD_MAX_STREAM_AGE, whatever its token's exp; one without a token goes on", async () => {
    const limited = await startHerald({
      env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "*", HERALD_MAX_STREAM_AGE: "1s" },
    });
    try {
      const topic = fresh("lifetime");
      const token = await bearer({ mercure: { subscribe: ["*"] }, exp: now() + 3600 });
      const opened = Date.now();
      const [withToken, anonymous] = await Promise.all([
        subscribe(limited, [["match", topic]], token),
        subscribe(limited, [["match", topic]]),
      ]);
      const native = await SseReader.open(`${limited.url}/stream?topic=native`, token);
      await withToken.until((x) => x.ended, 5000);
      await native.until((x) => x.ended, 5000);
      expect(Date.now() - opened).toBeGreaterThanOrEqual(900);
      expect([withToken.endedCleanly, native.endedCleanly]).toEqual([true, true]);
      // The anonymous stream outlives them and still receives.
      const id = await publish(limited, [["topic", topic]]);
      await anonymous.until((x) => ids(x).includes(id));
      expect(anonymous.ended).toBe(false);
      anonymous.close();
    } finally {
      await dispose(limited);
    }
  });
});

describe("subscription", () => {
  test("exact matching compares bytes: no case folding, no Unicode normalization, no resolution against the hub's URL", async () => {
    const base = fresh("public");
    const topic = `${base}/Caf\u00e9`;
    const r = await subscribe(hub, [["match", topic]]);
    for (const near of [`${base}/caf\u00e9`, `${base}/Cafe\u0301`, `${base}/Caf%C3%A9`, `${base}/./Caf\u00e9`]) {
      await publish(hub, [["topic", near]]);
    }
    // A relative matcher is the string it is, not the hub's URL it would resolve to.
    const path = `/relative/${unique()}`;
    const relative = await subscribe(hub, [["match", path]], await bearer({ mercure: { subscribe: [path] } }));
    await publish(hub, [["topic", `${hub.url}${path}`]]);
    const exact = await publish(hub, [
      ["topic", topic],
      ["topic", path],
    ]);
    await Promise.all([r.count(1), relative.count(1)]);
    expect(ids(r)).toEqual([exact]);
    expect(ids(relative)).toEqual([exact]);
    r.close();
    relative.close();
  });

  test("a matcher name without a value is a matcher with an empty value: 400", async () => {
    for (const query of ["match", "topic", "match_exact"]) {
      expect((await fetch(`${endpoint}?${query}`)).status).toBe(400);
    }
  });

  test("HEAD answers a GET's headers, the resume's included, at once", async () => {
    const topic = fresh("public");
    const id = await publish(hub, [["topic", topic]]);
    const res = await fetch(
      hubUrl(hub, [
        ["match", topic],
        ["last_event_id", id],
      ]),
      { method: "HEAD" },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("mercure-last-event-id")).toBe(id);
    expect(res.headers.get("last-event-id")).toBe(id);
  });

  test("CORS: a preflight allows what Mercure clients send (Authorization, Last-Event-ID, Cache-Control); streams expose the resume headers", async () => {
    const preflight = await fetch(endpoint, {
      method: "OPTIONS",
      headers: {
        origin: APP,
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization,cache-control,last-event-id",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(APP);
    expect(preflight.headers.get("access-control-allow-credentials")).toBe("true");
    const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/\s*,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(["authorization", "cache-control", "last-event-id"]));
    const stream = await fetch(
      hubUrl(hub, [
        ["match", fresh("public")],
        ["last_event_id", "earliest"],
      ]),
      { headers: { origin: APP } },
    );
    const exposed = (stream.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(/\s*,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(["mercure-last-event-id", "last-event-id", "www-authenticate"]));
    await stream.body?.cancel();
  });

  test("draft 07: an answer to a request whose token came in the authorization parameter is Cache-Control: private (publish)", async () => {
    const res = await post(form([["topic", fresh("cache")]]), {}, `?authorization=${await publisher()}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toContain("private");
  });

  test("draft 07: a stream whose token came in the authorization parameter is Cache-Control: private", async () => {
    const token = await sign({ mercure: { subscribe: ["*"] } });
    const r = await subscribe(hub, [
      ["match", fresh("private-feed")],
      ["authorization", token],
    ]);
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get("cache-control")).toContain("private");
    r.close();
  });
});

describe("reconciliation", () => {
  test("a replay gives every field back as it went live: type, retry, the publisher's id, alternates, private", async () => {
    const [canonical, alternate] = [fresh("books"), fresh("public")];
    const token = await bearer({ mercure: { subscribe: [alternate] } });
    // Subscribed by the alternate alone: a replay must find the update by it, as the live fan-out does.
    const live = await subscribe(hub, [["match", alternate]], token);
    const first = await publish(hub, [
      ["topic", canonical],
      ["topic", alternate],
      ["data", "one\ntwo"],
      ["id", `urn:uuid:${crypto.randomUUID()}`],
      ["type", "book.updated"],
      ["retry", "4321"],
      ["private", "on"],
    ]);
    await publish(hub, [
      ["topic", alternate],
      ["data", "plain"],
    ]);
    await live.count(2);
    const replay = await subscribe(
      hub,
      [
        ["match", alternate],
        ["last_event_id", "earliest"],
      ],
      token,
    );
    await replay.count(2);
    const frames = (raw: string) => raw.slice(raw.indexOf("\n\n") + 2);
    expect(frames(replay.raw)).toBe(frames(live.raw));
    expect(frames(live.raw)).toStartWith(`id: ${first}\nevent: book.updated\nretry: 4321\ndata: one\ndata: two\n\n`);
    live.close();
    replay.close();
  });

  test("a resume id holding a line break or a control character names no event: earliest, never an error", async () => {
    const topic = fresh("public");
    const id = await publish(hub, [["topic", topic]]);
    for (const given of ["a\r\nb", "\u0000", `${id}\n`]) {
      const r = await subscribe(hub, [
        ["match", topic],
        ["last_event_id", given],
      ]);
      expect(r.response.status).toBe(200);
      expect(r.response.headers.get("mercure-last-event-id")).toBe("earliest");
      await r.count(1);
      expect(ids(r)).toEqual([id]);
      r.close();
    }
  });
});
