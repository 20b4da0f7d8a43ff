/**
 * A Mercure subscription's query: its topic matchers as the hub's selectors (draft 07's `topic`, exact or a URI
 * template; draft 08's `match` and `match_exact`, and `match_urlpattern`; `*` for every topic) and the id it
 * resumes from. The query is decoded as a strict
 * form: a value whose percent-encoded bytes are not UTF-8 is a 400, as a matcher with a control or format
 * character, an empty one, one too long, too many, a pattern that cannot be parsed or could cost too much to
 * match, or a `match*` name the hub does not know.
 */
import { HeraldError, quote } from "../../errors";
import { CONTROL_OR_FORMAT, MAX_TOPIC_STRING_BYTES, type Selector, selectorKey } from "../../names";
import { templateSelector, urlPatternSelector } from "../../patterns/selectors";
import { parseForm } from "./form";

/** Matchers one subscription may hold, as selectors on /stream. */
export const MAX_MATCHERS = 50;
/** Query parameters one request may carry, known or not. */
const MAX_PARAMETERS = 200;
/** `*` matches every topic, whatever the matcher type (draft 08 recognises it before the type). */
const EVERY_TOPIC: Selector = { text: "*", value: "", isPrefix: true };
const exact = (value: string): Selector => ({ text: value, value, isPrefix: false });
/** The matcher each parameter name selects; any other name in the `match` namespace is refused. */
const MATCHERS: Record<string, (value: string, base: string) => Selector> = {
  topic: templateSelector,
  match: exact,
  match_exact: exact,
  match_urlpattern: urlPatternSelector,
};

export interface MercureQuery {
  readonly selectors: Selector[];
  /** `last_event_id` (draft 08), else `lastEventID` (draft 07): the `Last-Event-ID` header goes before both. */
  readonly lastEventId?: string;
  /** The draft the subscriber speaks: 8 when it names a matcher with a `match*` parameter, else 7 (`topic=`). */
  readonly draft: 7 | 8;
}

/**
 * One matcher as a selector. Exact matching compares bytes: nothing is resolved against the hub's URL or
 * normalised.
 */
function matcher(name: string, value: string, base: string): Selector {
  if (value === "") throw new HeraldError("invalid_selector", `${name} must not be empty`);
  if (Buffer.byteLength(value) > MAX_TOPIC_STRING_BYTES) {
    throw new HeraldError("invalid_selector", `${name} is longer than ${MAX_TOPIC_STRING_BYTES} bytes`);
  }
  if (CONTROL_OR_FORMAT.test(value)) {
    throw new HeraldError("invalid_selector", `${name} ${quote(value)} holds a control or format character`);
  }
  return value === "*" ? EVERY_TOPIC : (MATCHERS[name] as (value: string, base: string) => Selector)(value, base);
}

/** The parameter that names each matcher type: draft 08's two, and draft 07's URI templates (`topic`). */
const PARAMETER_OF_TYPE: Record<string, string> = { exact: "match", urlpattern: "match_urlpattern", template: "topic" };

/** The matcher type of a subscription's selector: `exact` (`*` too), `urlpattern` or `template`. */
export function matchTypeOf(selector: Selector): string {
  return selector.pattern?.kind ?? "exact";
}

/**
 * A matcher of a type matchTypeOf names, as a selector: for a stream another node shared. URL patterns
 * resolve against `base` (see patternBase).
 */
export function matcherOfType(type: string, value: string, base: string): Selector {
  if (!Object.hasOwn(PARAMETER_OF_TYPE, type)) {
    throw new HeraldError("invalid_selector", `the matcher type ${quote(type)} is not one this hub supports`);
  }
  return matcher(PARAMETER_OF_TYPE[type] as string, value, base);
}

/** The subscription a query string (without `?`) asks for; URL patterns resolve against `base` (see patternBase). */
export function parseSubscription(query: string, base: string): MercureQuery {
  const fields = parseForm(query, MAX_PARAMETERS, "invalid_request");
  const selectors = new Map<string, Selector>();
  let lastEventId: string | undefined;
  let lastEventID: string | undefined;
  let draft: 7 | 8 = 7;
  for (const [name, value] of fields) {
    if (Object.hasOwn(MATCHERS, name)) {
      if (name !== "topic") draft = 8;
      const selector = matcher(name, value, base);
      const key = selectorKey(selector);
      if (selectors.has(key)) continue;
      if (selectors.size >= MAX_MATCHERS) {
        throw new HeraldError("invalid_selector", `at most ${MAX_MATCHERS} topic matchers are allowed`);
      }
      selectors.set(key, selector);
    } else if (name.toLowerCase().startsWith("match")) {
      // Draft 08 reserves the whole namespace: a misspelt or unsupported matcher type fails loudly.
      throw new HeraldError("invalid_selector", `the matcher parameter ${quote(name)} is not one this hub supports`);
    } else if (name === "last_event_id") lastEventId ??= value;
    else if (name === "lastEventID") lastEventID ??= value;
  }
  if (selectors.size === 0) {
    throw new HeraldError(
      "invalid_selector",
      "at least one topic matcher (topic, match, match_exact or match_urlpattern) is required",
    );
  }
  const resume = lastEventId ?? lastEventID;
  return {
    selectors: [...selectors.values()],
    draft,
    ...(resume !== undefined && resume !== "" && { lastEventId: resume }),
  };
}
