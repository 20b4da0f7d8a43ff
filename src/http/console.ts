/** GET /: the console page, its script, styles and icon, embedded in the binary as text. */
import { Elysia } from "elysia";
import styles from "../console/console.css" with { type: "text" };
import script from "../console/console.js" with { type: "text" };
import icon from "../console/favicon.svg" with { type: "text" };
import page from "../console/index.html" with { type: "text" };

// bun-types declares every *.html import as an HTMLBundle (for Bun.serve routes); with `type: "text"` it is the text.
const html = page as unknown as string;

// Everything from the hub itself: the page works on a machine without internet, and injected markup could not call out.
const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const serve =
  (body: string, type: string, extra: Record<string, string> = {}) =>
  () =>
    new Response(body, { headers: { "Content-Type": type, "X-Content-Type-Options": "nosniff", ...extra } });

const hidden = { detail: { hide: true } };

export const consoleRoutes = () =>
  new Elysia({ name: "console" })
    .get("/", serve(html, "text/html; charset=utf-8", { "Content-Security-Policy": CSP, "Cache-Control": "no-cache" }), hidden)
    .get("/console/console.js", serve(script, "text/javascript; charset=utf-8", { "Cache-Control": "no-cache" }), hidden)
    .get("/console/console.css", serve(styles, "text/css; charset=utf-8", { "Cache-Control": "no-cache" }), hidden)
    // Browsers ask for /favicon.ico on every page (/docs too): the same icon, rather than a 404 in their console.
    .get("/favicon.svg", serve(icon, "image/svg+xml", { "Cache-Control": "public, max-age=86400" }), hidden)
    .get("/favicon.ico", serve(icon, "image/svg+xml", { "Cache-Control": "public, max-age=86400" }), hidden);
