/** The examples, run for real: the generated TypeScript client, the task-progress job and page, and curl.md. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { external, hasChromium, launch, openPage } from "./support/browser";
import { type Herald, removeDir, startHerald } from "./support/herald";
import { eventually } from "./support/wait";

const ROOT = join(import.meta.dir, "..");
const EXAMPLES = join(ROOT, "examples");
const CLIENT = join(EXAMPLES, "typescript-client");
const GENERATED = join(CLIENT, "herald.d.ts");
const BIN = (name: string) => join(ROOT, "node_modules", ".bin", name);

let herald: Herald;
beforeAll(async () => {
  herald = await startHerald();
});
afterAll(async () => {
  await herald.stop();
  removeDir(herald.dir);
  // Generated for the test only: it is not part of the example's sources.
  rmSync(GENERATED, { force: true });
});

function run(cmd: string[], cwd = ROOT) {
  // Bounded: a command that hangs fails its test rather than the whole run.
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe", timeout: 30_000, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

interface EventRecord {
  id: string;
  topic: string;
  event: string | null;
  data: unknown;
}

async function history(base: string, selector: string): Promise<EventRecord[]> {
  const page = (await (await fetch(`${base}/events?topic=${encodeURIComponent(selector)}&limit=1000`)).json()) as {
    events: EventRecord[];
  };
  return page.events;
}

test("typescript-client: types generated from the live /openapi.json type-check, and the example runs against the hub", async () => {
  const gen = run([BIN("openapi-typescript"), `${herald.url}/openapi.json`, "-o", GENERATED]);
  expect(gen.code, gen.err).toBe(0);
  const types = await Bun.file(GENERATED).text();
  for (const id of [
    "publishEvent",
    "publishBatch",
    "listEvents",
    "listTopics",
    "stream",
    "health",
    "mercurePublish",
    "mercureSubscribe",
  ]) {
    expect(types).toContain(`operations["${id}"]`);
  }
  expect(types).toContain('"text/event-stream": string');

  const tsc = run([BIN("tsc"), "--noEmit", "-p", CLIENT]);
  expect(tsc.code, tsc.out).toBe(0);

  // The types are precise: a batch item without data, a wrong path, or a Mercure update without a topic, does not compile.
  const wrong = join(CLIENT, "wrong.ts");
  writeFileSync(
    wrong,
    `import createClient from "openapi-fetch";\nimport type { paths } from "./herald";\nconst c = createClient<paths>({ baseUrl: "" });\nawait c.POST("/events", { body: { events: [{ topic: "x" }] } });\nawait c.GET("/topic");\nawait c.POST("/.well-known/mercure", { body: { data: "x" } });\nawait c.POST("/.well-known/mercure", { body: { topic: ["a", "b"], data: "x", private: "on", retry: 5 } });\n`,
  );
  const bad = run([BIN("tsc"), "--noEmit", "-p", CLIENT]);
  rmSync(wrong);
  expect(bad.code).not.toBe(0);
  expect(bad.out).toContain("wrong.ts(4,");
  expect(bad.out).toContain("wrong.ts(5,");
  expect(bad.out).toContain("wrong.ts(6,");
  expect(bad.out).not.toContain("wrong.ts(7,");

  const main = run([process.execPath, join(CLIENT, "main.ts"), herald.url]);
  expect(main.code, main.err).toBe(0);
  const lines = main.out.trim().split("\n");
  expect(lines[0]).toMatch(/^published \d+ to orders\.eu \(created\)$/);
  expect(lines[1]).toMatch(/^batch \d+,\d+; retried: 200, same ids: true$/);
  expect(lines[2]).toBe("refused: 400 invalid_topic");
  const events = await history(herald.url, "orders.*");
  expect(events.map((e) => e.event)).toEqual(["created", "paid"]);
  expect(lines[3]).toContain(`${events[1]?.id}:orders.eu:paid`);
  expect(lines.some((l) => l.startsWith("topic users: 1 events"))).toBe(true);
}, 60_000);

test("task-progress: the job publishes a progress event per step, then done, each once", async () => {
  const job = run([process.execPath, join(EXAMPLES, "task-progress", "job.ts"), herald.url, "cli-job", "5", "20"]);
  expect(job.code, job.err).toBe(0);
  expect(job.out).toContain("job cli-job: 5 steps reported to jobs.cli-job");
  const events = await history(herald.url, "jobs.cli-job");
  expect(events.map((e) => e.event)).toEqual(["progress", "progress", "progress", "progress", "progress", "done"]);
  expect(events.slice(0, 5).map((e) => (e.data as { percent: number }).percent)).toEqual([20, 40, 60, 80, 100]);
  expect(run([BIN("tsc"), "--noEmit", "-p", join(EXAMPLES, "task-progress")]).code).toBe(0);
});

test.skipIf(!hasChromium)(
  "task-progress: the page's bar follows a running job to 100 % through EventSource",
  async () => {
    const browser = await launch();
    try {
      const { page, urls, errors } = await openPage(browser, { width: 800, height: 400 });
      // Served on the hub's origin (as a reverse proxy would), so the stream needs no CORS.
      const html = await Bun.file(join(EXAMPLES, "task-progress", "progress.html")).text();
      await page.route(`${herald.url}/progress.html*`, (route) => route.fulfill({ contentType: "text/html", body: html }));
      const subscribed = page.waitForResponse((r) => r.url().includes("/stream?"));
      await page.goto(`${herald.url}/progress.html?job=page-job`);
      await subscribed;
      // Every value the bar takes, recorded in the page right after its own listeners set it: sampling it from
      // here misses steps whenever this machine is slow to answer. The job starts once the page listens.
      await page.evaluate(`window.seen = [];
        for (const type of ["progress", "done"]) es.addEventListener(type, () => window.seen.push(bar.value));`);
      const job = Bun.spawn([process.execPath, join(EXAMPLES, "task-progress", "job.ts"), herald.url, "page-job", "10", "150"], {
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(await job.exited, await new Response(job.stderr).text()).toBe(0);
      await eventually(async () => (await page.textContent("#status"))?.startsWith("Done") ?? false, 20_000);
      // The bar moved step by step, never back, and ended full.
      expect(await page.evaluate("window.seen")).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 100]);
      expect(await page.textContent("#job")).toBe("page-job");
      expect(external(urls)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  },
  30_000,
);

/** The sh blocks of curl.md, each with the text block that shows its output. */
function curlExamples(markdown: string): Array<{ command: string; expected: string }> {
  const blocks = [...markdown.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], body: m[2] ?? "" }));
  return blocks.flatMap((b, i) => (b.lang === "sh" ? [{ command: b.body, expected: blocks[i + 1]?.body ?? "" }] : []));
}

/** Times differ from run to run; trailing blank lines of an open stream do not matter. */
const normalize = (text: string) =>
  text
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<time>")
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n")
    .trim();

test("curl.md: every command runs against a fresh hub and prints what the page shows", async () => {
  const fresh = await startHerald();
  try {
    const examples = curlExamples(await Bun.file(join(EXAMPLES, "curl.md")).text());
    expect(examples.length).toBeGreaterThanOrEqual(12);
    for (const { command, expected } of examples) {
      // An open stream never ends by itself: stop it after a second (curl then exits 28), unless the block does.
      const stops = !/\s&\s/.test(command);
      const script = command
        .replaceAll("localhost:8080", `127.0.0.1:${fresh.port}`)
        .replace(/curl -N /g, stops ? "curl -N --max-time 1 " : "curl -N ");
      const r = run(["bash", "-c", script]);
      expect([0, 28], `${command}\n${r.err}`).toContain(r.code);
      expect(normalize(r.out), command).toBe(normalize(expected));
    }
  } finally {
    await fresh.stop();
    removeDir(fresh.dir);
  }
}, 60_000);
