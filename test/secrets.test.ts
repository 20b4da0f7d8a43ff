import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import { boot, expectRefusal } from "./support/boot";
import { dispose, type Herald, removeDir, startHerald, tempDir } from "./support/herald";

const ROOT = join(import.meta.dir, "..");
/** 40 bytes: long enough for HS256, and distinctive enough to grep for in every output. */
const SECRET = "file-secret-0123456789-abcdefghijklmnopq";

const dir = tempDir();
const hubs: Herald[] = [];
afterAll(async () => {
  for (const h of hubs) await dispose(h);
  removeDir(dir);
});

function secretFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function publishWith(h: Herald, token: string): Promise<Response> {
  return fetch(`${h.url}/topics/secure/events`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: "x" });
}

const mint = (secret: string) =>
  new SignJWT({ herald: { publish: ["*"] } })
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(secret));

function tokenCli(args: string[], env: Record<string, string>) {
  const run = Bun.spawnSync([process.execPath, "run", "token", "--", ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
}

describe("HERALD_JWT_SECRET_FILE", () => {
  test("the secret comes from the file, its trailing newline dropped; `bun run token` reads it the same way", async () => {
    const file = secretFile("jwt", `${SECRET}\n`);
    const h = await startHerald({ env: { ...process.env, HERALD_JWT_SECRET_FILE: file } });
    hubs.push(h);
    expect((await publishWith(h, await mint(SECRET))).status).toBe(201);
    expect((await publishWith(h, await mint(`${SECRET}\n`))).status).toBe(401);

    const cli = tokenCli(["--publish", "secure"], { HERALD_JWT_SECRET_FILE: file });
    expect(cli).toMatchObject({ code: 0 });
    expect((await publishWith(h, cli.stdout.trim())).status).toBe(201);
  });

  test("a missing file, a directory, an empty file, or both forms at once stop start-up", async () => {
    const missing = join(dir, "no-such-secret");
    const folder = join(dir, "a-folder");
    mkdirSync(folder);
    const empty = secretFile("empty", "\n");
    expectRefusal(
      await boot({ HERALD_JWT_SECRET_FILE: missing }),
      /^herald: HERALD_JWT_SECRET_FILE: cannot read the file it names \(no such file\); it takes the path of a file/,
    );
    expectRefusal(
      await boot({ HERALD_JWT_SECRET_FILE: folder }),
      /^herald: HERALD_JWT_SECRET_FILE: cannot read the file it names \(it is a directory\)\n$/,
    );
    expectRefusal(await boot({ HERALD_JWT_SECRET_FILE: empty }), /HERALD_JWT_SECRET_FILE is set but empty/);
    const both = await boot({ HERALD_JWT_SECRET: SECRET, HERALD_JWT_SECRET_FILE: secretFile("both", SECRET) });
    expectRefusal(both, /HERALD_JWT_SECRET and HERALD_JWT_SECRET_FILE are both set/);
    expect(tokenCli([], { HERALD_JWT_SECRET_FILE: missing })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("no such file"),
    });
  });

  test("a file that is not UTF-8 text is refused rather than read with replacement characters", async () => {
    const binary = join(dir, "binary");
    writeFileSync(binary, Buffer.from([...new TextEncoder().encode(SECRET), 0xff, 0xfe]));
    expectRefusal(await boot({ HERALD_JWT_SECRET_FILE: binary }), /is not UTF-8 text/);
  });
});

describe("the secret given where its file was meant", () => {
  test("start-up stops with one line that names the variable or the flag, never the value", async () => {
    const long = `${SECRET}-${"z".repeat(4200)}`;
    for (const [env, args, name, secret] of [
      [{ HERALD_JWT_SECRET_FILE: SECRET }, [], "HERALD_JWT_SECRET_FILE", SECRET],
      [{}, ["--jwt-secret-file", SECRET], "--jwt-secret-file", SECRET],
      // Longer than a path may be: the system's own refusal must not quote it either.
      [{ HERALD_JWT_SECRET_FILE: long }, [], "HERALD_JWT_SECRET_FILE", long],
      [{ HERALD_REDIS_URL_FILE: `redis://:${SECRET}@localhost:6379` }, [], "HERALD_REDIS_URL_FILE", SECRET],
    ] as const) {
      const outcome = await boot(env, [...args]);
      expectRefusal(outcome, new RegExp(`^herald: ${name}: cannot read the file it names \\(`));
      expect(outcome.stderr).toContain("not the secret itself");
      expect(outcome.stderr + outcome.lines.join("\n")).not.toContain(secret.slice(0, 16));
    }
    const cli = tokenCli([], { HERALD_JWT_SECRET_FILE: SECRET });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain("HERALD_JWT_SECRET_FILE");
    expect(cli.stderr + cli.stdout).not.toContain(SECRET.slice(0, 16));
  });

  test("nor in the other messages about the file: too large, not UTF-8", async () => {
    const named = secretFile(`${SECRET}-as-a-name`, "x".repeat(70 * 1024));
    const large = await boot({ HERALD_JWT_SECRET_FILE: named });
    expectRefusal(large, /^herald: HERALD_JWT_SECRET_FILE: the file it names is larger than 65536 bytes\n$/);
    const binary = secretFile(`${SECRET}-binary`, "");
    writeFileSync(binary, Buffer.from([0xff, 0xfe]));
    expectRefusal(
      await boot({ HERALD_JWT_SECRET_FILE: binary }),
      /^herald: HERALD_JWT_SECRET_FILE: the file it names is not UTF-8/,
    );
  });
});

describe("short secrets", () => {
  test("a secret under 32 bytes stops start-up, and the message does not repeat it", async () => {
    const short = "only-31-bytes-of-secret-0123456";
    const outcome = await boot({ HERALD_JWT_SECRET: short });
    expectRefusal(outcome, /HERALD_JWT_SECRET is 31 bytes; an HS256 secret needs at least 32/);
    expect(outcome.stderr).not.toContain(short);
    expect((await boot({ HERALD_JWT_SECRET: `${short}7` })).started).toBe(true);
  });

  test("`bun run token` refuses a short secret too, and prints its usage for --help", () => {
    expect(tokenCli([], { HERALD_JWT_SECRET: "short" })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("at least 32"),
    });
    const help = tokenCli(["--help"], { HERALD_JWT_SECRET: SECRET });
    expect(help).toMatchObject({ code: 0 });
    expect(help.stdout).toContain("Usage: bun run token");
    expect(help.stdout).toContain("HERALD_JWT_SECRET_FILE");
  });
});

describe("secrets stay secret", () => {
  test("a secret passed as a flag works and draws a warning that other users can see it", async () => {
    const outcome = await boot({}, ["--jwt-secret", SECRET]);
    expect(outcome.started).toBe(true);
    const warning = outcome.lines.find((l) => l.includes("--jwt-secret is visible"));
    expect(JSON.parse(warning as string)).toMatchObject({ level: "warn", flag: "--jwt-secret" });
    expect(outcome.lines.join("\n")).not.toContain(SECRET);
  });

  test("never in the logs, --help or /health", async () => {
    const h = await startHerald({ env: { ...process.env, HERALD_JWT_SECRET: SECRET, HERALD_LOG_LEVEL: "debug" } });
    hubs.push(h);
    const health = await (await fetch(`${h.url}/health`)).text();
    expect(health).toContain('"status":"ok"');
    expect(health).not.toContain(SECRET);
    await publishWith(h, await mint(SECRET));
    const startLine = JSON.parse(h.lines.find((l) => l.includes("herald started")) as string) as { settings: object };
    expect(startLine.settings).toMatchObject({ jwtSecret: "[redacted]" });
    expect(h.lines.join("\n")).not.toContain(SECRET);

    const help = Bun.spawnSync([process.execPath, "src/index.ts", "--help"], {
      cwd: ROOT,
      env: { ...process.env, HERALD_JWT_SECRET: SECRET },
    });
    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString()).toContain("HERALD_JWT_SECRET_FILE");
    expect(help.stdout.toString() + help.stderr.toString()).not.toContain(SECRET);
  });
});
