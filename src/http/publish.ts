/** POST /topics/{topic}/events and POST /events: validate, append, answer once committed. */
import { Elysia, t } from "elysia";
import type { Authorizer } from "../auth/authorizer";
import { isoTime } from "../event-json";
import type { Hub } from "../hub/hub";
import { canonicalJson } from "../json/canonical";
import type { EventDraft, Receipt } from "../log/event-log";
import { checkEventType, checkTopic } from "../names";
import { type BodyLimits, eventData, isJson, parseJsonBody, readText, TextData } from "./body";
import { bearerToken } from "./credentials";
import { idempotency } from "./idempotency";
import { BatchBody, BatchPublished, ErrorResponse, IdempotencyHeaders, PublishBody, Published, Topic } from "./models";
import { checkQuery, Query } from "./query";

function published(r: Receipt) {
  return { id: String(r.id), topic: r.topic, event: r.event, time: isoTime(r.time) };
}

/** What was asked, compared as JSON values: a client that rebuilds its request (other key order, spacing) matches. */
function fingerprint(drafts: readonly EventDraft[]): string {
  const hash = new Bun.CryptoHasher("sha256");
  // Each part is self-delimiting (a JSON array, then a JSON value without line breaks, then a line break).
  for (const d of drafts)
    hash
      .update(JSON.stringify([d.topic, d.event]))
      .update(canonicalJson(d.data))
      .update("\n");
  return hash.digest("hex");
}

const errors = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  413: ErrorResponse,
  415: ErrorResponse,
  422: ErrorResponse,
  503: ErrorResponse,
  507: ErrorResponse,
};

export const publishRoutes = (hub: Hub, auth: Authorizer, limits: BodyLimits) =>
  new Elysia({ name: "publish" })
    .post(
      "/topics/:topic/events",
      async ({ params, body, headers, request, set }) => {
        const draft: EventDraft = {
          topic: params.topic,
          event: checkEventType(body.event ?? new Query(request).one("event")),
          data: eventData(body.data, limits),
        };
        const { receipts, replayed } = await hub.publish(
          [draft],
          idempotency(headers["idempotency-key"], draft.topic, () => fingerprint([draft])),
        );
        set.status = replayed ? 200 : 201;
        return published(receipts[0] as Receipt);
      },
      {
        // Credentials before the body is read; any content type but JSON is the data itself, as text: `curl -d 'Hey!'`
        // must just work.
        parse: async ({ request, params }) => {
          checkQuery(request);
          const topic = checkTopic(params.topic);
          await auth.authorizePublish(() => bearerToken(request), [topic]);
          const text = await readText(request, limits);
          return isJson(request) ? parseJsonBody(text, 1) : { data: new TextData(text) };
        },
        params: t.Object({ topic: Topic }),
        headers: IdempotencyHeaders,
        body: PublishBody,
        response: { 200: Published, 201: Published, ...errors },
        detail: {
          operationId: "publishEvent",
          summary: "Publish an event to a topic",
          description:
            "With `Content-Type: application/json` the body is `{data, event?}`; `data` is kept as written, up to insignificant whitespace (numbers keep every digit). With any other content type the whole body, as UTF-8 text, is the data string and the type may come from `?event=`. Bodies must be UTF-8 (`400 invalid_encoding`; a `charset` other than `utf-8` or `us-ascii` is `415 unsupported_charset`). Answered with 201 only once the event is committed to the log; an idempotent repeat (the same body as a JSON value: key order and spacing do not matter) gets 200 and the original answer.",
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
          (e): EventDraft => ({ topic: checkTopic(e.topic), event: checkEventType(e.event), data: eventData(e.data, limits) }),
        );
        // All or nothing: one topic the token does not cover refuses the whole batch.
        await auth.authorizePublish(
          () => bearerToken(request),
          drafts.map((d) => d.topic),
        );
        const { receipts, replayed } = await hub.publish(
          drafts,
          idempotency(headers["idempotency-key"], "", () => fingerprint(drafts)),
        );
        set.status = replayed ? 200 : 201;
        return { events: receipts.map(published) };
      },
      {
        // The token is checked before the body is read; which topics it covers only once the batch is parsed.
        parse: async ({ request }) => {
          checkQuery(request);
          await auth.authorizePublish(() => bearerToken(request), []);
          return parseJsonBody(await readText(request, limits), 3);
        },
        headers: IdempotencyHeaders,
        body: BatchBody,
        response: { 200: BatchPublished, 201: BatchPublished, ...errors },
        detail: {
          operationId: "publishBatch",
          summary: "Publish a batch of events",
          description:
            "1 to 1000 events on any topics, all or nothing in one transaction; ids increase in request order. Each `data` is kept as written, up to insignificant whitespace. An Idempotency-Key covers the whole batch, compared as a JSON value.",
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
