/** GET /events and GET /topics: the log read as JSON pages. */
import { Elysia } from "elysia";
import type { Authorizer, Reader } from "../auth/authorizer";
import { eventJson, isoTime } from "../event-json";
import type { Presence } from "../hub/presence";
import { type EventLog, type TopicSummary, topicsOf } from "../log/event-log";
import { bearerToken } from "./credentials";
import { whileWorking } from "./idle";
import { ErrorResponse, HistoryPage, TopicList } from "./models";
import { Query } from "./query";

const JSON_TYPE = { "Content-Type": "application/json" };

/**
 * A page of topics as `reader` may see them: a topic's private updates count only for a token that grants the
 * topic, and a topic that holds nothing else is left out. (A token that grants another topic of a private update
 * receives it on this topic's streams too; here the topic alone decides, so such an update is left out of the count.)
 */
async function asSeenBy(reader: Reader, log: EventLog, page: readonly TopicSummary[]): Promise<TopicSummary[]> {
  const seen = await Promise.all(
    page.map((t) => {
      if (t.privateEvents === 0 || reader.grantsAny([t.topic])) return t;
      return t.events === t.privateEvents ? undefined : log.publicSummary(t.topic);
    }),
  );
  return seen.filter((t) => t !== undefined);
}

export const historyRoutes = (log: EventLog, auth: Authorizer, presence: Presence) =>
  new Elysia({ name: "history" })
    .get(
      "/events",
      async ({ request, server }) => {
        const query = new Query(request);
        const selectors = query.selectors();
        const after = query.eventId("after")?.value ?? 0;
        const limit = query.integer("limit", 1, 1000, 100);
        const reader = await auth.authorizeRead(() => bearerToken(request), selectors);
        const events = await whileWorking(server, request, () => log.read({ selectors, after, limit }));
        const last = events[events.length - 1];
        const next = events.length === limit && last ? `"${last.id}"` : "null";
        // A private update only for a reader whose token grants one of its topics; the page's `next` still
        // moves past it, so a reader without the grant pages on as if it were not there.
        const shown = events.filter((e) => e.private !== true || reader.grantsAny(topicsOf(e)));
        // Stored data is already JSON: splice it rather than parse and re-serialise every event.
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
        const query = new Query(request);
        const given = query.optionalSelectors();
        const after = query.topic("after") ?? "";
        const limit = query.integer("limit", 1, 1000, 100);
        const token = () => bearerToken(request);
        // Named topics need the rights to read them, as on /events; without any, the caller's own are listed.
        const { selectors, reader } = given
          ? { selectors: given, reader: await auth.authorizeRead(token, given) }
          : await auth.readable(token);
        const page = selectors.length > 0 ? await log.topics({ selectors, after, limit }) : [];
        const shown = await asSeenBy(reader, log, page);
        await presence.settled();
        // As on /events, `next` moves past what the reader is not shown.
        const last = page[page.length - 1];
        return {
          topics: shown.map((s) => ({
            topic: s.topic,
            events: s.events,
            firstId: String(s.firstId),
            lastId: String(s.lastId),
            lastTime: isoTime(s.lastTime),
            subscribers: presence.count(s.topic),
          })),
          next: page.length === limit && last ? last.topic : null,
        };
      },
      {
        response: { 200: TopicList, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse },
        detail: {
          operationId: "listTopics",
          summary: "List topics with retained events, a page at a time",
          description:
            "Topics matching the selectors (without `topic`: every topic the caller may read), sorted by name in byte order, after `after`; `events` is the retained count (private updates only for a token that grants the topic; a topic of nothing else is left out), `subscribers` the open streams (on every node) that receive the topic; `next` is the last topic of a full page (pass it as `after`; a full page may show fewer than `limit`), null on a partial one.",
          tags: ["history"],
        },
      },
    );
