/** GET /events and GET /topics: the log read as JSON pages. */
import { Elysia, t } from "elysia";
import type { Authorizer } from "../auth/authorizer";
import { eventJson, isoTime } from "../event-json";
import type { EventLog } from "../log/event-log";
import { parseEventId, parseSelectors } from "../names";
import { bearerToken } from "./credentials";
import { AccessToken, ErrorResponse, HistoryPage, QUERY_OPTIONS, SelectorQuery, TopicList } from "./models";

const JSON_TYPE = { "Content-Type": "application/json" };

export const historyRoutes = (log: EventLog, auth: Authorizer) =>
  new Elysia({ name: "history" })
    .get(
      "/events",
      async ({ query, request }) => {
        const limit = query.limit ?? 100;
        const selectors = parseSelectors(query.topic);
        const after = query.after === undefined ? 0 : parseEventId(query.after, "after");
        await auth.authorizeRead(() => bearerToken(request), selectors);
        const events = await log.read({ selectors, after, limit });
        const last = events[events.length - 1];
        const next = events.length === limit && last ? `"${last.id}"` : "null";
        // Stored data is already JSON: splice it rather than parse and re-serialise every event.
        return new Response(`{"events":[${events.map(eventJson).join(",")}],"next":${next}}`, { headers: JSON_TYPE });
      },
      {
        query: t.Object(
          {
            topic: SelectorQuery,
            after: t.Optional(t.String({ description: "Return events after this id", examples: ["0"] })),
            limit: t.Optional(t.Integer({ minimum: 1, maximum: 1000, default: 100, error: "must be an integer from 1 to 1000" })),
            access_token: AccessToken,
          },
          QUERY_OPTIONS,
        ),
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
        query: t.Object({ access_token: AccessToken }, QUERY_OPTIONS),
        response: { 200: TopicList, 401: ErrorResponse, 503: ErrorResponse },
        detail: {
          operationId: "listTopics",
          summary: "List topics with retained events",
          description: "Sorted by name in byte order; `events` is the retained count.",
          tags: ["history"],
        },
      },
    );
