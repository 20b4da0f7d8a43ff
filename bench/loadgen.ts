/** The load generator: runs one job (JSON in argv) on its own core and prints the result as one JSON line. */
import { type FanoutJob, fanoutClient } from "./scenarios/fanout";
import { type IdleJob, idleClient } from "./scenarios/idle";
import { type PacedJob, pacedClient } from "./scenarios/paced";
import { type PairedJob, pairedClient } from "./scenarios/paired";
import { type PresenceJob, presenceClient } from "./scenarios/presence";
import { type PublishJob, publishClient } from "./scenarios/publish";
import { type ReplayJob, replayClient } from "./scenarios/replay";
import { type RoutingJob, routingClient } from "./scenarios/routing";
import { type SharingJob, sharingClient } from "./scenarios/workers";

type Job = FanoutJob | PacedJob | PairedJob | PublishJob | IdleJob | ReplayJob | RoutingJob | PresenceJob | SharingJob;

const job = JSON.parse(process.argv[2] ?? "{}") as Job;
let result: unknown;
switch (job.kind) {
  case "fanout":
    result = await fanoutClient(job);
    break;
  case "paced":
    result = await pacedClient(job);
    break;
  case "paired":
    result = await pairedClient(job);
    break;
  case "publish":
    result = await publishClient(job);
    break;
  case "idle":
    result = await idleClient(job);
    break;
  case "replay":
    result = await replayClient(job);
    break;
  case "routing":
    result = await routingClient(job);
    break;
  case "presence":
    result = await presenceClient(job);
    break;
  case "sharing":
    result = await sharingClient(job);
    break;
  default:
    throw new Error(`unknown job ${JSON.stringify(job)}`);
}
await Bun.write(Bun.stdout, `${JSON.stringify(result)}\n`);
// Sockets still closing would otherwise keep the process alive.
process.exit(0);
