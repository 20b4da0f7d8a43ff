/** The bench harness in miniature (`bench/run.ts --smoke`): it completes and its figures are sane, whatever the speed. */
import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Results, Target } from "../bench/report";

const RUNNER = join(import.meta.dir, "..", "bench", "run.ts");

test(
  "bench:smoke runs every scenario and every event reaches every stream",
  async () => {
    const out = mkdtempSync(join(tmpdir(), "herald-bench-smoke-"));
    try {
      const proc = Bun.spawn([process.execPath, RUNNER, "--smoke", "--out", out], { stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      expect(code, stderr).toBe(0);
      expect(stdout).toContain("## Targets");

      const json = readdirSync(out).find((f) => f.endsWith(".json"));
      expect(json).toBeDefined();
      expect(readdirSync(out)).toContain("latest.md");
      const r = JSON.parse(readFileSync(join(out, json as string), "utf8")) as Results & { targets: Target[] };

      for (const run of [r.paced?.herald, r.paced?.baseline, r.paced?.mercure]) {
        expect(run?.sustainedPerSec).toBeGreaterThan(0);
        expect(run?.steps.at(-1)?.passed).toBe(false);
      }
      for (const f of [r.fanout, ...(r.scaling ?? [])]) {
        expect(f).toBeDefined();
        for (const run of [f?.herald, f?.baseline]) {
          expect(run?.allDelivered).toBe(true);
          expect(run?.deliveredPerSec).toBeGreaterThan(0);
          expect(run?.latencySamples).toBeGreaterThan(0);
          expect(run?.receiveP99Ms).toBeGreaterThan(0);
        }
      }
      for (const c of Object.values(r.publish?.cases ?? {})) {
        expect(c.allAcked).toBe(true);
        expect(c.eventsPerSec).toBeGreaterThan(0);
      }
      expect(Object.keys(r.publish?.cases ?? {})).toHaveLength(6);
      // The Mercure face beside the native one: each measured, and the ratio between them reported.
      expect(r.paced?.mercureRatio).toBeGreaterThan(0);
      expect(r.publish?.cases["herald-mercure"].p99Ms).toBeGreaterThan(0);
      expect(r.publish?.mercureOverNative).toBeGreaterThan(0);
      expect(stdout).toContain("| Herald, Mercure |");
      expect(r.idle?.herald.allOpen).toBe(true);
      expect(r.idle?.baseline.allOpen).toBe(true);
      expect(r.replay?.median.allDelivered).toBe(true);
      expect(r.replay?.median.eventsPerSec).toBeGreaterThan(0);
      expect(r.presence?.median.quiet.delivered).toBe(true);
      expect(r.presence?.median.storm.delivered).toBe(true);
      expect(r.presence?.median.connectsPerSec).toBeGreaterThan(0);
      expect(r.presence?.median.connectFailures).toBe(0);
      for (const run of [r.routing?.prefix, r.routing?.exact, r.routing?.template]) {
        expect(run?.delivered).toBe(true);
        expect(run?.hubCpuMsPerEvent).toBeGreaterThan(0);
      }
      const w = r.workers;
      for (const run of [w?.sharing.one, w?.sharing.two]) {
        expect(run?.delivered).toBe(true);
        expect(run?.cpuUsPerDelivery).toBeGreaterThan(0);
      }
      for (const run of [w?.publish.one, w?.publish.two, w?.publish.bareBun]) expect(run?.allAcked).toBe(true);
      for (const run of [w?.replay.one, w?.replay.two]) expect(run?.allDelivered).toBe(true);
      // The writer and the workers told apart by thread: a Bun that named its threads otherwise would read 0 here.
      expect(w?.threads.publish.main).toBeGreaterThan(0);
      expect(w?.threads.publish.workers).toBeGreaterThan(0);
      expect(w?.threads.projection.map((row) => row.publish.cores)).toEqual([4, 8, 16]);
      expect(stdout).toContain("### Beyond two cores: a projection");
      expect(r.targets.length).toBeGreaterThan(0);
      expect(r.machine.bun).toBe(Bun.version);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
  { timeout: 120_000 },
);
