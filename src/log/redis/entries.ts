/** Stream entries of the shared log as events. */
import { distinctAlternates, type EventDraft, isUpdate, type LoggedEvent, type UpdateFields } from "../event-log";
import type { Reply } from "./connection";

/** `<event id>-0` → the event id. */
export function eventId(entryId: string): number {
  return Number.parseInt(entryId, 10);
}

export function entryId(eventId: number): string {
  return `${eventId}-0`;
}

/** An update's fields as the scripts store them (`x`): "" for a native event, which has none. */
export function encodeUpdate(d: EventDraft): string {
  if (!isUpdate(d)) return "";
  const update: { a?: readonly string[]; p?: true; i?: string; r?: number } = {};
  const alternates = distinctAlternates(d);
  if (alternates) update.a = alternates;
  if (d.private === true) update.p = true;
  if (d.publisherId !== undefined) update.i = d.publisherId;
  if (d.retry !== undefined) update.r = d.retry;
  return JSON.stringify(update);
}

/** An event with the update fields `encodeUpdate` wrote; a native event comes back as it is. */
function withUpdate(event: LoggedEvent, encoded: string | undefined): LoggedEvent {
  if (!encoded) return event;
  const { a, p, i, r } = JSON.parse(encoded) as { a?: string[]; p?: boolean; i?: string; r?: number };
  const fields: UpdateFields = {
    ...(a !== undefined && { alternates: a }),
    ...(p === true && { private: true }),
    ...(i !== undefined && { publisherId: i }),
    ...(r !== undefined && { retry: r }),
  };
  return { ...event, ...fields };
}

/** An entry as XREAD returns it: `[id, [field, value, ...]]`, fields `t` topic, `e` type, `d` data, `m` time, `x` update. */
export function entryEvent(entry: Reply): LoggedEvent {
  const [id, fields] = entry as [string, string[]];
  const value: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) value[fields[i] as string] = fields[i + 1] as string;
  const event = { id: eventId(id), topic: value.t ?? "", event: value.e || null, data: value.d ?? "", time: Number(value.m) };
  return withUpdate(event, value.x);
}

/** The entries of one stream in an XREAD reply: a map under RESP3, `[[key, entries]]` under RESP2. */
export function streamEntries(reply: unknown, key: string): Reply[] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) return ((reply as [string, Reply[]][]).find(([k]) => k === key)?.[1] ?? []) as Reply[];
  return ((reply as Record<string, Reply[]>)[key] ?? []) as Reply[];
}

/** Events as read.lua returns them after its cursor: id, topic, type, time, data, update, ... */
export function flatEvents(flat: readonly Reply[], from: number): LoggedEvent[] {
  const events: LoggedEvent[] = [];
  for (let i = from; i < flat.length; i += 6) {
    const event = {
      id: Number(flat[i]),
      topic: String(flat[i + 1]),
      event: (flat[i + 2] as string) || null,
      time: Number(flat[i + 3]),
      data: String(flat[i + 4]),
    };
    events.push(withUpdate(event, flat[i + 5] as string));
  }
  return events;
}
