/**
 * Who a connection belongs to: its peer address, or behind proxies named in HERALD_TRUSTED_PROXIES the
 * address they saw. `X-Forwarded-For` is read right to left, skipping our own proxies: every proxy appends the
 * address it saw, so the left part is whatever the client wrote and proves nothing.
 */
import { BlockList, isIP } from "node:net";
import { parseAddressRange } from "../net/address-range";

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
function plain(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly empty: boolean;

  /** `ranges` as config checked them. */
  constructor(ranges: readonly string[]) {
    this.empty = ranges.length === 0;
    for (const raw of ranges) {
      const range = parseAddressRange(raw);
      if (range) this.list.addSubnet(range.address, range.prefix, range.family);
    }
  }

  private trusts(address: string): boolean {
    const version = isIP(address);
    return version !== 0 && this.list.check(address, version === 4 ? "ipv4" : "ipv6");
  }

  /** The client's address: the peer's own, unless the peer is a trusted proxy that says whom it forwards. */
  clientOf(peer: string, forwardedFor: string | null): string {
    let client = plain(peer);
    if (this.empty || forwardedFor === null || !this.trusts(client)) return client;
    const hops = forwardedFor.split(",");
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = plain((hops[i] ?? "").trim());
      if (hop === "") continue;
      client = hop;
      if (!this.trusts(hop)) break;
    }
    return client;
  }
}
