/** GET /events and GET /topics: the log read as JSON pages. */
import { Elysia } from "elysia";
import type { Authorizer } from "../auth/authorizer";
import { eventJson, isoTime } from "../event-json";
import type { EventLog } from "../log/event-log";
import { bearerToken } from "./credentials";
import { whileWorking } from "./idle";
import { ErrorResponse, HistoryPage, TopicList } from "./models";
import { checkQuery, Query } from "./query";

const JSON_TYPE = { "Content-Type": "application/json" };

export const historyRoutes = (log: EventLog, auth: Authorizer) =>
  new Elysia({ name: "history" })
    .get(
      "/events",
      async ({ request, server }) => {
        const query = new Query(request);
        const selectors = query.selectors();
        const after = query.eventId("after")?.value ?? 0;
        const limit = query.integer("limit", 1, 1000, 100);
        await auth.authorizeRead(() => bearerToken(request), selectors);
        const events = await whileWorking(server, request, () => log.read({ selectors, after, limit }));
        const last = events[events.length - 1];
        const next = events.length === limit && last ? `"${last.id}"` : "null";
        // Stored data is already JSON: splice it rather than parse and re-serialise every event.
        // Private updates are for readers granted their topics, which this API cannot tell yet: none gets them.
        const shown = events.filter((e) => e.private !== true);
        return new Response(`{"events":[${shown.map(eventJson).join(",")}],"next":${next}}`, { headers: JSON_TYPE });
      },
      {
        response: { 200: HistoryPage, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse },
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
      async ({ request }) => {
        checkQuery(request);
        const readable = await auth.readableTopics(() => bearerToken(request));
        return {
          topics: (await log.topics())
            .filter((s) => readable(s.topic))
            .map((s) => ({
              topic: s.topic,
              events: s.events,
              firstId: String(s.firstId),
              lastId: String(s.lastId),
              lastTime: isoTime(s.lastTime),
            })),
        };
      },
      {
        response: { 200: TopicList, 401: ErrorResponse, 503: ErrorResponse },
        detail: {
          operationId: "listTopics",
          summary: "List topics with retained events",
          description: "Sorted by name in byte order; `events` is the retained count.",
          tags: ["history"],
        },
      },
    );
