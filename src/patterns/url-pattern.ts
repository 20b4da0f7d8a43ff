/**
 * WHATWG URL Patterns (draft 08's `urlpattern` matcher) through Bun's URLPattern. It compiles each component to
 * a backtracking regular expression, where two wildcards a topic can split between them already cost quadratic
 * time and every further one multiplies it by the topic's length; a pattern whose match could cost more is
 * refused when it is given, since a running match cannot be stopped.
 */
import { HeraldError, quote } from "../errors";

/**
 * Where relative patterns and relative topics resolve when the hub's URL is not configured: relative ones then
 * match relative ones. Never the request's URL, which a client would choose with its `Host` header.
 */
const UNKNOWN_HUB = "https://herald.invalid/.well-known/mercure";

/** The base URL patterns resolve against (draft 08: the hub's URL): `hubUrl` when it is an absolute URL. */
export function patternBase(hubUrl: string): string {
  return URL.canParse(hubUrl) && /^https?:$/.test(new URL(hubUrl).protocol) ? hubUrl : UNKNOWN_HUB;
}

/** Wildcards and named groups one component may hold where a topic can split between them. */
export const MAX_PATTERN_SPLITS = 2;
/** Optional parts (`?`) one pattern may hold: each doubles the ways a match is tried. */
export const MAX_PATTERN_OPTIONALS = 2;

const COMPONENTS = ["protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"] as const;
/** A named group matches up to its component's delimiter: groups on either side of one cannot trade characters. */
const DELIMITERS: Partial<Record<(typeof COMPONENTS)[number], string>> = { hostname: ".", pathname: "/" };
const NAME_CHAR = /[\p{ID_Continue}$]/u;

function tooCostly(text: string, why: string): HeraldError {
  return new HeraldError("invalid_selector", `the URL pattern ${quote(text)} is refused: ${why}`);
}

/**
 * Counts one component's variable parts: a wildcard may take any run of characters, a named group any run
 * between two delimiters; so the worst case of a component is its wildcards plus the named groups of its
 * busiest segment, and a custom regular expression or a repeated group has no bound that can be read off it.
 */
function checkComponent(text: string, component: string, delimiter: string | undefined): number {
  let wildcards = 0;
  let optionals = 0;
  let busiest = 0;
  let groups = 0;
  /** Whether the last token was a part a modifier applies to (a group, a name, a wildcard). */
  let afterPart = false;
  for (let i = 0; i < component.length; i++) {
    const char = component[i] as string;
    if (char === "\\") {
      i++;
      afterPart = false;
    } else if (char === "(") {
      throw tooCostly(text, "custom regular expressions are not allowed");
    } else if (char === "+" || (char === "*" && afterPart)) {
      throw tooCostly(text, "repeated groups are not allowed (use a wildcard)");
    } else if (char === "*") {
      wildcards++;
      afterPart = true;
    } else if (char === "?") {
      optionals++;
      afterPart = false;
    } else if (char === ":") {
      while (NAME_CHAR.test(component[i + 1] ?? "")) i++;
      busiest = Math.max(busiest, ++groups);
      afterPart = true;
    } else {
      if (char === delimiter) groups = 0;
      afterPart = char === "}";
    }
  }
  if (wildcards + busiest > MAX_PATTERN_SPLITS) {
    throw tooCostly(text, `a component may hold ${MAX_PATTERN_SPLITS} wildcards or named groups of one segment at most`);
  }
  return optionals;
}

/**
 * The test of a URL pattern, relative ones and relative topics resolved against `base` (see patternBase); a
 * 400 `invalid_selector` for one that cannot be parsed or could cost too much.
 */
export function compileUrlPattern(text: string, base = UNKNOWN_HUB): (topic: string) => boolean {
  let pattern: URLPattern;
  try {
    // Never `ignoreCase` (draft 08); hosts compare without case all the same, as URLs canonicalise them.
    pattern = new URLPattern(text, base);
  } catch {
    throw new HeraldError("invalid_selector", `${quote(text)} is not a valid URL pattern`);
  }
  if (pattern.hasRegExpGroups) throw tooCostly(text, "custom regular expressions are not allowed");
  let optionals = 0;
  for (const name of COMPONENTS) optionals += checkComponent(text, pattern[name], DELIMITERS[name]);
  if (optionals > MAX_PATTERN_OPTIONALS) throw tooCostly(text, `it may hold ${MAX_PATTERN_OPTIONALS} optional parts at most`);
  return (topic) => {
    try {
      // A topic that is no URL reference against the hub's matches no pattern (draft 08).
      return pattern.test(topic, base);
    } catch {
      return false;
    }
  };
}
