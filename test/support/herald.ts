/**
 * Starts a real Herald process on a free port with its own log: a SQLite file in a temp dir, or, when the
 * tests run with HERALD_TEST_LOG=redis, keys of its own (named after that dir) in a redis-server the tests
 * started. The contract tests run once per log this way, unchanged.
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Subprocess } from "bun";
import { hasRedis, type RedisServer, redisCommand, startRedis } from "./redis";

const ENTRY = join(import.meta.dir, "..", "..", "src", "index.ts");

/** The log the hubs of this test run use. */
export const testLog: "sqlite" | "redis" = process.env.HERALD_TEST_LOG === "redis" ? "redis" : "sqlite";

let sharedRedis: Promise<RedisServer> | undefined;

/** The one redis-server of a Redis test run, started on first use and stopped when the run ends. */
function testRedis(): Promise<RedisServer> {
  // Stopped after the last test of the run, with its directory, by test/support/preload.ts.
  sharedRedis ??= startRedis();
  return sharedRedis;
}

/** The environment that points a hub at the run's log: nothing for SQLite, Redis keys named after `dir`. */
async function logEnv(dir: string, env: Record<string, string> = {}): Promise<Record<string, string>> {
  if (testLog === "sqlite" || env.HERALD_REDIS_URL !== undefined) return {};
  if (!hasRedis()) throw new Error("HERALD_TEST_LOG=redis needs redis-server");
  return { HERALD_REDIS_URL: (await testRedis()).url, HERALD_REDIS_PREFIX: basename(dir) };
}

/**
 * HERALD_TEST_WORKERS=n runs every hub of the run on n worker threads, unless a test sets HERALD_WORKERS itself:
 * the suite run again to check that every guarantee holds across workers.
 */
export function workersEnv(env: Record<string, string> = {}): Record<string, string> {
  const workers = process.env.HERALD_TEST_WORKERS;
  return workers === undefined || env.HERALD_WORKERS !== undefined ? {} : { HERALD_WORKERS: workers };
}

/** The test runner's own environment, without its HERALD_TEST_* switches (the hub would warn of them). */
export function baseEnv(): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("HERALD_TEST_")));
}

export interface Herald {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly db: string;
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** What the process wrote on stderr so far (empty when HERALD_TEST_STDERR passes it through). */
  stderr(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** Resident memory of the server process in bytes. */
  rss(): number;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Reuse a directory (and so its database) from an earlier process. */
  dir?: string;
  port?: number;
  args?: string[];
  /** The program to run instead of `bun src/index.ts`, e.g. the compiled binary. */
  command?: string[];
  cwd?: string;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "herald-test-"));
}

export async function startHerald(options: StartOptions = {}): Promise<Herald> {
  const dir = options.dir ?? tempDir();
  const db = join(dir, "herald.db");
  const proc = Bun.spawn([...(options.command ?? [process.execPath, ENTRY]), ...(options.args ?? [])], {
    cwd: options.cwd,
    env: {
      ...baseEnv(),
      PORT: String(options.port ?? 0),
      HOST: "127.0.0.1",
      HERALD_DB: db,
      ...(await logEnv(dir, options.env)),
      ...workersEnv(options.env),
      ...options.env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: process.env.HERALD_TEST_STDERR ? "inherit" : "pipe",
  });
  const lines: string[] = [];
  let stderr = "";
  const errors = proc.stderr;
  if (errors instanceof ReadableStream) {
    void (async () => {
      for await (const chunk of errors) stderr += new TextDecoder().decode(chunk);
    })();
  }
  // Every line is read before stop() or kill() returns: a test may look for the last ones.
  let drained: Promise<void> = Promise.resolve();
  let scheme = "http";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`herald did not start: ${lines.join("\n")}`)), 10_000);
    drained = (async () => {
      let rest = "";
      for await (const chunk of proc.stdout) {
        rest += new TextDecoder().decode(chunk);
        const parts = rest.split("\n");
        rest = parts.pop() ?? "";
        for (const line of parts) {
          lines.push(line);
          const url = /"url":"(https?):\/\/(?:\[[^\]]+\]|[^:"]+):(\d+)"/.exec(line);
          if (url?.[2]) {
            clearTimeout(timer);
            scheme = url[1] ?? "http";
            resolve(Number(url[2]));
          }
        }
      }
      clearTimeout(timer);
      await proc.exited;
      reject(new Error(`herald exited: ${lines.join("\n")}\n${stderr}`));
    })();
  });
  const url = `${scheme}://127.0.0.1:${port}`;
  return {
    url,
    port,
    dir,
    db,
    proc,
    lines,
    stderr: () => stderr,
    async stop() {
      proc.kill("SIGTERM");
      const code = await proc.exited;
      await drained;
      return code;
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
      await drained;
    },
    rss() {
      const status = readFileSync(`/proc/${proc.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export async function publish(base: string, topic: string, data: unknown, event?: string): Promise<{ id: string }> {
  const res = await fetch(`${base}/topics/${topic}/events`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(event === undefined ? { data } : { data, event }),
  });
  if (res.status !== 201) throw new Error(`publish failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}

/** Every retained event on `selector`, in id order, paging through GET /events. */
export async function history(base: string, selector = "*"): Promise<Array<{ id: string; data: unknown }>> {
  const out: Array<{ id: string; data: unknown }> = [];
  let after = "0";
  for (;;) {
    const page = (await (
      await fetch(`${base}/events?topic=${encodeURIComponent(selector)}&limit=1000&after=${after}`)
    ).json()) as {
      events: Array<{ id: string; data: unknown }>;
      next: string | null;
    };
    out.push(...page.events);
    if (page.next === null) return out;
    after = page.next;
  }
}

/** Stops a hub and removes its directory: what every test file's afterAll does. */
export async function dispose(h: Herald): Promise<void> {
  await h.stop();
  removeDir(h.dir);
}

/** `POST /events` with these events; throws unless they were all committed. */
export async function publishBatch(base: string, events: ReadonlyArray<{ topic: string; data: unknown }>): Promise<void> {
  const res = await fetch(`${base}/events`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ events }),
  });
  if (res.status !== 201) throw new Error(`batch publish failed: ${res.status} ${await res.text()}`);
}

/**
 * What the hub's log occupies now: the SQLite file once its WAL is checkpointed into it (from a second
 * connection, as any SQLite tool would; the WAL's own size on disk follows checkpoints, not the data), or the
 * memory the run's Redis uses.
 */
export async function logBytes(h: Herald): Promise<number> {
  if (testLog === "redis") {
    const info = String(await redisCommand((await testRedis()).url, "INFO", ["memory"]));
    return Number(/used_memory:(\d+)/.exec(info)?.[1]);
  }
  const db = new Database(h.db);
  try {
    db.run("PRAGMA busy_timeout = 5000");
    const result = db.query<{ busy: number }, []>("PRAGMA wal_checkpoint(TRUNCATE)").get();
    if (result?.busy !== 0) throw new Error("the WAL could not be checkpointed");
  } finally {
    db.close();
  }
  return statSync(h.db).size + (statSync(`${h.db}-wal`, { throwIfNoEntry: false })?.size ?? 0);
}
