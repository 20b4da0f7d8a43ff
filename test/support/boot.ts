/** Runs the hub until it either refuses to start or says it started (then stops it): what start-up made of its settings. */
import { expect } from "bun:test";
import { join } from "node:path";
import { baseEnv, removeDir, tempDir, workersEnv } from "./herald";

const ENTRY = join(import.meta.dir, "..", "..", "src", "index.ts");

export interface BootOutcome {
  readonly started: boolean;
  readonly code: number;
  /** Every stdout line (JSON logs). */
  readonly lines: string[];
  readonly stderr: string;
}

export async function boot(env: Record<string, string> = {}, args: string[] = []): Promise<BootOutcome> {
  const dir = tempDir();
  const proc = Bun.spawn([process.execPath, ENTRY, ...args], {
    env: { ...baseEnv(), PORT: "0", HOST: "127.0.0.1", HERALD_DB: join(dir, "herald.db"), ...workersEnv(env), ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderr = new Response(proc.stderr).text();
  const lines: string[] = [];
  let started = false;
  let rest = "";
  const decoder = new TextDecoder();
  for await (const chunk of proc.stdout) {
    rest += decoder.decode(chunk, { stream: true });
    const parts = rest.split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
    if (!started && parts.some((l) => l.includes('"msg":"herald started"'))) {
      started = true;
      proc.kill("SIGTERM");
    }
  }
  const code = await proc.exited;
  removeDir(dir);
  return { started, code, lines, stderr: await stderr };
}

/** A refusal as the spec wants it: exit 2, one `herald: ...` line on stderr, no stack trace, nothing started. */
export function expectRefusal(outcome: BootOutcome, message: RegExp): void {
  expect(outcome.started).toBe(false);
  expect(outcome.code).toBe(2);
  expect(outcome.stderr).toMatch(/^herald: [^\n]+\n$/);
  expect(outcome.stderr).toMatch(message);
}
