/** The console at / in headless Chromium: local assets only, live events, publishing, and a server restart. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import type { Browser, Page } from "playwright-core";
import { external, hasChromium, launch, openPage } from "./support/browser";
import { type Herald, publish, removeDir, startHerald, tempDir } from "./support/herald";
import { publish as mercurePublish, SECRET, sign, unique } from "./support/mercure";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

// The README's picture is refreshed on request (UPDATE_SCREENSHOT=1), so a test run leaves the tree clean.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT
  ? join(import.meta.dir, "..", "docs", "console.png")
  : join(tmpdir(), `herald-console-${process.pid}.png`);
// Runs in the browser (as source text: the tests' TypeScript has no DOM types): luminance spread and colour count.
const PIXEL_STATS = `async (src) => {
  const img = new Image();
  img.src = src;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const { data } = ctx.getImageData(0, 0, img.width, img.height);
  let sum = 0, sumSq = 0;
  const colours = new Set();
  for (let i = 0; i < data.length; i += 4) {
    const y = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    sum += y;
    sumSq += y * y;
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  }
  const n = data.length / 4;
  return { width: img.width, height: img.height, stddev: Math.sqrt(sumSq / n - (sum / n) ** 2), colours: colours.size };
}`;
interface PixelStats {
  width: number;
  height: number;
  stddev: number;
  colours: number;
}

let browser: Browser;
let herald: Herald;

beforeAll(async () => {
  if (!hasChromium) return;
  browser = await launch();
  herald = await startHerald();
});

/** Hubs a test starts for itself: killed here if a failed assertion left them running. */
const extra: Herald[] = [];
async function ownHerald(options: Parameters<typeof startHerald>[0]): Promise<Herald> {
  const h = await startHerald(options);
  extra.push(h);
  return h;
}

afterAll(async () => {
  if (!hasChromium) return;
  await browser.close();
  await herald.stop();
  removeDir(herald.dir);
  for (const h of extra) {
    if (h.proc.exitCode === null) await h.kill();
    removeDir(h.dir);
  }
});

const ROWS = "#events li.event[data-id]";
const rowIds = (page: Page) => page.$$eval(ROWS, (rows) => rows.map((r) => r.getAttribute("data-id")));

// Polled from the test side: the page's CSP (rightly) refuses the string evaluation waitForFunction would need.
const waitForRows = (page: Page, count: number) => eventually(async () => (await rowIds(page)).length >= count, 15_000);

async function subscribe(page: Page, selectors: string): Promise<void> {
  await page.fill("#selectors", selectors);
  await page.click("#subscribe");
  await page.waitForSelector('#state[data-state="live"]');
}

test.skipIf(!hasChromium)("the console loads with every request on localhost, a strict CSP and no script error", async () => {
  const res = await fetch(`${herald.url}/`);
  expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
  expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");

  const { page, urls, errors } = await openPage(browser);
  await page.goto(`${herald.url}/`);
  await page.waitForSelector('#state[data-state="live"]');
  await page.waitForLoadState("networkidle").catch(() => {}); // the stream never idles: just let the rest settle
  expect(urls.length).toBeGreaterThanOrEqual(5);
  expect(urls.some((u) => u.includes("/stream?"))).toBe(true);
  expect(external(urls)).toEqual([]);
  expect(errors).toEqual([]);
  expect(await page.title()).toBe("Herald console");
  await page.close();
});

test.skipIf(!hasChromium)("subscribing and publishing from the page shows the events, typed or not, once each", async () => {
  const { page, urls, errors } = await openPage(browser);
  await page.goto(`${herald.url}/`);
  await subscribe(page, "demo.*");

  await page.fill("#publish-topic", "demo.orders");
  await page.fill("#publish-type", "created");
  await page.fill("#publish-data", '{"total": 42, "items": ["book", "pen"]}');
  await page.click("#publish");
  await page.waitForSelector("#publish-result.ok");
  const id = /#(\d+)/.exec((await page.textContent("#publish-result")) ?? "")?.[1];
  expect(id).toBeDefined();
  const row = await page.waitForSelector(`#events li[data-id="${id}"]`);
  expect(await row.textContent()).toContain("demo.orders");
  expect(await row.$eval(".type", (e) => e.textContent)).toBe("created");
  expect(await row.$eval(".data", (e) => JSON.parse(e.textContent ?? ""))).toEqual({ total: 42, items: ["book", "pen"] });

  // From elsewhere: text, and a type the page has never heard of (EventSource needs a listener per type).
  const text = await publish(herald.url, "demo.news", "Hey!");
  const typed = await publish(herald.url, "demo.users", { id: 7 }, "joined");
  await publish(herald.url, "other", "not selected");
  await page.waitForSelector(`#events li[data-id="${typed.id}"]`, { timeout: 10_000 });
  expect(await page.textContent(`#events li[data-id="${text.id}"] .data`)).toBe("Hey!");
  expect(await rowIds(page)).toEqual([typed.id, text.id, id]);
  expect(await page.textContent("#last-id")).toBe(typed.id);
  expect(external(urls)).toEqual([]);
  expect(errors).toEqual([]);
  await page.close();
});

test.skipIf(!hasChromium)(
  "SIGKILL and restart on the same port and database while publishing: every id on the page exactly once",
  async () => {
    const dir = tempDir();
    const env = { HERALD_RETRY_MS: "200" };
    let server = await ownHerald({ dir, env });
    const { port } = server;
    const { page, urls } = await openPage(browser);
    // Each stream that opened, and the id it resumed from: the browser's own Last-Event-ID, or the console's lastEventId.
    const resumes: Array<{ at: number; header?: string; query: string | null }> = [];
    page.on("response", async (r) => {
      if (!r.url().includes("/stream?") || r.status() !== 200) return;
      const header = (await r.request().allHeaders())["last-event-id"];
      resumes.push({ at: Date.now(), header, query: new URL(r.url()).searchParams.get("lastEventId") });
    });
    await page.goto(`${server.url}/?topic=restart.*`);
    await page.waitForSelector('#state[data-state="live"]');

    const acknowledged: string[] = [];
    let running = true;
    const publisher = (async () => {
      for (let i = 0; running && i < 400; i++) {
        try {
          const { id } = await publish(server.url, `restart.${i % 3}`, { i }, i % 2 ? "tick" : undefined);
          acknowledged.push(id);
        } catch {
          // the hub is down: this one may or may not have been committed; the log decides
        }
        await Bun.sleep(15);
      }
    })();
    await eventually(() => acknowledged.length >= 20, 20_000);
    // Once the page has learnt the "tick" type (and so shows everything so far), the restart is what is tested.
    const sofar = [...acknowledged];
    await eventually(async () => {
      const shown = new Set(await rowIds(page));
      return sofar.every((id) => shown.has(id));
    });
    const lastBeforeKill = Number(await page.textContent("#last-id"));
    const killedAt = Date.now();
    await server.kill();
    // The hub is down until it restarts below: the page shows it is reconnecting, however late it notices.
    await page.waitForSelector('#state[data-state="reconnecting"]');
    server = await ownHerald({ dir, port, env });
    const before = acknowledged.length;
    await eventually(() => acknowledged.length >= before + 20, 20_000);
    running = false;
    await publisher;
    // The last event: whatever the page shows before it (a duplicate included) has arrived once it shows.
    const last = await publish(server.url, "restart.end", "end");
    acknowledged.push(last.id);

    const history = (await (await fetch(`${server.url}/events?topic=restart.*&limit=1000`)).json()) as {
      events: { id: string }[];
    };
    const logIds = history.events.map((e) => e.id);
    expect(logIds).toEqual(expect.arrayContaining(acknowledged));
    await page.waitForSelector(`#events li[data-id="${last.id}"]`, { timeout: 15_000 });
    const shown = await rowIds(page);
    expect(new Set(shown).size).toBe(shown.length);
    expect([...shown].reverse()).toEqual(logIds);
    expect(await page.getAttribute("#state", "data-state")).toBe("live");
    // The browser came back with the last id it had: a resume, not a fresh subscription.
    if (process.env.HERALD_TEST_VERBOSE) console.log({ lastBeforeKill, killedAt, resumes });
    const after = resumes.filter((r) => r.at > killedAt).map((r) => Number(r.header ?? r.query));
    expect(after.some((id) => id >= lastBeforeKill && lastBeforeKill > 0)).toBe(true);
    expect(external(urls)).toEqual([]);
    await page.close();
    await server.stop();
  },
  60_000,
);

test.skipIf(!hasChromium)(
  "refused with 503, the page retries by itself from its last id (lastEventId); a 400 stops it",
  async () => {
    const server = await ownHerald({ env: { HERALD_MAX_SUBSCRIBERS: "1" } });
    const before = await publish(server.url, "busy", "before");
    const holder = await SseReader.open(streamUrl(server.url, ["elsewhere"]));
    const { page, urls } = await openPage(browser);
    await page.goto(`${server.url}/?topic=busy`);
    await page.waitForSelector('#state[data-state="reconnecting"]');
    expect(await page.textContent("#stream-error")).toContain("refused");
    const during = await publish(server.url, "busy", "while refused");
    holder.close();
    await page.waitForSelector(`#events li[data-id="${during.id}"]`, { timeout: 10_000 });
    expect(await page.getAttribute("#state", "data-state")).toBe("live");
    // Resumed from the head it subscribed at: the older event is not replayed, the one published meanwhile is.
    expect(await rowIds(page)).toEqual([during.id]);
    const manual = urls.filter((u) => u.includes("/stream?")).map((u) => new URL(u).searchParams.get("lastEventId"));
    expect(manual).toContain(before.id);

    await page.fill("#selectors", Array.from({ length: 51 }, (_, i) => `t${i}`).join(" "));
    await page.click("#subscribe");
    await page.waitForSelector('#state[data-state="closed"]');
    expect(await page.textContent("#stream-error")).toContain("at most 50");
    await page.close();
    await server.stop();
  },
  30_000,
);

test.skipIf(!hasChromium)("with HERALD_JWT_SECRET the page is refused without a token, and works with one", async () => {
  const secret = "console-test-secret-long-enough-for-hs256";
  const server = await ownHerald({ env: { HERALD_JWT_SECRET: secret } });
  const jwt = await new SignJWT({ herald: { publish: ["secure.*"], subscribe: ["secure.*"] } })
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("10m")
    .sign(new TextEncoder().encode(secret));
  const { page, urls } = await openPage(browser);
  await page.goto(`${server.url}/?topic=secure.*`);
  await page.waitForSelector('#state[data-state="closed"]');
  expect(await page.isVisible("#stream-error")).toBe(true);

  await page.click("summary");
  await page.fill("#token", jwt);
  await subscribe(page, "secure.*");
  await page.fill("#publish-topic", "secure.vault");
  await page.fill("#publish-type", "opened");
  await page.fill("#publish-data", '{"by": "ada"}');
  await page.click("#publish");
  await page.waitForSelector("#publish-result.ok");
  const id = /#(\d+)/.exec((await page.textContent("#publish-result")) ?? "")?.[1];
  await page.waitForSelector(`#events li[data-id="${id}"]`);
  // The token rides as access_token on the stream (EventSource sends no headers), never in the page's own URL.
  expect(urls.some((u) => u.includes("/stream?") && u.includes("access_token="))).toBe(true);
  expect(page.url()).not.toContain("access_token");
  await page.close();
  await server.stop();
});

test.skipIf(!hasChromium)("a Mercure update's row shows its Mercure id, other topics, private flag and retry", async () => {
  const server = await ownHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "*" } });
  const n = unique();
  const [book, name] = [`https://example.com/books/${n}`, `books.${n}`];
  const { page, errors } = await openPage(browser);
  await page.goto(`${server.url}/`);
  // Private updates only for a token that grants one of their topics.
  await page.click("summary");
  await page.fill("#token", await sign({ herald: { subscribe: [name] } }));
  await subscribe(page, name);
  await mercurePublish(server, [
    ["topic", name],
    ["topic", book],
    ["data", "secret"],
    ["private", "on"],
    ["id", `urn:uuid:${n}`],
    ["retry", "5000"],
  ]);
  const plain = await mercurePublish(server, [
    ["topic", name],
    ["topic", book],
    ["data", "public"],
  ]);
  const native = await fetch(`${server.url}/topics/${name}/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${await sign({ herald: { publish: ["*"] } })}` },
    body: "native",
  });
  const nativeId = ((await native.json()) as { id: string }).id;
  await waitForRows(page, 3);
  const [last, second, first] = await rowIds(page);
  expect(last).toBe(nativeId);
  const mercureOf = (id: string | null) =>
    page.$eval(`#events li[data-id="${id}"]`, (row) => {
      const texts = (selector: string) => [...row.querySelectorAll(selector)].map((e) => e.textContent);
      return {
        private: texts(".mercure .private"),
        id: texts(".mercure .mercure-id"),
        alternates: texts(".mercure .alternate"),
        retry: texts(".mercure .retry"),
      };
    });
  expect(await mercureOf(first)).toEqual({
    private: ["private"],
    id: [`urn:uuid:${n}`],
    alternates: [book],
    retry: ["retry 5000 ms"],
  });
  expect(await mercureOf(second)).toEqual({ private: [], id: [plain], alternates: [book], retry: [] });
  expect(await page.$$(`#events li[data-id="${nativeId}"] .mercure`)).toEqual([]);
  // The filter finds a row by its Mercure id.
  await page.fill("#filter", `urn:uuid:${n}`);
  expect(await page.$$eval(ROWS, (rows) => rows.filter((r) => !r.hidden).map((r) => r.getAttribute("data-id")))).toEqual([first]);
  expect(errors).toEqual([]);
  await page.close();
  await server.stop();
});

test.skipIf(!hasChromium)("the Topics panel reads one page at a time, and More reads the next", async () => {
  const h = await ownHerald({});
  await fetch(`${h.url}/events`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      events: Array.from({ length: 70 }, (_, i) => ({ topic: `page.${String(i).padStart(2, "0")}`, data: i })),
    }),
  });
  const { page, urls, errors } = await openPage(browser);
  await page.goto(`${h.url}/`);
  const shown = () => page.$$eval("#topics li code", (cells) => cells.map((c) => c.textContent));
  await eventually(async () => (await shown()).length === 50, 15_000);
  expect(await page.isVisible("#topics-more")).toBe(true);
  await page.click("#topics-more");
  await eventually(async () => (await shown()).length === 70, 15_000);
  expect(await shown()).toEqual(Array.from({ length: 70 }, (_, i) => `page.${String(i).padStart(2, "0")}`));
  expect(await page.isVisible("#topics-more")).toBe(false);
  expect(urls.filter((u) => u.includes("/topics?")).every((u) => u.includes("limit=50"))).toBe(true);
  expect(errors).toEqual([]);
  await page.close();
});

test.skipIf(!hasChromium)("a screenshot of the console with events is not blank", async () => {
  const { page } = await openPage(browser, { width: 1280, height: 820 });
  await page.goto(`${herald.url}/?topic=shop.*&topic=deploys`);
  await page.waitForSelector('#state[data-state="live"]');
  const events: Array<[string, unknown, string?]> = [
    ["shop.orders", { order: 1042, total: 42.5, currency: "EUR" }, "created"],
    ["shop.users", { id: 7, name: "Ada Lovelace" }, "joined"],
    ["deploys", "api v2.3.1 rolled out to eu-west"],
    ["shop.orders", { order: 1042, status: "paid" }, "paid"],
    ["shop.stock", { sku: "BOOK-1", left: 3, warehouse: "Lyon", reorder: true, supplier: "Papeterie Martin" }, "low"],
    ["deploys", "api v2.3.2 canary at 10%"],
  ];
  for (const [topic, data, type] of events) await publish(herald.url, topic, data, type);
  await waitForRows(page, events.length);
  await page.fill("#publish-topic", "deploys");
  await page.fill("#publish-data", '"api v2.3.2 at 100%"');
  await page.waitForTimeout(1500); // let the arrival highlight fade
  await page.screenshot({ path: SCREENSHOT });

  const png = Bun.file(SCREENSHOT);
  expect(png.size).toBeGreaterThan(30_000);
  // Pixel variance, measured by the browser itself: a blank or single-colour page has none.
  const b64 = Buffer.from(await png.arrayBuffer()).toString("base64");
  const blank = await browser.newPage();
  const stats = (await blank.evaluate(`(${PIXEL_STATS})("data:image/png;base64,${b64}")`)) as PixelStats;
  await blank.close();
  expect(stats.width).toBe(1280);
  expect(stats.stddev).toBeGreaterThan(10);
  expect(stats.colours).toBeGreaterThan(50);
  await page.close();
});
