/**
 * Cross-site request forgery: a browser attaches the `herald_token` cookie to any request, a plain HTML form
 * post from another site included. A state-changing request authenticated by that cookie must come from the
 * hub's own origin or an origin named in HERALD_CORS_ORIGINS. Checked before the body is read.
 */
import { Elysia } from "elysia";
import type { Authorizer } from "../auth/authorizer";
import { HeraldError, quote } from "../errors";
import type { Metrics } from "../metrics";
import { bearerToken } from "./credentials";
import type { OriginPolicy } from "./origins";

/** Methods that change nothing; every other one is checked. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The origin a request says it comes from: `Origin`, else the origin of `Referer`; undefined without either. */
function claimedOrigin(request: Request): string | undefined {
  const origin = request.headers.get("origin");
  if (origin !== null) return origin;
  const referer = request.headers.get("referer");
  if (referer === null) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return "null";
  }
}

/**
 * The hub's own origin, as the browser sees it: browsers say so in `Sec-Fetch-Site` (which pages cannot set),
 * and that holds behind any proxy. Browsers without it are compared by host: the page's host and port must be
 * the `Host` the request was sent to (a proxy must pass the Host header on).
 */
function isOwnOrigin(request: Request, origin: string): boolean {
  if (request.headers.get("sec-fetch-site") === "same-origin") return true;
  const host = request.headers.get("host")?.toLowerCase();
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** Why `request` is refused as cross-site, or null when it may go on. */
export function crossSiteRefusal(request: Request, policy: OriginPolicy): string | null {
  const origin = claimedOrigin(request);
  if (origin === undefined) {
    // Neither header: no browser sent it, unless one says so (a browser that withheld both).
    const site = request.headers.get("sec-fetch-site");
    return site === "cross-site" || site === "same-site" ? "a cross-site request without Origin" : null;
  }
  // `null` is a sandboxed frame, a data: URL or a redirect across sites: nobody to trust.
  if (origin === "null") return 'Origin "null"';
  if (policy.isNamed(origin) || isOwnOrigin(request, origin)) return null;
  return `origin ${quote(origin)}`;
}

export const crossSiteGuard = (auth: Authorizer, policy: OriginPolicy, metrics: Metrics) => {
  const app = new Elysia({ name: "cross-site" });
  // Open mode authenticates nobody, so there is no cookie to abuse.
  if (auth.openMode) return app;
  return app.onRequest(({ request }) => {
    if (SAFE_METHODS.has(request.method) || !request.headers.has("cookie")) return;
    if (bearerToken(request)?.source !== "cookie") return;
    const refusal = crossSiteRefusal(request, policy);
    if (refusal === null) return;
    metrics.crossSiteRefused++;
    throw new HeraldError(
      "cross_site_request",
      `${refusal} may not change state with the herald_token cookie: publish from this hub's origin or one named in HERALD_CORS_ORIGINS, or send the token in the Authorization header`,
    );
  });
};
