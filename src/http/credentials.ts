/** Where a token may come from: `Authorization: Bearer`, the `access_token` parameter, the `herald_token` cookie. */

const BEARER = /^Bearer\s+(\S+)\s*$/i;

function cookie(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** The token a request carries, in that order of precedence; a malformed Authorization header counts as a bad token. */
export function bearerToken(request: Request): string | undefined {
  const authorization = request.headers.get("authorization");
  if (authorization !== null) return BEARER.exec(authorization)?.[1] ?? "";
  const query = new URL(request.url).searchParams.get("access_token");
  if (query !== null) return query;
  return cookie(request.headers.get("cookie"), "herald_token");
}
