/**
 * Behind nginx configured as the README says: the per-client limit sees each client's own address through
 * X-Forwarded-For, a forged header buys nothing, and the hub still knows its own origin.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mintToken } from "../src/cli/token";
import { type BoundStream, streamFrom } from "./support/bound-stream";
import { dispose, type Herald, startHerald } from "./support/herald";
import { hasNginx, type Nginx, startNginx } from "./support/nginx";
import { SseReader, streamUrl } from "./support/sse";

const SECRET = "behind-nginx-secret-behind-nginx-secret";
let herald: Herald;
let nginx: Nginx;
let publisher: string;
const open: BoundStream[] = [];

beforeAll(async () => {
  if (!hasNginx) return;
  herald = await startHerald({
    env: {
      HERALD_JWT_SECRET: SECRET,
      HERALD_PUBLIC_TOPICS: "public.*",
      HERALD_MAX_STREAMS_PER_CLIENT: "1",
      HERALD_TRUSTED_PROXIES: "127.0.0.1",
    },
  });
  nginx = await startNginx(herald.port);
  publisher = await mintToken(SECRET, { publish: ["public.*"], subscribe: [], ttlMs: 600_000 });
});
afterAll(async () => {
  for (const s of open) s.close();
  if (!hasNginx) return;
  await nginx.stop();
  await dispose(herald);
});

async function stream(from: string, headers: Record<string, string> = {}): Promise<number> {
  const s = await streamFrom(nginx.port, from, "/stream?topic=public.proxied", headers);
  if (s.status === 200) open.push(s);
  return s.status;
}

describe.skipIf(!hasNginx)("behind nginx", () => {
  test("each client is limited by its own address; a forged X-Forwarded-For does not make another client", async () => {
    expect(await stream("127.0.0.2")).toBe(200);
    expect(await stream("127.0.0.2")).toBe(429);
    expect(await stream("127.0.0.2", { "x-forwarded-for": "203.0.113.77" })).toBe(429);
    expect(await stream("127.0.0.3")).toBe(200);
  });

  test("events pass through at once", async () => {
    const r = await SseReader.open(streamUrl(nginx.url, ["public.live"]));
    await r.until((x) => x.retry !== undefined);
    const res = await fetch(`${nginx.url}/topics/public.live/events`, {
      method: "POST",
      body: "through the proxy",
      headers: { authorization: `Bearer ${publisher}` },
    });
    expect(res.status).toBe(201);
    await r.count(1);
    expect(r.events[0]?.data).toBe("through the proxy");
    r.close();
  });

  test("a cookie publish from the proxy's public origin is the hub's own; another origin is refused", async () => {
    const post = (origin: string) =>
      fetch(`${nginx.url}/topics/public.cookie/events`, {
        method: "POST",
        body: "x",
        headers: { cookie: `herald_token=${publisher}`, origin },
      });
    expect((await post(nginx.url)).status).toBe(201);
    expect((await post(herald.url)).status).toBe(403);
  });
});
