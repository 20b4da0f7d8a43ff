import { expect, test } from "bun:test";

/**
 * Findings of this test that are reported and owned elsewhere, left out of CI's generation until their fixes
 * land on main (the oracle is not weakened: `bun run fuzz` generates them all). Drop a tag once it passes.
 */
const OPEN_FINDINGS = [
  "numbers", // 9007199254740993 and 1e400 not kept as written (publish)
  "keys", // integer-like keys moved to the front of objects (publish)
  "key-order", // an idempotent retry with keys in another order is a 422 (publish)
  "utf8", // invalid UTF-8 replaced instead of refused (publish)
  "charset", // charset=latin1 accepted instead of 415 (publish)
  "repeat-event", // ?event=a&event=b accepted (publish)
  "literal", // topic=[x loses its brackets; lastEventId=%207 trimmed (publish)
  "huge-ids", // the gap notice names 9007199254740991 for a Last-Event-ID of 9223372036854775807 (replay, names.ts)
];
process.env.HERALD_FUZZ_SKIP ??= OPEN_FINDINGS.join(",");
const { fuzz } = await import("./support/fuzz");

/** CI's budget: seconds of generated runs; `bun run fuzz -- --runs N --seed S` runs longer or replays a failure. */
const BUDGET_MS = 20_000;
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
