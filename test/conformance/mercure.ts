/**
 * `bun run conformance`: Mercure's own conformance suite (Playwright, in Debian's Chromium), both generations,
 * against a Herald started here with the settings the suite's tokens need. The suite is AGPL: it is taken from
 * a copy of the dunglas/mercure repository at run time and never kept in this one.
 *
 *   bun run conformance [--repo <git URL or a local git directory>]   (default: $MERCURE_REPO, else GitHub)
 *   HERALD_TEST_LOG=redis bun run conformance                           (the hub on the Redis log)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CHROMIUM } from "../support/browser";
import { startHerald, testLog } from "../support/herald";

/** The two generations: draft 08 at the default branch, draft 07 (Symfony's and API Platform's) at its last hub release. */
const GENERATIONS = [
  { draft: "08", ref: "HEAD" },
  { draft: "07", ref: "v0.24.2" },
] as const;

/** What the suite's tokens were signed with and claim: its HS256 key of 34 bytes, draft 08's `aud` and `iss`. */
const HUB_ENV = {
  HERALD_JWT_SECRET: "!ChangeThisMercureHubJWTSecretKey!",
  HERALD_MERCURE_AUDIENCE: "https://localhost/.well-known/mercure",
  HERALD_MERCURE_ISSUER: "https://localhost",
  HERALD_PUBLIC_TOPICS: "*",
};

/** The suite's own configuration, with Debian's Chromium instead of the browsers Playwright downloads. */
const CONFIG = `import base from "./playwright.config";
export default {
  ...base,
  reporter: "list",
  workers: 1,
  projects: [{ name: "chromium", use: { browserName: "chromium", launchOptions: { executablePath: ${JSON.stringify(CHROMIUM)}, args: ["--no-sandbox"] } } }],
};
`;

function run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): number {
  const result = spawnSync(command, args, { stdio: "inherit", cwd: options.cwd, env: { ...process.env, ...options.env } });
  return result.status ?? 1;
}

/** The suite at `ref`, in a directory of its own. */
function checkout(repo: string, ref: string, into: string): string {
  const local = existsSync(join(repo, "HEAD")) || existsSync(join(repo, ".git"));
  const status = local
    ? run("sh", ["-c", 'git -C "$0" archive "$1" conformance-tests | tar -x -C "$2"', repo, ref, into])
    : run("git", ["clone", "-q", "--depth", "1", ...(ref === "HEAD" ? [] : ["--branch", ref]), repo, join(into, "repo")]);
  if (status !== 0) throw new Error(`cannot take conformance-tests at ${ref} from ${repo}`);
  if (!local) renameSync(join(into, "repo", "conformance-tests"), join(into, "conformance-tests"));
  return join(into, "conformance-tests");
}

const { values } = parseArgs({ options: { repo: { type: "string" } } });
const repo = values.repo ?? process.env.MERCURE_REPO ?? "https://github.com/dunglas/mercure";
const work = mkdtempSync(join(tmpdir(), "herald-conformance-"));
const hub = await startHerald({ env: HUB_ENV });
const failed: string[] = [];
try {
  for (const { draft, ref } of GENERATIONS) {
    console.log(`\n== Mercure conformance suite, draft ${draft} (${ref}), Herald on the ${testLog} log`);
    const suite = checkout(repo, ref, mkdtempSync(join(work, `draft-${draft}-`)));
    if (run("npm", ["ci", "--no-audit", "--no-fund"], { cwd: suite, env: { PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1" } }) !== 0) {
      throw new Error("npm ci failed");
    }
    writeFileSync(join(suite, "herald.config.ts"), CONFIG);
    const env = { BASE_URL: `${hub.url.replace("127.0.0.1", "localhost")}/.well-known/mercure`, CUSTOM_ID: "1" };
    if (run("npx", ["playwright", "test", "-c", "herald.config.ts"], { cwd: suite, env }) !== 0) failed.push(draft);
  }
} finally {
  await hub.stop();
  rmSync(work, { recursive: true, force: true });
  rmSync(hub.dir, { recursive: true, force: true });
}
console.log(failed.length === 0 ? "\nboth generations passed" : `\nfailed: draft ${failed.join(", draft ")}`);
process.exit(failed.length === 0 ? 0 : 1);
