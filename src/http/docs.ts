/** GET /openapi.json (generated from the route schemas by @elysiajs/openapi) and GET /docs (Swagger UI served by the hub). */
import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import swaggerUiCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
// `type: "file"` makes `bun build --compile` embed the assets, so /docs works where the browser has no internet.
import swaggerUiBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import pkg from "../../package.json" with { type: "json" };
import { MercureUpdate } from "./mercure/models";
import * as models from "./models";

export const SPEC_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";
const ASSETS = `${DOCS_PATH}/assets`;
const SCHEMA_REF = "#/components/schemas/";

/** The schemas that become named components; every structurally equal use in the document becomes a `$ref`. */
const COMPONENTS = {
  ErrorResponse: models.ErrorResponse,
  PublishBody: models.PublishBody,
  Published: models.Published,
  BatchBody: models.BatchBody,
  BatchPublished: models.BatchPublished,
  EventRecord: models.EventRecord,
  MercureFields: models.MercureFields,
  MercureUpdate: MercureUpdate,
  HistoryPage: models.HistoryPage,
  TopicList: models.TopicList,
  SubscriptionList: models.SubscriptionList,
  Health: models.Health,
};

const STATUS_TEXT: Record<string, string> = {
  "200": "OK",
  "201": "Created",
  "400": "Bad input",
  "401": "No or bad credentials",
  "403": "The credentials do not allow this topic or selector, or a cookie-authenticated write came from another site",
  "404": "No such route",
  "409": "Conflict",
  "413": "Event data or request body too large",
  "415": "A charset other than UTF-8 (or US-ASCII)",
  "422": "Idempotency-Key already used with a different request",
  "429": "This client holds as many streams as it may: retry after `Retry-After` seconds",
  "503": "Overloaded, shutting down, or the log cannot be used (`log_unavailable`): retry after `Retry-After` seconds",
  "507": "The log's disk is full (`storage_full`): retry after `Retry-After` seconds",
};

const RETRY_AFTER: Json = { "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "integer" } } };

/**
 * What every route can answer: Bun refuses malformed HTTP (bad framing, a broken header) with an empty 400 before
 * any route runs. Operations whose own input cannot be wrong (health, metrics) document this one.
 */
const MALFORMED_REQUEST: JsonObject = {
  description: "Malformed HTTP (bad framing or headers), refused by the HTTP server with an empty body before any route runs",
};

/** Relative, so the document is right at whatever origin serves it: the hub itself, or a proxy in front of it. */
const SERVERS: Json = [{ url: "/", description: "The origin that serves this document (the hub, or a proxy in front)" }];

const ERROR_HEADERS: Record<string, Json> = {
  "401": { "WWW-Authenticate": { description: "`Bearer`", schema: { type: "string" } } },
  "429": RETRY_AFTER,
  "503": RETRY_AFTER,
  "507": RETRY_AFTER,
};

type Json = null | boolean | number | string | Json[] | JsonObject;
interface JsonObject {
  [key: string]: Json;
}

const isObject = (v: Json | undefined): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** Key order and Elysia's `$id` markers do not make two schemas different. */
function canonical(node: Json): string {
  return JSON.stringify(node, (key, value: Json) =>
    isObject(value) && key !== "$id"
      ? Object.fromEntries(
          Object.keys(value)
            .filter((k) => k !== "$id")
            .sort()
            .map((k) => [k, value[k] as Json]),
        )
      : value,
  );
}

/** Elysia's t.Integer and t.Numeric also accept numeric strings (query coercion): document the number, not the coercion. */
function collapseNumeric(node: JsonObject): JsonObject {
  const { anyOf, ...rest } = node;
  if (!Array.isArray(anyOf) || anyOf.length !== 2) return node;
  const numeric = anyOf.find((b) => isObject(b) && (b.type === "integer" || b.type === "number"));
  const coercion = anyOf.find((b) => isObject(b) && b.type === "string" && typeof b.format === "string");
  return isObject(numeric) && coercion ? { ...numeric, ...rest } : node;
}

/** Replaces copies of named components with `$ref`s, drops Elysia's own keys and collapses numeric coercions. */
function tidy(node: Json, names: Map<string, string>, root = false): Json {
  if (Array.isArray(node)) return node.map((n) => tidy(n, names));
  if (!isObject(node)) return node;
  const name = root ? undefined : names.get(canonical(node));
  if (name) return { $ref: SCHEMA_REF + name };
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    // `$id` markers and a schema's `error` text (its validation message) are Elysia's, not JSON Schema.
    const elysiaOnly = key === "$id" || (key === "error" && typeof value === "string");
    if (!elysiaOnly) out[key] = tidy(value, names);
  }
  return collapseNumeric(out);
}

/** `Last-Event-ID` rather than Elysia's lower-cased `last-event-id`: header names are case-insensitive, docs are read. */
const headerName = (name: string) =>
  name
    .split("-")
    .map((w) => (w === "id" ? "ID" : w.charAt(0).toUpperCase() + w.slice(1)))
    .join("-");

interface RouteDetail {
  operationId?: string;
  requestBody?: unknown;
  responses?: Record<string, unknown>;
}

/**
 * The plugin's document, finished: shared components, error descriptions and headers, and what a route's `detail`
 * says about media types. The plugin replaces a detail's `requestBody` and `responses` with its own guesses, but it
 * cannot see behind a custom parser (publish takes JSON or any text) and calls every string response `text/plain`
 * (the stream is `text/event-stream`), so the route's own words win.
 */
export function refine(generated: unknown, details: readonly RouteDetail[]): JsonObject {
  const doc = JSON.parse(JSON.stringify(generated)) as JsonObject;
  const components = isObject(doc.components) ? doc.components : {};
  const schemas = isObject(components.schemas) ? components.schemas : {};
  const names = new Map(Object.keys(COMPONENTS).map((name) => [canonical(schemas[name] ?? null), name]));
  for (const name of Object.keys(COMPONENTS)) schemas[name] = tidy(schemas[name] ?? {}, names, true);
  doc.components = {
    ...components,
    schemas,
    securitySchemes: {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "JWT",
        description:
          "JWT (HS256 with the hub's secret; EdDSA, ES256 or RS256 with a key of HERALD_JWT_PUBLIC_KEY) with a `herald` claim `{publish: [selectors], subscribe: [selectors]}` (or Mercure's: draft 07's `mercure` claim, draft 08's `authorization_details`); also accepted as the `access_token` query parameter or the `herald_token` cookie, and on `/.well-known/mercure` as the `authorization` query parameter or the `mercureAuthorization` cookie. Not needed in open mode or on public topics.",
      },
    },
  };
  doc.servers = SERVERS;
  const byId = new Map(details.filter((d) => d.operationId).map((d) => [d.operationId as string, d]));
  for (const item of Object.values(isObject(doc.paths) ? doc.paths : {})) {
    if (!isObject(item)) continue;
    for (const op of Object.values(item)) if (isObject(op)) refineOperation(op, byId.get(String(op.operationId)), names);
  }
  return doc;
}

function refineOperation(op: JsonObject, detail: RouteDetail | undefined, names: Map<string, string>): void {
  if (detail?.requestBody) op.requestBody = detail.requestBody as Json;
  const responses = isObject(op.responses) ? op.responses : {};
  for (const [status, response] of Object.entries(responses)) {
    if (!isObject(response)) continue;
    if (Number(status) >= 400 || String(response.description).startsWith("Response for status")) {
      response.description = STATUS_TEXT[status] ?? `HTTP ${status}`;
    }
    const headers = ERROR_HEADERS[status];
    if (headers) response.headers = headers;
  }
  for (const [status, extra] of Object.entries(detail?.responses ?? {})) {
    const response = responses[status];
    responses[status] = { ...(isObject(response) ? response : {}), ...(extra as JsonObject) };
  }
  if (!Object.keys(responses).some((status) => status.startsWith("4"))) responses["400"] = MALFORMED_REQUEST;
  op.responses = responses;
  // Said on every operation, open ones included, so no reader (or linter) has to guess.
  op.security = "401" in responses ? [{}, { bearerAuth: [] }] : [];
  for (const param of Array.isArray(op.parameters) ? op.parameters : []) {
    if (isObject(param) && param.in === "header") param.name = headerName(String(param.name));
  }
  Object.assign(op, tidy(op, names, true));
}

type References = NonNullable<Parameters<typeof openapi>[0]>["references"];

/**
 * The routes' query (and some header) schemas, handed to the plugin as references rather than to the routes, so that
 * Elysia neither decodes nor validates them (the handlers read them literally); the plugin reads only the parts given.
 */
const parameterReferences = () => models.PARAMETER_DOCS as unknown as References;

/** Elysia keeps the whole app's routes behind a protected method; the document needs their `detail` blocks. */
class DocsPlugin extends Elysia {
  routeDetails(): RouteDetail[] {
    return this.getGlobalRoutes().map((r) => (r.hooks?.detail ?? {}) as RouteDetail);
  }
}

const asset = (path: string, type: string) => () =>
  new Response(Bun.file(path), { headers: { "Content-Type": type, "Cache-Control": "public, max-age=3600" } });

const hidden = { detail: { hide: true } };

export function docsRoutes() {
  const docs = new DocsPlugin({ name: "docs" });
  // The bytes of the first document rendered, served ever after: see renderDocument.
  let rendered: string | undefined;
  return (
    docs
      // Copies, because model() stamps a `$id` on the schema it is given and the routes validate with the originals.
      .model(Object.fromEntries(Object.entries(COMPONENTS).map(([name, schema]) => [name, { ...schema }])))
      .onAfterHandle(({ route, responseValue }) => {
        if (route !== SPEC_PATH || typeof responseValue !== "object" || responseValue === null) return;
        rendered ??= JSON.stringify(refine(responseValue, docs.routeDetails()));
        return new Response(rendered, { headers: { "Content-Type": "application/json" } });
      })
      .use(
        openapi({
          path: DOCS_PATH,
          specPath: SPEC_PATH,
          provider: "swagger-ui",
          references: parameterReferences(),
          // A path with a dot is a static file to the plugin; `/.well-known/mercure` is an API (assets are hidden).
          exclude: { staticFile: false },
          documentation: {
            info: {
              title: "Herald",
              version: pkg.version,
              // package.json's SPDX identifier, so the document and the package never disagree.
              license: { name: pkg.license, identifier: pkg.license },
              description:
                "A Server-Sent Events hub: publish events to topics, every event committed to an append-only log before it is acknowledged; subscribe with `/stream` and resume with `Last-Event-ID`, no gap and no duplicate. Errors are always `ErrorResponse`. Swagger UI waits for a response to end, so try `/stream` with `curl -N` or the console at `/`.",
            },
            tags: [
              { name: "publish", description: "Append events to topics" },
              { name: "subscribe", description: "Server-Sent Events streams, resumable" },
              { name: "history", description: "The retained log, read as JSON" },
              { name: "presence", description: "Who is listening: the open streams, on every node" },
              { name: "operations", description: "Health and metrics, for load balancers and monitoring" },
              {
                name: "mercure",
                description:
                  "The Mercure protocol (drafts 07 and 08) on `/.well-known/mercure`, over the same log as the native API",
              },
            ],
          },
          swagger: {
            cdn: `${ASSETS}/swagger-ui-bundle.js`,
            theme: `${ASSETS}/swagger-ui.css`,
            deepLinking: true,
            displayOperationId: true,
            docExpansion: "list",
            defaultModelsExpandDepth: 1,
          },
        }),
      )
      .get(`${ASSETS}/swagger-ui-bundle.js`, asset(swaggerUiBundle, "text/javascript; charset=utf-8"), hidden)
      .get(`${ASSETS}/swagger-ui.css`, asset(swaggerUiCss, "text/css; charset=utf-8"), hidden)
  );
}

/**
 * Renders the document before the hub serves anything. Elysia completes a route's schemas the first time it handles
 * the route (a response object gains `additionalProperties: false`), and the plugin reads those very objects: a
 * document rendered after a load balancer's first `/health` would inline Health instead of referring to it. Rendered
 * first, and then served as the same bytes, it is the same whatever was served before and on every start.
 */
export async function renderDocument(app: { handle(request: Request): Promise<Response> }): Promise<void> {
  const response = await app.handle(new Request(`http://herald${SPEC_PATH}`));
  if (response.status !== 200) throw new Error(`the OpenAPI document could not be rendered (HTTP ${response.status})`);
}
