/** Request bodies past the limit, and credentials, are answered with our JSON before the body is read to its end. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { dispose, type Herald, startHerald } from "./support/herald";
import { answerBeforeBodyEnds, chunked, type RawResponse } from "./support/raw-http";

const SECRET = "a-test-secret-that-is-at-least-32-bytes-long";
const REQUEST_LIMIT = 32 * 1024 * 1024;
const MIB = 1024 * 1024;

let open: Herald;
let secured: Herald;
beforeAll(async () => {
  [open, secured] = await Promise.all([startHerald(), startHerald({ env: { HERALD_JWT_SECRET: SECRET } })]);
});
afterAll(() => Promise.all([dispose(open), dispose(secured)]));

const token = (claim: object) =>
  new SignJWT({ herald: claim })
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(SECRET));

function post(path: string, headers: Record<string, string>): string {
  const lines = Object.entries({ host: "localhost", "content-type": "application/json", ...headers }).map(
    ([k, v]) => `${k}: ${v}`,
  );
  return `POST ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

function expectError(res: RawResponse, status: number, code: string): string {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toContain("application/json");
  const { error } = JSON.parse(res.body) as { error: { code: string; message: string } };
  expect(error.code).toBe(code);
  return error.message;
}

async function lastEventId(h: Herald): Promise<string> {
  return ((await (await fetch(`${h.url}/health`)).json()) as { lastEventId: string }).lastEventId;
}

describe("a body past the request limit gets the JSON 413 naming the limit, however it is sent", () => {
  test("declared far past the limit (10 GB): answered at once, the body never sent", async () => {
    for (const path of ["/topics/big/events", "/events"]) {
      const res = await answerBeforeBodyEnds(open.port, post(path, { "content-length": String(10 * 1024 ** 3) }), [
        new TextEncoder().encode('{"data":"'),
      ]);
      expect(expectError(res, 413, "payload_too_large")).toContain(String(REQUEST_LIMIT));
    }
  });

  test("chunked: answered once the limit is passed, while the client is still sending", async () => {
    const head = post("/topics/big/events", { "transfer-encoding": "chunked", "content-type": "text/plain" });
    const res = await answerBeforeBodyEnds(open.port, head, chunked(REQUEST_LIMIT / MIB + 1, MIB));
    expect(expectError(res, 413, "payload_too_large")).toContain(String(REQUEST_LIMIT));
  });

  test("a batch of 33 events of 1 MiB each, sent with fetch", async () => {
    const before = await lastEventId(open);
    const events = Array.from({ length: 33 }, () => ({ topic: "big", data: "x".repeat(MIB - 16) }));
    const res = await fetch(`${open.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events }),
    });
    expect(res.status).toBe(413);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error).toEqual({ code: "payload_too_large", message: expect.stringContaining(String(REQUEST_LIMIT)) });
    expect(await lastEventId(open)).toBe(before);
    expect((await fetch(`${open.url}/health`)).status).toBe(200);
  });

  test("a body just under the limit is still read whole (a batch of 30 events of 1 MiB)", async () => {
    const events = Array.from({ length: 30 }, (_, i) => ({ topic: "big", data: `${i}`.padEnd(MIB - 16, "y") }));
    const res = await fetch(`${open.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events }),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { events: unknown[] }).events.length).toBe(30);
  });
});

describe("credentials are checked before the body is read", () => {
  const unfinished = [new TextEncoder().encode('{"data":"this body never ends')];
  const declared = { "content-length": String(30 * MIB) };

  test("publish without a token: 401 while the body is still coming", async () => {
    const res = await answerBeforeBodyEnds(secured.port, post("/topics/orders/events", declared), unfinished);
    expectError(res, 401, "unauthorized");
    expect(res.headers["www-authenticate"]).toContain("Bearer");
  });

  test("publish with a bad token, or one that does not cover the topic: 401 / 403 before the body", async () => {
    const bad = await answerBeforeBodyEnds(
      secured.port,
      post("/topics/orders/events", { ...declared, authorization: "Bearer not.a.token" }),
      unfinished,
    );
    expectError(bad, 401, "unauthorized");
    const other = await token({ publish: ["users.*"] });
    const denied = await answerBeforeBodyEnds(
      secured.port,
      post("/topics/orders/events", { ...declared, authorization: `Bearer ${other}` }),
      unfinished,
    );
    expectError(denied, 403, "forbidden");
  });

  test("batch without a valid token: 401 before the body (topic coverage needs the parsed batch)", async () => {
    const res = await answerBeforeBodyEnds(secured.port, post("/events", declared), unfinished);
    expectError(res, 401, "unauthorized");
  });

  test("a chunked 30 MB body without a token is refused without being read", async () => {
    const head = post("/topics/orders/events", { "transfer-encoding": "chunked", "content-type": "text/plain" });
    expectError(await answerBeforeBodyEnds(secured.port, head, chunked(1, 1024)), 401, "unauthorized");
  });

  test("with a valid token the body is read and published", async () => {
    const res = await fetch(`${secured.url}/topics/orders/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${await token({ publish: ["orders"] })}` },
      body: "hello",
    });
    expect(res.status).toBe(201);
  });
});
