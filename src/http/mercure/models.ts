/**
 * The Mercure endpoint's requests, for the OpenAPI document only: the hub reads the form (form.ts), the query
 * (matchers.ts) and the headers itself, so Elysia neither coerces nor refuses any of them.
 */
import { t } from "elysia";
import { MAX_MATCHERS } from "./matchers";
import { HUB_PATH, MAX_FIELDS, MAX_ID_BYTES, MAX_RETRY_DIGITS, MAX_TOPIC_BYTES, MAX_TOPICS, MAX_TYPE_BYTES } from "./update";

const TOPIC_RULES = `an IRI, a URL or a plain name of at most ${MAX_TOPIC_BYTES} UTF-8 bytes, without control or format characters`;

export const MercureUpdate = t.Object(
  {
    topic: t.Array(t.String({ minLength: 1, description: `A topic: ${TOPIC_RULES}` }), {
      minItems: 1,
      maxItems: MAX_TOPICS,
      description: `Repeat the field: the first is the update's canonical topic, the others its alternates. Not \`*\`, and not under the hub's own path (\`${HUB_PATH}\`). A subscriber or reader of any of them receives the update once.`,
      examples: [["https://example.com/books/1", "https://example.com/users/42/books/1"]],
    }),
    data: t.Optional(
      t.String({
        description:
          "The update's content, sent as is (one `data:` line per line); empty when absent. At most `HERALD_MAX_EVENT_BYTES` UTF-8 bytes.",
      }),
    ),
    private: t.Optional(
      t.String({
        description:
          "Present, whatever its value (Symfony sends `on`): the update goes only to subscribers and readers whose token grants one of its topics, on both APIs.",
        examples: ["on"],
      }),
    ),
    id: t.Optional(
      t.String({
        description: `The update's id (\`urn:herald:<id>\` when absent or empty): not \`earliest\`, not starting with \`#\` or \`urn:herald:\`, at most ${MAX_ID_BYTES} bytes. A resume from it replays what follows the earliest event that has it.`,
        examples: ["urn:uuid:5e94c686-2c0b-4f9b-958c-92ccc3bbb4eb"],
      }),
    ),
    type: t.Optional(
      t.String({
        description: `The SSE \`event:\` type; none (the browser's \`message\`) when absent or empty. \`mercure\` and \`herald.*\` are reserved; at most ${MAX_TYPE_BYTES} bytes.`,
        examples: ["book.updated"],
      }),
    ),
    retry: t.Optional(
      t.Integer({
        minimum: 0,
        description: `ASCII digits (at most ${MAX_RETRY_DIGITS}): the reconnection delay in milliseconds sent to Mercure subscribers with the update.`,
      }),
    ),
  },
  {
    description: `A Mercure update as form fields (drafts 07 and 08). Other fields are ignored; a repeated field other than \`topic\` counts once (the first); at most ${MAX_FIELDS} fields.`,
  },
);

const Token = t.Optional(
  t.String({
    description:
      "Draft 07: a JWT, used when no `Authorization: Bearer` header is sent (before the `mercureAuthorization` cookie).",
  }),
);

const matchers = (description: string) =>
  t.Optional(
    t.Array(t.String({ minLength: 1 }), {
      description: `${description} Repeat the parameter for several; \`*\` matches every topic.`,
    }),
  );

const MATCHER_RULES = `Between them, \`topic\`, \`match\`, \`match_exact\` and \`match_urlpattern\` give 1 to ${MAX_MATCHERS} matchers, each at most ${MAX_TOPIC_BYTES} bytes of UTF-8 without control or format characters; any other \`match*\` name, or a matcher that cannot be parsed, is \`400 invalid_selector\`.`;

const ResumeId = (draft: string) =>
  t.Optional(
    t.String({
      description: `${draft}: resume after the event this id names (a publisher's id, or \`urn:herald:<id>\`); \`earliest\` replays every retained update. The \`Last-Event-ID\` header wins over it.`,
    }),
  );

const SubscribeQuery = t.Object({
  topic: matchers(`Draft 07: an exact topic, or an RFC 6570 URI template (\`https://example.com/books/{id}\`). ${MATCHER_RULES}`),
  match: matchers("Draft 08: an exact topic (the default matcher type)."),
  match_exact: matchers("Draft 08: an exact topic."),
  match_urlpattern: matchers("Draft 08: a WHATWG URL Pattern (`https://example.com/books/:id`)."),
  last_event_id: ResumeId("Draft 08"),
  lastEventID: ResumeId("Draft 07"),
  authorization: Token,
});

const ResumeHeader = t.Object({
  "last-event-id": t.Optional(
    t.String({
      description:
        "Resume after the event this id names (EventSource sends it when it reconnects); wins over `last_event_id` and `lastEventID`.",
    }),
  ),
});

/** The Mercure endpoint's parameters, by method. */
export const MERCURE_PARAMETER_DOCS = {
  get: { query: SubscribeQuery, headers: ResumeHeader },
  post: { query: t.Object({ authorization: Token }) },
};

/** The challenge a refusal carries, in the document. */
const challenge = (description: string) => ({ "WWW-Authenticate": { description, schema: { type: "string" as const } } });

export const UNAUTHORIZED_RESPONSE = {
  description: "No or bad credentials",
  headers: challenge('`Bearer`, or `Bearer error="invalid_token"` when the token presented is bad or expired'),
};

/** A 403: `forbidden` carries draft 08's `insufficient_scope`. */
export const forbiddenResponse = (description: string) => ({
  description,
  headers: challenge('`Bearer error="insufficient_scope"` on `forbidden`'),
});
