/**
 * A message quotes an offending value at most 200 characters long, cut with `…`, whatever its size: an 8 KiB
 * selector, topic, type, id, key, charset or origin never comes back whole, on any route.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { loadConfig } from "../src/config";
import { cut, quote } from "../src/errors";
import { dispose, type Herald, startHerald } from "./support/herald";

const SECRET = "long-values-secret-0123456789-abcdefghij";
const HUGE = "x".repeat(8192);
/** Not a name: a selector, a topic or an event type that starts with `!` is refused, and quoted. */
const HUGE_NAME = `!${HUGE}`;
/** The quoted value: 199 of its characters and `…`, between quotes. */
const CUT_QUOTE = /"!?x{198,199}…"/;
/** Room for the words around one quoted value (the longest message here is the cross-site refusal). */
const MAX_MESSAGE = 200 + 300;

let herald: Herald;
let token: string;
beforeAll(async () => {
  // A secret, so that the cross-site guard runs; every topic public, so reads need no token.
  herald = await startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "*" } });
  token = await new SignJWT({ herald: { publish: ["*"], subscribe: ["*"] } })
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(SECRET));
});
afterAll(() => dispose(herald));

async function refusal(path: string, init: RequestInit = {}): Promise<{ status: number; code: string; message: string }> {
  const res = await fetch(`${herald.url}${path}`, init);
  const { error } = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, ...error };
}

const publishing = (headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { authorization: `Bearer ${token}`, ...headers },
  body: "x",
});

describe("a huge value is quoted cut, on every route that names it", () => {
  // Requests built when the test runs, once the token exists.
  const cases: Array<[string, string, (() => RequestInit) | undefined, number, string]> = [
    ["a selector in /events", `/events?topic=${HUGE_NAME}`, undefined, 400, "invalid_selector"],
    ["a selector in /stream", `/stream?topic=${HUGE_NAME}`, undefined, 400, "invalid_selector"],
    ["a selector list with an empty item", `/events?topic=${HUGE},`, undefined, 400, "invalid_selector"],
    ["the topic in the path", `/topics/${HUGE_NAME}/events`, publishing, 400, "invalid_topic"],
    ["?event=", `/topics/t/events?event=${HUGE_NAME}`, publishing, 400, "invalid_event_type"],
    ["the Last-Event-ID header", "/stream?topic=t", () => ({ headers: { "last-event-id": HUGE } }), 400, "invalid_event_id"],
    ["?lastEventId=", `/stream?topic=t&lastEventId=${HUGE}`, undefined, 400, "invalid_event_id"],
    ["?after=", `/events?topic=t&after=${HUGE}`, undefined, 400, "invalid_event_id"],
    ["?limit=", `/events?topic=t&limit=${HUGE}`, undefined, 400, "invalid_request"],
    ["?envelope=", `/stream?topic=t&envelope=${HUGE}`, undefined, 400, "invalid_request"],
    [
      "a charset",
      "/topics/t/events",
      () => publishing({ "content-type": `text/plain; charset=${HUGE}` }),
      415,
      "unsupported_charset",
    ],
    [
      "the Origin of a cookie-authenticated publish",
      "/topics/t/events",
      () => ({ method: "POST", headers: { cookie: `herald_token=${token}`, origin: `https://${HUGE}.example` }, body: "x" }),
      403,
      "cross_site_request",
    ],
  ];
  for (const [name, path, init, status, code] of cases) {
    test(name, async () => {
      const answer = await refusal(path, init?.());
      expect(answer).toMatchObject({ status, code });
      expect(answer.message.length).toBeLessThanOrEqual(MAX_MESSAGE);
      expect(answer.message).toMatch(name.includes("Origin") ? /"https:\/\/x{191}…"/ : CUT_QUOTE);
    });
  }

  test("an Idempotency-Key is named, not quoted", async () => {
    const answer = await refusal("/topics/t/events", publishing({ "idempotency-key": HUGE }));
    expect(answer).toMatchObject({ status: 400, code: "invalid_idempotency_key" });
    expect(answer.message).toBe("Idempotency-Key must be 1 to 200 printable ASCII characters");
  });

  test("an unknown body property, on both publish routes: the path and Elysia's summary quote it cut", async () => {
    const json = { "content-type": "application/json" };
    for (const [path, body] of [
      ["/topics/t/events", { data: 1, [HUGE]: 2 }],
      ["/events", { events: [{ topic: "t", data: 1, [HUGE]: 2 }] }],
    ] as const) {
      const answer = await refusal(path, { ...publishing(json), body: JSON.stringify(body) });
      expect(answer).toMatchObject({ status: 400, code: "invalid_request" });
      expect(answer.message.length).toBeLessThanOrEqual(2 * 200 + 100);
      expect(answer.message).toContain("x…' should not be provided");
    }
  });

  test("a value of exactly 200 characters is quoted whole", async () => {
    const value = `!${"y".repeat(199)}`;
    const answer = await refusal(`/events?topic=${value}`);
    expect(answer.message).toContain(`"${value}"`);
  });
});

test("a setting's value is quoted cut in its start-up message too", () => {
  expect(() => loadConfig([], { PORT: HUGE })).toThrow(/^PORT must be a whole number from .*, got "x{199}…"$/);
  expect(() => loadConfig([], { HERALD_PUBLIC_TOPICS: HUGE_NAME })).toThrow(/: "!x{198}…" is not a topic/);
});

describe("cut and quote", () => {
  test("at most 200 characters, the last one … when the value was longer", () => {
    expect(cut("a".repeat(200))).toBe("a".repeat(200));
    expect(cut("a".repeat(201))).toBe(`${"a".repeat(199)}…`);
    expect(cut(HUGE)).toHaveLength(200);
    expect(quote(HUGE)).toBe(`"${"x".repeat(199)}…"`);
  });

  test("a surrogate pair is never split, and what is quoted stays one line", () => {
    const emoji = `${"a".repeat(198)}😀😀`;
    expect(cut(emoji)).toBe(`${"a".repeat(198)}…`);
    expect(quote(`a\nb${HUGE}`)).toStartWith('"a\\nb');
    expect(JSON.parse(quote(`${"é".repeat(300)}`))).toHaveLength(200);
  });
});
