/** CORS for HERALD_CORS_ORIGINS, with credentials, so a browser app elsewhere can stream with its cookie. */
import { Elysia } from "elysia";

const PREFLIGHT = {
  "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
  "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key, Last-Event-ID",
  "Access-Control-Max-Age": "600",
};

export const cors = (origins: readonly string[]) => {
  const app = new Elysia({ name: "cors" });
  if (origins.length === 0) return app;
  const allowed = new Set(origins);
  // Elysia merges `set.headers` into every answer, Response objects and errors included.
  return app.onRequest(({ request, set }) => {
    const origin = request.headers.get("origin");
    set.headers.vary = "Origin";
    if (origin === null || !(allowed.has(origin) || allowed.has("*"))) return;
    // Credentials forbid the `*` wildcard in the answer, so the allowed origin is echoed back.
    set.headers["access-control-allow-origin"] = origin;
    set.headers["access-control-allow-credentials"] = "true";
    if (request.method === "OPTIONS" && request.headers.has("access-control-request-method")) {
      return new Response(null, { status: 204, headers: { ...PREFLIGHT, ...set.headers } as Record<string, string> });
    }
  });
};
