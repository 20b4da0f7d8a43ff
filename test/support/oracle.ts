/**
 * The spec as an oracle: what Herald must answer to any request, read from the request's own bytes.
 * A verdict lists every answer the spec allows; where a request breaks several rules, refusing it for any
 * one of them is right. Whether an accepted publish appends, repeats or conflicts is the model's call.
 */
import { canonical, isJsonText, type Json, member, parse, render, renderPlain, str } from "./json-text";

export interface WireRequest {
  readonly method: string;
  /** The request target's path, as sent (percent-escapes and all). */
  readonly path: string;
  /** The raw query string without `?`, "" for none. */
  readonly query: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
}

export interface Draft {
  readonly topic: string;
  readonly event: string | null;
  readonly data: Json;
}

export type Outcome =
  | { readonly kind: "error"; readonly status: number; readonly codes: readonly string[] }
  | { readonly kind: "publish"; readonly drafts: readonly Draft[]; readonly batch: boolean; readonly key?: IdempotencyKey }
  | { readonly kind: "history"; readonly selectors: readonly string[]; readonly after: bigint; readonly limit: number }
  | { readonly kind: "stream"; readonly selectors: readonly string[]; readonly resume: bigint | null; readonly envelope: boolean }
  | { readonly kind: "topics" }
  | { readonly kind: "page"; readonly contentType: string };

export interface IdempotencyKey {
  readonly scope: string;
  readonly key: string;
  /** Equal for requests that are equal as JSON values. */
  readonly fingerprint: string;
}

export interface OracleConfig {
  readonly maxEventBytes: number;
}

const TOPIC = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
const EVENT_TYPE = /^[A-Za-z0-9._:-]{1,64}$/;
const SELECTOR = /^(\*|[A-Za-z0-9][A-Za-z0-9._:-]{0,199}\*?)$/;
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,200}$/;
const MAX_ID = 2n ** 63n - 1n;

const fault = (status: number, ...codes: string[]): Outcome => ({ kind: "error", status, codes });
const badRequest = (...codes: string[]) => fault(400, ...codes);

/** Collects the rules a request breaks: `certain` ones, and `possible` ones where the spec leaves room. */
class Faults {
  readonly certain: Outcome[] = [];
  readonly possible: Outcome[] = [];
  add(outcome: Outcome, certain = true): void {
    (certain ? this.certain : this.possible).push(outcome);
  }
  /** The verdict: any fault when one is certain; else success or any possible fault. */
  verdict(success: () => Outcome): Outcome[] {
    if (this.certain.length > 0) return [...this.certain, ...this.possible];
    return [success(), ...this.possible];
  }
}

const STATIC_PAGES: Record<string, string> = {
  "/health": "application/json",
  "/metrics": "text/plain",
  "/openapi.json": "application/json",
  "/docs": "text/html",
  "/": "text/html",
};

/** Every answer the spec allows to `req`. */
export function judge(req: WireRequest, config: OracleConfig): Outcome[] {
  // The spec names no route with a trailing slash: answering as without it, or 404, are both fair.
  if (req.path.length > 1 && req.path.endsWith("/")) {
    return [...route({ ...req, path: req.path.slice(0, -1) }, config), fault(404, "not_found")];
  }
  return route(req, config);
}

function route(req: WireRequest, config: OracleConfig): Outcome[] {
  const publishTopic = /^\/topics\/([^/]*)\/events$/.exec(req.path);
  const read = req.method === "GET" || req.method === "HEAD";
  const wrongMethod = [fault(404, "not_found"), fault(405, "method_not_allowed")];
  if (publishTopic) return req.method === "POST" ? publishOne(req, publishTopic[1] as string, config) : wrongMethod;
  if (req.path === "/events") {
    if (req.method === "POST") return publishBatch(req, config);
    return read ? history(req) : wrongMethod;
  }
  if (req.path === "/stream") return read ? stream(req) : wrongMethod;
  if (req.path === "/topics") return read ? topics(req) : wrongMethod;
  const page = STATIC_PAGES[req.path];
  if (page) return read ? [{ kind: "page", contentType: page }] : wrongMethod;
  return [fault(404, "not_found")];
}

interface MediaType {
  readonly json: boolean;
  readonly charset: string | undefined;
}

/** Read independently of the hub's own parser (RFC 9110: a type, then `;`-separated parameters, values maybe quoted). */
function mediaType(header: string | undefined): MediaType {
  const value = header ?? "";
  const charset = /;\s*charset\s*=\s*("([^"]*)"|[^;\s]*)/i.exec(value);
  return { json: /^\s*application\/json\s*(;|$)/i.test(value), charset: (charset?.[2] ?? charset?.[1])?.toLowerCase() };
}

/** The body as text, or why it cannot be read as UTF-8. */
function bodyText(req: WireRequest, faults: Faults): string | null {
  const bytes = req.body ?? new Uint8Array();
  const { charset } = mediaType(req.headers["content-type"]);
  if (charset !== undefined && charset !== "utf-8" && charset !== "us-ascii") faults.add(fault(415, "unsupported_charset"));
  // Bytes past 0x7f under a declared us-ascii: accepting them as UTF-8 or refusing them are both fair.
  if (charset === "us-ascii" && bytes.some((b) => b > 0x7f)) faults.add(badRequest("invalid_encoding"), false);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    faults.add(badRequest("invalid_encoding"));
    return null;
  }
}

function checkType(type: string, faults: Faults, certain = true): void {
  if (!EVENT_TYPE.test(type)) faults.add(badRequest("invalid_event_type"), certain);
  else if (type.startsWith("herald.")) faults.add(badRequest("reserved_event_type"), certain);
}

/** A JSON `event` member: absent or null means none; anything but a string is refused. */
function typeMember(j: Json | undefined, faults: Faults): string | null | undefined {
  if (j === undefined) return undefined;
  if (j.t === "lit" && j.v === null) return null;
  if (j.t !== "str") {
    faults.add(badRequest("invalid_event_type", "invalid_request"));
    return null;
  }
  checkType(j.v, faults);
  return j.v;
}

/** The data's size as the spec measures it; where string escapes make the two spellings straddle the limit, both answers are right. */
function checkSize(data: Json, isText: boolean, config: OracleConfig, faults: Faults): void {
  const bytes = (s: string) => Buffer.byteLength(s);
  const sizes = isText && data.t === "str" ? [bytes(data.v)] : [bytes(render(data)), bytes(renderPlain(data))];
  const over = sizes.filter((s) => s > config.maxEventBytes).length;
  if (over > 0) faults.add(fault(413, "payload_too_large"), over === sizes.length);
}

function idempotencyKey(req: WireRequest, scope: string, value: string, faults: Faults): IdempotencyKey | undefined {
  const key = req.headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) faults.add(badRequest("invalid_idempotency_key"));
  return { scope, key, fingerprint: value };
}

function fingerprint(drafts: readonly Draft[]): string {
  return drafts.map((d) => `${d.topic}\u0000${d.event}\u0000${canonical(d.data)}`).join("\u0001");
}

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function publishOne(req: WireRequest, segment: string, config: OracleConfig): Outcome[] {
  const faults = new Faults();
  const topic = decodeSegment(segment);
  // An empty path segment names no topic; treating it as no route at all is fair too.
  if (topic === "") faults.add(fault(404, "not_found"), false);
  if (topic === null) faults.add(badRequest("invalid_topic", "invalid_request"));
  else if (!TOPIC.test(topic)) faults.add(badRequest("invalid_topic"));
  const params = new URLSearchParams(req.query);
  repeated(params, ["access_token"], faults);
  const queryTypes = params.getAll("event");
  // The spec says "a 400" and names no code: any of these says what is wrong.
  if (queryTypes.length > 1) faults.add(badRequest("repeated_parameter", "invalid_event_type", "invalid_request"));
  const json = mediaType(req.headers["content-type"]).json;
  const text = bodyText(req, faults);
  let data: Json | undefined;
  let type: string | null | undefined;
  if (text !== null && !json) data = str(text);
  if (text !== null && json) {
    if (!isJsonText(text)) faults.add(badRequest("invalid_json"));
    else {
      const body = parse(text);
      if (body.t !== "obj") faults.add(badRequest("invalid_request", "invalid_json"));
      else {
        if (body.entries.some(([k]) => k !== "data" && k !== "event")) faults.add(badRequest("invalid_request"));
        data = member(body, "data");
        if (data === undefined) faults.add(badRequest("invalid_request"));
        type = typeMember(member(body, "event"), faults);
      }
    }
  }
  if (data !== undefined) checkSize(data, !json, config, faults);
  // `?event=` gives the type of a body without one; when the body has its own, refusing a bad one is fair but not required.
  for (const t of queryTypes) checkType(t, faults, type === undefined || type === null);
  const event = type ?? queryTypes[0] ?? null;
  const drafts = (): Draft[] => [{ topic: topic ?? "", event, data: data ?? str("") }];
  const key = idempotencyKey(req, `topic:${topic}`, fingerprint(drafts()), faults);
  return faults.verdict(() => ({ kind: "publish", drafts: drafts(), batch: false, key }));
}

function batchItem(item: Json, config: OracleConfig, faults: Faults): Draft | undefined {
  if (item.t !== "obj") {
    faults.add(badRequest("invalid_request"));
    return undefined;
  }
  if (item.entries.some(([k]) => k !== "topic" && k !== "event" && k !== "data")) faults.add(badRequest("invalid_request"));
  const topic = member(item, "topic");
  if (topic === undefined) faults.add(badRequest("invalid_request", "invalid_topic"));
  else if (topic.t !== "str") faults.add(badRequest("invalid_topic", "invalid_request"));
  else if (!TOPIC.test(topic.v)) faults.add(badRequest("invalid_topic"));
  const data = member(item, "data");
  if (data === undefined) faults.add(badRequest("invalid_request"));
  else checkSize(data, false, config, faults);
  const event = typeMember(member(item, "event"), faults) ?? null;
  return topic?.t === "str" && data !== undefined ? { topic: topic.v, event, data } : undefined;
}

/** POST /events reads its body as JSON whatever the Content-Type says (README: where the spec is silent). */
function publishBatch(req: WireRequest, config: OracleConfig): Outcome[] {
  const faults = new Faults();
  repeated(new URLSearchParams(req.query), ["access_token"], faults);
  const text = bodyText(req, faults);
  const drafts: Draft[] = [];
  if (text !== null) {
    if (!isJsonText(text)) faults.add(badRequest("invalid_json"));
    else {
      const body = parse(text);
      const events = member(body, "events");
      if (body.t !== "obj") faults.add(badRequest("invalid_request", "invalid_json"));
      else if (body.entries.some(([k]) => k !== "events")) faults.add(badRequest("invalid_request"));
      if (events?.t !== "arr" || events.items.length < 1 || events.items.length > 1000) {
        faults.add(badRequest("invalid_request"));
      } else {
        for (const item of events.items) {
          const d = batchItem(item, config, faults);
          if (d) drafts.push(d);
        }
      }
    }
  }
  const key = idempotencyKey(req, "batch", fingerprint(drafts), faults);
  return faults.verdict(() => ({ kind: "publish", drafts, batch: true, key }));
}

/** A parameter the spec takes once, given twice: refusing it or taking one of the values are both fair. */
function repeated(params: URLSearchParams, names: readonly string[], faults: Faults): void {
  for (const name of names) {
    if (params.getAll(name).length > 1) faults.add(badRequest("repeated_parameter", "invalid_request"), false);
  }
}

/** The `topic` parameters, each value a comma-separated list taken literally. */
function selectors(params: URLSearchParams, faults: Faults): string[] {
  const items = params.getAll("topic").flatMap((v) => v.split(","));
  if (items.length === 0) faults.add(badRequest("invalid_selector", "invalid_request"));
  if (items.length > 50) faults.add(badRequest("invalid_selector", "invalid_request"));
  if (items.some((s) => !SELECTOR.test(s))) faults.add(badRequest("invalid_selector"));
  return items;
}

/** An event id from a client: digits only; past 2^63 - 1 no id can exist, so refusing it or finding nothing are both right. */
function eventId(text: string, faults: Faults): bigint {
  if (!/^\d+$/.test(text)) {
    faults.add(badRequest("invalid_event_id"));
    return 0n;
  }
  const id = BigInt(text);
  if (id > MAX_ID) faults.add(badRequest("invalid_event_id"), false);
  return id;
}

function history(req: WireRequest): Outcome[] {
  const faults = new Faults();
  const params = new URLSearchParams(req.query);
  repeated(params, ["after", "limit", "access_token"], faults);
  const chosen = selectors(params, faults);
  const afterText = params.get("after");
  const after = afterText === null ? 0n : eventId(afterText, faults);
  const limitText = params.get("limit");
  const limit = limitText === null ? 100 : Number(limitText);
  if (limitText !== null && !(/^\d+$/.test(limitText) && limit >= 1 && limit <= 1000)) faults.add(badRequest("invalid_request"));
  return faults.verdict(() => ({ kind: "history", selectors: chosen, after, limit }));
}

function stream(req: WireRequest): Outcome[] {
  const faults = new Faults();
  const params = new URLSearchParams(req.query);
  repeated(params, ["lastEventId", "envelope", "access_token"], faults);
  const chosen = selectors(params, faults);
  const resumeText = req.headers["last-event-id"] ?? params.get("lastEventId");
  const resume = resumeText === null ? null : eventId(resumeText, faults);
  const envelope = params.get("envelope");
  if (envelope !== null && envelope !== "true" && envelope !== "false") faults.add(badRequest("invalid_request"));
  return faults.verdict(() => ({ kind: "stream", selectors: chosen, resume, envelope: envelope === "true" }));
}

function topics(req: WireRequest): Outcome[] {
  const faults = new Faults();
  repeated(new URLSearchParams(req.query), ["access_token"], faults);
  return faults.verdict(() => ({ kind: "topics" }));
}

/** Whether a selector (already valid) matches a topic. */
export function matches(selector: string, topic: string): boolean {
  return selector.endsWith("*") ? topic.startsWith(selector.slice(0, -1)) : topic === selector;
}
