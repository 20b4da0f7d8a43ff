/**
 * The entry point: takes SIGHUP before anything else, then boots the hub. The boot sequence is imported only after,
 * because loading it (Elysia, the routes, the logs) takes tens of milliseconds during which Bun's default for the
 * signal would end the process.
 */
import { holdSignals } from "./signals";

holdSignals(["SIGHUP"]);
await import("./boot");
