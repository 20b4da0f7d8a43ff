/**
 * A Mercure publish request's fields as an event of the log, with every refusal the drafts name: a topic that
 * is `*` or addresses the hub's own namespace, control and format characters, reserved ids and types, a retry
 * that is not digits, and too many or too long fields.
 */
import { type ErrorCode, HeraldError, quote } from "../../errors";
import { HERALD_ID_PREFIX } from "../../event-json";
import type { EventDraft } from "../../log/event-log";
import { CONTROL_OR_FORMAT, MAX_TOPIC_STRING_BYTES } from "../../names";

/** The hub's path: a topic whose path resolves into it would forge what the hub itself publishes. */
export const HUB_PATH = "/.well-known/mercure";
/** Limits of one update (the drafts leave them to the hub, and 413 past them). */
export const MAX_TOPICS = 50;
export const MAX_TOPIC_BYTES = MAX_TOPIC_STRING_BYTES;
export const MAX_ID_BYTES = 2048;
export const MAX_TYPE_BYTES = 256;
export const MAX_RETRY_DIGITS = 10;
/** Form fields one request may carry, known or not. */
export const MAX_FIELDS = 200;

const DIGITS = /^[0-9]+$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

function bytes(text: string): number {
  return Buffer.byteLength(text);
}

function checkText(value: string, field: string, maxBytes: number, code: ErrorCode): string {
  if (bytes(value) > maxBytes) throw new HeraldError("payload_too_large", `${field} is longer than ${maxBytes} bytes`);
  if (CONTROL_OR_FORMAT.test(value)) throw new HeraldError(code, `${field} ${quote(value)} holds a control or format character`);
  return value;
}

/**
 * Whether `topic`, resolved against the hub's URL, has the hub's path or one under it: dot segments removed and
 * unreserved characters percent-decoded first, so `/.well-known/%6Dercure/x` and `/.well-known/mercure/../mercure/x`
 * are caught too. A topic that is no URL reference, or whose path is opaque, names no hub path.
 */
export function addressesHub(topic: string, hubUrl: URL): boolean {
  let url: URL;
  try {
    url = new URL(topic, hubUrl);
  } catch {
    return false;
  }
  // An opaque path (`urn:.well-known/mercure`) is no hierarchical path: it never is the hub's path.
  if (!url.pathname.startsWith("/")) return false;
  const decoded = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (encoded, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : encoded;
  });
  // Decoding can make new dot segments (`%2E%2E`); resolving again removes them. Resolved as a path, never as
  // a reference: `//x/.well-known/mercure` is a path on the hub, not one on the host x.
  const path = new URL(`http://hub${decoded}`).pathname;
  return path === hubUrl.pathname || path.startsWith(`${hubUrl.pathname}/`);
}

function checkTopic(topic: string, hubUrl: URL): string {
  checkText(topic, "topic", MAX_TOPIC_BYTES, "invalid_topic");
  if (topic === "") throw new HeraldError("invalid_topic", "a topic must not be empty");
  if (topic === "*") throw new HeraldError("invalid_topic", 'the topic "*" is reserved for the wildcard matcher');
  if (addressesHub(topic, hubUrl)) {
    throw new HeraldError("invalid_topic", `topic ${quote(topic)} addresses the hub's own namespace (${HUB_PATH})`);
  }
  return topic;
}

function checkId(id: string): string {
  checkText(id, "id", MAX_ID_BYTES, "invalid_event_id");
  if (id.startsWith("#")) throw new HeraldError("invalid_event_id", 'an id must not start with "#"');
  if (id === "earliest") throw new HeraldError("invalid_event_id", 'the id "earliest" is reserved');
  // Herald's own ids: a publisher may not take one, or a resume could not tell them apart.
  if (id.startsWith(HERALD_ID_PREFIX)) {
    throw new HeraldError("invalid_event_id", `ids starting with "${HERALD_ID_PREFIX}" are the hub's own`);
  }
  return id;
}

function checkType(type: string): string {
  checkText(type, "type", MAX_TYPE_BYTES, "invalid_event_type");
  // `mercure` marks the hub's own events; `herald.` types are the native API's notices (`herald.gap`).
  if (type === "mercure" || type.startsWith("herald.")) {
    throw new HeraldError("reserved_event_type", `the type ${quote(type)} is reserved for the hub`);
  }
  return type;
}

function checkRetry(retry: string): number {
  if (!DIGITS.test(retry)) throw new HeraldError("invalid_request", `retry must be ASCII digits, not ${quote(retry)}`);
  if (retry.length > MAX_RETRY_DIGITS)
    throw new HeraldError("payload_too_large", `retry has more than ${MAX_RETRY_DIGITS} digits`);
  return Number(retry);
}

/** The update a publish request's form fields describe; unknown fields are ignored, a repeated one counts once (the first). */
export function updateDraft(fields: ReadonlyArray<readonly [string, string]>, hubUrl: URL, maxEventBytes: number): EventDraft {
  const topics: string[] = [];
  const first = new Map<string, string>();
  for (const [name, value] of fields) {
    if (name === "topic") {
      if (topics.length >= MAX_TOPICS) throw new HeraldError("payload_too_large", `an update has at most ${MAX_TOPICS} topics`);
      topics.push(checkTopic(value, hubUrl));
    } else if (!first.has(name)) first.set(name, value);
  }
  const [topic, ...alternates] = topics;
  if (topic === undefined) throw new HeraldError("invalid_topic", "at least one topic is required");
  const data = first.get("data") ?? "";
  if (bytes(data) > maxEventBytes) throw new HeraldError("payload_too_large", `data is larger than ${maxEventBytes} bytes`);
  const id = first.get("id");
  const type = first.get("type");
  const retry = first.get("retry");
  return {
    topic,
    ...(alternates.length > 0 && { alternates }),
    // An empty type is no type: the browser's default `message`.
    event: type === undefined || type === "" ? null : checkType(type),
    data: JSON.stringify(data),
    // The field's presence makes an update private, whatever its value.
    ...(first.has("private") && { private: true }),
    ...(id !== undefined && id !== "" && { publisherId: checkId(id) }),
    ...(retry !== undefined && { retry: checkRetry(retry) }),
  };
}
