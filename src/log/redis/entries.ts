/** Stream entries of the shared log as events. */
import type { LoggedEvent } from "../event-log";
import type { Reply } from "./connection";

/** `<event id>-0` → the event id. */
export function eventId(entryId: string): number {
  return Number.parseInt(entryId, 10);
}

export function entryId(eventId: number): string {
  return `${eventId}-0`;
}

/** An entry as XREAD returns it: `[id, [field, value, ...]]`, fields `t` topic, `e` type, `d` data, `m` time. */
export function entryEvent(entry: Reply): LoggedEvent {
  const [id, fields] = entry as [string, string[]];
  const value: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) value[fields[i] as string] = fields[i + 1] as string;
  return { id: eventId(id), topic: value.t ?? "", event: value.e || null, data: value.d ?? "", time: Number(value.m) };
}

/** The entries of one stream in an XREAD reply: a map under RESP3, `[[key, entries]]` under RESP2. */
export function streamEntries(reply: unknown, key: string): Reply[] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) return ((reply as [string, Reply[]][]).find(([k]) => k === key)?.[1] ?? []) as Reply[];
  return ((reply as Record<string, Reply[]>)[key] ?? []) as Reply[];
}

/** Events as read.lua returns them after its cursor: id, topic, type, time, data, ... */
export function flatEvents(flat: readonly Reply[], from: number): LoggedEvent[] {
  const events: LoggedEvent[] = [];
  for (let i = from; i < flat.length; i += 5) {
    events.push({
      id: Number(flat[i]),
      topic: String(flat[i + 1]),
      event: (flat[i + 2] as string) || null,
      time: Number(flat[i + 3]),
      data: String(flat[i + 4]),
    });
  }
  return events;
}
