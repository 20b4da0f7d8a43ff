/** Request and response schemas: they validate requests and are the source of the OpenAPI document. */
import { t } from "elysia";
import { EVENT_TYPE_PATTERN, SELECTOR_PATTERN, TOPIC_PATTERN } from "../names";

export const Topic = t.String({
  pattern: TOPIC_PATTERN,
  description: "Topic name; dots make hierarchy",
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

/** Unknown query parameters (cache busters, tracking) are ignored rather than refused. */
export const QUERY_OPTIONS = { additionalProperties: true } as const;

export const AccessToken = t.Optional(
  t.String({ description: "A JWT, for clients such as EventSource that cannot set the Authorization header" }),
);

export const ErrorResponse = t.Object(
  { error: t.Object({ code: t.String({ examples: ["invalid_topic"] }), message: t.String() }) },
  { description: "Every error has this shape" },
);

export const PublishBody = t.Object(
  {
    data: t.Unknown({ description: "Any JSON value; `null` is a value" }),
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

export const EventRecord = t.Object({
  id: EventId,
  topic: Topic,
  event: t.Union([EventType, t.Null()]),
  data: t.Unknown(),
  time: t.String({ format: "date-time" }),
});

export const HistoryPage = t.Object({
  events: t.Array(EventRecord),
  next: t.Union([EventId, t.Null()], { description: "Pass as `after` for the next page; null on a partial page" }),
});

export const TopicList = t.Object({
  topics: t.Array(
    t.Object({
      topic: Topic,
      events: t.Integer(),
      firstId: EventId,
      lastId: EventId,
      lastTime: t.String({ format: "date-time" }),
    }),
  ),
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

/** Checked by the handler (parseSelectors): Elysia's array-query decoding reports item errors without naming the field. */
export const SelectorQuery = t.Array(t.String({ description: `${Selector.description}; matches ${SELECTOR_PATTERN}` }), {
  description: "1 to 50 topic selectors (repeat the parameter)",
});
