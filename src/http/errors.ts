/** Maps every failure to the one JSON error shape, once, for all routes. */
import { Elysia } from "elysia";
import { cut, type ErrorBody, type ErrorCode, HeraldError, QUOTED_MAX_CHARS } from "../errors";
import type { Logger } from "../logger";
import type { RouteMethods } from "./route-methods";

export function errorResponse(error: HeraldError): Response {
  return Response.json(error.toJSON(), { status: error.status, headers: error.headers });
}

interface FrameworkError {
  code: string | number;
  error: unknown;
  request: Request;
}

/** A request no route answers: a 405 naming the methods its path is served with, else a 404. */
function noRoute(request: Request, routes: RouteMethods): HeraldError {
  const allowed = routes.allowedFor(new URL(request.url).pathname);
  if (allowed === undefined) return new HeraldError("not_found", "no such route");
  return new HeraldError("method_not_allowed", `this path is served with ${allowed.join(", ")}, not ${cut(request.method)}`, {
    Allow: allowed.join(", "),
  });
}

/** Elysia's own errors (validation, parse, not found) carry no stable code of ours: translate them. */
function translate({ code, error, request }: FrameworkError, routes: RouteMethods): HeraldError | null {
  if (error instanceof HeraldError) return error;
  // Elysia wraps what a `parse` hook throws (our body limits) in its own ParseError.
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof HeraldError) return cause;
  switch (code) {
    case "VALIDATION":
      return validationError(error as ValidationFailure);
    case "PARSE":
      return new HeraldError("invalid_json", "the request body is not valid JSON");
    case "NOT_FOUND":
      return noRoute(request, routes);
    case "INVALID_COOKIE_SIGNATURE":
      return new HeraldError("invalid_request", "invalid cookie");
    default:
      return null;
  }
}

interface ValidationFailure {
  type: string;
  /** A schema's own `error` text, where it has one. */
  customError?: unknown;
  all?: Array<{ path?: string; message?: string; summary?: string }>;
}

/** The specific code for a field whose schema failed; anything else is a generic invalid_request. */
function fieldCode(field: string): ErrorCode {
  // Queries are never validated by Elysia (query.ts reads them), so a topic here is a path or body topic.
  if (field === "topic") return "invalid_topic";
  if (field === "event") return "invalid_event_type";
  if (field === "last-event-id") return "invalid_event_id";
  return "invalid_request";
}

function validationError(error: ValidationFailure): HeraldError {
  const first = error.all?.[0];
  const path = (first?.path ?? "").split("/").filter((p) => p !== "");
  const field = path.filter((p) => !/^\d+$/.test(p)).pop() ?? "";
  // The path holds the client's own property names (an unknown one is the offending value), and Elysia's summary
  // repeats it as `Property '<path>' ...`: both are shown cut.
  const property = (first?.path ?? "").slice(1).replaceAll("/", ".");
  const shown = cut(property);
  const where = path.length > 0 ? `${error.type} ${shown}` : "request";
  const summary = first?.summary?.replaceAll(`'${property}'`, `'${shown}'`);
  const detail = typeof error.customError === "string" ? error.customError : (summary ?? first?.message ?? "invalid");
  // Bounded as well, should another of Elysia's summaries ever repeat a value.
  return new HeraldError(fieldCode(field), `${where}: ${cut(detail, 2 * QUOTED_MAX_CHARS)}`);
}

/** @param routes the app's routes, learnt once all are declared: what a wrong method is told */
export const errorHandling = (logger: Logger, routes: RouteMethods) =>
  // Destructured, not `ctx`: Elysia infers from the parameters what to build per request (a whole
  // context would make it parse cookies on every route).
  new Elysia({ name: "errors" }).onError({ as: "global" }, ({ code, error, request }) => {
    const known = translate({ code, error, request }, routes);
    if (known) return errorResponse(known);
    logger.error("unhandled error", { path: new URL(request.url).pathname, error: String(error) });
    const body: ErrorBody = { error: { code: "internal", message: "internal server error" } };
    return Response.json(body, { status: 500 });
  });
