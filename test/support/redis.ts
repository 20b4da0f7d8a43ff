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

/** Every server started and not yet exited, with the directory it was given when the run made it. */
const running = new Map<Subprocess, string | undefined>();

/**
 * Kills every server still running and removes the directories made for them: test/support/preload.ts runs it
 * after the last test, so a test that failed before its cleanup leaves no server behind (bun test runs no
 * `process.on("exit")` handler).
 */
export async function killLeftoverRedis(): Promise<void> {
  await Promise.all(
    [...running].map(async ([proc, made]) => {
      proc.kill("SIGKILL");
      await proc.exited;
      if (made) rmSync(made, { recursive: true, force: true });
    }),
  );
}

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
  const made = options.dir === undefined ? mkdtempSync(join(tmpdir(), "herald-redis-")) : undefined;
  const dir = options.dir ?? (made as string);
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
  running.set(proc, made);
  void proc.exited.then(() => running.delete(proc));
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`redis-server did not start:\n${output.join("")}`));
    }, 10_000);
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
