/** POST /topics/{topic}/events and POST /events: validate, append, answer once committed. */
import { Elysia, t } from "elysia";
import type { Hub } from "../hub/hub";
import type { EventDraft, LoggedEvent } from "../log/event-log";
import { checkEventType, checkTopic } from "../names";
import { type BodyLimits, dataJson, isJson, parseJson, readText } from "./body";
import { BatchBody, BatchPublished, ErrorResponse, EventType, PublishBody, Published, Topic } from "./models";

function published(e: LoggedEvent) {
  return { id: String(e.id), topic: e.topic, event: e.event, time: new Date(e.time).toISOString() };
}

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 413: ErrorResponse, 503: ErrorResponse };

export const publishRoutes = (hub: Hub, limits: BodyLimits) =>
  new Elysia({ name: "publish" })
    .post(
      "/topics/:topic/events",
      async ({ params, body, query, request, set }) => {
        const draft: EventDraft = {
          topic: checkTopic(params.topic),
          event: checkEventType(body.event ?? query.event),
          data: dataJson(body.data, limits, isJson(request.headers.get("content-type")) ? "json" : "text"),
        };
        const [event] = await hub.publish([draft]);
        set.status = 201;
        return published(event as LoggedEvent);
      },
      {
        // Any content type but JSON is the data itself, as text: `curl -d 'Hey!'` must just work.
        parse: async ({ request }) => {
          const text = await readText(request, limits);
          return isJson(request.headers.get("content-type")) ? parseJson(text) : { data: text };
        },
        params: t.Object({ topic: Topic }),
        query: t.Object({ event: t.Optional(EventType) }),
        body: PublishBody,
        response: { 201: Published, ...errors },
        detail: {
          operationId: "publishEvent",
          summary: "Publish an event to a topic",
          description:
            "With `Content-Type: application/json` the body is `{data, event?}`. With any other content type the whole body, as UTF-8 text, is the data string and the type may come from `?event=`. Answered with 201 only once the event is committed to the log.",
          tags: ["publish"],
        },
      },
    )
    .post(
      "/events",
      async ({ body, set }) => {
        const drafts = body.events.map(
          (e): EventDraft => ({ topic: checkTopic(e.topic), event: checkEventType(e.event), data: dataJson(e.data, limits) }),
        );
        const events = await hub.publish(drafts);
        set.status = 201;
        return { events: events.map(published) };
      },
      {
        parse: async ({ request }) => parseJson(await readText(request, limits)),
        body: BatchBody,
        response: { 201: BatchPublished, ...errors },
        detail: {
          operationId: "publishBatch",
          summary: "Publish a batch of events",
          description: "1 to 1000 events on any topics, all or nothing in one transaction; ids increase in request order.",
          tags: ["publish"],
        },
      },
    );
