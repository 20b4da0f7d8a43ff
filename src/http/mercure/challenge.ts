/** The challenge of a refusal on the Mercure endpoint: draft 08 names the `error` of a 403. */
import { HeraldError } from "../../errors";

/** A 403 `forbidden` becomes `WWW-Authenticate: Bearer error="insufficient_scope"`; anything else is left as it is. */
export function challenged(error: unknown): unknown {
  if (error instanceof HeraldError && error.status === 403 && error.code === "forbidden") {
    return new HeraldError(error.code, error.message, { "WWW-Authenticate": 'Bearer error="insufficient_scope"' });
  }
  return error;
}
