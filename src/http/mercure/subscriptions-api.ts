/**
 * Mercure's subscriptions web API (HERALD_MERCURE_SUBSCRIPTIONS), both drafts on one set of URLs:
 * `/.well-known/mercure/subscriptions` (draft 08's JSON, or draft 07's JSON-LD for a client that asks for
 * `application/ld+json`), draft 07's `/subscriptions/{topic}[/{subscriber}]` and draft 08's
 * `/subscriptions/{match_type}/{match}[/{subscriber}]`, told apart by their first segment: a matcher type draft
 * 08 defines, or a topic. The URL is the topic a token must grant, as for the events it mirrors.
 */
import { Elysia } from "elysia";
import type { Authorizer } from "../../auth/authorizer";
import { HeraldError, quote } from "../../errors";
import { HERALD_ID_PREFIX } from "../../event-json";
import type { Presence } from "../../hub/presence";
import type { EventLog } from "../../log/event-log";
import { challenged } from "./challenge";
import { mercureToken } from "./credentials";
import type { MercureOptions } from "./publish";
import { EARLIEST } from "./resume";
import {
  collectionDocument,
  type Draft,
  describes,
  MATCHER_TYPES,
  type MercureSubscription,
  SUBSCRIPTIONS_PATH,
  subscriptionDocument,
  subscriptionsOf,
} from "./subscription-documents";
import { HUB_PATH } from "./update";

/** What a URL of the API asks for. */
interface Asked {
  readonly draft: Draft;
  readonly matchType?: string;
  readonly match?: string;
  readonly subscriber?: string;
}

function segment(raw: string): string {
  try {
    const value = decodeURIComponent(raw);
    if (value !== "") return value;
  } catch {
    // Not percent-encoded UTF-8: refused below.
  }
  throw new HeraldError("invalid_request", `the path segment ${quote(raw)} is not a percent-encoded value`);
}

/** Reads the path after `/subscriptions`; a shape neither draft has is a 404. */
function parsePath(rest: string, accept: string): Asked {
  if (rest === "") return { draft: accept.includes("application/ld+json") ? 7 : 8 };
  const parts = rest.slice(1).split("/").map(segment);
  const [first = "", second, third] = parts;
  if (parts.length === 1) return { draft: 7, matchType: "exact", match: first };
  if (parts.length === 2 && !MATCHER_TYPES.includes(first)) return { draft: 7, match: first, subscriber: second };
  if (parts.length === 2) return { draft: 8, matchType: first, match: second };
  if (parts.length === 3) {
    if (!MATCHER_TYPES.includes(first)) throw new HeraldError("invalid_request", `${quote(first)} is not a matcher type`);
    return { draft: 8, matchType: first, match: second, subscriber: third };
  }
  throw new HeraldError("not_found", "no such subscription resource");
}

/** Draft 07 filters on the matcher alone, whatever its type; draft 08 on both. */
function selects(r: Asked, s: MercureSubscription): boolean {
  if (r.match !== undefined && s.match !== r.match) return false;
  if (r.draft === 8 && r.matchType !== undefined && s.matchType !== r.matchType) return false;
  return r.subscriber === undefined || s.subscriber === r.subscriber;
}

export const mercureSubscriptionsRoutes = (presence: Presence, log: EventLog, auth: Authorizer, options: MercureOptions) => {
  const handle = async ({ request }: { request: Request }) => {
    const path = new URL(request.url).pathname;
    const asked = parsePath(path.slice(SUBSCRIPTIONS_PATH.length), request.headers.get("accept") ?? "");
    try {
      await auth.authorizeGranted(() => mercureToken(request, options.cookie), path);
    } catch (error) {
      throw challenged(error, options.resourceMetadata);
    }
    const last = log.lastId();
    const lastEventId = last === 0 ? EARLIEST : `${HERALD_ID_PREFIX}${last}`;
    await presence.settled();
    const found = presence
      .inOrder()
      .flatMap(subscriptionsOf)
      .filter((s) => describes(asked.draft, s) && selects(asked, s));
    let body: Record<string, unknown>;
    if (asked.subscriber === undefined) {
      body = collectionDocument(path, asked.draft, found, lastEventId);
    } else {
      const [one] = found;
      if (one === undefined) throw new HeraldError("not_found", "no such active subscription");
      body = subscriptionDocument(one, asked.draft, true);
      if (asked.draft === 7) body.lastEventID = lastEventId;
    }
    const hub = new URL(HUB_PATH, request.url).href;
    return new Response(JSON.stringify(body), {
      headers: {
        "Content-Type": asked.draft === 7 ? "application/ld+json" : "application/json",
        Link: `<${hub}>; rel="mercure"; last-event-id="${lastEventId.replace(/["\\]/g, "\\$&")}"; type="mercure"; content-type="application/json"`,
        // Who is subscribed changes without a new event: a cached copy is asked about again each time.
        "Cache-Control": "no-cache",
      },
    });
  };
  return new Elysia({ name: "mercure-subscriptions" })
    .get(SUBSCRIPTIONS_PATH, handle, { detail: { hide: true } })
    .get(`${SUBSCRIPTIONS_PATH}/*`, handle, { detail: { hide: true } });
};
