/** GET /events and GET /topics: the log read as JSON pages. */
import { Elysia, t } from "elysia";
import { eventJson } from "../event-json";
import type { EventLog } from "../log/event-log";
import { parseEventId, parseSelectors } from "../names";
import { ErrorResponse, HistoryPage, SelectorQuery, TopicList } from "./models";

const JSON_TYPE = { "Content-Type": "application/json" };

export const historyRoutes = (log: EventLog) =>
  new Elysia({ name: "history" })
    .get(
      "/events",
      async ({ query }) => {
        const limit = query.limit ?? 100;
        const events = await log.read({
          selectors: parseSelectors(query.topic),
          after: query.after === undefined ? 0 : parseEventId(query.after, "after"),
          limit,
        });
        const last = events[events.length - 1];
        const next = events.length === limit && last ? `"${last.id}"` : "null";
        // Stored data is already JSON: splice it rather than parse and re-serialise every event.
        return new Response(`{"events":[${events.map(eventJson).join(",")}],"next":${next}}`, { headers: JSON_TYPE });
      },
      {
        query: t.Object({
          topic: SelectorQuery,
          after: t.Optional(t.String({ description: "Return events after this id", examples: ["0"] })),
          limit: t.Optional(t.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        }),
        response: { 200: HistoryPage, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse },
        detail: {
          operationId: "listEvents",
          summary: "Read retained events in id order",
          description: "A page of events after `after`; `next` is the last id of a full page, null on a partial one.",
          tags: ["history"],
        },
      },
    )
    .get(
      "/topics",
      async () => ({
        topics: (await log.topics()).map((s) => ({
          topic: s.topic,
          events: s.events,
          firstId: String(s.firstId),
          lastId: String(s.lastId),
          lastTime: new Date(s.lastTime).toISOString(),
        })),
      }),
      {
        response: { 200: TopicList },
        detail: {
          operationId: "listTopics",
          summary: "List topics with retained events",
          description: "Sorted by name in byte order; `events` is the retained count.",
          tags: ["history"],
        },
      },
    );
