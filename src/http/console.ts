/** GET /: the console page, its scripts, styles and icon, embedded in the binary as text. */
import { Elysia } from "elysia";
import consoleCss from "../console/console.css" with { type: "text" };
import consoleJs from "../console/console.js" with { type: "text" };
import eventsCss from "../console/events.css" with { type: "text" };
import icon from "../console/favicon.svg" with { type: "text" };
import feedJs from "../console/feed.js" with { type: "text" };
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

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const ICON = "image/svg+xml";

/** Path → body and type. No-cache for the page's own files: a new hub version shows at the next reload. */
const FILES: Record<string, [body: string, type: string, cache: string]> = {
  "/console/console.js": [consoleJs, JS, "no-cache"],
  "/console/feed.js": [feedJs, JS, "no-cache"],
  "/console/console.css": [consoleCss, CSS, "no-cache"],
  "/console/events.css": [eventsCss, CSS, "no-cache"],
  "/favicon.svg": [icon, ICON, "public, max-age=86400"],
  // Browsers ask for /favicon.ico on every page (/docs too): the same icon, rather than a 404 in their console.
  "/favicon.ico": [icon, ICON, "public, max-age=86400"],
};

const hidden = { detail: { hide: true } };
const respond = (body: string, type: string, headers: Record<string, string>) => () =>
  new Response(body, { headers: { "Content-Type": type, "X-Content-Type-Options": "nosniff", ...headers } });

export const consoleRoutes = () => {
  const app = new Elysia({ name: "console" }).get(
    "/",
    respond(html, "text/html; charset=utf-8", { "Content-Security-Policy": CSP, "Cache-Control": "no-cache" }),
    hidden,
  );
  for (const [path, [body, type, cache]] of Object.entries(FILES))
    app.get(path, respond(body, type, { "Cache-Control": cache }), hidden);
  return app;
};
