/**
 * The hub in this process, as src/index.ts runs it, telling on SIGUSR2 how many objects of each type its heap holds
 * after a full collection: one JSON line `{"heap":{...}}` on stdout. What a test of what streams retain counts.
 */
import { heapStats } from "bun:jsc";

process.on("SIGUSR2", () => {
  Bun.gc(true);
  process.stdout.write(`${JSON.stringify({ heap: heapStats().objectTypeCounts })}\n`);
});
await import("../../src/index.ts");
