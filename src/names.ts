/** The hub's names: topics, selectors, event types and event ids, and how selectors match. */
import { HeraldError, quote } from "./errors";

export const TOPIC_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$";
export const EVENT_TYPE_PATTERN = "^[A-Za-z0-9._:-]{1,64}$";
export const SELECTOR_PATTERN = "^(\\*|[A-Za-z0-9][A-Za-z0-9._:-]{0,199}\\*?)$";
const RESERVED_TYPE_PREFIX = "herald.";
const MAX_EVENT_ID = 2n ** 63n - 1n;

const topicRe = new RegExp(TOPIC_PATTERN);
const typeRe = new RegExp(EVENT_TYPE_PATTERN);
const selectorRe = new RegExp(SELECTOR_PATTERN);

export function checkTopic(topic: string): string {
  if (!topicRe.test(topic)) {
    throw new HeraldError("invalid_topic", `topic ${quote(topic)} must match ${TOPIC_PATTERN}`);
  }
  return topic;
}

/** Longest topic a Mercure update may have, in UTF-8 bytes; Herald's own names are far shorter. */
export const MAX_TOPIC_STRING_BYTES = 2048;
/** C0 and C1 controls, DEL, and Unicode format characters (Cf): invisible, and a way to spoof identifiers. */
export const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}]/u;

/**
 * A topic of either API, where one the hub listed comes back (`after` on /topics): a Herald name, or a Mercure
 * topic string (not empty, at most 2048 bytes, no control or format character).
 */
export function checkAnyTopic(topic: string): string {
  if (!isAnyTopic(topic)) {
    throw new HeraldError("invalid_topic", `topic ${quote(topic)} is neither a topic name nor a Mercure topic`);
  }
  return topic;
}

function isAnyTopic(topic: string): boolean {
  return topic !== "" && Buffer.byteLength(topic) <= MAX_TOPIC_STRING_BYTES && !CONTROL_OR_FORMAT.test(topic);
}

/** Validates a publishable event type; types under `herald.` belong to the hub itself. */
export function checkEventType(type: string | null | undefined): string | null {
  if (type === undefined || type === null) return null;
  if (!typeRe.test(type)) {
    throw new HeraldError("invalid_event_type", `event ${quote(type)} must match ${EVENT_TYPE_PATTERN}`);
  }
  if (type.startsWith(RESERVED_TYPE_PREFIX)) {
    throw new HeraldError("reserved_event_type", `event types starting with "${RESERVED_TYPE_PREFIX}" are reserved`);
  }
  return type;
}

/** A topic, a prefix ending in `*`, or a pattern (a URI template or a URL pattern). */
export interface Selector {
  readonly text: string;
  /** The exact topic, the prefix before `*`, or what every topic a pattern matches starts with ("" if anything). */
  readonly value: string;
  readonly isPrefix: boolean;
  /** A pattern's own test, beside its literal prefix `value` (with `isPrefix`): compiled once, when it is read. */
  readonly pattern?: TopicPattern;
}

export interface TopicPattern {
  readonly kind: "template" | "urlpattern";
  /** Whether a topic that starts with the selector's `value` matches. */
  readonly test: (topic: string) => boolean;
}

/** What tells selectors apart: the same string is one selector as an exact topic and another as a pattern. */
export function selectorKey(selector: Selector): string {
  return selector.pattern === undefined ? selector.text : `${selector.pattern.kind}\u0000${selector.text}`;
}

/** Whether `selector` matches `topic`. */
export function selects(selector: Selector, topic: string): boolean {
  if (!selector.isPrefix) return topic === selector.value;
  return topic.startsWith(selector.value) && (selector.pattern === undefined || selector.pattern.test(topic));
}

/** What `text` selects, unchecked: `*` every topic, a text ending in `*` every topic starting with what precedes it, else that topic. */
export function selectorOf(text: string): Selector {
  const isPrefix = text.endsWith("*");
  return { text, value: isPrefix ? text.slice(0, -1) : text, isPrefix };
}

export function parseSelector(text: string): Selector {
  if (!selectorRe.test(text)) {
    throw new HeraldError("invalid_selector", `selector ${quote(text)} must be a topic or a topic prefix ending in "*"`);
  }
  return selectorOf(text);
}

/** A topic name or a Mercure topic (a URL, say: not empty, 2048 bytes at most, no control or format character), or a prefix of one. */
export function isSelectorOfAnyTopic(text: string): boolean {
  return selectorRe.test(text) || isAnyTopic(text);
}

/**
 * A selector of either API's topics, where a grant is written (claims, public topics): Herald's selectors keep
 * working on Mercure topics, as `https://example.com/books/*`.
 */
export function parseSelectorOfAnyTopic(text: string): Selector {
  if (!isSelectorOfAnyTopic(text)) {
    throw new HeraldError(
      "invalid_selector",
      `selector ${quote(text)} must be a topic, a Mercure topic or a prefix of one ending in "*"`,
    );
  }
  return selectorOf(text);
}

export function parseSelectors(texts: readonly string[], max = 50): Selector[] {
  if (texts.length === 0) throw new HeraldError("invalid_selector", "at least one topic selector is required");
  if (texts.length > max) throw new HeraldError("invalid_selector", `at most ${max} topic selectors are allowed`);
  const unique = [...new Set(texts)];
  return unique.map(parseSelector);
}

/** An event id a client gave (`Last-Event-ID`, `after`). */
export interface ClientEventId {
  /** For comparing with the log's ids: one past 2^53 cannot exist in this log, so it counts as beyond the newest. */
  readonly value: number;
  /** The id in decimal, exactly (never rounded), for telling it back to the client. */
  readonly text: string;
}

/** Parses a client-supplied event id: a non-negative decimal integer of 64 bits at most. */
export function parseEventId(text: string, field: string): ClientEventId {
  // Leading zeros add nothing: 0001 is 1, however many there are.
  const digits = /^\d+$/.test(text) ? text.replace(/^0+(?=\d)/, "") : "";
  if (!/^\d{1,19}$/.test(digits) || BigInt(digits) > MAX_EVENT_ID) {
    throw new HeraldError("invalid_event_id", `${field} must be a non-negative decimal event id, not ${quote(text)}`);
  }
  const exact = BigInt(digits);
  return { value: exact > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : Number(exact), text: exact.toString() };
}
