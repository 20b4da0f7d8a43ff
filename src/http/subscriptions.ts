/** GET /subscriptions: the open streams that receive some topics, on every node, a page at a time. */
import { Elysia } from "elysia";
import type { Authorizer } from "../auth/authorizer";
import { HeraldError, quote } from "../errors";
import { isoTime } from "../event-json";
import { isPresenceId, type Presence, type PresenceEntry } from "../hub/presence";
import { bearerToken } from "./credentials";
import { ErrorResponse, SubscriptionList } from "./models";
import { Query } from "./query";

function record(e: PresenceEntry) {
  return {
    id: e.id,
    selectors: e.selectors.map((s) => s.text),
    subject: e.subject,
    payload: e.payload ?? null,
    since: isoTime(e.since),
  };
}

/** The page cursor: an id this hub handed out (the subscription it names may have closed since). */
function cursor(query: Query): string {
  const after = query.one("after");
  if (after === undefined) return "";
  if (!isPresenceId(after)) throw new HeraldError("invalid_request", `after must be a subscription id, not ${quote(after)}`);
  return after;
}

export const subscriptionRoutes = (presence: Presence, auth: Authorizer) =>
  new Elysia({ name: "subscriptions" }).get(
    "/subscriptions",
    async ({ request }) => {
      const query = new Query(request);
      const selectors = query.selectors();
      const after = cursor(query);
      const limit = query.integer("limit", 1, 1000, 100);
      // Who listens to some topics is as much theirs as the events: the same rights as reading them.
      await auth.authorizeRead(() => bearerToken(request), selectors);
      await presence.settled();
      const { entries, count } = presence.page({ selectors, after, limit });
      const last = entries[entries.length - 1];
      return {
        subscriptions: entries.map(record),
        count,
        next: entries.length === limit && last ? last.id : null,
      };
    },
    {
      response: { 200: SubscriptionList, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse },
      detail: {
        operationId: "listSubscriptions",
        summary: "List the open streams that receive some topics",
        description:
          "The streams (on `/stream` and on the Mercure endpoint, on every node) whose selectors can match a topic the given selectors match, in id order after `after`; `count` is every match, on every page; `next` is the last id of a full page (pass it as `after`), null on a partial one. Reading it needs the rights to read those topics. Presence is live state: nothing here is written to the log.",
        tags: ["presence"],
      },
    },
  );
