/** The JSON form of a logged event, spliced from the stored JSON text of its data without re-parsing it. */
import { isUpdate, type LoggedEvent, topicsOf } from "./log/event-log";

/** Herald's own ids on the Mercure endpoint, for events no publisher gave an id. */
export const HERALD_ID_PREFIX = "urn:herald:";

/** The id a publisher and a Mercure subscriber know an event by: the publisher's, else Herald's own as a URN. */
export function mercureId(e: { readonly id: number; readonly publisherId?: string }): string {
  return e.publisherId ?? `${HERALD_ID_PREFIX}${e.id}`;
}

/**
 * `,"mercure":{...}` for an event that carries Mercure fields, "" for one that has none: a native event's JSON
 * stays what it always was, and the one that has them shows both its ids (the spec's "the JSON history shows both").
 */
function mercureJson(e: LoggedEvent): string {
  if (!isUpdate(e)) return "";
  const retry = e.retry ?? null;
  return `,"mercure":{"id":${JSON.stringify(mercureId(e))},"topics":${JSON.stringify(topicsOf(e))},"private":${e.private === true},"retry":${retry}}`;
}

export function eventJson(e: LoggedEvent): string {
  return `{"id":"${e.id}","topic":${JSON.stringify(e.topic)},"event":${JSON.stringify(e.event)},"data":${e.data},"time":"${isoTime(e.time)}"${mercureJson(e)}}`;
}

let lastMs = Number.NaN;
let lastIso = "";

/** ISO 8601 for a commit time; the events of one commit share it, so it is formatted once per commit. */
export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
