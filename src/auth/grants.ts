/** What a token allows: publish and subscribe selectors, and the coverage rule between selectors. */
import { parseSelectorOfAnyTopic, type Selector, selects } from "../names";

export interface Grants {
  readonly publish: readonly Selector[];
  readonly subscribe: readonly Selector[];
  /** Draft 08's subscribe authorization details, in token order: a subscription's payload is the first one's that covers it. */
  readonly details?: readonly SubscribeDetail[];
}

export interface SubscribeDetail {
  readonly topics: readonly Selector[];
  /** Any JSON value; undefined when the detail has none. */
  readonly payload: unknown;
}

export const NO_GRANTS: Grants = { publish: [], subscribe: [] };

/**
 * Whether `granted` covers every topic `requested` can match: `orders.*` covers `orders.1` and
 * `orders.eu.*`; `*` covers everything; `orders.eu.*` does not cover `orders.*`. A pattern covers the topics
 * it matches and the same pattern; a pattern is covered by a prefix that starts every topic it can match.
 */
export function covers(granted: Selector, requested: Selector): boolean {
  if (granted.pattern !== undefined) {
    if (requested.pattern === undefined) return !requested.isPrefix && selects(granted, requested.value);
    return requested.pattern.kind === granted.pattern.kind && requested.text === granted.text;
  }
  if (!granted.isPrefix) return !requested.isPrefix && granted.value === requested.value;
  return requested.value.startsWith(granted.value);
}

export function coveredBy(grants: readonly Selector[], requested: Selector): boolean {
  return grants.some((g) => covers(g, requested));
}

/** Parses the `herald` claim; anything but lists of selectors of topics (either API's) is refused. */
export function grantsFromClaim(claim: unknown): Grants | null {
  if (claim === undefined) return NO_GRANTS;
  if (typeof claim !== "object" || claim === null) return null;
  const { publish = [], subscribe = [] } = claim as Record<string, unknown>;
  const list = (value: unknown): Selector[] | null => {
    if (!Array.isArray(value) || !value.every((s) => typeof s === "string")) return null;
    try {
      return value.map(parseSelectorOfAnyTopic);
    } catch {
      return null;
    }
  };
  const p = list(publish);
  const s = list(subscribe);
  return p && s ? { publish: p, subscribe: s } : null;
}
