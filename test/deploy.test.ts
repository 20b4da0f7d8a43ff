/** deploy/herald.service: systemd accepts it, its hardening scores well, and its system-call filter admits Herald. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeDir, tempDir } from "./support/herald";
import { makeCertificate } from "./support/tls";

const ROOT = join(import.meta.dir, "..");
const ENTRY = join(ROOT, "src", "index.ts");
const UNIT = readFileSync(join(ROOT, "deploy", "herald.service"), "utf8");
const ANALYZE = "/usr/bin/systemd-analyze";
const STRACE = "/usr/bin/strace";
const hasAnalyze = existsSync(ANALYZE);

let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => removeDir(dir));

/** The unit with ExecStart pointing at a program that exists here (verify checks that it does). */
function unitFile(): string {
  const file = join(dir, "herald.service");
  writeFileSync(file, UNIT.replace("ExecStart=/usr/local/bin/herald", `ExecStart=${process.execPath} ${ENTRY}`));
  return file;
}

/** Every `Name=value` line of the unit, in order. */
const directives = (name: string) =>
  UNIT.split("\n")
    .filter((line) => line.startsWith(`${name}=`))
    .map((line) => line.slice(name.length + 1));

describe.skipIf(!hasAnalyze)("deploy/herald.service", () => {
  test("systemd-analyze verify accepts it", () => {
    const run = Bun.spawnSync([ANALYZE, "verify", unitFile()], { stderr: "pipe" });
    expect(run.stderr.toString()).toBe("");
    expect(run.exitCode).toBe(0);
  });

  test("its own user, a read-only system, a state directory for the database, and an exposure of at most 2 of 10", () => {
    for (const line of ["DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=herald", "NoNewPrivileges=yes"]) {
      expect(UNIT).toContain(`\n${line}\n`);
    }
    expect(directives("Environment").join(" ")).toContain("HERALD_DB=/var/lib/herald/herald.db");
    const run = Bun.spawnSync([ANALYZE, "security", "--offline=true", unitFile()], { stderr: "pipe" });
    const exposure = Number(/Overall exposure level for herald\.service: ([\d.]+)/.exec(run.stdout.toString())?.[1]);
    expect(exposure).toBeLessThanOrEqual(2);
  });

  test("every variable it sets is a Herald setting (a typo would only be a start-up warning)", () => {
    const help = Bun.spawnSync([process.execPath, ENTRY, "--help"]).stdout.toString();
    const names = directives("Environment").flatMap((value) => value.split(" ").map((pair) => pair.split("=")[0] ?? ""));
    expect(names.length).toBeGreaterThan(2);
    for (const name of names) expect(help).toContain(name);
  });
});

/** `systemd-analyze syscall-filter` lists each group with its calls and the groups it includes. */
function syscallGroups(): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of Bun.spawnSync([ANALYZE, "syscall-filter"]).stdout.toString().split("\n")) {
    if (line.startsWith("@")) {
      current = [];
      groups.set(line.trim(), current);
    } else if (/^\s+[@a-z]/.test(line)) current.push(line.trim());
  }
  return groups;
}

function expand(groups: Map<string, string[]>, names: readonly string[]): Set<string> {
  const calls = new Set<string>();
  for (const name of names) {
    if (!name.startsWith("@")) calls.add(name);
    else for (const call of expand(groups, groups.get(name) ?? [])) calls.add(call);
  }
  return calls;
}

/**
 * The binary the unit runs (`npm run build`, written into `dir`), where the traced user nobody can read it: a clone
 * under /root or a mode-700 directory keeps its sources, and the Bun in its node_modules, from other users.
 */
function buildBinary(dir: string): string {
  const script: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.build;
  const binary = join(dir, "herald");
  const [bun, ...args] = script.replace(/--outfile \S+/, `--outfile ${binary}`).split(" ");
  expect(bun).toBe("bun");
  const build = Bun.spawnSync([process.execPath, ...args], { cwd: ROOT, stderr: "pipe" });
  expect(build.stderr.toString()).not.toContain("error");
  expect(build.exitCode).toBe(0);
  return binary;
}

describe.skipIf(!hasAnalyze || !existsSync(STRACE) || process.getuid?.() !== 0)("the unit's system-call filter", () => {
  test("admits every call Herald makes as an unprivileged user: start, HTTPS, publish, stream, metrics, SIGHUP, stop", async () => {
    const work = tempDir();
    chmodSync(work, 0o777);
    const certificate = makeCertificate(work, "tls");
    chmodSync(certificate.keyPath, 0o644);
    const trace = join(work, "trace");
    const proc = Bun.spawn([STRACE, "-f", "-qq", "-u", "nobody", "-o", trace, buildBinary(work)], {
      // The user nobody may not even enter the clone's directory: Bun refuses to start in a cwd it cannot read.
      cwd: work,
      env: {
        ...process.env,
        PORT: "0",
        HOST: "127.0.0.1",
        HERALD_DB: join(work, "herald.db"),
        HERALD_TLS_CERT: certificate.certPath,
        HERALD_TLS_KEY: certificate.keyPath,
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    let herald = 0;
    try {
      let out = "";
      const reader = proc.stdout.getReader();
      const readUntil = async (done: () => boolean) => {
        while (!done()) {
          const chunk = await reader.read();
          if (chunk.done) throw new Error(`herald exited: ${out}${await new Response(proc.stderr).text()}`);
          out += new TextDecoder().decode(chunk.value);
        }
      };
      await readUntil(() => out.includes('"msg":"herald started"'));
      // Signals go to Herald itself: strace keeps some for itself (and a killed strace leaves its tracee running).
      herald = Number(readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim());
      const base = /"url":"(https:\/\/[^"]+)"/.exec(out)?.[1];
      const tls = { tls: { ca: certificate.pem } };
      const stream = await fetch(`${base}/stream?topic=traced`, tls);
      const body = stream.body?.getReader();
      await body?.read();
      const published = await fetch(`${base}/topics/traced/events`, { ...tls, method: "POST", body: "hello" });
      expect(published.status).toBe(201);
      expect(new TextDecoder().decode((await body?.read())?.value)).toContain("data: hello");
      expect((await fetch(`${base}/events?topic=traced`, tls)).status).toBe(200);
      // The process metrics read /proc (file descriptors, limits, memory) at each scrape.
      expect(await (await fetch(`${base}/metrics`, tls)).text()).toContain("process_open_fds");
      process.kill(herald, "SIGHUP");
      await readUntil(() => out.split("tls certificate loaded").length === 3);
      process.kill(herald, "SIGTERM");
      expect(await proc.exited).toBe(0);

      const used = new Set([...readFileSync(trace, "utf8").matchAll(/^\d+\s+([a-z0-9_]+)\(/gm)].map((m) => m[1] ?? ""));
      expect(used.size).toBeGreaterThan(30);
      const groups = syscallGroups();
      const allowed = expand(
        groups,
        directives("SystemCallFilter")
          .filter((f) => !f.startsWith("~"))
          .flatMap((f) => f.split(" ")),
      );
      const denied = expand(
        groups,
        directives("SystemCallFilter")
          .filter((f) => f.startsWith("~"))
          .flatMap((f) => f.slice(1).split(" ")),
      );
      expect([...used].filter((call) => !allowed.has(call) || denied.has(call))).toEqual([]);
    } finally {
      if (proc.exitCode === null) {
        if (herald) process.kill(herald, "SIGKILL");
        proc.kill("SIGKILL");
      }
      removeDir(work);
    }
  }, 60_000);
});
