/**
 * Presence across a cluster: this node's opens and closes go out through the exchange, and every other node's
 * come back into the registry, so each node lists and counts the streams of all without asking Redis per request.
 */

import type { PresenceExchange, SharedSubscription } from "../log/presence-exchange";
import type { Logger } from "../logger";
import type { Selector } from "../names";
import type { Presence, PresenceEntry } from "./presence";

/** The selectors of a stream another node shared, read as the API that opened it reads them; throws if it cannot. */
export type SelectorsOf = (shared: SharedSubscription) => readonly Selector[];

function shared(e: PresenceEntry): SharedSubscription {
  return {
    id: e.id,
    selectors: e.selectors.map((s) => s.text),
    ...(e.matchTypes && { matchTypes: e.matchTypes }),
    ...(e.payloads && { payloads: e.payloads }),
    subject: e.subject,
    payload: e.payload,
    since: e.since,
  };
}

/** Connects `presence` to the other nodes through `exchange`; resolves once what they hold is known. */
export function sharePresence(presence: Presence, exchange: PresenceExchange, selectorsOf: SelectorsOf, logger: Logger) {
  const entries = (node: string, list: readonly SharedSubscription[]): PresenceEntry[] =>
    list.flatMap((s) => {
      try {
        return [{ ...s, node, selectors: selectorsOf(s) }];
      } catch (error) {
        // A node of another version may share a matcher this one cannot read: the rest of its streams still count.
        logger.warn("a stream another node shared cannot be read here; it is left out", { node, id: s.id, error: String(error) });
        return [];
      }
    });
  const settled = exchange.settled?.bind(exchange);
  if (settled) presence.settleWith(settled);
  presence.onChange((entry, active) => {
    if (entry.node !== undefined) return;
    if (active) exchange.opened(shared(entry));
    else exchange.closed(entry.id);
  });
  return exchange.start(
    {
      changed: (node, opened, closed) => presence.changed(node, entries(node, opened), closed),
      replaced: (node, all) => presence.replaced(node, entries(node, all)),
      gone: (node) => presence.gone(node),
    },
    () => presence.ownEntries().map(shared),
  );
}
