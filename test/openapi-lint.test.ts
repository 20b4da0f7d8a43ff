/** The live OpenAPI document is clean under Redocly's recommended rules (what API portals and generators run). */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { dispose, type Herald, startHerald } from "./support/herald";

const REDOCLY = join(import.meta.dir, "..", "node_modules", ".bin", "redocly");
/** Linting must work on a machine with no network: without one when this machine lets us take it away. */
const OFFLINE = Bun.spawnSync(["unshare", "-n", "true"]).exitCode === 0 ? ["unshare", "-n"] : [];

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: Array<{ ruleId: string; severity: string; message: string }>;
}

let herald: Herald;
let doc: Record<string, unknown>;

beforeAll(async () => {
  herald = await startHerald();
  doc = (await (await fetch(`${herald.url}/openapi.json`)).json()) as Record<string, unknown>;
});
afterAll(() => dispose(herald));

/** `redocly lint` with no configuration, which is its recommended ruleset. */
function lint(document: unknown, name: string): LintReport {
  const file = join(herald.dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(document));
  const run = Bun.spawnSync([...OFFLINE, REDOCLY, "lint", "--format=json", file], {
    cwd: herald.dir,
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    timeout: 60_000,
  });
  const out = run.stdout.toString();
  if (!out.trim().startsWith("{")) throw new Error(`redocly printed no report: ${run.stderr.toString()}`);
  return JSON.parse(out) as LintReport;
}

test("redocly lint (recommended rules) reports no error and no warning", () => {
  const report = lint(doc, "openapi");
  expect(report.problems).toEqual([]);
  expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
});

test("the linter is no rubber stamp: the findings of the issue come back when their fixes are taken out", () => {
  const paths = structuredClone(doc.paths) as Record<string, Record<string, Record<string, unknown>>>;
  for (const path of ["/health", "/metrics"]) {
    const get = paths[path]?.get ?? {};
    delete get.security;
    delete (get.responses as Record<string, unknown>)["400"];
  }
  const { servers, ...withoutServers } = doc;
  const info = { ...(doc.info as object), license: undefined };
  const report = lint({ ...withoutServers, info, paths }, "broken");
  expect(servers).toEqual([{ url: "/", description: expect.any(String) }]);
  const found = report.problems.map((p) => `${p.severity} ${p.ruleId}`).sort();
  expect(found).toEqual([
    "error no-empty-servers",
    "error security-defined",
    "error security-defined",
    "warn info-license",
    "warn operation-4xx-response",
    "warn operation-4xx-response",
  ]);
});

test("the 400 documented on /health and /metrics is what the server answers to malformed HTTP", async () => {
  for (const path of ["/health", "/metrics"]) {
    const reply = await new Promise<string>((resolve, reject) => {
      let text = "";
      void Bun.connect({
        hostname: "127.0.0.1",
        port: herald.port,
        socket: {
          open: (s) => void s.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: many\r\n\r\n`),
          data: (_s, chunk) => {
            text += chunk.toString();
          },
          close: () => resolve(text),
          error: (_s, e) => reject(e),
        },
      });
    });
    expect(reply).toStartWith("HTTP/1.1 400 ");
    const documented = (doc.paths as Record<string, { get: { responses: Record<string, unknown> } }>)[path];
    expect(documented?.get.responses["400"]).toEqual({ description: expect.stringContaining("Malformed HTTP") });
  }
  expect((await fetch(`${herald.url}/health`)).status).toBe(200);
});
