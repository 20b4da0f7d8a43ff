/** The OpenAPI document of a live hub: valid by a standard validator, and saying what the contract says. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import SwaggerParser from "@apidevtools/swagger-parser";
import { dispose, type Herald, startHerald } from "./support/herald";

type Obj = Record<string, unknown>;
/** What the validator takes: the served JSON is handed over as is, for the validator to judge. */
type ApiDocument = Exclude<Parameters<typeof SwaggerParser.validate>[0], string>;
interface Operation extends Obj {
  operationId: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: Obj }>;
  requestBody?: { content: Record<string, { schema: Obj }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Obj; example?: string }>; headers?: Obj }>;
}

let herald: Herald;
let doc: { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Obj> } };
const ops = new Map<string, Operation & { path: string; method: string }>();
const ERROR_REF = { $ref: "#/components/schemas/ErrorResponse" };

beforeAll(async () => {
  herald = await startHerald();
  const res = await fetch(`${herald.url}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("application/json");
  doc = (await res.json()) as typeof doc;
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) ops.set(op.operationId, { ...op, path, method });
  }
});

afterAll(() => dispose(herald));

const op = (id: string) => {
  const found = ops.get(id);
  if (!found) throw new Error(`no operation ${id}`);
  return found;
};

test("the document passes @apidevtools/swagger-parser's validation (OpenAPI 3.1 schema and semantics)", async () => {
  expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
  const api = await SwaggerParser.validate(structuredClone(doc) as unknown as ApiDocument);
  expect(Object.keys(api.paths ?? {})).toContain("/stream");
  // The validator is not a rubber stamp: a broken copy is refused.
  const broken = structuredClone(doc) as Obj;
  (broken.paths as Obj)["/stream"] = { get: { responses: { 200: { content: {} } } } };
  await expect(SwaggerParser.validate(broken as unknown as ApiDocument)).rejects.toThrow();
});

test("every operation has its operationId, a summary, a description and a tag; only API routes are listed", () => {
  const ids = [...ops.keys()];
  for (const id of [
    "publishEvent",
    "publishBatch",
    "stream",
    "listEvents",
    "listTopics",
    "health",
    "mercurePublish",
    "mercureSubscribe",
  ]) {
    expect(ids).toContain(id);
  }
  for (const o of ops.values()) {
    expect(o.summary, o.operationId).toBeString();
    expect(o.description?.length, o.operationId).toBeGreaterThan(10);
    expect(o.tags?.length, o.operationId).toBeGreaterThan(0);
  }
  const paths = Object.keys(doc.paths);
  expect(paths.filter((p) => p === "/" || p.startsWith("/docs") || p.includes("openapi") || p.startsWith("/console"))).toEqual(
    [],
  );
});

test("every error response, on every operation, is the one shared ErrorResponse schema", () => {
  let errors = 0;
  for (const o of ops.values()) {
    for (const [status, response] of Object.entries(o.responses)) {
      // /health answers 503 with its Health body; /metrics's only 4xx is Bun's empty 400 for malformed HTTP.
      if (Number(status) < 400 || o.operationId === "health" || (o.operationId === "metrics" && status === "400")) continue;
      errors++;
      expect(response.content?.["application/json"]?.schema, `${o.operationId} ${status}`).toEqual(ERROR_REF);
      expect(response.description.length).toBeGreaterThan(3);
    }
  }
  expect(errors).toBeGreaterThan(15);
  expect(doc.components.schemas.ErrorResponse).toMatchObject({
    type: "object",
    required: ["error"],
    properties: { error: { required: ["code", "message"] } },
  });
  expect(Object.keys(op("publishEvent").responses)).toEqual(expect.arrayContaining(["201", "400", "413", "422", "503"]));
  expect(op("stream").responses["503"]?.headers).toHaveProperty("Retry-After");
  expect(op("publishEvent").responses["401"]?.headers).toHaveProperty("WWW-Authenticate");
});

test("publish documents a JSON body (PublishBody) and a text/plain body (the data string)", () => {
  const body = op("publishEvent").requestBody?.content;
  expect(body?.["application/json"]?.schema).toEqual({ $ref: "#/components/schemas/PublishBody" });
  expect(body?.["text/plain"]?.schema).toMatchObject({ type: "string" });
  expect(doc.components.schemas.PublishBody).toMatchObject({ required: ["data"], additionalProperties: false });
  expect(op("publishEvent").responses["201"]?.content?.["application/json"]?.schema).toEqual({
    $ref: "#/components/schemas/Published",
  });
  expect(op("publishEvent").parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(
    expect.arrayContaining(["path:topic", "query:event", "header:Idempotency-Key"]),
  );
  expect(op("publishBatch").requestBody?.content["application/json"]?.schema).toEqual({
    $ref: "#/components/schemas/BatchBody",
  });
  expect(doc.components.schemas.BatchBody).toMatchObject({ properties: { events: { minItems: 1, maxItems: 1000 } } });
});

test("/stream is a text/event-stream with its selectors, envelope, lastEventId and the Last-Event-ID header", () => {
  const stream = op("stream");
  expect(stream.path).toBe("/stream");
  expect(Object.keys(stream.responses["200"]?.content ?? {})).toEqual(["text/event-stream"]);
  const params = new Map(stream.parameters?.map((p) => [`${p.in}:${p.name}`, p]));
  expect(params.get("query:topic")).toMatchObject({ required: true, schema: { type: "array" } });
  // How the parameter repeats and what a comma does, in the document itself.
  expect(params.get("query:topic")?.schema.description).toContain("topic=a&topic=b");
  expect(params.get("query:topic")?.schema.description).toContain("topic=a,b");
  expect(params.get("query:envelope")?.schema).toMatchObject({ type: "boolean" });
  expect(params.get("query:lastEventId")?.required).toBe(false);
  expect(params.get("header:Last-Event-ID")?.required).toBe(false);
});

const headersOf = (response: Operation["responses"][string] | undefined) => Object.keys(response?.headers ?? {}).sort();

test("a Mercure publish: a form body with every field, topic repeated, a text/plain id, and each error the route gives", () => {
  const publish = op("mercurePublish");
  expect([publish.path, publish.method, publish.tags]).toEqual(["/.well-known/mercure", "post", ["mercure"]]);
  const form = publish.requestBody?.content["application/x-www-form-urlencoded"] as { schema: Obj; encoding?: Obj } | undefined;
  expect(Object.keys(publish.requestBody?.content ?? {})).toEqual(["application/x-www-form-urlencoded"]);
  expect(form?.schema).toEqual({ $ref: "#/components/schemas/MercureUpdate" });
  // One `topic=` field per topic, the canonical one first.
  expect(form?.encoding).toEqual({ topic: { style: "form", explode: true } });
  const update = doc.components.schemas.MercureUpdate as { required: string[]; properties: Record<string, Obj> };
  expect(Object.keys(update.properties)).toEqual(["topic", "data", "private", "id", "type", "retry"]);
  expect(update.required).toEqual(["topic"]);
  expect(update.properties.topic).toMatchObject({ type: "array", minItems: 1, maxItems: 50, items: { type: "string" } });
  expect(update.properties.topic?.description).toContain("canonical");
  expect(update.properties.retry).toMatchObject({ type: "integer", minimum: 0 });
  expect(Object.keys(publish.responses)).toEqual(["200", "400", "401", "403", "413", "415", "422", "503", "507"]);
  expect(publish.responses["200"]?.content).toEqual({ "text/plain": { schema: { type: "string" }, example: "urn:herald:42" } });
  expect(headersOf(publish.responses["401"])).toEqual(["WWW-Authenticate"]);
  expect(JSON.stringify(publish.responses["401"]?.headers)).toContain('error=\\"invalid_token\\"');
  expect(JSON.stringify(publish.responses["403"]?.headers)).toContain('error=\\"insufficient_scope\\"');
  for (const status of ["503", "507"]) expect(headersOf(publish.responses[status])).toEqual(["Retry-After"]);
  expect(publish.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(["query:authorization", "header:Idempotency-Key"]);
  expect(publish.security).toEqual([{}, { bearerAuth: [] }]);
});

test("a Mercure subscription: every matcher, resume and token parameter, a text/event-stream with its resume headers", () => {
  const subscribe = op("mercureSubscribe");
  expect([subscribe.path, subscribe.method, subscribe.tags]).toEqual(["/.well-known/mercure", "get", ["mercure"]]);
  const params = new Map(subscribe.parameters?.map((p) => [`${p.in}:${p.name}`, p]));
  expect([...params.keys()]).toEqual([
    "query:topic",
    "query:match",
    "query:match_exact",
    "query:match_urlpattern",
    "query:last_event_id",
    "query:lastEventID",
    "query:authorization",
    "header:Last-Event-ID",
  ]);
  // None is required alone: any one matcher parameter will do.
  expect([...params.values()].filter((p) => p.required)).toEqual([]);
  for (const name of ["topic", "match", "match_exact", "match_urlpattern"]) {
    expect(params.get(`query:${name}`)?.schema).toMatchObject({ type: "array", items: { type: "string" } });
  }
  expect(params.get("query:topic")?.schema.description).toContain("URI template");
  expect(params.get("query:match_urlpattern")?.schema.description).toContain("URL Pattern");
  expect(params.get("query:last_event_id")?.schema.description).toContain("earliest");
  const ok = subscribe.responses["200"];
  expect(Object.keys(ok?.content ?? {})).toEqual(["text/event-stream"]);
  expect(headersOf(ok)).toEqual(["Last-Event-ID", "Mercure-Last-Event-ID"]);
  expect(Object.keys(subscribe.responses)).toEqual(["200", "400", "401", "403", "429", "503"]);
  expect(JSON.stringify(subscribe.responses["403"]?.headers)).toContain('error=\\"insufficient_scope\\"');
  expect(headersOf(subscribe.responses["429"])).toEqual(["Retry-After"]);
});

test("the Mercure schemas document and validate nothing: the hub still reads the form and the query itself", async () => {
  // Elysia would answer these with its own validation messages were the schemas on the routes.
  const empty = await fetch(`${herald.url}/.well-known/mercure?match=`);
  expect(empty.status).toBe(400);
  expect(await empty.json()).toEqual({ error: { code: "invalid_selector", message: "match must not be empty" } });
  const retry = await fetch(`${herald.url}/.well-known/mercure`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "topic=a&retry=1e3",
  });
  expect(retry.status).toBe(400);
  expect(((await retry.json()) as { error: { message: string } }).error.message).toBe('retry must be ASCII digits, not "1e3"');
});

test("history and topics answer with their named schemas; numbers are numbers, not Elysia's string coercions", () => {
  const list = op("listEvents");
  expect(list.responses["200"]?.content?.["application/json"]?.schema).toEqual({ $ref: "#/components/schemas/HistoryPage" });
  const limit = list.parameters?.find((p) => p.name === "limit");
  expect(limit?.schema).toEqual({
    type: "integer",
    minimum: 1,
    maximum: 1000,
    default: 100,
    description: expect.stringContaining("at most once"),
  });
  expect(JSON.stringify(doc)).not.toContain('"format":"integer"');
  expect(doc.components.schemas.HistoryPage).toMatchObject({
    properties: { events: { items: { $ref: "#/components/schemas/EventRecord" } } },
  });
  // An update's Mercure fields, on the events that carry them.
  const record = doc.components.schemas.EventRecord as { required: string[]; properties: Obj };
  expect(record.properties.mercure).toEqual({ $ref: "#/components/schemas/MercureFields" });
  expect(record.required).not.toContain("mercure");
  expect(doc.components.schemas.MercureFields).toMatchObject({
    required: ["id", "topics", "private", "retry"],
    properties: { topics: { type: "array", minItems: 1 }, private: { type: "boolean" } },
  });
  expect(op("listTopics").responses["200"]?.content?.["application/json"]?.schema).toEqual({
    $ref: "#/components/schemas/TopicList",
  });
});

test("the document is served after requests too, and is identical each time (rendered once at start-up)", async () => {
  await fetch(`${herald.url}/topics/doc/events`, { method: "POST", body: "x" });
  const again = await (await fetch(`${herald.url}/openapi.json`)).json();
  expect(again).toEqual(doc);
});

test("Herald is MIT-licensed: the LICENSE file, package.json and the document's info.license agree", async () => {
  const root = join(import.meta.dir, "..");
  const licence = readFileSync(join(root, "LICENSE"), "utf8");
  expect(licence).toStartWith("MIT License\n");
  expect(licence).toContain("Copyright (c) 2026 The Herald authors");
  expect(licence).toContain('THE SOFTWARE IS PROVIDED "AS IS"');
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { license: string };
  expect(pkg.license).toBe("MIT");
  const served = (await (await fetch(`${herald.url}/openapi.json`)).json()) as { info: { license: unknown } };
  expect(served.info.license).toEqual({ name: "MIT", identifier: "MIT" });
});

/** Every `$ref` in a document, as the names of the components they point to. */
function referencedSchemas(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) referencedSchemas(item, found);
  else if (typeof node === "object" && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") found.add(value.replace("#/components/schemas/", ""));
      else referencedSchemas(value, found);
    }
  }
  return found;
}

/** What a load balancer, a monitor and the first clients do to a hub before anyone reads its document. */
async function traffic(base: string): Promise<void> {
  const json = { "content-type": "application/json" };
  await fetch(`${base}/health`);
  await fetch(`${base}/metrics`);
  await fetch(`${base}/topics/warm/events`, { method: "POST", body: "x" });
  await fetch(`${base}/topics/warm/events`, { method: "POST", headers: json, body: JSON.stringify({ data: 1, event: "e" }) });
  await fetch(`${base}/events`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ events: [{ topic: "warm", data: 2 }] }),
  });
  await fetch(`${base}/events?topic=warm`);
  await fetch(`${base}/topics`);
  await fetch(`${base}/topics/!bad/events`, { method: "POST", body: "x" });
  await fetch(`${base}/no-such-route`);
  await fetch(`${base}/docs`);
  await fetch(`${base}/.well-known/mercure`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "topic=warm&topic=https%3A%2F%2Fexample.com%2Fwarm&data=3&id=warm-1&retry=5",
  });
  await fetch(`${base}/.well-known/mercure`, { method: "POST", body: "topic=warm" });
  await fetch(`${base}/.well-known/mercure?match=`);
  const mercure = new AbortController();
  const updates = await fetch(`${base}/.well-known/mercure?topic=warm&last_event_id=earliest`, { signal: mercure.signal });
  await updates.body?.getReader().read();
  mercure.abort();
  const stream = new AbortController();
  const res = await fetch(`${base}/stream?topic=warm&lastEventId=0`, { signal: stream.signal });
  await res.body?.getReader().read();
  stream.abort();
}

test("the document is the same bytes whatever the hub served before it, and every component is referenced", async () => {
  const [fresh, busy] = await Promise.all([startHerald(), startHerald()]);
  try {
    await traffic(busy.url);
    const expected = await (await fetch(`${fresh.url}/openapi.json`)).text();
    const served = await (await fetch(`${busy.url}/openapi.json`)).text();
    expect(served).toBe(expected);
    await traffic(fresh.url);
    expect(await (await fetch(`${fresh.url}/openapi.json`)).text()).toBe(expected);

    const document = JSON.parse(expected) as typeof doc;
    const names = Object.keys(document.components.schemas);
    expect(names).toContain("Health");
    expect([...referencedSchemas(document.paths)]).toContain("Health");
    const referenced = referencedSchemas({ paths: document.paths, schemas: document.components.schemas });
    expect(names.filter((name) => !referenced.has(name))).toEqual([]);
  } finally {
    await Promise.all([dispose(fresh), dispose(busy)]);
  }
});
