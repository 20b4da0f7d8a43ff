/** /docs: Swagger UI from the hub's own assets, in headless Chromium, and embedded in the compiled binary. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { external, hasChromium, launch, openPage } from "./support/browser";
import { type Herald, removeDir, startHerald, tempDir } from "./support/herald";

const ROOT = join(import.meta.dir, "..");
const SWAGGER_UI = join(ROOT, "node_modules", "swagger-ui-dist");
const OPERATIONS = ["publishEvent", "publishBatch", "stream", "listEvents", "listTopics", "health"];
let herald: Herald;
let browser: Browser | undefined;

beforeAll(async () => {
  herald = await startHerald();
  if (hasChromium) browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await herald.stop();
  removeDir(herald.dir);
});

test("/docs is Swagger UI pointing at the hub's own assets and /openapi.json, nothing on a CDN", async () => {
  const res = await fetch(`${herald.url}/docs`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/html");
  const html = await res.text();
  expect(html).toContain("SwaggerUIBundle");
  expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  expect(html).toContain('src="/docs/assets/swagger-ui-bundle.js"');
  expect(html).toContain('href="/docs/assets/swagger-ui.css"');
  expect(html).toContain('"url":"openapi.json"');
});

test("the assets are swagger-ui-dist's own files, byte for byte, with their content types", async () => {
  for (const [file, type] of [
    ["swagger-ui-bundle.js", "text/javascript"],
    ["swagger-ui.css", "text/css"],
  ] as const) {
    const res = await fetch(`${herald.url}/docs/assets/${file}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith(type);
    const served = new Uint8Array(await res.arrayBuffer());
    const original = new Uint8Array(await Bun.file(join(SWAGGER_UI, file)).arrayBuffer());
    expect(served.byteLength).toBe(original.byteLength);
    expect(Bun.hash(served)).toBe(Bun.hash(original));
  }
});

test.skipIf(!hasChromium)("Swagger UI renders in headless Chromium, lists every operation, and asks only localhost", async () => {
  if (!browser) throw new Error("no browser");
  const { page, urls, errors } = await openPage(browser);
  await page.goto(`${herald.url}/docs`);
  await page.waitForSelector(".opblock", { timeout: 15_000 });
  const shown = await page.$$eval(".opblock-summary-operation-id", (els) => els.map((e) => e.textContent?.trim()));
  for (const id of OPERATIONS) expect(shown).toContain(id);
  const paths = await page.$$eval(".opblock-summary-path", (els) => els.map((e) => e.getAttribute("data-path")));
  expect(paths).toEqual(expect.arrayContaining(["/topics/{topic}/events", "/events", "/stream", "/topics", "/health"]));
  expect(await page.textContent(".info .title")).toContain("Herald");
  expect(urls.some((u) => u.endsWith("/openapi.json"))).toBe(true);
  expect(external(urls)).toEqual([]);
  expect(errors).toEqual([]);

  // The publish operation shows both request body media types.
  await page.click("#operations-publish-publishEvent .opblock-summary");
  await page.waitForSelector("#operations-publish-publishEvent .opblock-section-request-body select");
  const mediaTypes = await page.$$eval("#operations-publish-publishEvent .opblock-section-request-body select option", (els) =>
    els.map((e) => e.textContent),
  );
  expect(mediaTypes).toEqual(["application/json", "text/plain"]);
  await page.close();
});

test("`bun build --compile` embeds the docs, the document and the console: the binary serves them alone", async () => {
  const out = tempDir();
  const build = Bun.spawnSync(
    // The entry points of `bun run build`: the worker thread's is one of them.
    [
      process.execPath,
      "build",
      "--compile",
      "--minify",
      "src/index.ts",
      "src/workers/thread.ts",
      "--outfile",
      join(out, "herald"),
    ],
    {
      cwd: ROOT,
      stderr: "pipe",
    },
  );
  expect(build.exitCode).toBe(0);
  const alone = tempDir();
  copyFileSync(join(out, "herald"), join(alone, "herald"));
  removeDir(out);
  expect(readdirSync(alone)).toEqual(["herald"]);
  const bin = await startHerald({ command: [join(alone, "herald")], cwd: alone, dir: alone });
  try {
    const bundle = await fetch(`${bin.url}/docs/assets/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.arrayBuffer()).byteLength).toBe(Bun.file(join(SWAGGER_UI, "swagger-ui-bundle.js")).size);
    expect((await fetch(`${bin.url}/docs/assets/swagger-ui.css`)).status).toBe(200);
    expect(await (await fetch(`${bin.url}/docs`)).text()).toContain("SwaggerUIBundle");
    expect(await (await fetch(`${bin.url}/`)).text()).toContain("Herald console");
    expect(await (await fetch(`${bin.url}/console/console.js`)).text()).toContain('from "./feed.js"');
    expect(await (await fetch(`${bin.url}/console/feed.js`)).text()).toContain("new EventSource");
    expect(await (await fetch(`${bin.url}/console/events.css`)).text()).toContain(".event");
    expect(await (await fetch(`${bin.url}/console/console.css`)).text()).toContain("--accent");
    const doc = (await (await fetch(`${bin.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain("/stream");
  } finally {
    await bin.stop();
    removeDir(alone);
  }
}, 60_000);
