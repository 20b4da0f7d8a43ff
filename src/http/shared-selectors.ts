/** The selectors of a stream another node of a cluster shared, read as the API that opened it reads them. */
import type { SharedSubscription } from "../log/presence-exchange";
import { parseSelectors, type Selector } from "../names";
import { matcherOfType } from "./mercure/matchers";

/**
 * Throws for selectors this node cannot read (a matcher type of a newer version, say). URL patterns resolve
 * against `base` (see patternBase), as on the node that opened the stream.
 */
export function sharedSelectors(shared: SharedSubscription, base: string): readonly Selector[] {
  const types = shared.matchTypes;
  if (types === undefined) return parseSelectors(shared.selectors);
  return shared.selectors.map((text, i) => matcherOfType(types[i] ?? "exact", text, base));
}
