/** The text/event-stream wire format: each event encoded once, as bytes shared by every stream. */
import { eventJson, HERALD_ID_PREFIX, mercureId } from "../event-json";
import type { LoggedEvent } from "../log/event-log";

const encoder = new TextEncoder();
const LINE_BREAK = /\r\n|\r|\n/;

/** One `data:` line per line of a string, split on CR, LF and CRLF as the SSE grammar requires. */
function dataLines(text: string): string {
  let out = "";
  for (const line of text.split(LINE_BREAK)) out += `data: ${line}\n`;
  return out;
}

/**
 * How a stream writes an event: `data` is the published data under the Herald id, `envelope` the event's JSON
 * (which names its topic), `mercure` the data under the Mercure id, with the update's `retry`.
 */
export type WireForm = "data" | "envelope" | "mercure";

/** One event on the wire, in the stream's form. */
export function eventFrame(e: LoggedEvent, form: WireForm): string {
  // Types and publishers' ids are refused at publish time if they hold a line break; ids are numbers. One
  // function, one string built: a replay runs this for every event, and runs it cold in a process just started.
  let frame = form === "mercure" ? `id: ${mercureId(e)}\n` : `id: ${e.id}\n`;
  if (e.event !== null) frame += `event: ${e.event}\n`;
  if (form === "mercure" && e.retry !== undefined) frame += `retry: ${e.retry}\n`;
  if (form === "envelope") return `${frame}data: ${eventJson(e)}\n\n`;
  if (e.data.charCodeAt(0) === 0x22) return `${frame}${dataLines(JSON.parse(e.data) as string)}\n`;
  return `${frame}data: ${e.data}\n\n`;
}

export function encodeEvent(e: LoggedEvent, form: WireForm): Uint8Array {
  return encoder.encode(eventFrame(e, form));
}

/**
 * Encodes many events into one chunk: one write instead of one per event. The pieces are joined once, the ids
 * turned to text by the join: a replay in a process just started runs this cold, where a string built per event
 * costs a third more. An event of the data form with no type and data that is no string is framed right here.
 */
export function encodeEvents(events: readonly LoggedEvent[], form: WireForm): Uint8Array {
  const parts: (string | number)[] = [];
  for (const e of events) {
    if (form === "data" && e.event === null && e.data.charCodeAt(0) !== 0x22)
      parts.push("id: ", e.id, "\ndata: ", e.data, "\n\n");
    else parts.push(eventFrame(e, form));
  }
  return encoder.encode(parts.join(""));
}

/**
 * A notice of live state, not an event of the log (Mercure's subscription events), under an id that is the
 * stream's position in the log: a client that reconnects with it resumes exactly where the stream was. An id the
 * log did not know would be taken for an unknown one, and the replay would start at the oldest event. Position 0
 * (the log was empty) is Mercure's `earliest`.
 */
export function noticeFrame(position: number, form: WireForm, event: string, data: string): Uint8Array {
  const id = form !== "mercure" ? String(position) : position === 0 ? "earliest" : `${HERALD_ID_PREFIX}${position}`;
  return encoder.encode(`id: ${id}\nevent: ${event}\ndata: ${data}\n\n`);
}

/** The opening bytes: the reconnection delay and a comment, so the client's `open` fires at once. */
export function preamble(retryMs: number): Uint8Array {
  return encoder.encode(`retry: ${retryMs}\n: herald\n\n`);
}

export const heartbeat: Uint8Array = encoder.encode(": heartbeat\n\n");

/** The `herald.gap` notice: events the client asked for no longer exist (or never did). */
export function gapNotice(lastEventId: number | string, prunedThrough: number | null): Uint8Array {
  const data = JSON.stringify({
    lastEventId: String(lastEventId),
    prunedThrough: prunedThrough === null ? null : String(prunedThrough),
  });
  return encoder.encode(`event: herald.gap\ndata: ${data}\n\n`);
}

export function joinChunks(chunks: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const c of chunks) size += c.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
