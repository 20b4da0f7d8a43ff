/** GET /health: ok, or 503 when the log cannot take writes or the hub is draining. */
import { Elysia } from "elysia";
import { RETRY_LATER } from "../errors";
import type { Hub } from "../hub/hub";
import type { EventLog } from "../log/event-log";
import { Health } from "./models";

export const healthRoutes = (hub: Hub, log: EventLog, startedAt: number) =>
  new Elysia({ name: "health" }).get(
    "/health",
    ({ set }) => {
      const fault = log.faults.current;
      const problem = hub.isDraining
        ? ({ status: "draining", reason: "shutting_down", message: "the hub is shutting down" } as const)
        : fault && ({ status: "degraded", reason: fault.reason, message: fault.message } as const);
      if (problem) {
        set.status = 503;
        Object.assign(set.headers, RETRY_LATER);
      }
      return {
        ...(problem ?? { status: "ok" as const }),
        subscribers: hub.subscriberCount,
        lastEventId: String(log.lastId()),
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
