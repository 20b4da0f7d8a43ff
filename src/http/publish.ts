/** POST /topics/{topic}/events and POST /events: validate, append, answer once committed. */
import { Elysia, t } from "elysia";
import type { Authorizer } from "../auth/authorizer";
import { HeraldError } from "../errors";
import { isoTime } from "../event-json";
import type { Hub } from "../hub/hub";
import type { EventDraft, Idempotency, Receipt } from "../log/event-log";
import { checkEventType, checkTopic } from "../names";
import { type BodyLimits, dataJson, isJson, parseJson, readText } from "./body";
import { bearerToken } from "./credentials";
import {
  AccessToken,
  BatchBody,
  BatchPublished,
  ErrorResponse,
  EventType,
  PublishBody,
  Published,
  QUERY_OPTIONS,
  Topic,
} from "./models";

const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,200}$/;

function published(r: Receipt) {
  return { id: String(r.id), topic: r.topic, event: r.event, time: isoTime(r.time) };
}

/** The Idempotency-Key of a request, scoped and tied to what was asked, or undefined without one. */
function idempotency(key: string | undefined, scope: string, drafts: readonly EventDraft[]): Idempotency | undefined {
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new HeraldError("invalid_idempotency_key", "Idempotency-Key must be 1 to 200 printable ASCII characters");
  }
  const fingerprint = new Bun.CryptoHasher("sha256").update(JSON.stringify(drafts)).digest("hex");
  return { scope, key, fingerprint };
}

const headers = t.Object({
  "idempotency-key": t.Optional(
    t.String({ description: "1 to 200 printable ASCII characters; a repeat returns the original answer with 200" }),
  ),
});
const errors = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  413: ErrorResponse,
  422: ErrorResponse,
  503: ErrorResponse,
  507: ErrorResponse,
};

export const publishRoutes = (hub: Hub, auth: Authorizer, limits: BodyLimits) =>
  new Elysia({ name: "publish" })
    .post(
      "/topics/:topic/events",
      async ({ params, body, query, headers, request, set }) => {
        const draft: EventDraft = {
          topic: checkTopic(params.topic),
          event: checkEventType(body.event ?? query.event),
          data: dataJson(body.data, limits, isJson(request.headers.get("content-type")) ? "json" : "text"),
        };
        await auth.authorizePublish(() => bearerToken(request), [draft.topic]);
        const { receipts, replayed } = await hub.publish([draft], idempotency(headers["idempotency-key"], draft.topic, [draft]));
        set.status = replayed ? 200 : 201;
        return published(receipts[0] as Receipt);
      },
      {
        // Any content type but JSON is the data itself, as text: `curl -d 'Hey!'` must just work.
        parse: async ({ request }) => {
          const text = await readText(request, limits);
          return isJson(request.headers.get("content-type")) ? parseJson(text) : { data: text };
        },
        params: t.Object({ topic: Topic }),
        query: t.Object({ event: t.Optional(EventType), access_token: AccessToken }, QUERY_OPTIONS),
        headers,
        body: PublishBody,
        response: { 200: Published, 201: Published, ...errors },
        detail: {
          operationId: "publishEvent",
          summary: "Publish an event to a topic",
          description:
            "With `Content-Type: application/json` the body is `{data, event?}`. With any other content type the whole body, as UTF-8 text, is the data string and the type may come from `?event=`. Answered with 201 only once the event is committed to the log; an idempotent repeat gets 200 and the original answer.",
          tags: ["publish"],
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/PublishBody" } },
              "text/plain": {
                schema: { type: "string", description: "The data string itself (any type but JSON is read as text)" },
              },
            },
          },
          responses: {
            200: { description: "An idempotent repeat: the original answer, nothing appended" },
            201: { description: "Committed to the log" },
          },
        },
      },
    )
    .post(
      "/events",
      async ({ body, headers, request, set }) => {
        const drafts = body.events.map(
          (e): EventDraft => ({ topic: checkTopic(e.topic), event: checkEventType(e.event), data: dataJson(e.data, limits) }),
        );
        // All or nothing: one topic the token does not cover refuses the whole batch.
        await auth.authorizePublish(
          () => bearerToken(request),
          drafts.map((d) => d.topic),
        );
        const { receipts, replayed } = await hub.publish(drafts, idempotency(headers["idempotency-key"], "", drafts));
        set.status = replayed ? 200 : 201;
        return { events: receipts.map(published) };
      },
      {
        parse: async ({ request }) => parseJson(await readText(request, limits)),
        headers,
        body: BatchBody,
        response: { 200: BatchPublished, 201: BatchPublished, ...errors },
        detail: {
          operationId: "publishBatch",
          summary: "Publish a batch of events",
          description:
            "1 to 1000 events on any topics, all or nothing in one transaction; ids increase in request order. An Idempotency-Key covers the whole batch.",
          tags: ["publish"],
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/BatchBody" } } },
          },
          responses: {
            200: { description: "An idempotent repeat: the original answer, nothing appended" },
            201: { description: "Committed to the log, in request order" },
          },
        },
      },
    );
