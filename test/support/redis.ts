/** Starts a real redis-server (Debian's) on a free port in a temp dir, append-only file on, stopped by PID. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, installed } from "./services";

const SERVER = installed("redis-server", "redis-server");

/** Whether Redis tests can run (see `installed`). */
export function hasRedis(): boolean {
  return SERVER !== null;
}

export type Fsync = "always" | "everysec";

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly proc: Subprocess;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait: no chance to write anything more. */
  kill(): Promise<void>;
  /** Starts again on the same port from the same directory (its append-only file). */
  restart(): Promise<RedisServer>;
  /** Removes the data directory (after stop). */
  remove(): void;
}

export interface RedisOptions {
  readonly dir?: string;
  readonly port?: number;
  readonly fsync?: Fsync;
  readonly args?: readonly string[];
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  if (!SERVER) throw new Error("redis-server is not installed");
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "herald-redis-"));
  const port = options.port ?? (await freePort());
  const fsync = options.fsync ?? "always";
  const proc = Bun.spawn(
    [
      SERVER,
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      fsync,
      "--save",
      "",
      "--daemonize",
      "no",
      ...(options.args ?? []),
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output.join("")}`)), 10_000);
    void (async () => {
      let ready = false;
      // Read to the end, so a chatty server never blocks on a full pipe.
      for await (const chunk of proc.stdout) {
        if (ready) continue;
        output.push(new TextDecoder().decode(chunk));
        ready = output.join("").includes("Ready to accept connections");
        if (ready) {
          clearTimeout(timer);
          resolve();
        }
      }
      clearTimeout(timer);
      if (!ready) reject(new Error(`redis-server exited:\n${output.join("")}\n${await new Response(proc.stderr).text()}`));
    })();
  });
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    proc,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    restart: () => startRedis({ ...options, dir, port, fsync }),
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** One command on a fresh connection, for checks a test makes on the store itself. */
export async function redisCommand(url: string, command: string, args: string[]): Promise<unknown> {
  const client = new Bun.RedisClient(url);
  try {
    return await client.send(command, args);
  } finally {
    client.close();
  }
}
