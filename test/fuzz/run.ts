/** `bun run fuzz -- [--runs N] [--seed S] [--path P] [--seconds T]`: the property test, longer or replayed. */
import { parseArgs } from "node:util";
import { fuzz } from "../support/fuzz";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "1000" },
    seed: { type: "string" },
    path: { type: "string" },
    seconds: { type: "string" },
  },
});
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
try {
  const report = await fuzz({
    seed,
    runs: Number(values.runs),
    path: values.path,
    timeLimitMs: values.seconds === undefined ? undefined : Number(values.seconds) * 1000,
    log: console.log,
  });
  console.log(JSON.stringify(report, null, 2));
} catch (error) {
  console.error(String(error instanceof Error ? error.message : error));
  process.exit(1);
}
