/**
 * The challenge of a refusal on the Mercure endpoint: draft 08 names the `error` of a 403, and every Bearer
 * challenge points at the hub's protected resource metadata when it has some (RFC 9728's `resource_metadata`).
 */
import { HeraldError } from "../../errors";

/** The `WWW-Authenticate` a refusal carries on the Mercure endpoint, or undefined for one that challenges nothing. */
function challenge(error: HeraldError, resourceMetadata: string | undefined): string | undefined {
  // A 403 `forbidden` is a valid token without the grant (a cross-site refusal is no matter of scope).
  const bearer = error.code === "forbidden" ? 'Bearer error="insufficient_scope"' : error.headers["WWW-Authenticate"];
  if (bearer === undefined || resourceMetadata === undefined) return bearer;
  return `${bearer}${bearer === "Bearer" ? " " : ", "}resource_metadata="${resourceMetadata}"`;
}

/** `error` with the challenge the drafts ask for; anything that is no HeraldError is left as it is. */
export function challenged(error: unknown, resourceMetadata?: string): unknown {
  if (!(error instanceof HeraldError)) return error;
  const header = challenge(error, resourceMetadata);
  if (header === undefined || header === error.headers["WWW-Authenticate"]) return error;
  return new HeraldError(error.code, error.message, { ...error.headers, "WWW-Authenticate": header });
}
