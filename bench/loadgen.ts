/** The load generator: runs one job (JSON in argv) on its own core and prints the result as one JSON line. */
import { type FanoutJob, fanoutClient } from "./scenarios/fanout";

type Job = FanoutJob;

const job = JSON.parse(process.argv[2] ?? "{}") as Job;
let result: unknown;
switch (job.kind) {
  case "fanout":
    result = await fanoutClient(job);
    break;
  default:
    throw new Error(`unknown job ${JSON.stringify(job)}`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
