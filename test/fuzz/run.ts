/** `bun run fuzz -- [--target native|mercure] [--runs N] [--seed S] [--path P] [--seconds T]`: the property tests, longer or replayed. */
import { parseArgs } from "node:util";
import { fuzz } from "../support/fuzz";
import { mercureFuzz } from "../support/mercure-fuzz";

const { values } = parseArgs({
  options: {
    target: { type: "string" },
    runs: { type: "string", default: "1000" },
    seed: { type: "string" },
    path: { type: "string" },
    seconds: { type: "string" },
  },
});
const targets = { native: fuzz, mercure: mercureFuzz };
const chosen = values.target === undefined ? Object.values(targets) : [targets[values.target as keyof typeof targets]];
if (chosen.some((f) => f === undefined)) {
  console.error(`--target is one of ${Object.keys(targets).join(", ")}`);
  process.exit(2);
}
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
try {
  for (const target of chosen) {
    const report = await target({
      seed,
      runs: Number(values.runs),
      path: values.path,
      timeLimitMs: values.seconds === undefined ? undefined : Number(values.seconds) * 1000,
      log: console.log,
    });
    console.log(JSON.stringify(report, null, 2));
  }
} catch (error) {
  console.error(String(error instanceof Error ? error.message : error));
  process.exit(1);
}
