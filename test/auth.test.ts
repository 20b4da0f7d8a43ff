import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EventSource } from "eventsource";
import { SignJWT } from "jose";
import { mintToken, parseTokenArgs } from "../src/cli/token";
import { dispose, type Herald, startHerald } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";

const SECRET = "test-secret-that-is-long-enough-for-hs256";
let herald: Herald;

beforeAll(async () => {
  herald = await startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "public.*", HERALD_LOG_LEVEL: "debug" } });
});
afterAll(() => dispose(herald));

const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

async function token(
  claims: Record<string, unknown>,
  opts: { exp?: number; nbf?: number; secret?: Uint8Array } = {},
): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setExpirationTime(opts.exp ?? now() + 600);
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(opts.secret ?? key);
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const grants = (publish: string[], subscribe: string[]) => ({ herald: { publish, subscribe } });

let tokens: Record<string, string>;
const issued: string[] = [];
beforeAll(async () => {
  tokens = {
    publisher: await token(grants(["orders.*"], [])),
    reader: await token(grants([], ["orders.*"])),
    narrow: await token(grants(["orders.eu.*"], ["orders.eu.*"])),
    all: await token(grants(["*"], ["*"])),
    noClaim: await token({ sub: "nobody" }),
    expired: await token(grants(["*"], ["*"]), { exp: now() - 60 }),
    notYet: await token(grants(["*"], ["*"]), { nbf: now() + 600 }),
    badSignature: await token(grants(["*"], ["*"]), { secret: new TextEncoder().encode("another-secret-entirely-wrong") }),
    algNone: `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...grants(["*"], ["*"]), exp: now() + 600 })}.`,
    malformed: "not.a.jwt",
    badClaim: await token({ herald: { publish: "orders.*" } }),
  };
  issued.push(...Object.values(tokens));
});

function publish(topic: string, headers: Record<string, string> = {}, query = ""): Promise<Response> {
  return fetch(`${herald.url}/topics/${topic}/events${query}`, { method: "POST", body: "x", headers });
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
async function expectError(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
  if (status === 401) expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
}

describe("publishing", () => {
  test("a token whose publish selectors cover the topic may publish", async () => {
    expect((await publish("orders.eu", bearer(tokens.publisher as string))).status).toBe(201);
    expect((await publish("orders.eu.x", bearer(tokens.narrow as string))).status).toBe(201);
  });

  test("missing, malformed, expired, not yet valid, badly signed, alg none: 401 with WWW-Authenticate", async () => {
    await expectError(await publish("orders.eu"), 401, "unauthorized");
    for (const name of ["expired", "notYet", "badSignature", "algNone", "malformed", "badClaim"]) {
      await expectError(await publish("orders.eu", bearer(tokens[name] as string)), 401, "unauthorized");
    }
    await expectError(await publish("orders.eu", { authorization: "Basic abc" }), 401, "unauthorized");
  });

  test("a valid token that does not cover the topic: 403", async () => {
    await expectError(await publish("users", bearer(tokens.publisher as string)), 403, "forbidden");
    await expectError(await publish("orders.us", bearer(tokens.narrow as string)), 403, "forbidden");
    await expectError(await publish("orders.eu", bearer(tokens.reader as string)), 403, "forbidden");
    await expectError(await publish("orders.eu", bearer(tokens.noClaim as string)), 403, "forbidden");
    await expectError(await publish("public.news"), 401, "unauthorized");
  });

  test("a batch is refused whole if any item is not covered", async () => {
    const before = await count();
    const res = await fetch(`${herald.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(tokens.publisher as string) },
      body: JSON.stringify({
        events: [
          { topic: "orders.1", data: 1 },
          { topic: "users", data: 2 },
        ],
      }),
    });
    await expectError(res, 403, "forbidden");
    expect(await count()).toBe(before);
  });

  test("the token may also come from access_token or the herald_token cookie", async () => {
    expect((await publish("orders.q", {}, `?access_token=${tokens.publisher}`)).status).toBe(201);
    expect((await publish("orders.c", { cookie: `other=1; herald_token=${tokens.publisher}` })).status).toBe(201);
  });
});

async function count(): Promise<number> {
  const res = await fetch(`${herald.url}/events?topic=*&limit=1000`, { headers: bearer(tokens.all as string) });
  return ((await res.json()) as { events: unknown[] }).events.length;
}

describe("reading", () => {
  test("public topics need no token; others need one that covers every selector", async () => {
    expect((await fetch(`${herald.url}/events?topic=public.*`)).status).toBe(200);
    expect((await fetch(`${herald.url}/events?topic=public.news`)).status).toBe(200);
    await expectError(await fetch(`${herald.url}/events?topic=orders.eu`), 401, "unauthorized");
    await expectError(await fetch(`${herald.url}/events?topic=public.news&topic=orders.eu`), 401, "unauthorized");
    expect(
      (await fetch(`${herald.url}/events?topic=orders.eu.*&topic=orders.1`, { headers: bearer(tokens.reader as string) })).status,
    ).toBe(200);
    await expectError(
      await fetch(`${herald.url}/events?topic=orders.*`, { headers: bearer(tokens.narrow as string) }),
      403,
      "forbidden",
    );
    await expectError(
      await fetch(`${herald.url}/events?topic=*`, { headers: bearer(tokens.reader as string) }),
      403,
      "forbidden",
    );
    await expectError(
      await fetch(`${herald.url}/events?topic=public.x`, { headers: bearer(tokens.expired as string) }),
      401,
      "unauthorized",
    );
  });

  test("streams: 401 and 403 before any stream byte", async () => {
    for (const [headers, status] of [
      [{}, 401],
      [bearer(tokens.expired as string), 401],
      [bearer(tokens.algNone as string), 401],
      [bearer(tokens.narrow as string), 403],
    ] as const) {
      const res = await fetch(streamUrl(herald.url, ["orders.*"]), { headers });
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toContain("application/json");
    }
  });

  test("an EventSource reads with the access_token parameter and with the cookie", async () => {
    const viaQuery = new EventSource(streamUrl(herald.url, ["orders.stream"], { access_token: tokens.reader as string }));
    const viaCookie = new EventSource(streamUrl(herald.url, ["orders.stream"]), {
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          headers: { ...(init?.headers as Record<string, string>), cookie: `herald_token=${tokens.reader}` },
        }),
    });
    const got: string[][] = [[], []];
    viaQuery.onmessage = (m) => got[0]?.push(m.data);
    viaCookie.onmessage = (m) => got[1]?.push(m.data);
    await Promise.all([viaQuery, viaCookie].map((es) => new Promise((resolve) => (es.onopen = resolve))));
    expect((await publish("orders.stream", bearer(tokens.publisher as string))).status).toBe(201);
    const deadline = Date.now() + 3000;
    while ((got[0]?.length === 0 || got[1]?.length === 0) && Date.now() < deadline) await Bun.sleep(20);
    expect(got).toEqual([["x"], ["x"]]);
    viaQuery.close();
    viaCookie.close();
  });

  test("/topics lists only what the caller may read", async () => {
    await publish("public.news", bearer(tokens.all as string));
    const list = async (headers: Record<string, string>) =>
      ((await (await fetch(`${herald.url}/topics`, { headers })).json()) as { topics: Array<{ topic: string }> }).topics.map(
        (t) => t.topic,
      );
    expect(await list({})).toEqual(["public.news"]);
    expect((await list(bearer(tokens.reader as string))).every((t) => t.startsWith("orders.") || t.startsWith("public."))).toBe(
      true,
    );
    expect((await list(bearer(tokens.all as string))).length).toBeGreaterThan(2);
  });

  test("a live stream with a token delivers", async () => {
    const r = await SseReader.open(streamUrl(herald.url, ["orders.live"]), bearer(tokens.reader as string));
    await r.until((x) => x.retry !== undefined);
    await publish("orders.live", bearer(tokens.publisher as string));
    await r.count(1);
    r.close();
  });
});

describe("the token helper", () => {
  test("mints a token the hub accepts, with the selectors and ttl asked for", async () => {
    const req = parseTokenArgs(["--", "--publish", "orders.*", "--subscribe", "*,public.*", "--ttl", "1h"]);
    expect(req).toMatchObject({ publish: ["orders.*"], subscribe: ["*", "public.*"], ttlMs: 3_600_000 });
    const t = await mintToken(SECRET, req);
    issued.push(t);
    expect((await publish("orders.minted", bearer(t))).status).toBe(201);
    const payload = JSON.parse(Buffer.from(t.split(".")[1] as string, "base64url").toString()) as { exp: number; iat: number };
    expect(payload.exp - payload.iat).toBe(3600);
  });

  test("takes Mercure topics and their prefixes as the hub's claims do, and refuses what no topic can be", () => {
    const req = parseTokenArgs(["--subscribe", "https://example.com/books/*", "--publish", "https://example.com/books/1"]);
    expect(req).toMatchObject({ publish: ["https://example.com/books/1"], subscribe: ["https://example.com/books/*"] });
    expect(() => parseTokenArgs(["--subscribe", "news,"])).toThrow(/must be a topic, a Mercure topic or a prefix/);
  });

  test("`bun run token` prints a token from the environment's secret", () => {
    const run = Bun.spawnSync([process.execPath, "run", "token", "--", "--publish", "a.*", "--ttl", "10m"], {
      cwd: `${import.meta.dir}/..`,
      env: { ...process.env, HERALD_JWT_SECRET: SECRET },
    });
    expect(run.exitCode).toBe(0);
    expect(run.stdout.toString().trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });
});

describe("secrecy", () => {
  test("no token appears in the server's log output", async () => {
    await Bun.sleep(100);
    const log = herald.lines.join("\n");
    expect(herald.lines.some((l) => l.includes('"msg":"request"'))).toBe(true);
    for (const t of issued) expect(log).not.toContain(t);
    for (const t of issued.filter((x) => x.length > 40)) expect(log).not.toContain(t.split(".")[2] || t);
    expect(log).not.toContain(SECRET);
  });
});
