/** The Idempotency-Key header, shared by every publish route (native and Mercure): its value rule and scope. */
import { HeraldError } from "../errors";
import type { Idempotency } from "../log/event-log";

const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,200}$/;

/** A request's Idempotency-Key, scoped and tied to what was asked (`fingerprint`), or undefined without one. */
export function idempotency(key: string | undefined, scope: string, fingerprint: () => string): Idempotency | undefined {
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new HeraldError("invalid_idempotency_key", "Idempotency-Key must be 1 to 200 printable ASCII characters");
  }
  return { scope, key, fingerprint: fingerprint() };
}
