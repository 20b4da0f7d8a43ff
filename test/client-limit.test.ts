/**
 * HERALD_MAX_STREAMS_PER_CLIENT: the client is the token's `sub`, else the connection's address, else (from a
 * trusted proxy) the right-most untrusted X-Forwarded-For hop. Connections come from several loopback addresses.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mintToken } from "../src/cli/token";
import { type BoundStream, streamFrom } from "./support/bound-stream";
import { dispose, type Herald, startHerald } from "./support/herald";
import { eventually } from "./support/wait";

const SECRET = "client-limit-secret-client-limit-secret";
const LIMIT = 2;
let herald: Herald;
let alice: string;
let bob: string;
const open: BoundStream[] = [];
let refusals = 0;

beforeAll(async () => {
  herald = await startHerald({
    env: {
      HERALD_JWT_SECRET: SECRET,
      HERALD_PUBLIC_TOPICS: "public.*",
      HERALD_MAX_STREAMS_PER_CLIENT: String(LIMIT),
      // The hub's own loopback address plays the proxy; 10.0.0.0/8 stands for proxies behind it.
      HERALD_TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8",
    },
  });
  alice = await mintToken(SECRET, { publish: [], subscribe: [], ttlMs: 600_000, subject: "alice" });
  bob = await mintToken(SECRET, { publish: [], subscribe: [], ttlMs: 600_000, subject: "bob" });
});
afterAll(async () => {
  for (const s of open) s.close();
  await dispose(herald);
});

/** Opens a stream on a public topic from `from`, keeping track of what is open and what was refused. */
async function stream(from: string, headers: Record<string, string> = {}): Promise<BoundStream> {
  const result = await streamFrom(herald.port, from, "/stream?topic=public.limit", headers);
  if (result.status === 200) open.push(result);
  else refusals++;
  return result;
}

async function fill(from: string, headers: Record<string, string> = {}): Promise<BoundStream[]> {
  const streams = [];
  for (let i = 0; i < LIMIT; i++) streams.push(await stream(from, headers));
  for (const s of streams) expect(s.status).toBe(200);
  return streams;
}

async function expectRefused(from: string, headers: Record<string, string> = {}): Promise<void> {
  const refused = await stream(from, headers);
  expect(refused.status).toBe(429);
  expect(refused.text).toMatch(/\r\nretry-after: \d+\r\n/i);
  expect(refused.text).toContain('"code":"too_many_streams"');
  expect(refused.text).not.toContain("text/event-stream");
}

describe("streams per client", () => {
  test("one address gets its limit, then 429 before any stream byte; another address is not affected", async () => {
    await fill("127.0.0.2");
    await expectRefused("127.0.0.2");
    await fill("127.0.0.3");
  });

  test("X-Forwarded-For from a peer that is not a trusted proxy is ignored", async () => {
    await expectRefused("127.0.0.2", { "x-forwarded-for": "203.0.113.9" });
  });

  test("two tokens from one address each get their own limit, wherever they connect from", async () => {
    await fill("127.0.0.4", { authorization: `Bearer ${alice}` });
    await expectRefused("127.0.0.4", { authorization: `Bearer ${alice}` });
    await expectRefused("127.0.0.5", { authorization: `Bearer ${alice}` });
    await fill("127.0.0.4", { authorization: `Bearer ${bob}` });
    // The address itself still has its own slots for requests without a token.
    await fill("127.0.0.4");
  });

  test("from a trusted proxy, the client is the right-most X-Forwarded-For address that is not a proxy", async () => {
    await fill("127.0.0.1", { "x-forwarded-for": "198.51.100.7" });
    await expectRefused("127.0.0.1", { "x-forwarded-for": "198.51.100.7" });
    // The left part is whatever the client wrote: it does not make another client.
    await expectRefused("127.0.0.1", { "x-forwarded-for": "192.0.2.1, 198.51.100.7" });
    // Proxies behind the first one are skipped.
    await expectRefused("127.0.0.1", { "x-forwarded-for": "198.51.100.7, 10.1.2.3" });
    await fill("127.0.0.1", { "x-forwarded-for": "198.51.100.7, 198.51.100.8" });
  });

  test("a closed stream frees its slot within 1 s", async () => {
    const [first] = await fill("127.0.0.6");
    await expectRefused("127.0.0.6");
    first?.close();
    await eventually(async () => (await stream("127.0.0.6")).status === 200, 1000);
  });

  test("/metrics counts every refusal", async () => {
    const text = await (await fetch(`${herald.url}/metrics`)).text();
    expect(text).toContain(`herald_streams_refused_per_client_total ${refusals}\n`);
    expect(refusals).toBeGreaterThanOrEqual(8);
  });
});
