/** Where tokens come from and what a bad one blocks: cookies that cannot be decoded or verified, other schemes, expiry. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mintToken } from "../src/cli/token";
import { dispose, type Herald, startHerald } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

const SECRET = "credentials-secret-credentials-secret";
let herald: Herald;
let reader: string;
let expired: string;
let writer: string;

beforeAll(async () => {
  herald = await startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "public.*" } });
  reader = await mintToken(SECRET, { publish: [], subscribe: ["private.*"], ttlMs: 600_000 });
  writer = await mintToken(SECRET, { publish: ["*"], subscribe: [], ttlMs: 600_000 });
  expired = await mintToken(SECRET, { publish: ["*"], subscribe: ["*"], ttlMs: 60_000 }, Date.now() - 120_000);
});
afterAll(() => dispose(herald));

async function code(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

async function publish(topic: string, data: string): Promise<{ id: string }> {
  const res = await fetch(`${herald.url}/topics/${topic}/events`, {
    method: "POST",
    body: data,
    headers: { authorization: `Bearer ${writer}` },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${herald.url}${path}`, { headers });
}

/** Opens a stream and returns its status, closing it at once. */
async function streamStatus(selectors: string[], headers: Record<string, string> = {}, params = {}): Promise<number> {
  const res = await fetch(streamUrl(herald.url, selectors, params), { headers });
  await res.body?.cancel();
  return res.status;
}

describe("a herald_token cookie that cannot be decoded", () => {
  test("is a cookie that cannot be verified, on every route: never a 500", async () => {
    for (const value of ["%", "%E0%A4%A", "a%zz", `${reader}%`]) {
      const headers = { cookie: `herald_token=${value}` };
      expect((await get("/events?topic=public.news", headers)).status).toBe(200);
      expect(await streamStatus(["public.*"], headers)).toBe(200);
      expect((await get("/topics", headers)).status).toBe(200);
      const refused = await get("/events?topic=private.x", headers);
      expect(refused.status).toBe(401);
      expect(await code(refused)).toBe("unauthorized");
      const publishing = await fetch(`${herald.url}/topics/public.news/events`, { method: "POST", body: "x", headers });
      expect(publishing.status).toBe(401);
    }
    expect((await get("/health")).status).toBe(200);
  });
});

describe("an Authorization header of another scheme", () => {
  test("is not a token: public reads pass, and access_token or the cookie is used instead", async () => {
    const basic = { authorization: "Basic dXNlcjpwYXNzd29yZA==" };
    expect((await get("/events?topic=public.news", basic)).status).toBe(200);
    expect(await streamStatus(["public.*"], basic)).toBe(200);
    expect((await get(`/events?topic=private.x&access_token=${reader}`, basic)).status).toBe(200);
    expect((await get("/events?topic=private.x", { ...basic, cookie: `herald_token=${reader}` })).status).toBe(200);
    expect(await streamStatus(["private.x"], basic, { access_token: reader })).toBe(200);
    expect(await code(await get("/events?topic=private.x", basic))).toBe("unauthorized");
  });

  test("an empty access_token carries no token: public reads pass, the cookie is used, a private read is 401", async () => {
    expect((await get("/events?topic=public.news&access_token=")).status).toBe(200);
    expect(await streamStatus(["public.*"], {}, { access_token: "" })).toBe(200);
    expect((await get("/events?topic=private.x&access_token=", { cookie: `herald_token=${reader}` })).status).toBe(200);
    expect(await code(await get("/events?topic=private.x&access_token="))).toBe("unauthorized");
  });

  test("a Bearer header without a token is still a bad token", async () => {
    const res = await get("/events?topic=public.news", { authorization: "Bearer " });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
  });
});

describe("an expired herald_token cookie", () => {
  test("does not block public reads; private reads and publishes are 401", async () => {
    const stale = { cookie: `herald_token=${expired}` };
    expect((await get("/events?topic=public.news", stale)).status).toBe(200);
    expect(await streamStatus(["public.*"], stale)).toBe(200);
    const topics = (await (await get("/topics", stale)).json()) as { topics: Array<{ topic: string }> };
    expect(topics.topics.every((t) => t.topic.startsWith("public."))).toBe(true);
    const mixed = await get("/events?topic=public.news&topic=private.x", stale);
    expect(mixed.status).toBe(401);
    expect(mixed.headers.get("www-authenticate")).toStartWith("Bearer");
    expect(await code(mixed)).toBe("unauthorized");
    const publishing = await fetch(`${herald.url}/topics/public.news/events`, { method: "POST", body: "x", headers: stale });
    expect(publishing.status).toBe(401);
  });

  test("the same token in the header or the query is still a 401, public topics or not", async () => {
    expect((await get("/events?topic=public.news", { authorization: `Bearer ${expired}` })).status).toBe(401);
    expect((await get(`/events?topic=public.news&access_token=${expired}`)).status).toBe(401);
    expect(await streamStatus(["public.*"], { authorization: `Bearer ${expired}` })).toBe(401);
    expect(await streamStatus(["public.*"], {}, { access_token: expired })).toBe(401);
  });
});

describe("a stream opened with a token that has an exp", () => {
  test("ends cleanly when the token expires, from any source; the client resumes with a fresh token", async () => {
    // exp is in whole seconds: 3 to 4 s from now.
    const exp = Math.floor(Date.now() / 1000) + 4;
    const shortLived = await mintToken(SECRET, { publish: [], subscribe: ["private.*"], ttlMs: 0 }, exp * 1000);
    const streams = await Promise.all([
      SseReader.open(streamUrl(herald.url, ["private.expiry"]), { authorization: `Bearer ${shortLived}` }),
      SseReader.open(streamUrl(herald.url, ["private.expiry"], { access_token: shortLived })),
      SseReader.open(streamUrl(herald.url, ["private.expiry"]), { cookie: `herald_token=${shortLived}` }),
    ]);
    // A stream of public topics did not need the token, but was opened with it: it ends too, as the spec says.
    streams.push(await SseReader.open(streamUrl(herald.url, ["public.expiry"]), { authorization: `Bearer ${shortLived}` }));
    for (const s of streams) {
      expect(s.response.status).toBe(200);
      // The first bytes are written once the stream is registered: what is published next reaches it.
      await s.until((x) => x.retry !== undefined);
    }
    const first = await publish("private.expiry", "before");
    for (const s of streams.slice(0, 3)) await s.count(1);

    await eventually(() => streams.every((s) => s.ended), 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
    for (const s of streams) expect(s.endedCleanly).toBe(true);

    const missed = await publish("private.expiry", "while away");
    // The public stream's client comes back without a token, and gets what it missed.
    const publicMissed = await publish("public.expiry", "while away");
    const publicResumed = await SseReader.open(streamUrl(herald.url, ["public.expiry"]), { "last-event-id": first.id });
    await publicResumed.count(1);
    expect(publicResumed.events[0]).toMatchObject({ id: publicMissed.id, data: "while away" });
    publicResumed.close();

    const resumed = await SseReader.open(streamUrl(herald.url, ["private.expiry"]), {
      authorization: `Bearer ${reader}`,
      "last-event-id": first.id,
    });
    await resumed.count(1);
    expect(resumed.events[0]).toMatchObject({ id: missed.id, data: "while away" });
    resumed.close();
  }, 20_000);
});
