/**
 * HERALD_CORS_ORIGINS with `*`: any origin may read without credentials, only named origins with them. Chromium,
 * on pages served from a second and a third local origin, plays the attacker and the named app.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, BrowserContext } from "playwright-core";
import { mintToken } from "../src/cli/token";
import { hasChromium, launch } from "./support/browser";
import { dispose, type Herald, startHerald } from "./support/herald";

const SECRET = "wildcard-secret-wildcard-secret-wildcard";
/** A page that tries, with the visitor's cookie, to read a private stream and history, and holds a publish form. */
const PAGE = `<!doctype html><body><script>
  const hub = new URLSearchParams(location.search).get("hub");
  window.received = []; window.streamOpened = false; window.streamFailed = false; window.historyRead = "pending";
  const es = new EventSource(hub + "/stream?topic=bank&lastEventId=0", { withCredentials: true });
  es.onopen = () => { window.streamOpened = true; };
  es.onmessage = (m) => window.received.push(m.data);
  es.onerror = () => { if (es.readyState === EventSource.CLOSED) window.streamFailed = true; };
  fetch(hub + "/events?topic=bank", { credentials: "include" })
    .then((r) => r.text()).then((t) => { window.historyRead = t; }, () => { window.historyRead = "blocked"; });
  fetch(hub + "/events?topic=news").then((r) => r.status).then((s) => { window.publicStatus = s; });
  const form = document.createElement("form");
  form.method = "post"; form.action = hub + "/topics/bank/events";
  form.innerHTML = '<input name="to" value="mallory"><input name="amount" value="1000"><button>send</button>';
  document.body.append(form);
</script></body>`;

let herald: Herald;
let wildcardOnly: Herald;
let pages: Array<ReturnType<typeof Bun.serve>>;
let evil: string;
let named: string;
let visitor: string;
let admin: string;

beforeAll(async () => {
  const serve = () =>
    Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response(PAGE, { headers: { "content-type": "text/html" } }) });
  pages = [serve(), serve()];
  [evil, named] = pages.map((p) => `http://127.0.0.1:${p.port}`) as [string, string];
  const env = { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "news" };
  [herald, wildcardOnly] = await Promise.all([
    startHerald({ env: { ...env, HERALD_CORS_ORIGINS: `*, ${named}` } }),
    startHerald({ env: { ...env, HERALD_CORS_ORIGINS: "*" } }),
  ]);
  visitor = await mintToken(SECRET, { publish: ["bank"], subscribe: ["bank"], ttlMs: 600_000 });
  admin = await mintToken(SECRET, { publish: ["*"], subscribe: ["*"], ttlMs: 600_000 });
});
afterAll(async () => {
  for (const p of pages) p.stop(true);
  await Promise.all([dispose(herald), dispose(wildcardOnly)]);
});

function preflight(base: string, origin: string): Promise<Response> {
  return fetch(`${base}/topics/bank/events`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
  });
}

describe("CORS with *", () => {
  test("any origin gets Access-Control-Allow-Origin: * and never credentials; a named one gets both", async () => {
    for (const res of [
      await fetch(`${herald.url}/health`, { headers: { origin: "https://evil.example" } }),
      await preflight(herald.url, "https://evil.example"),
    ]) {
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
      expect(res.headers.get("vary")).toContain("Origin");
    }
    const ok = await preflight(herald.url, named);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(named);
    expect(ok.headers.get("access-control-allow-credentials")).toBe("true");
    expect(ok.headers.get("access-control-allow-headers")).toContain("Authorization");
  });

  test("* alone answers the same to everyone, so it needs no Vary: Origin", async () => {
    for (const res of [
      await fetch(`${wildcardOnly.url}/health`, { headers: { origin: named } }),
      await preflight(wildcardOnly.url, named),
    ]) {
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
      expect(res.headers.get("vary")).toBeNull();
    }
    expect((await preflight(wildcardOnly.url, named)).headers.get("access-control-allow-methods")).toContain("POST");
  });
});

async function stored(): Promise<string[]> {
  const res = await fetch(`${herald.url}/events?topic=bank`, { headers: { authorization: `Bearer ${admin}` } });
  return ((await res.json()) as { events: Array<{ data: string }> }).events.map((e) => e.data);
}

interface Attempt {
  received: string[];
  streamOpened: boolean;
  streamFailed: boolean;
  historyRead: string;
  publicStatus?: number;
}

/** Opens the page of `origin` in a browser whose visitor holds a herald_token cookie for the hub. */
async function visit(context: BrowserContext, origin: string) {
  const page = await context.newPage();
  await page.goto(`${origin}/?hub=${encodeURIComponent(herald.url)}`);
  const state = () =>
    page.evaluate((): Attempt => {
      const w = globalThis as unknown as Attempt;
      return {
        received: w.received,
        streamOpened: w.streamOpened,
        streamFailed: w.streamFailed,
        historyRead: w.historyRead,
        publicStatus: w.publicStatus,
      };
    });
  return { page, state };
}

describe.skipIf(!hasChromium)("Chromium as the attacker", () => {
  let browser: Browser;
  let context: BrowserContext;
  beforeAll(async () => {
    browser = await launch();
    context = await browser.newContext();
    await context.addCookies([{ name: "herald_token", value: visitor, url: herald.url, httpOnly: true }]);
    // Starting a browser is slow work, not a wait on the hub: on two busy cores it takes seconds.
  }, 30_000);
  afterAll(() => browser.close());

  test("a page on another origin cannot read a private stream or history with the visitor's cookie", async () => {
    const publishing = await fetch(`${herald.url}/topics/bank/events`, {
      method: "POST",
      body: "secret",
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(publishing.status).toBe(201);
    const { page, state } = await visit(context, evil);
    await page.waitForFunction(() => {
      const w = globalThis as unknown as Attempt;
      return (w.streamOpened || w.streamFailed) && w.historyRead !== "pending" && w.publicStatus !== undefined;
    });
    const seen = await state();
    expect(seen).toMatchObject({
      received: [],
      streamOpened: false,
      streamFailed: true,
      historyRead: "blocked",
      publicStatus: 200,
    });
    await page.close();
  }, 20_000);

  test("the same page on a named origin reads both", async () => {
    const { page, state } = await visit(context, named);
    // The stream starts from id 0, so it replays "secret" and misses nothing published after it opened.
    await page.waitForFunction(() => {
      const w = globalThis as unknown as Attempt;
      return w.received.includes("secret") && w.historyRead !== "pending";
    });
    expect((await state()).historyRead).toContain('"secret"');
    const publishing = await fetch(`${herald.url}/topics/bank/events`, {
      method: "POST",
      body: "live",
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(publishing.status).toBe(201);
    await page.waitForFunction(() => (globalThis as unknown as Attempt).received.includes("live"));
    await page.close();
  }, 20_000);

  test("a plain HTML form post carrying the cookie: refused from another origin, accepted from a named one", async () => {
    const before = await stored();
    const attack = await visit(context, evil);
    await Promise.all([attack.page.waitForURL(`${herald.url}/topics/bank/events`), attack.page.click("button")]);
    expect(await attack.page.textContent("body")).toContain("cross_site_request");
    expect(await stored()).toEqual(before);

    const app = await visit(context, named);
    await Promise.all([app.page.waitForURL(`${herald.url}/topics/bank/events`), app.page.click("button")]);
    expect(await app.page.textContent("body")).toContain('"topic":"bank"');
    expect(await stored()).toEqual([...before, "to=mallory&amount=1000"]);
  }, 20_000);

  test("the hub's own pages (the console) publish with the cookie", async () => {
    const page = await context.newPage();
    await page.goto(`${herald.url}/`);
    const status = await page.evaluate(
      async () => (await fetch("/topics/bank/events", { method: "POST", body: "console" })).status,
    );
    expect(status).toBe(201);
    expect(await stored()).toContain("console");
    await page.close();
  }, 20_000);
});
