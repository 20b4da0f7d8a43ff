/** IP addresses and CIDR ranges as settings name them (`10.0.0.0/8`, `::1`, `fd00::/8`). */
import { isIP } from "node:net";

/** Addresses and ranges (`10.0.0.0/8`, `::1`, `fd00::/8`) parsed; null if `raw` is neither. */
export function parseAddressRange(raw: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | null {
  const [address = "", prefix, ...rest] = raw.split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return null;
  const bits = version === 4 ? 32 : 128;
  if (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) return null;
  const length = prefix === undefined ? bits : Number(prefix);
  return length <= bits ? { address, prefix: length, family: version === 4 ? "ipv4" : "ipv6" } : null;
}
