/**
 * Mercure's active subscriptions as documents, in both drafts' forms: draft 07's JSON-LD (topic
 * `/.well-known/mercure/subscriptions/{topic}/{subscriber}`, type `Subscription`) and draft 08's JSON (topic
 * `/.well-known/mercure/subscriptions/{match_type}/{match}/{subscriber}`, type `subscription`). One subscription
 * is one matcher of one connection: a stream on three matchers is three subscriptions of one subscriber.
 */
import type { PresenceEntry } from "../../hub/presence";
import { HUB_PATH } from "./update";

export type Draft = 7 | 8;

export const SUBSCRIPTIONS_PATH = `${HUB_PATH}/subscriptions`;
/** Draft 07's JSON-LD context. */
const CONTEXT = "https://mercure.rocks/";
/** The matcher types draft 08 defines: a filter on another is refused, one of these may just find nothing. */
export const MATCHER_TYPES: readonly string[] = ["exact", "urlpattern"];

export interface MercureSubscription {
  /** `exact`, `urlpattern` (draft 08) or `template` (draft 07's URI templates). */
  readonly matchType: string;
  readonly match: string;
  /** The connection's presence id (a URN of a UUID): hub-made, never the client's word. */
  readonly subscriber: string;
  readonly payload: unknown;
}

/** RFC 6570's simple expansion of one value: everything but unreserved characters percent-encoded, once. */
export function expand(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Whether a draft's documents can say what the subscription's matcher is: draft 07's name a topic selector (a
 * string or a URI template), draft 08's a matcher type it defines (`exact` or `urlpattern`). A subscription is
 * announced and listed only in the forms that can.
 */
export function describes(draft: Draft, s: MercureSubscription): boolean {
  return s.matchType === "exact" || s.matchType === (draft === 7 ? "template" : "urlpattern");
}

/** The subscriptions of an open stream: one per matcher, none for a native stream. */
export function subscriptionsOf(entry: PresenceEntry): MercureSubscription[] {
  const types = entry.matchTypes;
  if (types === undefined) return [];
  return entry.selectors.map((s, i) => ({
    matchType: types[i] ?? "exact",
    match: s.text,
    subscriber: entry.id,
    payload: entry.payloads?.[i] ?? entry.payload,
  }));
}

/** A subscription's topic: the topic of its events, its `id`, and the URL of its document. */
export function subscriptionTopic(s: MercureSubscription, draft: Draft): string {
  const matcher = draft === 7 ? expand(s.match) : `${expand(s.matchType)}/${expand(s.match)}`;
  return `${SUBSCRIPTIONS_PATH}/${matcher}/${expand(s.subscriber)}`;
}

/** A subscription's document; `context` adds draft 07's `@context`, which a collection names once for all. */
export function subscriptionDocument(
  s: MercureSubscription,
  draft: Draft,
  active: boolean,
  context = true,
): Record<string, unknown> {
  const payload = s.payload === null || s.payload === undefined ? {} : { payload: s.payload };
  const id = subscriptionTopic(s, draft);
  if (draft === 8) {
    return { id, type: "subscription", match_type: s.matchType, match: s.match, subscriber: s.subscriber, active, ...payload };
  }
  return {
    ...(context && { "@context": CONTEXT }),
    id,
    type: "Subscription",
    topic: s.match,
    subscriber: s.subscriber,
    active,
    ...payload,
  };
}

/** A collection's document: draft 07 names the last event in it, draft 08 in the `Link` header. */
export function collectionDocument(
  id: string,
  draft: Draft,
  subscriptions: readonly MercureSubscription[],
  lastEventId: string,
): Record<string, unknown> {
  const documents = subscriptions.map((s) => subscriptionDocument(s, draft, true, false));
  if (draft === 8) return { id, type: "subscriptions", subscriptions: documents };
  return { "@context": CONTEXT, id, type: "Subscriptions", lastEventID: lastEventId, subscriptions: documents };
}
