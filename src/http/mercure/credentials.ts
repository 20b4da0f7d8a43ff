/**
 * Where the Mercure endpoint finds a token: `Authorization: Bearer`, else draft 07's `authorization` query
 * parameter (draft 07: it MUST be used over the cookie), else the cookie (Symfony's `mercureAuthorization` by
 * default, or draft 08's `__Secure-mercure_access_token`). A header wins over everything: a browser adds
 * cookies on its own.
 */
import type { Credential } from "../../auth/authorizer";
import { cookie, headerToken } from "../credentials";

/** The cookie name draft 08 recommends, read beside the configured one. */
export const SECURE_COOKIE = "__Secure-mercure_access_token";

export function mercureToken(request: Request, cookieName: string): Credential | undefined {
  const header = headerToken(request);
  if (header) return header;
  const query = new URL(request.url).searchParams.get("authorization");
  if (query !== null) return { token: query, source: "query" };
  const cookies = request.headers.get("cookie");
  const fromCookie = cookies === null ? undefined : (cookie(cookies, cookieName) ?? cookie(cookies, SECURE_COOKIE));
  return fromCookie === undefined ? undefined : { token: fromCookie, source: "cookie" };
}
