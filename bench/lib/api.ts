/**
 * The two faces of Herald a bench run drives: the native API, and the Mercure endpoint (a form POST to
 * publish, a `match=` subscription), each with the bench's event on the bench topic.
 */
import { postRequest, type RequestFactory, type Target } from "./http-client";
import { eventData, publishBody, TOPIC } from "./payload";

export type Api = "native" | "mercure";

export const MERCURE_PATH = "/.well-known/mercure";
const FORM = "application/x-www-form-urlencoded";

/** Where a stream of the bench topic subscribes. */
export function streamPath(api: Api): string {
  return api === "native" ? `/stream?topic=${TOPIC}` : `${MERCURE_PATH}?match=${TOPIC}`;
}

/** One publish of the bench event, stamped with its due time: the same data on either face. */
export function publishRequest(api: Api, target: Target): RequestFactory {
  if (api === "native") return (t) => postRequest(target, `/topics/${TOPIC}/events`, publishBody(t));
  return (t) => postRequest(target, MERCURE_PATH, `topic=${TOPIC}&data=${encodeURIComponent(eventData(t))}`, FORM);
}
