/**
 * Where the Mercure endpoint finds a token: `Authorization: Bearer`, else draft 07's `authorization` query
 * parameter (draft 07: it MUST be used over the cookie), else the cookie (Symfony's `mercureAuthorization` by
 * default, or draft 08's `__Secure-mercure_access_token`). A header wins over everything: a browser adds
 * cookies on its own.
 */
import type { Credential } from "../../auth/authorizer";
import { HeraldError } from "../../errors";
import { cookie, headerToken } from "../credentials";

/** The cookie name draft 08 recommends, read beside the configured one. */
export const SECURE_COOKIE = "__Secure-mercure_access_token";

/** Draft 08 (RFC 6750): a token presented the wrong way is a 400 with this challenge, not a token that failed. */
const MALFORMED = { "WWW-Authenticate": 'Bearer error="invalid_request"' };

function malformed(what: string): HeraldError {
  return new HeraldError("invalid_request", `${what}: present one token, as "Authorization: Bearer <token>"`, MALFORMED);
}

/** The request's token and where it came from; throws a 400 for a header or a parameter that holds no single token. */
export function mercureToken(request: Request, cookieName: string): Credential | undefined {
  const header = headerToken(request);
  if (header?.token === "") throw malformed("the Authorization header holds no Bearer token, or more than one");
  if (header) return header;
  const query = new URL(request.url).searchParams.getAll("authorization");
  if (query.length > 1) throw malformed("the authorization parameter is repeated");
  if (query[0] === "") throw malformed("the authorization parameter is empty");
  if (query[0] !== undefined) return { token: query[0], source: "query" };
  const cookies = request.headers.get("cookie");
  const fromCookie = cookies === null ? undefined : (cookie(cookies, cookieName) ?? cookie(cookies, SECURE_COOKIE));
  return fromCookie === undefined ? undefined : { token: fromCookie, source: "cookie" };
}

/**
 * Whether the request carries a token in its URL (draft 07's `authorization` parameter): a successful answer to it
 * is then `Cache-Control: private`, as draft 07 asks, so that no shared cache keeps what that token was shown.
 */
export function tokenInUrl(request: Request): boolean {
  return new URL(request.url).searchParams.has("authorization");
}
