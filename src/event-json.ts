/** The JSON form of a logged event, spliced from the stored JSON text of its data without re-parsing it. */
import type { LoggedEvent } from "./log/event-log";

export function eventJson(e: LoggedEvent): string {
  return `{"id":"${e.id}","topic":${JSON.stringify(e.topic)},"event":${JSON.stringify(e.event)},"data":${e.data},"time":"${isoTime(e.time)}"}`;
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
