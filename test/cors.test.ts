/** CORS with credentials: preflights, headers on streams and errors, and a cross-origin EventSource in Chromium. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mintToken } from "../src/cli/token";
import { hasChromium, launch } from "./support/browser";
import { type Herald, removeDir, startHerald } from "./support/herald";
import { streamUrl } from "./support/sse";

const SECRET = "cors-secret-cors-secret-cors-secret";
let herald: Herald;
let app: ReturnType<typeof Bun.serve>;
let appOrigin: string;
let reader: string;
let publisher: string;

beforeAll(async () => {
  // The browser app lives on another origin (another port: cross-origin, same site, so the cookie goes along).
  app = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () =>
      new Response(
        `<!doctype html><script>
          window.received = []; window.failed = false;
          const es = new EventSource(new URLSearchParams(location.search).get("stream"), { withCredentials: true });
          es.onmessage = (m) => window.received.push(m.data);
          es.onerror = () => { if (es.readyState === EventSource.CLOSED) window.failed = true; };
        </script>`,
        { headers: { "content-type": "text/html" } },
      ),
  });
  appOrigin = `http://127.0.0.1:${app.port}`;
  herald = await startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_CORS_ORIGINS: `https://other.example, ${appOrigin}` } });
  reader = await mintToken(SECRET, { publish: [], subscribe: ["orders.*"], ttlMs: 600_000 });
  publisher = await mintToken(SECRET, { publish: ["*"], subscribe: [], ttlMs: 600_000 });
});
afterAll(async () => {
  app.stop(true);
  await herald.stop();
  removeDir(herald.dir);
});

describe("CORS", () => {
  test("a preflight from an allowed origin is answered with methods, headers and credentials", async () => {
    const res = await fetch(`${herald.url}/topics/orders.x/events`, {
      method: "OPTIONS",
      headers: {
        origin: appOrigin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(appOrigin);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
  });

  test("streams and errors carry the headers for allowed origins only", async () => {
    const stream = await fetch(streamUrl(herald.url, ["orders.*"], { access_token: reader }), { headers: { origin: appOrigin } });
    expect(stream.headers.get("access-control-allow-origin")).toBe(appOrigin);
    await stream.body?.cancel();
    const denied = await fetch(streamUrl(herald.url, ["orders.*"]), { headers: { origin: appOrigin } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe(appOrigin);
    const stranger = await fetch(`${herald.url}/health`, { headers: { origin: "https://evil.example" } });
    expect(stranger.headers.get("access-control-allow-origin")).toBeNull();
  });

  test.skipIf(!hasChromium)(
    "a cross-origin EventSource in Chromium streams with the herald_token cookie",
    async () => {
      const browser = await launch();
      try {
        const context = await browser.newContext();
        await context.addCookies([{ name: "herald_token", value: reader, url: herald.url }]);
        const page = await context.newPage();
        await page.goto(`${appOrigin}/?stream=${encodeURIComponent(streamUrl(herald.url, ["orders.cors"]))}`);
        await Bun.sleep(300);
        const res = await fetch(`${herald.url}/topics/orders.cors/events`, {
          method: "POST",
          body: "across origins",
          headers: { authorization: `Bearer ${publisher}` },
        });
        expect(res.status).toBe(201);
        await page.waitForFunction(() => (globalThis as unknown as { received: string[] }).received.length > 0, undefined, {
          timeout: 5000,
        });
        expect(await page.evaluate(() => (globalThis as unknown as { received: string[] }).received)).toEqual(["across origins"]);

        // Without the cookie the stream is refused (401), and the browser gives up rather than reading anything.
        const bare = await (await browser.newContext()).newPage();
        await bare.goto(`${appOrigin}/?stream=${encodeURIComponent(streamUrl(herald.url, ["orders.cors"]))}`);
        await bare.waitForFunction(() => (globalThis as unknown as { failed: boolean }).failed, undefined, { timeout: 5000 });
      } finally {
        await browser.close();
      }
    },
    30_000,
  );
});
