/**
 * CORS for HERALD_CORS_ORIGINS. Named origins may send credentials (the `herald_token` cookie); `*` lets every
 * other origin read without them. An origin is never echoed back because of `*`: that would hand any web page
 * whatever its visitor's cookie may read.
 */
import { Elysia } from "elysia";
import type { OriginPolicy } from "./origins";

/**
 * What a page may send: its token, a body's type, an Idempotency-Key, the id to resume after, and the
 * `Cache-Control: no-store` Mercure's draft 07 asks of a client that puts its token in the URL.
 */
const PREFLIGHT = {
  "access-control-allow-methods": "GET, POST, OPTIONS",
  "access-control-allow-headers": "Authorization, Cache-Control, Content-Type, Idempotency-Key, Last-Event-ID",
  "access-control-max-age": "600",
};
/**
 * Headers a page may read from our answers: when to retry, why a token was refused, where a Mercure resume began,
 * and the `Link` of Mercure's subscriptions API (its `last-event-id`).
 */
const EXPOSED = "Retry-After, WWW-Authenticate, Mercure-Last-Event-ID, Last-Event-ID, Link";

function allowance(policy: OriginPolicy, origin: string | null): Record<string, string> | null {
  if (origin !== null && policy.isNamed(origin)) {
    return {
      "access-control-allow-origin": origin,
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": EXPOSED,
    };
  }
  if (policy.anyOrigin) return { "access-control-allow-origin": "*", "access-control-expose-headers": EXPOSED };
  return null;
}

export const cors = (policy: OriginPolicy) => {
  const app = new Elysia({ name: "cors" });
  if (!policy.anyOrigin && !policy.hasNamed) return app;
  return app.onRequest(({ request, set }) => {
    // With named origins the answer depends on the Origin header, so caches must key on it; `*` alone does not.
    if (policy.hasNamed) set.headers.vary = "Origin";
    const allowed = allowance(policy, request.headers.get("origin"));
    // Elysia merges `set.headers` into every answer, Response objects and errors included.
    if (allowed) Object.assign(set.headers, allowed);
    if (request.method === "OPTIONS" && request.headers.has("access-control-request-method")) {
      // A preflight from an origin not allowed gets no CORS headers: the browser stops there.
      const headers = { ...(allowed ? PREFLIGHT : {}), ...(set.headers as Record<string, string>) };
      return new Response(null, { status: 204, headers });
    }
  });
};
