/** What the bench ran on: figures mean little without the machine, the runtime and the load beside them. */
import { readFileSync } from "node:fs";
import os from "node:os";
import { isPinned, pinned } from "./proc";

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly ramGiB: number;
  readonly kernel: string;
  readonly os: string;
  readonly bun: string;
  readonly wrk: string | null;
  /** Filesystem of the temp dir, where the hubs' databases live (fsync cost depends on it). */
  readonly tmpFs: string;
  readonly pinned: boolean;
  /** The open-file limit the hubs and load generators get (5000 streams need more than 5000). */
  readonly fdLimit: number;
  readonly commit: string;
  readonly loadAverage: readonly number[];
}

function run(argv: string[]): string {
  try {
    const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
    return `${r.stdout.toString()}${r.stderr.toString()}`.trim();
  } catch {
    return "";
  }
}

export function describeMachine(): Machine {
  const osRelease = (() => {
    try {
      return /PRETTY_NAME="?([^"\n]+)/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "";
    } catch {
      return "";
    }
  })();
  const wrk = Bun.which("wrk") ? (/wrk \S+/.exec(run(["wrk", "--version"]))?.[0] ?? "wrk") : null;
  const dirty = run(["git", "status", "--porcelain", "--untracked-files=no"]) !== "";
  return {
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.cpus().length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    os: osRelease,
    bun: Bun.version,
    wrk,
    tmpFs:
      run(["findmnt", "-n", "-o", "FSTYPE,SOURCE", "-T", os.tmpdir()]).replace(/\s+/g, " ") ||
      run(["stat", "-f", "-c", "%T", os.tmpdir()]),
    pinned: isPinned(),
    fdLimit: Number(run(pinned(["sh", "-c", "ulimit -n"], 0))),
    commit: `${run(["git", "rev-parse", "--short", "HEAD"])}${dirty ? " (with uncommitted changes)" : ""}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
