/** Starts a real Herald process on a free port with its own SQLite file in a temp dir. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

const ENTRY = join(import.meta.dir, "..", "..", "src", "index.ts");

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
    env: { ...process.env, PORT: String(options.port ?? 0), HOST: "127.0.0.1", HERALD_DB: db, ...options.env },
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
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`herald did not start: ${lines.join("\n")}`)), 10_000);
    void (async () => {
      let rest = "";
      for await (const chunk of proc.stdout) {
        rest += new TextDecoder().decode(chunk);
        const parts = rest.split("\n");
        rest = parts.pop() ?? "";
        for (const line of parts) {
          lines.push(line);
          const url = /"url":"http:\/\/(?:\[[^\]]+\]|[^:"]+):(\d+)"/.exec(line);
          if (url?.[1]) {
            clearTimeout(timer);
            resolve(Number(url[1]));
          }
        }
      }
      clearTimeout(timer);
      await proc.exited;
      reject(new Error(`herald exited: ${lines.join("\n")}\n${stderr}`));
    })();
  });
  const url = `http://127.0.0.1:${port}`;
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
      return proc.exited;
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
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
