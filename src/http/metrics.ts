/** GET /metrics: Prometheus text format. */
import { Elysia, t } from "elysia";
import type { Hub } from "../hub/hub";
import type { EventLog } from "../log/event-log";
import { type Metrics, renderMetrics } from "../metrics";

/** The exposition of a hub that serves from one thread. */
export const ownMetrics = (hub: Hub, log: EventLog, metrics: Metrics) => async (): Promise<string> => {
  const herald = renderMetrics(metrics, {
    subscribers: hub.subscriberCount,
    presence: hub.presence.size,
    logSize: log.size(),
    // An unreadable log still gets its fault scraped: the count it cannot read is NaN.
    retainedEvents: await log.retained().catch(() => Number.NaN),
    lastEventId: log.lastId(),
    faults: log.faults,
  });
  return herald + (await metrics.processText());
};

export const metricsRoutes = (exposition: () => Promise<string>) =>
  new Elysia({ name: "metrics" }).get(
    "/metrics",
    async () => new Response(await exposition(), { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } }),
    {
      response: { 200: t.String({ description: "Prometheus text exposition format" }) },
      detail: {
        operationId: "metrics",
        summary: "Prometheus metrics",
        description:
          "Herald's counters, gauges and publish latency histogram, and the standard process metrics (CPU, memory, file descriptors, start time, event-loop lag), in the Prometheus text format.",
        tags: ["operations"],
      },
    },
  );
