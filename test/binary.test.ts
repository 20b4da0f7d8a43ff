/** The single binary: built as the Dockerfile builds it, copied alone into an empty directory, it serves. */
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { publish, removeDir, startHerald, tempDir } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";

const ROOT = join(import.meta.dir, "..");
const alone = tempDir();
afterAll(() => removeDir(alone));

test("`bun run build` yields dist/herald, which runs alone in an empty directory", async () => {
  const build = Bun.spawnSync([process.execPath, "run", "build"], { cwd: ROOT, stderr: "pipe" });
  expect(build.exitCode).toBe(0);
  copyFileSync(join(ROOT, "dist", "herald"), join(alone, "herald"));
  Bun.spawnSync(["chmod", "+x", join(alone, "herald")]);
  expect(readdirSync(alone)).toEqual(["herald"]);

  // No HERALD_DB: the default ./data/herald.db, relative to the empty directory.
  const h = await startHerald({ command: [join(alone, "herald")], cwd: alone, env: { HERALD_DB: "./data/herald.db" } });
  const r = await SseReader.open(streamUrl(h.url, ["bin"]));
  await r.until((x) => x.retry !== undefined);
  const { id } = await publish(h.url, "bin", "from the binary");
  await r.count(1);
  expect(r.events[0]).toEqual({ id, data: "from the binary" });
  r.close();
  expect((await fetch(`${h.url}/health`)).status).toBe(200);
  expect(await h.stop()).toBe(0);
  expect(existsSync(join(alone, "data", "herald.db"))).toBe(true);

  const help = Bun.spawnSync([join(alone, "herald"), "--help"]).stdout.toString();
  expect(help).toContain("HERALD_DB");
}, 60_000);

test("the Dockerfile builds with the same command, runs as non-root with /data as a volume and a health check", () => {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  expect(dockerfile).toMatch(/^FROM oven\/bun:\S+ AS build$/m);
  expect(dockerfile).toContain("RUN bun run build");
  expect(dockerfile).toMatch(/^USER (?!0|root)\S+$/m);
  expect(dockerfile).toMatch(/^VOLUME \/data$/m);
  expect(dockerfile).toMatch(/^EXPOSE 8080$/m);
  expect(dockerfile).toMatch(/^HEALTHCHECK .*"healthcheck"\]$/m);
});

test("`herald healthcheck` exits 0 against a live hub and 1 when none answers", async () => {
  const healthcheck = (port: number) =>
    Bun.spawnSync([process.execPath, join(ROOT, "src", "index.ts"), "healthcheck", "--port", String(port), "--host", "127.0.0.1"])
      .exitCode;
  const h = await startHerald();
  expect(healthcheck(h.port)).toBe(0);
  await h.stop();
  expect(healthcheck(h.port)).toBe(1);
  removeDir(h.dir);
});
