/**
 * Publishing on /.well-known/mercure: Symfony's Mercure component as the publisher, the answer the drafts ask
 * for, every refusal they name, the three claim forms, token sources, the cross-site rule and Idempotency-Key.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { dispose, type Herald, startHerald } from "./support/herald";
import { symfonyPublish } from "./support/mercure";

const SECRET = "a-secret-of-at-least-thirty-two-bytes!";
const AUDIENCE = "https://hub.example.com/.well-known/mercure";
const ISSUER = "https://app.example.com";
/** Where the hub's protected resource metadata is, which every challenge names (RFC 9728). */
const METADATA = 'resource_metadata="https://hub.example.com/.well-known/oauth-protected-resource/.well-known/mercure"';
const MAX = 4096;
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

let herald: Herald;
let hub: string;

beforeAll(async () => {
  herald = await startHerald({
    env: {
      HERALD_JWT_SECRET: SECRET,
      HERALD_MAX_EVENT_BYTES: String(MAX),
      HERALD_MERCURE_AUDIENCE: AUDIENCE,
      HERALD_MERCURE_ISSUER: ISSUER,
    },
  });
  hub = `${herald.url}/.well-known/mercure`;
});
afterAll(() => dispose(herald));

function sign(claims: Record<string, unknown>, header: Record<string, string> = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", ...header })
    .setExpirationTime(now() + 600)
    .sign(key);
}

const publisher = () => sign({ mercure: { publish: ["*"] } });
const reader = () => sign({ herald: { publish: [], subscribe: ["*"] } });

function form(fields: Array<[string, string]>): string {
  return fields.map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`).join("&");
}

async function publish(body: string, headers: Record<string, string> = {}, token?: string): Promise<Response> {
  const auth = token ?? (await publisher());
  return fetch(hub, {
    method: "POST",
    body,
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${auth}`, ...headers },
  });
}

interface Stored {
  id: string;
  topic: string;
  event: string | null;
  data: unknown;
}

async function history(): Promise<Stored[]> {
  const res = await fetch(`${herald.url}/events?topic=*&limit=1000`, { headers: { authorization: `Bearer ${await reader()}` } });
  return ((await res.json()) as { events: Stored[] }).events;
}

describe("Symfony's Mercure component publishes", () => {
  test("updates with alternates, a private flag, ids, types and retry: the hub answers each id", async () => {
    const updates = [
      {
        topics: ["https://example.com/books/1", "https://example.com/users/42/books/1"],
        data: '{"title":"One"}',
        id: "urn:uuid:b1",
      },
      { topics: "https://example.com/books/2", data: "line 1\nline 2", type: "book.updated", retry: 5000 },
      { topics: ["https://example.com/books/3"], data: "secret", private: true },
    ];
    const ids = await symfonyPublish(hub, await publisher(), updates);
    expect(ids[0]).toBe("urn:uuid:b1");
    expect(ids[1]).toMatch(/^urn:herald:\d+$/);
    expect(ids[2]).toMatch(/^urn:herald:\d+$/);
    const stored = await history();
    const second = stored.find((e) => `urn:herald:${e.id}` === ids[1]);
    expect(second).toMatchObject({ topic: "https://example.com/books/2", event: "book.updated", data: "line 1\nline 2" });
    expect(stored.find((e) => e.topic === "https://example.com/books/1")?.data).toBe('{"title":"One"}');
    // A private update is shown to a reader whose token grants its topic (here every topic).
    expect(stored.find((e) => `urn:herald:${e.id}` === ids[2])?.data).toBe("secret");
  }, 20_000);
});

describe("POST /.well-known/mercure", () => {
  test("200 text/plain; charset=utf-8 with the id; unknown fields are ignored; one update on three topics is one event", async () => {
    const before = (await history()).length;
    const res = await publish(
      form([
        ["topic", "a"],
        ["topic", "b"],
        ["topic", "c"],
        ["data", "x"],
        ["future", "1"],
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    const id = await res.text();
    expect(id).toMatch(/^urn:herald:\d+$/);
    const after = await history();
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)).toMatchObject({ id: id.slice("urn:herald:".length), topic: "a", data: "x" });
  });

  const refusals: Array<[string, Array<[string, string]>, number]> = [
    ["no topic", [["data", "x"]], 400],
    ["the topic *", [["topic", "*"]], 400],
    ["a relative topic in the hub's namespace", [["topic", "/.well-known/mercure/subscriptions/x"]], 400],
    ["an absolute one on any host", [["topic", "https://other.example/.well-known/mercure/x"]], 400],
    ["one percent-encoded", [["topic", "https://other.example/.well-known/%6Dercure/x"]], 400],
    ["one with dot segments", [["topic", "/.well-known/mercure/../mercure/x"]], 400],
    ["the hub's own path", [["topic", "/.well-known/mercure"]], 400],
    [
      "an alternate in it",
      [
        ["topic", "ok"],
        ["topic", "/.well-known/mercure/x"],
      ],
      400,
    ],
    ["a topic with a control character", [["topic", "a\u0001b"]], 400],
    ["a topic with a format character", [["topic", "a\u200bb"]], 400],
    [
      "an id starting with #",
      [
        ["topic", "t"],
        ["id", "#1"],
      ],
      400,
    ],
    [
      "the id earliest",
      [
        ["topic", "t"],
        ["id", "earliest"],
      ],
      400,
    ],
    [
      "an id with a control character",
      [
        ["topic", "t"],
        ["id", "a\nb"],
      ],
      400,
    ],
    [
      "an id with a format character",
      [
        ["topic", "t"],
        ["id", "a\u202eb"],
      ],
      400,
    ],
    [
      "one of the hub's own ids",
      [
        ["topic", "t"],
        ["id", "urn:herald:1"],
      ],
      400,
    ],
    [
      "the type mercure",
      [
        ["topic", "t"],
        ["type", "mercure"],
      ],
      400,
    ],
    [
      "a type with a control character",
      [
        ["topic", "t"],
        ["type", "a\rb"],
      ],
      400,
    ],
    [
      "a herald. type",
      [
        ["topic", "t"],
        ["type", "herald.gap"],
      ],
      400,
    ],
    [
      "a retry that is not digits",
      [
        ["topic", "t"],
        ["retry", "12a"],
      ],
      400,
    ],
    [
      "a negative retry",
      [
        ["topic", "t"],
        ["retry", "-1"],
      ],
      400,
    ],
    ["51 topics", Array.from({ length: 51 }, (_, i): [string, string] => ["topic", `t${i}`]), 413],
    ["a topic of 2049 bytes", [["topic", "t".repeat(2049)]], 413],
    [
      "data past the limit",
      [
        ["topic", "t"],
        ["data", "x".repeat(MAX + 1)],
      ],
      413,
    ],
    [
      "a retry of 11 digits",
      [
        ["topic", "t"],
        ["retry", "12345678901"],
      ],
      413,
    ],
  ];
  for (const [what, fields, status] of refusals) {
    test(`refuses ${what} with ${status}, writing nothing`, async () => {
      const before = (await history()).length;
      const res = await publish(form(fields));
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBeString();
      expect((await history()).length).toBe(before);
    });
  }

  test("accepts what only looks like the namespace, and a topic that is no URL", async () => {
    // An opaque path (`urn:`, `mailto:`) is not the hub's path, however it reads; nor is one under `//x`.
    const lookalikes = [
      "/.well-known/mercurex",
      "https://example.com/.well-known/Mercure/x",
      "urn:.well-known/mercure",
      "mailto:.well-known/mercure/x",
      "https://example.com//x/.well-known/mercure/y",
    ];
    for (const topic of [...lookalikes, "urn:isbn:1", "http://[::1"]) {
      expect((await publish(form([["topic", topic]]))).status).toBe(200);
    }
  });

  test("refuses percent-encoded bytes that are not UTF-8, and another media type", async () => {
    expect((await publish("topic=t&data=%FF")).status).toBe(400);
    expect((await publish("topic=t", { "content-type": "application/json" })).status).toBe(415);
  });

  test("the same Idempotency-Key answers the same id and appends once; with another update it is a conflict", async () => {
    const body = form([
      ["topic", "idem"],
      ["data", "once"],
    ]);
    const first = await publish(body, { "idempotency-key": "k-1" });
    const count = (await history()).length;
    const again = await publish(body, { "idempotency-key": "k-1" });
    expect(again.status).toBe(200);
    expect(await again.text()).toBe(await first.text());
    expect((await history()).length).toBe(count);
    expect(
      (
        await publish(
          form([
            ["topic", "idem"],
            ["data", "other"],
          ]),
          { "idempotency-key": "k-1" },
        )
      ).status,
    ).toBe(422);
  });
});

describe("authorization on the Mercure publish", () => {
  const post = (body: string, headers: Record<string, string>) =>
    fetch(hub, { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded", ...headers } });

  test("no token: 401 with a Bearer challenge without error; a bad one: 401 invalid_token", async () => {
    const none = await post("topic=t", {});
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe(`Bearer ${METADATA}`);
    const bad = await post("topic=t", { authorization: "Bearer nope" });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toBe(`Bearer error="invalid_token", ${METADATA}`);
  });

  test("every topic must be granted: 403 insufficient_scope when an alternate is not", async () => {
    const token = await sign({ herald: { publish: ["orders.*"], subscribe: [] } });
    expect((await publish("topic=orders.eu", {}, token)).status).toBe(200);
    const denied = await publish("topic=orders.eu&topic=audit", {}, token);
    expect(denied.status).toBe(403);
    expect(denied.headers.get("www-authenticate")).toBe(`Bearer error="insufficient_scope", ${METADATA}`);
    const mercure = await sign({ mercure: { publish: ["https://example.com/books/1"] } });
    expect((await publish(form([["topic", "https://example.com/books/1"]]), {}, mercure)).status).toBe(200);
    expect((await publish(form([["topic", "https://example.com/books/2"]]), {}, mercure)).status).toBe(403);
  });

  test("Herald's claim grants Mercure topics by its own selectors, as the mercure claim does", async () => {
    for (const claim of ["herald", "mercure"]) {
      const token = await sign({ [claim]: { publish: ["https://example.com/books/*", "https://example.com/authors/1"] } });
      for (const topic of ["https://example.com/books/1", "https://example.com/books/1/notes", "https://example.com/authors/1"])
        expect((await publish(form([["topic", topic]]), {}, token)).status).toBe(200);
      for (const topic of ["https://example.com/authors/2", "https://example.com/book"])
        expect((await publish(form([["topic", topic]]), {}, token)).status).toBe(403);
    }
    // What no topic can be (empty, a control character) still makes the claim malformed.
    for (const selector of ["", "https://example.com/\u0000"]) {
      const res = await publish(
        form([["topic", "https://example.com/books/1"]]),
        {},
        await sign({ herald: { publish: [selector] } }),
      );
      expect(res.status).toBe(401);
      expect(await res.text()).toContain("malformed herald claim");
    }
  });

  test("draft 08's authorization_details, with RFC 9068's typ, aud and iss", async () => {
    const details = (topics: unknown[]) => ({
      iss: ISSUER,
      aud: [AUDIENCE],
      sub: "publisher",
      authorization_details: [{ type: "https://mercure.rocks/authorization-detail", actions: ["publish"], topics }],
    });
    const at = { typ: "at+jwt" };
    const body = form([["topic", "https://example.com/books/1"]]);
    expect((await publish(body, {}, await sign(details([{ match: "https://example.com/books/1" }]), at))).status).toBe(200);
    expect((await publish(body, {}, await sign(details([{ match: "*" }]), { typ: "application/AT+JWT" }))).status).toBe(200);
    expect((await publish(body, {}, await sign(details([{ match: "https://example.com/books/2" }]), at))).status).toBe(403);
    const books = await sign(details([{ match: "https://example.com/books/:id", match_type: "urlpattern" }]), at);
    expect((await publish(body, {}, books)).status).toBe(200);
    expect((await publish(form([["topic", "https://example.com/authors/1"]]), {}, books)).status).toBe(403);
    const invalid = [
      sign(details([{ match: "*" }])),
      sign({ ...details([{ match: "*" }]), aud: "https://elsewhere.example" }, at),
      sign({ ...details([{ match: "*" }]), iss: "https://evil.example" }, at),
      sign(details([{ match: "https://example.com/books/{id}", match_type: "template" }]), at),
      sign(details([{ match: "https://[", match_type: "urlpattern" }]), at),
      sign(details([{ match: "https://example.com/:id(\\d+)", match_type: "urlpattern" }]), at),
      sign(details(["not an object"]), at),
    ];
    for (const token of await Promise.all(invalid)) {
      const res = await publish(body, {}, token);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe(`Bearer error="invalid_token", ${METADATA}`);
    }
  });

  test("a token in the mercureAuthorization cookie or the authorization parameter; a cross-site cookie publish is refused", async () => {
    const token = await publisher();
    // A cookie is sent by a browser, which says where the page comes from: here, the hub's own origin.
    const own = { origin: herald.url };
    expect((await post("topic=t", { cookie: `mercureAuthorization=${token}`, ...own })).status).toBe(200);
    expect((await post("topic=t", { cookie: `__Secure-mercure_access_token=${token}`, ...own })).status).toBe(200);
    const query = await fetch(`${hub}?authorization=${token}`, {
      method: "POST",
      body: "topic=t",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(query.status).toBe(200);
    // Draft 07: the parameter is used over the cookie.
    const both = await fetch(`${hub}?authorization=${token}`, {
      method: "POST",
      body: "topic=t",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: "mercureAuthorization=stale" },
    });
    expect(both.status).toBe(200);
    const before = (await history()).length;
    const cross = await post("topic=t", { cookie: `mercureAuthorization=${token}`, origin: "https://evil.example" });
    expect(cross.status).toBe(403);
    expect(((await cross.json()) as { error: { code: string } }).error.code).toBe("cross_site_request");
    expect((await history()).length).toBe(before);
  });
});
