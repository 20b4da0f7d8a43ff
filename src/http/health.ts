/** GET /health: ok, or 503 when the log is unusable or the hub is draining. */
import { Elysia } from "elysia";
import type { Hub } from "../hub/hub";
import { Health } from "./models";

export const healthRoutes = (hub: Hub, startedAt: number) =>
  new Elysia({ name: "health" }).get(
    "/health",
    ({ set }) => {
      const status = hub.isDraining ? "draining" : hub.log.healthy() ? "ok" : "unavailable";
      if (status !== "ok") {
        set.status = 503;
        set.headers["retry-after"] = "5";
      }
      return {
        status,
        subscribers: hub.subscriberCount,
        lastEventId: String(hub.log.lastId()),
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      } as const;
    },
    {
      response: { 200: Health, 503: Health },
      detail: {
        operationId: "health",
        summary: "Liveness and readiness",
        description: "200 while the log is usable and the hub accepts work; 503 with `Retry-After` otherwise.",
        tags: ["operations"],
        responses: { 503: { description: "The database is unusable or the hub is draining" } },
      },
    },
  );
