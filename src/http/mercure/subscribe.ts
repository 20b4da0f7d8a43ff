/**
 * GET /.well-known/mercure: a Mercure subscription (drafts 07 and 08) on the hub's one log, through the same
 * Subscription as /stream (replay, then live, within a byte budget, with heartbeats): Mercure ids, types and
 * `retry`, resume from a Mercure id, and private updates only for a token that grants one of their topics.
 */
import { Elysia } from "elysia";
import type { Authorizer, Credential, Reader } from "../../auth/authorizer";
import type { Hub } from "../../hub/hub";
import { type EventLog, topicsOf } from "../../log/event-log";
import type { StreamAdmission } from "../stream-admission";
import { challenged } from "./challenge";
import { mercureToken } from "./credentials";
import { parseSubscription } from "./matchers";
import type { MercureOptions } from "./publish";
import { type Resume, resumeFrom } from "./resume";
import { HUB_PATH } from "./update";

const SSE_HEADERS = {
  "Content-Type": "text/event-stream",
  "Cache-Control": "no-cache",
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

export const mercureSubscribeRoutes = (
  hub: Hub,
  log: EventLog,
  auth: Authorizer,
  admission: StreamAdmission,
  options: MercureOptions,
) =>
  new Elysia({ name: "mercure-subscribe" }).get(
    HUB_PATH,
    async ({ request, server }) => {
      let credential: Credential | undefined;
      const token = () => {
        credential ??= mercureToken(request, options.cookie);
        return credential;
      };
      const { selectors, lastEventId } = parseSubscription(new URL(request.url).search.slice(1));
      const header = request.headers.get("last-event-id");
      const given = header !== null && header !== "" ? headerText(header) : lastEventId;
      // Every refusal comes before the first stream byte, with the challenge draft 08 asks for.
      let reader: Reader;
      try {
        reader = await auth.authorizeRead(token, selectors, true);
      } catch (error) {
        throw challenged(error);
      }
      const resume = given === undefined ? undefined : await resumeFrom(log, selectors, given);
      const headers = resumeHeaders(resume);
      // HEAD gets a GET's answer without its body; Elysia would read a stream's body to count it, forever.
      if (request.method === "HEAD") return new Response(null, { headers });
      const sub = await admission.open(request, server, reader, () =>
        hub.open({
          selectors,
          form: "mercure",
          resumeFrom: resume?.after ?? null,
          signal: request.signal,
          readsPrivate: (e) => reader.grantsAny(topicsOf(e)),
          endsOnGap: true,
        }),
      );
      // Streams are never closed for idleness; heartbeats keep intermediaries from doing so.
      server?.timeout(request, 0);
      return new Response(sub.stream, { headers });
    },
    { detail: { hide: true } },
  );
