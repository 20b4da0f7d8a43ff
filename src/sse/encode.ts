/** The text/event-stream wire format: each event encoded once, as bytes shared by every stream. */
import { eventJson } from "../event-json";
import type { LoggedEvent } from "../log/event-log";

const encoder = new TextEncoder();
const LINE_BREAK = /\r\n|\r|\n/;

/** One `data:` line per line of a string, split on CR, LF and CRLF as the SSE grammar requires. */
function dataLines(text: string): string {
  let out = "";
  for (const line of text.split(LINE_BREAK)) out += `data: ${line}\n`;
  return out;
}

/** One event on the wire: the published data, or with `envelope` the event's JSON, which names its topic. */
export function eventFrame(e: LoggedEvent, envelope: boolean): string {
  // Types are validated at publish time and ids are numbers, so only data can hold line breaks.
  const head = e.event === null ? `id: ${e.id}\n` : `id: ${e.id}\nevent: ${e.event}\n`;
  if (envelope) return `${head}data: ${eventJson(e)}\n\n`;
  const isString = e.data.charCodeAt(0) === 0x22;
  return `${head}${isString ? dataLines(JSON.parse(e.data) as string) : `data: ${e.data}\n`}\n`;
}

export function encodeEvent(e: LoggedEvent, envelope: boolean): Uint8Array {
  return encoder.encode(eventFrame(e, envelope));
}

/** Encodes many events into one chunk: one write instead of one per event. */
export function encodeEvents(events: readonly LoggedEvent[], envelope: boolean): Uint8Array {
  let text = "";
  for (const e of events) text += eventFrame(e, envelope);
  return encoder.encode(text);
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
