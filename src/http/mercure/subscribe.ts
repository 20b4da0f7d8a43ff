/**
 * GET /.well-known/mercure: a Mercure subscription (drafts 07 and 08) on the hub's one log, through the same
 * Subscription as /stream (replay, then live, within a byte budget, with heartbeats): Mercure ids, types and
 * `retry`, resume from a Mercure id, and private updates only for a token that grants one of their topics.
 */
import { Elysia, t } from "elysia";
import type { Authorizer, Credential, Reader } from "../../auth/authorizer";
import type { Hub } from "../../hub/hub";
import type { Listener } from "../../hub/presence";
import type { EventLog } from "../../log/event-log";
import type { Selector } from "../../names";
import { ErrorResponse } from "../models";
import { readsPrivate } from "../stream";
import type { StreamAdmission } from "../stream-admission";
import { challenged } from "./challenge";
import { mercureToken } from "./credentials";
import { matchTypeOf, parseSubscription } from "./matchers";
import { forbiddenResponse, UNAUTHORIZED_RESPONSE } from "./models";
import type { MercureOptions } from "./publish";
import { type Resume, resumeFrom } from "./resume";
import type { SubscriptionEvents } from "./subscription-events";
import { HUB_PATH } from "./update";

const SSE_HEADERS = {
  "Content-Type": "text/event-stream",
  // `private`: draft 07 asks it of answers to a token in the URL; a stream is one reader's whatever its token.
  "Cache-Control": "private, no-cache",
  "X-Accel-Buffering": "no",
};

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A header's text as the client meant it: Bun hands header bytes over one character each (Latin-1), and an
 * `EventSource` sends a non-ASCII id as UTF-8.
 */
function headerText(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the test is for bytes past ASCII
  if (!/[^\x00-\x7f]/.test(value) || /[^\x00-\xff]/.test(value)) return value;
  try {
    return strictUtf8.decode(Buffer.from(value, "latin1"));
  } catch {
    return value;
  }
}

/** The response headers of a resume: draft 08's, and draft 07's of the same value, as UTF-8 bytes. */
function resumeHeaders(resume: Resume | undefined): Record<string, string> {
  if (resume === undefined) return SSE_HEADERS;
  const told = Buffer.from(resume.told, "utf8").toString("latin1");
  return { ...SSE_HEADERS, "Mercure-Last-Event-ID": told, "Last-Event-ID": told };
}

/** Who reads, as presence shows it: each matcher's type and, where draft 08's authorization details name one, payload. */
function listenerOf(reader: Reader, selectors: readonly Selector[]): Listener {
  const payloads = selectors.map((s) => reader.payloadFor(s.text));
  return {
    subject: reader.subject ?? null,
    payload: reader.payload ?? null,
    matchTypes: selectors.map(matchTypeOf),
    ...(payloads.some((p) => p !== undefined) && { payloads }),
  };
}

export const mercureSubscribeRoutes = (
  hub: Hub,
  log: EventLog,
  auth: Authorizer,
  admission: StreamAdmission,
  options: MercureOptions,
  /** Set when active subscriptions are on (HERALD_MERCURE_SUBSCRIPTIONS). */
  events?: SubscriptionEvents,
) =>
  new Elysia({ name: "mercure-subscribe" }).get(
    HUB_PATH,
    async ({ request, server }) => {
      let credential: Credential | undefined;
      const token = () => {
        credential ??= mercureToken(request, options.cookie);
        return credential;
      };
      const { selectors, lastEventId, draft } = parseSubscription(new URL(request.url).search.slice(1), options.patternBase);
      const header = request.headers.get("last-event-id");
      const given = header !== null && header !== "" ? headerText(header) : lastEventId;
      // Every refusal comes before the first stream byte, with the challenge draft 08 asks for.
      let reader: Reader;
      try {
        reader = await auth.authorizeRead(token, selectors, "mercure");
      } catch (error) {
        throw challenged(error, options.resourceMetadata);
      }
      const resume = given === undefined ? undefined : await resumeFrom(log, selectors, given);
      const headers = resumeHeaders(resume);
      // HEAD gets a GET's answer without its body; Elysia would read a stream's body to count it, forever.
      if (request.method === "HEAD") {
        await admission.check(request, server, reader, () => hub.checkRoom());
        return new Response(null, { headers });
      }
      const sub = await admission.open(request, server, reader, () =>
        hub.open({
          selectors,
          form: "mercure",
          resumeFrom: resume?.after ?? null,
          signal: request.signal,
          readsPrivate: readsPrivate(reader),
          endsOnGap: true,
          listener: listenerOf(reader, selectors),
        }),
      );
      events?.watch(sub, draft, reader);
      // Streams are never closed for idleness; heartbeats keep intermediaries from doing so.
      server?.timeout(request, 0);
      return new Response(sub.stream, { headers });
    },
    {
      response: {
        200: t.String({ description: "A `text/event-stream` of updates" }),
        400: ErrorResponse,
        401: ErrorResponse,
        403: ErrorResponse,
        429: ErrorResponse,
        503: ErrorResponse,
      },
      detail: {
        operationId: "mercureSubscribe",
        summary: "Subscribe to Mercure updates (Server-Sent Events)",
        description:
          "A Mercure subscription (drafts 07 and 08) on the topics the matchers select: each update under its Mercure id (the publisher's `id`, else `urn:herald:<id>`), its `type` and `retry`. With `Last-Event-ID` (or `last_event_id`, `lastEventID`) the retained updates after that id are replayed first, then live ones follow with no gap and no duplicate. Private updates only for a token that grants one of their topics; the token comes from `Authorization: Bearer`, the `authorization` query parameter or the `mercureAuthorization` cookie.",
        tags: ["mercure"],
        responses: {
          200: {
            description: "The stream: `retry:` and a comment at once, then updates, with a comment as heartbeat while idle",
            headers: {
              "Mercure-Last-Event-ID": {
                description:
                  "Draft 08, sent when a resume was asked: the id of the update before the first one sent, or `earliest` when none precedes it, the id is unknown, or it has been pruned",
                schema: { type: "string" },
              },
              "Last-Event-ID": {
                description: "Draft 07: the same value as `Mercure-Last-Event-ID`",
                schema: { type: "string" },
              },
            },
            content: {
              "text/event-stream": {
                schema: { type: "string", description: "Server-Sent Events" },
                example:
                  'retry: 2000\n: herald\n\nid: urn:uuid:5e94c686-2c0b-4f9b-958c-92ccc3bbb4eb\nevent: book.updated\ndata: {"title":"One"}\n\n',
              },
            },
          },
          401: UNAUTHORIZED_RESPONSE,
          403: forbiddenResponse("The token does not grant reading one of the matchers (`forbidden`)"),
        },
      },
    },
  );
