/** Request and response schemas: they validate requests and are the source of the OpenAPI document. */
import { t } from "elysia";
import { EVENT_TYPE_PATTERN, SELECTOR_PATTERN, TOPIC_PATTERN } from "../names";
import { MERCURE_PARAMETER_DOCS } from "./mercure/models";
import { HUB_PATH } from "./mercure/update";

export const Topic = t.String({
  pattern: TOPIC_PATTERN,
  description: "Topic name; dots make hierarchy",
  examples: ["orders.eu.created"],
});
/** A topic as the log keeps it: a Herald name, or a topic a Mercure publisher gave (a URL, say). */
export const AnyTopic = t.String({
  minLength: 1,
  description: "A topic name, or a Mercure topic (an IRI or another string of up to 2048 bytes)",
  examples: ["orders.eu.created"],
});
export const Selector = t.String({
  pattern: SELECTOR_PATTERN,
  description: "A topic, or a prefix ending in `*`",
  examples: ["orders.*"],
});
export const EventType = t.String({
  pattern: EVENT_TYPE_PATTERN,
  description: "Optional event type; `herald.*` is reserved",
  examples: ["created"],
});
export const EventId = t.String({ pattern: "^\\d{1,19}$", description: "Event id: a decimal 64-bit integer", examples: ["42"] });

export const IdempotencyHeaders = t.Object({
  "idempotency-key": t.Optional(
    t.String({ description: "1 to 200 printable ASCII characters; a repeat returns the original answer with 200" }),
  ),
});

export const ErrorResponse = t.Object(
  { error: t.Object({ code: t.String({ examples: ["invalid_topic"] }), message: t.String() }) },
  { description: "Every error has this shape" },
);

export const PublishBody = t.Object(
  {
    data: t.Unknown({
      description:
        "Any JSON value; `null` is a value. Kept as written, up to insignificant whitespace: numbers keep every digit, nesting is bounded only by the size limit",
    }),
    event: t.Optional(t.Union([EventType, t.Null()])),
  },
  { additionalProperties: false },
);

export const Published = t.Object({
  id: EventId,
  topic: Topic,
  event: t.Union([EventType, t.Null()]),
  time: t.String({ format: "date-time" }),
});

export const BatchBody = t.Object(
  {
    events: t.Array(
      t.Object(
        {
          topic: Topic,
          event: t.Optional(t.Union([EventType, t.Null()])),
          data: t.Unknown(),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 1000 },
    ),
  },
  { additionalProperties: false },
);

export const BatchPublished = t.Object({ events: t.Array(Published) });

export const MercureFields = t.Object(
  {
    id: t.String({
      description: "The id Mercure subscribers know the event by: the publisher's `id`, else `urn:herald:<id>`",
      examples: ["urn:uuid:5e94c686-2c0b-4f9b-958c-92ccc3bbb4eb"],
    }),
    topics: t.Array(AnyTopic, {
      minItems: 1,
      description: "Every topic of the update: the canonical one (the event's `topic`) first, then the alternates",
    }),
    private: t.Boolean({ description: "Shown only to readers whose token grants one of `topics`" }),
    retry: t.Union([t.Integer({ minimum: 0 }), t.Null()], {
      description: "The reconnection delay (ms) the publisher asked Mercure subscribers to use, or null",
    }),
  },
  {
    description:
      "What a Mercure update carries beyond a native event. Absent on events that carry none (every native event, and a Mercure update with one topic, no `id`, `private` or `retry`): the Mercure id of such an event is `urn:herald:<id>`.",
  },
);

export const EventRecord = t.Object({
  id: EventId,
  topic: AnyTopic,
  event: t.Union([EventType, t.Null()]),
  data: t.Unknown({ description: "The data exactly as published, without insignificant whitespace" }),
  time: t.String({ format: "date-time" }),
  mercure: t.Optional(MercureFields),
});

export const HistoryPage = t.Object({
  events: t.Array(EventRecord),
  next: t.Union([EventId, t.Null()], { description: "Pass as `after` for the next page; null on a partial page" }),
});

export const TopicList = t.Object({
  topics: t.Array(
    t.Object({
      topic: AnyTopic,
      events: t.Integer({
        description: "Retained events; private updates count only for a token that grants this topic",
      }),
      firstId: EventId,
      lastId: EventId,
      lastTime: t.String({ format: "date-time" }),
      subscribers: t.Integer({ description: "Open streams that receive this topic, on every node" }),
    }),
  ),
  next: t.Union([AnyTopic, t.Null()], { description: "Pass as `after` for the next page; null on a partial page" }),
});

const SubscriptionId = t.String({
  pattern: "^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
  description: "Opaque, unique per connection on every node",
  examples: ["urn:uuid:019a6f3e-8c1d-7b2a-9f4e-3d5c6b7a8e9f"],
});

export const SubscriptionRecord = t.Object({
  id: SubscriptionId,
  selectors: t.Array(t.String(), {
    description: "The stream's selectors (Herald selectors, or a Mercure subscription's matchers)",
  }),
  subject: t.Union([t.String(), t.Null()], { description: "The `sub` of the stream's token; null without one" }),
  payload: t.Unknown({
    description:
      "The `payload` member of the token's `herald` claim, else of its `mercure` claim (any JSON value); null without one",
  }),
  since: t.String({ format: "date-time", description: "When the stream opened" }),
});

export const SubscriptionList = t.Object({
  subscriptions: t.Array(SubscriptionRecord),
  count: t.Integer({ description: "Every matching subscription, on every page" }),
  next: t.Union([SubscriptionId, t.Null()], { description: "Pass as `after` for the next page; null on a partial page" }),
});

export const Health = t.Object({
  status: t.Union([t.Literal("ok"), t.Literal("degraded"), t.Literal("draining")]),
  reason: t.Optional(
    t.Union([t.Literal("storage_full"), t.Literal("log_unavailable"), t.Literal("shutting_down")], {
      description: "Why the hub is not ok: a stable word",
    }),
  ),
  message: t.Optional(t.String({ description: "Why the hub is not ok, for people" })),
  subscribers: t.Integer(),
  lastEventId: EventId,
  uptimeSeconds: t.Number(),
});

/*
 * Query parameters, for the OpenAPI document only: handlers read every value literally from the URL (query.ts),
 * since Elysia's query decoding strips brackets and splits commas. Unknown parameters (cache busters) are ignored.
 */
const SelectorQuery = t.Array(t.String({ description: `${Selector.description}; matches ${SELECTOR_PATTERN}` }), {
  description:
    "1 to 50 topic selectors: repeat the parameter (`topic=a&topic=b`) or separate them with commas (`topic=a,b`), the same thing. Every item is taken literally (no brackets, no JSON, no trimming); an empty item or one that is not a selector is a 400 naming it.",
});
const SINGLE = "Given at most once (a repeat is `400 repeated_parameter`).";
const AccessToken = t.Optional(
  t.String({
    description: `A JWT, for clients such as EventSource that cannot set the Authorization header. ${SINGLE}`,
  }),
);

const PageLimit = t.Optional(
  t.Integer({ minimum: 1, maximum: 1000, default: 100, description: `Decimal digits only. ${SINGLE}` }),
);

const PublishQuery = t.Object({
  event: t.Optional(t.String({ pattern: EVENT_TYPE_PATTERN, description: `The event type when the body gives none. ${SINGLE}` })),
  access_token: AccessToken,
});
const StreamQuery = t.Object({
  topic: SelectorQuery,
  envelope: t.Optional(
    t.Boolean({
      description: `\`true\` sends the event's JSON, as \`/events\` shows it (\`EventRecord\`), as each event's data; \`true\` or \`false\`. ${SINGLE}`,
    }),
  ),
  lastEventId: t.Optional(
    t.String({
      pattern: "^\\d{1,19}$",
      description: `Resume after this id when the \`Last-Event-ID\` header cannot be set. ${SINGLE}`,
    }),
  ),
  access_token: AccessToken,
});
const HistoryQuery = t.Object({
  topic: SelectorQuery,
  after: t.Optional(t.String({ pattern: "^\\d{1,19}$", description: `Return events after this id. ${SINGLE}`, examples: ["0"] })),
  limit: PageLimit,
  access_token: AccessToken,
});
const TopicsQuery = t.Object({
  topic: t.Optional(SelectorQuery),
  after: t.Optional(t.String({ description: `Return topics after this name, in byte order. ${SINGLE}` })),
  limit: PageLimit,
  access_token: AccessToken,
});
const SubscriptionsQuery = t.Object({
  topic: SelectorQuery,
  after: t.Optional(t.String({ description: `Return subscriptions after this id (a page's \`next\`). ${SINGLE}` })),
  limit: PageLimit,
  access_token: AccessToken,
});
const TokenQuery = t.Object({ access_token: AccessToken });

/** Each route's query parameters (and, on the Mercure endpoint, the headers it reads itself), by path and method. */
export const PARAMETER_DOCS = {
  "/topics/:topic/events": { post: { query: PublishQuery } },
  "/events": { post: { query: TokenQuery }, get: { query: HistoryQuery } },
  "/stream": { get: { query: StreamQuery } },
  "/topics": { get: { query: TopicsQuery } },
  "/subscriptions": { get: { query: SubscriptionsQuery } },
  [HUB_PATH]: MERCURE_PARAMETER_DOCS,
};
