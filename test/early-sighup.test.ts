/**
 * A SIGHUP during start-up (`systemctl reload`, a certificate renewal hook) never ends the hub: the signal is taken
 * from the first line of the entry point, and a reload asked before the hub listens is logged and needs nothing, as
 * the listener reads the certificate and key when it starts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { removeDir, tempDir } from "./support/herald";
import { makeCertificate, type TestCertificate, trusting } from "./support/tls";
import { eventually } from "./support/wait";

const ENTRY = join(import.meta.dir, "..", "src", "index.ts");
/** After the hub takes the signal: while it loads its modules, opens its log, listens, and after. */
const SIGHUP_AFTER_MS = [0, 10, 25, 50, 80];

let dir: string;
let certificate: TestCertificate;
beforeAll(() => {
  dir = tempDir();
  certificate = makeCertificate(dir, "early");
});
afterAll(() => removeDir(dir));

/** Whether the process has its own handler for SIGHUP: bit 0 of SigCgt in /proc/<pid>/status. */
function catchesSighup(pid: number): boolean {
  try {
    const mask = /SigCgt:\s+([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "0";
    return (BigInt(`0x${mask}`) & 1n) === 1n;
  } catch {
    return false;
  }
}

/**
 * Starts a hub and sends it SIGHUP as soon as it takes the signal, then again and again while it starts. Bun needs a
 * few milliseconds before it runs the entry point's first line; until then no program can take a signal.
 */
async function startUnderSighups(env: Record<string, string>) {
  const db = join(dir, `${Date.now()}-${Math.random()}.db`);
  const proc = Bun.spawn([process.execPath, ENTRY], {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", HERALD_DB: db, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const deadline = Date.now() + 10_000;
  while (!catchesSighup(proc.pid) && proc.exitCode === null && proc.signalCode === null && Date.now() < deadline) {
    await Bun.sleep(1);
  }
  const logOpenedFirst = existsSync(db);
  const taken = Date.now();
  for (const after of SIGHUP_AFTER_MS) {
    await Bun.sleep(Math.max(0, taken + after - Date.now()));
    proc.kill("SIGHUP");
  }
  const lines: string[] = [];
  let rest = "";
  const reading = (async () => {
    for await (const chunk of proc.stdout) {
      rest += new TextDecoder().decode(chunk);
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts);
    }
  })();
  const urlOf = () => lines.map((l) => /"url":"(https?:\/\/127\.0\.0\.1:\d+)"/.exec(l)?.[1]).find((u) => u !== undefined);
  while (urlOf() === undefined && proc.exitCode === null && proc.signalCode === null && Date.now() < deadline) {
    await Bun.sleep(5);
  }
  // A reload swaps the listening socket, and Linux resets what the old one had queued: let the last one settle.
  await Bun.sleep(100);
  return {
    proc,
    lines,
    url: urlOf(),
    logOpenedFirst,
    async stop(): Promise<number> {
      proc.kill("SIGTERM");
      const code = await proc.exited;
      await reading;
      return code;
    },
  };
}

describe("SIGHUP while the hub starts", () => {
  for (const tls of [false, true]) {
    test(`${tls ? "HTTPS" : "plain HTTP"}: taken before the log is opened; the hub comes up and answers /health`, async () => {
      const env: Record<string, string> = tls
        ? { HERALD_TLS_CERT: certificate.certPath, HERALD_TLS_KEY: certificate.keyPath }
        : {};
      for (let run = 0; run < 3; run++) {
        const hub = await startUnderSighups(env);
        try {
          expect(hub.logOpenedFirst).toBe(false);
          expect({ exit: hub.proc.exitCode, signal: hub.proc.signalCode }).toEqual({ exit: null, signal: null });
          expect(hub.url).toStartWith(tls ? "https://" : "http://");
          expect((await fetch(`${hub.url}/health`, tls ? trusting(certificate) : {})).status).toBe(200);
          // Signals that come while one is pending count as one: at least the first was noted as too early.
          expect(hub.lines.filter((l) => l.includes("SIGHUP while starting")).length).toBeGreaterThanOrEqual(1);
          // And once it listens, a SIGHUP reloads (or, in plain HTTP, says there is nothing to).
          const reloaded = () => hub.lines.filter((l) => /SIGHUP: plain HTTP|tls certificate loaded/.test(l)).length;
          const before = reloaded();
          hub.proc.kill("SIGHUP");
          await eventually(() => reloaded() > before);
          expect(await hub.stop()).toBe(0);
          expect(hub.lines.join("\n")).not.toContain("tls reload failed");
        } finally {
          if (hub.proc.exitCode === null && hub.proc.signalCode === null) hub.proc.kill("SIGKILL");
        }
      }
    }, 60_000);
  }
});
