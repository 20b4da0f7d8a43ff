import { expect, test } from "bun:test";

/**
 * Findings of this test that are reported and owned elsewhere, left out of CI's generation until their fixes
 * land on main (the oracle is not weakened: `bun run fuzz` generates them all). Drop a tag once it passes.
 */
const OPEN_FINDINGS: string[] = [];
process.env.HERALD_FUZZ_SKIP ??= OPEN_FINDINGS.join(",");
const { fuzz } = await import("./support/fuzz");
const { mercureFuzz } = await import("./support/mercure-fuzz");

/** CI's budget: seconds of generated runs; `bun run fuzz -- --target T --runs N --seed S` runs longer or replays a failure. */
const BUDGET_MS = 20_000;
const MERCURE_BUDGET_MS = 15_000;
const seed = Number(process.env.HERALD_FUZZ_SEED ?? Date.now() % 2 ** 31);

test(
  "every route answers generated requests as the spec says; accepted events read back identical",
  async () => {
    const report = await fuzz({ seed, runs: 100_000, timeLimitMs: BUDGET_MS, log: console.log });
    console.log(`fuzz: ${report.runs} runs, ${report.requests} requests, ${report.events} events in ${report.ms} ms`);
    expect(report.requests).toBeGreaterThan(100);
  },
  BUDGET_MS + 60_000,
);

test(
  "/.well-known/mercure answers generated publishes and subscriptions as the drafts say; no private update leaks",
  async () => {
    const report = await mercureFuzz({ seed, runs: 100_000, timeLimitMs: MERCURE_BUDGET_MS, log: console.log });
    console.log(`mercure fuzz: ${report.runs} runs, ${report.requests} requests, ${report.events} events in ${report.ms} ms`);
    console.log(`mercure fuzz answers: ${JSON.stringify(report.statuses)}`);
    expect(report.statuses["publish 200"]).toBeGreaterThan(20);
    expect(report.statuses["subscribe 200"]).toBeGreaterThan(20);
  },
  MERCURE_BUDGET_MS + 60_000,
);
