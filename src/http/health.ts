/** GET /health: ok, or 503 when the log cannot take writes or the hub is draining. */
import { Elysia } from "elysia";
import { RETRY_LATER } from "../errors";
import type { Hub } from "../hub/hub";
import type { EventLog } from "../log/event-log";
import type { LogFault } from "../log/faults";
import { Health } from "./models";

/** What /health says of the whole hub: this thread's own figures, or every worker's as their coordinator has them. */
export interface HubHealth {
  readonly subscribers: number;
  readonly lastEventId: number;
  /** What keeps the log from taking writes, if anything. */
  readonly fault: LogFault | undefined;
  readonly draining: boolean;
}

/** The figures of a hub that serves from one thread. */
export const ownHealth = (hub: Hub, log: EventLog) => (): HubHealth => ({
  subscribers: hub.subscriberCount,
  lastEventId: log.lastId(),
  fault: log.faults.current,
  draining: hub.isDraining,
});

/**
 * @param health read at once, never awaited: a pipelined request behind an answer that waits makes Bun close the
 * connection, and a client that half-closes after its request would not get the answer
 */
export const healthRoutes = (hub: Hub, health: () => HubHealth, startedAt: number) =>
  new Elysia({ name: "health" }).get(
    "/health",
    ({ set }) => {
      const { subscribers, lastEventId, fault, draining } = health();
      const problem =
        draining || hub.isDraining
          ? ({ status: "draining", reason: "shutting_down", message: "the hub is shutting down" } as const)
          : fault && ({ status: "degraded", reason: fault.reason, message: fault.message } as const);
      if (problem) {
        set.status = 503;
        Object.assign(set.headers, RETRY_LATER);
      }
      return {
        ...(problem ?? { status: "ok" as const }),
        subscribers,
        lastEventId: String(lastEventId),
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      };
    },
    {
      response: { 200: Health, 503: Health },
      detail: {
        operationId: "health",
        summary: "Liveness and readiness",
        description:
          "200 while the log takes writes and the hub accepts work. 503 with `Retry-After` otherwise: `degraded` with the reason (`storage_full`, `log_unavailable`) and a message while the log cannot take writes, `draining` while the hub shuts down.",
        tags: ["operations"],
        responses: { 503: { description: "The log cannot take writes, or the hub is draining" } },
      },
    },
  );
