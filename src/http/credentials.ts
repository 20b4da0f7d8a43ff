/** Where a token may come from: `Authorization: Bearer`, the `access_token` parameter, the `herald_token` cookie. */
import type { Credential } from "../auth/authorizer";

const BEARER_SCHEME = /^Bearer(?:\s|$)/i;
const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The token of an `Authorization: Bearer` header, or undefined when the header is absent or of another scheme. */
export function headerToken(request: Request): Credential | undefined {
  const authorization = request.headers.get("authorization");
  if (authorization === null || !BEARER_SCHEME.test(authorization)) return undefined;
  return { token: BEARER.exec(authorization)?.[1] ?? "", source: "header" };
}

/** The value of the cookie `name`, percent-decoded where it can be. */
export function cookie(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      // `%` not followed by two hex digits: kept as sent, it fails verification like any other bad token.
      return value;
    }
  }
  return undefined;
}

/**
 * The token a request carries, in that order of precedence. An `Authorization` header of another scheme
 * (`Basic`, added by a proxy) is not a token; a `Bearer` header without one is a bad token (RFC 6750's
 * malformed request); an empty `access_token=` carries none (a page that writes `access_token=${token ?? ""}`).
 */
export function bearerToken(request: Request): Credential | undefined {
  const authorization = request.headers.get("authorization");
  if (authorization !== null && BEARER_SCHEME.test(authorization)) {
    return { token: BEARER.exec(authorization)?.[1] ?? "", source: "header" };
  }
  const query = new URL(request.url).searchParams.get("access_token");
  if (query) return { token: query, source: "query" };
  const fromCookie = cookie(request.headers.get("cookie"), "herald_token");
  return fromCookie === undefined ? undefined : { token: fromCookie, source: "cookie" };
}
