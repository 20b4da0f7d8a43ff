/**
 * A Mercure subscription's query: its topic matchers as the hub's selectors (draft 07's `topic`, draft 08's
 * `match` and `match_exact`, `*` for every topic) and the id it resumes from. The query is decoded as a strict
 * form: a value whose percent-encoded bytes are not UTF-8 is a 400, as a matcher with a control or format
 * character, an empty one, one too long, too many, or a `match*` name the hub does not know.
 */
import { HeraldError, quote } from "../../errors";
import { CONTROL_OR_FORMAT, MAX_TOPIC_STRING_BYTES, type Selector } from "../../names";
import { parseForm } from "./form";

/** Matchers one subscription may hold, as selectors on /stream. */
export const MAX_MATCHERS = 50;
/** Query parameters one request may carry, known or not. */
const MAX_PARAMETERS = 200;
/** `*` matches every topic, whatever the matcher type (draft 08 recognises it before the type). */
const EVERY_TOPIC: Selector = { text: "*", value: "", isPrefix: true };
/** The names that select the exact matcher; any other name in the `match` namespace is refused. */
const EXACT_NAMES = new Set(["match", "match_exact"]);

export interface MercureQuery {
  readonly selectors: Selector[];
  /** `last_event_id` (draft 08), else `lastEventID` (draft 07): the `Last-Event-ID` header goes before both. */
  readonly lastEventId?: string;
  /** The draft the subscriber speaks: 8 when it names a matcher with a `match*` parameter, else 7 (`topic=`). */
  readonly draft: 7 | 8;
}

/**
 * One matcher as a selector. Exact matching compares bytes: nothing is resolved against the hub's URL or
 * normalised. Draft 07 also lets a `topic` be an RFC 6570 URI template; until templates are expanded, one
 * matches the topic that is that same string, which draft 07 counts as a match too.
 */
function matcher(name: string, value: string): Selector {
  if (value === "") throw new HeraldError("invalid_selector", `${name} must not be empty`);
  if (Buffer.byteLength(value) > MAX_TOPIC_STRING_BYTES) {
    throw new HeraldError("invalid_selector", `${name} is longer than ${MAX_TOPIC_STRING_BYTES} bytes`);
  }
  if (CONTROL_OR_FORMAT.test(value)) {
    throw new HeraldError("invalid_selector", `${name} ${quote(value)} holds a control or format character`);
  }
  return value === "*" ? EVERY_TOPIC : { text: value, value, isPrefix: false };
}

/** A matcher of a type a subscription query names (`exact`), as a selector: for a stream another node shared. */
export function matcherOfType(type: string, value: string): Selector {
  if (type !== "exact") throw new HeraldError("invalid_selector", `the matcher type ${quote(type)} is not one this hub supports`);
  return matcher("match", value);
}

/** The subscription a query string (without `?`) asks for. */
export function parseSubscription(query: string): MercureQuery {
  const fields = parseForm(query, MAX_PARAMETERS, "invalid_request");
  const selectors = new Map<string, Selector>();
  let lastEventId: string | undefined;
  let lastEventID: string | undefined;
  let draft: 7 | 8 = 7;
  for (const [name, value] of fields) {
    if (name === "topic" || EXACT_NAMES.has(name)) {
      if (name !== "topic") draft = 8;
      if (selectors.size >= MAX_MATCHERS && !selectors.has(value)) {
        throw new HeraldError("invalid_selector", `at most ${MAX_MATCHERS} topic matchers are allowed`);
      }
      selectors.set(value, matcher(name, value));
    } else if (name.toLowerCase().startsWith("match")) {
      // Draft 08 reserves the whole namespace: a misspelt or unsupported matcher type fails loudly.
      throw new HeraldError("invalid_selector", `the matcher parameter ${quote(name)} is not one this hub supports`);
    } else if (name === "last_event_id") lastEventId ??= value;
    else if (name === "lastEventID") lastEventID ??= value;
  }
  if (selectors.size === 0) {
    throw new HeraldError("invalid_selector", "at least one topic matcher (topic, match or match_exact) is required");
  }
  const resume = lastEventId ?? lastEventID;
  return {
    selectors: [...selectors.values()],
    draft,
    ...(resume !== undefined && resume !== "" && { lastEventId: resume }),
  };
}
