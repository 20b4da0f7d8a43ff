/** Request lines at debug level: method, path (never the query, which may carry access tokens), status, time. */
import { Elysia } from "elysia";
import type { Logger } from "../logger";

export const requestLog = (logger: Logger) => {
  const app = new Elysia({ name: "request-log" });
  if (!logger.enabled("debug")) return app;
  const started = new WeakMap<Request, number>();
  return app
    .onRequest(({ request }) => {
      started.set(request, performance.now());
    })
    .onAfterResponse({ as: "global" }, ({ request, set }) => {
      const ms = performance.now() - (started.get(request) ?? performance.now());
      logger.debug("request", {
        method: request.method,
        path: new URL(request.url).pathname,
        status: set.status,
        ms: Math.round(ms * 10) / 10,
      });
    });
};
