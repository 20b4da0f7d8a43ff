/** The JSON form of a logged event, spliced from the stored JSON text of its data without re-parsing it. */
import type { LoggedEvent } from "./log/event-log";

export function eventJson(e: LoggedEvent): string {
  return `{"id":"${e.id}","topic":${JSON.stringify(e.topic)},"event":${JSON.stringify(e.event)},"data":${e.data},"time":"${new Date(e.time).toISOString()}"}`;
}
