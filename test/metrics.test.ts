/**
 * /metrics has the process metrics every Prometheus exporter has and event-loop lag, with plausible values, and
 * names the log's size for what it measures: the SQLite file, or the memory of the Redis that holds the log.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster } from "./support/cluster";
import { dispose, type Herald, startHerald } from "./support/herald";
import { hasRedis, redisCommand } from "./support/redis";

/** Every unlabelled sample of a Prometheus text page, by name. */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const [, name = "", value = ""] of text.matchAll(/^([a-z_:][a-z0-9_:]*) (\S+)$/gm)) found.set(name, Number(value));
  return found;
}

async function scrape(h: Herald): Promise<{ text: string; values: Map<string, number> }> {
  const res = await fetch(`${h.url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, values: samples(text) };
}

describe("the process metrics", () => {
  let h: Herald;
  let startedAt: number;
  beforeAll(async () => {
    startedAt = Date.now() / 1000;
    h = await startHerald();
  });
  afterAll(() => dispose(h));

  test("CPU, resident memory, file descriptors and start time, each a plausible value for this very process", async () => {
    const { text, values } = await scrape(h);
    for (const [name, type] of [
      ["process_cpu_seconds_total", "counter"],
      ["process_resident_memory_bytes", "gauge"],
      ["process_open_fds", "gauge"],
      ["process_max_fds", "gauge"],
      ["process_start_time_seconds", "gauge"],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(values.get("process_cpu_seconds_total")).toBeGreaterThan(0);
    const rss = values.get("process_resident_memory_bytes") ?? 0;
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    // The kernel's own figure for the process, read a moment later: the same within a few MiB.
    expect(Math.abs(rss - h.rss())).toBeLessThan(64 * 1024 * 1024);
    const fds = values.get("process_open_fds") ?? 0;
    expect(fds).toBeGreaterThan(3);
    expect(fds).toBeLessThan(values.get("process_max_fds") ?? 0);
    const started = values.get("process_start_time_seconds") ?? 0;
    expect(started).toBeGreaterThan(startedAt - 5);
    expect(started).toBeLessThanOrEqual(Date.now() / 1000 + 1);
  });

  test("event-loop lag: now, and its distribution since start", async () => {
    const { text, values } = await scrape(h);
    expect(text).toContain("# TYPE nodejs_eventloop_lag_seconds gauge\n");
    for (const name of ["nodejs_eventloop_lag_seconds", "nodejs_eventloop_lag_p99_seconds", "nodejs_eventloop_lag_max_seconds"]) {
      const lag = values.get(name);
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThan(5);
    }
  });

  test("the SQLite log's size is the database file's, under its own name", async () => {
    const { values } = await scrape(h);
    expect(values.get("herald_database_size_bytes")).toBeGreaterThan(0);
    expect(values.has("herald_redis_used_memory_bytes")).toBe(false);
  });
});

/** How many times a thread has gone to sleep of its own accord: each is a wake-up later. */
function sleepsOf(pid: number, tid: number): number {
  const status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
  return Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1]);
}

test("an idle hub's thread wakes about ten times a second, not a hundred for its lag figures", async () => {
  // One thread: the one that measures the lag, and serves, and has only its one-second checks to do when idle.
  const h = await startHerald({ env: { HERALD_WORKERS: "1" } });
  try {
    const pid = h.proc.pid;
    await scrape(h);
    await Bun.sleep(500);
    const before = sleepsOf(pid, pid);
    await Bun.sleep(2000);
    const perSecond = (sleepsOf(pid, pid) - before) / 2;
    // prom-client's own sampling, every 10 ms, is 100 a second; every 100 ms and the hub's own timers, about 12.
    expect(perSecond).toBeGreaterThan(5);
    expect(perSecond).toBeLessThan(40);
    const { values } = await scrape(h);
    expect(values.get("nodejs_eventloop_lag_p99_seconds")).toBeGreaterThan(0);
  } finally {
    await dispose(h);
  }
});

/** How many of prom-client's modules a fresh process has loaded once it has made Metrics, measuring or not. */
async function promClientModules(measuresProcess: boolean): Promise<number> {
  const metrics = join(import.meta.dir, "..", "src", "metrics.ts");
  const code = `import { Metrics } from ${JSON.stringify(metrics)};
    await new Metrics(${measuresProcess}).processText();
    console.log(Object.keys(require.cache).filter((path) => path.includes("/prom-client/")).length);
    process.exit(0);`;
  const proc = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(proc.stdout).text();
  expect(await proc.exited).toBe(0);
  return Number(out.trim());
}

test("prom-client is loaded by the thread that measures the process only, not by each worker thread", async () => {
  expect(await promClientModules(false)).toBe(0);
  expect(await promClientModules(true)).toBeGreaterThan(0);
});

test.skipIf(!hasRedis())(
  "cluster mode: Redis's memory has its own name, and no figure poses as a database file",
  async () => {
    const cluster = await startCluster(1);
    try {
      const node = cluster.nodes[0] as Herald;
      const info = String(await redisCommand(cluster.redis.url, "INFO", ["memory"]));
      const used = Number(/used_memory:(\d+)/.exec(info)?.[1]);
      // Probed every second: wait for the first probe.
      let values = (await scrape(node)).values;
      for (let i = 0; i < 30 && !values.get("herald_redis_used_memory_bytes"); i++) {
        await Bun.sleep(100);
        values = (await scrape(node)).values;
      }
      const reported = values.get("herald_redis_used_memory_bytes") ?? 0;
      expect(reported).toBeGreaterThan(used / 2);
      expect(reported).toBeLessThan(used * 2);
      expect(values.has("herald_database_size_bytes")).toBe(false);
      const { text } = await scrape(node);
      expect(text).toContain("# HELP herald_redis_used_memory_bytes Memory used by the whole Redis instance");
      expect(values.get("process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024);
    } finally {
      await cluster.stop();
    }
  },
  30_000,
);
