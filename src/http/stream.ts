/** GET /stream: an SSE stream of the events on some selectors, resumable with Last-Event-ID. */
import { Elysia, t } from "elysia";
import type { Authorizer, Reader } from "../auth/authorizer";
import type { Hub } from "../hub/hub";
import { type Listener, NO_ONE } from "../hub/presence";
import { type EventLog, type LoggedEvent, topicsOf } from "../log/event-log";
import { parseEventId } from "../names";
import { bearerToken } from "./credentials";
import { ErrorResponse } from "./models";
import { Query } from "./query";
import type { StreamAdmission } from "./stream-admission";

const SSE_HEADERS = {
  "Content-Type": "text/event-stream",
  "Cache-Control": "no-cache",
  "X-Accel-Buffering": "no",
};

const NEVER = () => false;

/**
 * Whether `reader` may receive a private update its selectors match: only with an unexpired token that grants one
 * of its topics. Made here, not in a route handler, so that an open stream holds the reader and nothing else of
 * the request that opened it (a closure keeps its whole scope: the request, its headers, its query).
 */
export function readsPrivate(reader: Reader): (e: LoggedEvent) => boolean {
  return reader.withToken ? (e) => reader.grantsAny(topicsOf(e)) : NEVER;
}

/** Who reads, as presence shows it: one shared object for every reader without a token's `sub` or payload. */
function listenerOf(reader: Reader): Listener {
  const subject = reader.subject ?? null;
  const payload = reader.payload ?? null;
  return subject === null && payload === null ? NO_ONE : { subject, payload };
}

export const streamRoutes = (hub: Hub, log: EventLog, auth: Authorizer, admission: StreamAdmission) =>
  new Elysia({ name: "stream" }).get(
    "/stream",
    async ({ headers, request, server }) => {
      const query = new Query(request);
      const selectors = query.selectors();
      const envelope = query.boolean("envelope", false);
      const header = headers["last-event-id"];
      const resumeFrom = (header === undefined ? query.eventId("lastEventId") : parseEventId(header, "Last-Event-ID")) ?? null;
      // Every refusal comes before the first stream byte.
      const reader = await auth.authorizeRead(() => bearerToken(request), selectors);
      // A node of a cluster may trail the shared log by a moment: an id it has not read yet is not one from the future.
      if (resumeFrom !== null) await log.caughtUp(resumeFrom.value);
      // HEAD gets a GET's answer without its body; Elysia would read a stream's body to count it, forever.
      if (request.method === "HEAD") {
        await admission.check(request, server, reader, () => hub.checkRoom());
        return new Response(null, { headers: SSE_HEADERS });
      }
      const sub = await admission.open(request, server, reader, () =>
        hub.open({
          selectors,
          form: envelope ? "envelope" : "data",
          resumeFrom,
          signal: request.signal,
          // A private update (a Mercure publish) only for an unexpired token that grants one of its topics.
          readsPrivate: readsPrivate(reader),
          listener: listenerOf(reader),
        }),
      );
      // Streams are never closed for idleness; heartbeats keep intermediaries from doing so.
      server?.timeout(request, 0);
      return new Response(sub.stream, { headers: SSE_HEADERS });
    },
    {
      headers: t.Object({ "last-event-id": t.Optional(t.String({ description: "Resume after this id" })) }),
      response: {
        200: t.String({ description: "A `text/event-stream` of events" }),
        400: ErrorResponse,
        401: ErrorResponse,
        403: ErrorResponse,
        429: ErrorResponse,
        503: ErrorResponse,
      },
      detail: {
        operationId: "stream",
        summary: "Subscribe to events (Server-Sent Events)",
        description:
          "Opens a `text/event-stream`. With `Last-Event-ID` (or `lastEventId`), every retained matching event after that id is replayed first, then live events follow with no gap and no duplicate. A `herald.gap` event announces events that retention deleted.",
        tags: ["subscribe"],
        responses: {
          200: {
            description: "The stream: `retry:` and a comment at once, then events, with a comment as heartbeat while idle",
            content: {
              "text/event-stream": {
                schema: { type: "string", description: "Server-Sent Events" },
                example: 'retry: 2000\n: herald\n\nid: 42\nevent: created\ndata: {"total":42}\n\n',
              },
            },
          },
        },
      },
    },
  );
