/**
 * The Mercure endpoint as an oracle: every answer drafts 07 and 08 and Herald's spec ("Mercure protocol") allow
 * to a request on /.well-known/mercure, read from the request's own bytes. As in oracle.ts, a request that
 * breaks several rules may be refused for any of them; where the drafts leave a choice, it is the one Herald
 * documents or, failing that, the one src/http/mercure makes (each named where it is taken).
 */
import { covers, type Grant, grantsAny, readToken, type TokenConfig } from "./mercure-fuzz-grants";
import type { IdempotencyKey, Update } from "./mercure-fuzz-model";
import { addressesHub, bytes, CONTROL_OR_FORMAT, type Matcher, type Tri, template, urlPattern } from "./mercure-fuzz-topics";
import {
  crossSite,
  type FormField,
  formFields,
  headerText,
  heraldCookieAuthenticates,
  mercureCredential,
  utf8,
} from "./mercure-fuzz-wire";
import type { WireRequest } from "./oracle";

/**
 * The `error` attribute of the `WWW-Authenticate: Bearer` challenge a refusal carries (null: none, for no token);
 * other attributes (RFC 9728's `resource_metadata`) may come with it.
 */
export type Challenge = null | "invalid_token" | "insufficient_scope" | "invalid_request";

export type MercureOutcome =
  | {
      readonly kind: "error";
      readonly status: number;
      readonly codes: readonly string[];
      readonly challenge?: readonly Challenge[];
    }
  | { readonly kind: "publish"; readonly update: Update; readonly key?: IdempotencyKey }
  | { readonly kind: "subscribe"; readonly subscription: Subscription };

export interface Subscription {
  readonly matchers: readonly Matcher[];
  /** Whether the reader may read each matcher's topics (the hub refused it otherwise): "maybe" is the hub's call. */
  readonly covered: readonly Tri[];
  /** The token's subscribe grants: who may receive a private update. */
  readonly grants: readonly Grant[];
  /** What the reader may read without private updates: the public topics and the token's grants. */
  readonly readable: readonly Grant[];
  /** Each id the hub may resume after (undefined: no resume asked); more than one where the rules leave a choice. */
  readonly resume: ReadonlyArray<string | undefined>;
}

export interface MercureOracleConfig extends TokenConfig {
  /** Where the hub is reached (its own origin, for the cross-site rule); `hubUrl` is the URL it is configured with. */
  readonly origin: string;
  readonly maxEventBytes: number;
  readonly publicTopics: readonly Grant[];
  readonly nowSeconds: () => number;
}

const fault = (status: number, codes: string[], challenge?: Challenge[]): MercureOutcome => ({
  kind: "error",
  status,
  codes,
  ...(challenge && { challenge }),
});

class Faults {
  readonly certain: MercureOutcome[] = [];
  readonly possible: MercureOutcome[] = [];
  add(outcome: MercureOutcome, certain = true): void {
    (certain ? this.certain : this.possible).push(outcome);
  }
  verdict(success: () => MercureOutcome): MercureOutcome[] {
    return this.certain.length > 0 ? [...this.certain, ...this.possible] : [success(), ...this.possible];
  }
}

const HUB_PATH = "/.well-known/mercure";
const MAX_TOPICS = 50;
const MAX_STRING_BYTES = 2048;
/** Herald's limits where the drafts ask for some (413 past them on a publish, 400 on a subscription). */
const MAX_TYPE_BYTES = 256;
const MAX_RETRY_DIGITS = 10;
const MAX_FIELDS = 200;
const MAX_MATCHERS = 50;

export function judgeMercure(req: WireRequest, config: MercureOracleConfig): MercureOutcome[] {
  if (req.path !== HUB_PATH) return [fault(404, ["not_found"])];
  if (req.method === "POST") return publish(req, config);
  if (req.method === "GET") return subscribe(req, config);
  // The native API's cross-site rule looks at every request that changes state, whatever its route.
  const crossSiteCookie = heraldCookieAuthenticates(req) && crossSite(req, config.origin);
  return [
    fault(404, ["not_found"]),
    fault(405, ["method_not_allowed"]),
    ...(crossSiteCookie ? [fault(403, ["cross_site_request"])] : []),
  ];
}

/**
 * The subscriber's grants (null: no valid token) and the challenge of a 401 where a token is needed. Draft 08: a
 * presented token that fails is a 401 wherever it came from (a cookie too), and a malformed presentation a 400.
 */
function reader(
  req: WireRequest,
  config: MercureOracleConfig,
  faults: Faults,
): { grants: Grant[] | null; challenge: Challenge[] } {
  const credential = mercureCredential(req);
  if (credential === "malformed") faults.add(MALFORMED);
  if (credential === undefined || credential === "malformed") return { grants: null, challenge: [null] };
  const reading = readToken(credential.token, config, config.nowSeconds());
  if (reading.valid) return { grants: [...reading.grants.subscribe], challenge: [] };
  faults.add(tokenRefusal(reading.empty));
  return { grants: null, challenge: badToken(reading.empty) };
}

const MALFORMED = fault(400, ["invalid_request"], ["invalid_request"]);

/** The challenge of a bad token: an empty cookie is no token at all, or (Herald) a bad one. */
const badToken = (empty: boolean): Challenge[] => (empty ? [null, "invalid_token"] : ["invalid_token"]);

const tokenRefusal = (empty: boolean) => fault(401, ["unauthorized"], badToken(empty));

function mediaType(req: WireRequest, faults: Faults): void {
  const header = req.headers["content-type"] ?? "";
  const [type = "", ...params] = header.split(";");
  if (type.trim().toLowerCase() !== "application/x-www-form-urlencoded") faults.add(fault(415, ["unsupported_media_type"]));
  const charset = params
    .map((p) => /^\s*charset\s*=\s*"?([^"]*)"?\s*$/i.exec(p)?.[1]?.toLowerCase())
    .find((c) => c !== undefined);
  if (charset !== undefined && charset !== "utf-8" && charset !== "us-ascii") faults.add(fault(415, ["unsupported_charset"]));
  // Bytes past ASCII under a declared us-ascii: taking them as UTF-8 or refusing them are both fair.
  if (charset === "us-ascii" && req.body?.some((b) => b > 0x7f)) faults.add(fault(400, ["invalid_encoding"]), false);
}

function checkString(value: string, faults: Faults, maxBytes: number, invalid: string[]): void {
  if (bytes(value) > maxBytes) faults.add(fault(413, ["payload_too_large"]));
  if (CONTROL_OR_FORMAT.test(value)) faults.add(fault(400, invalid));
}

function checkTopic(topic: string, hubUrl: URL, faults: Faults): void {
  checkString(topic, faults, MAX_STRING_BYTES, ["invalid_topic"]);
  // Draft 08: `*` and the hub's namespace are refused with 400 whatever the token; Herald refuses an empty topic.
  if (topic === "" || topic === "*" || addressesHub(topic, hubUrl)) faults.add(fault(400, ["invalid_topic"]));
}

/** The update a form describes: `topic` as often as given, other fields once (Herald takes the first). */
function update(fields: readonly FormField[], config: MercureOracleConfig, faults: Faults): Update {
  const topics = fields.filter((f) => f.name === "topic").map((f) => f.value);
  if (topics.length === 0) faults.add(fault(400, ["invalid_topic", "invalid_request"]));
  if (topics.length > MAX_TOPICS) faults.add(fault(413, ["payload_too_large"]));
  for (const t of topics) checkTopic(t, config.hubUrl, faults);
  const first = (name: string) => fields.find((f) => f.name === name)?.value;
  const data = first("data") ?? "";
  if (bytes(data) > config.maxEventBytes) faults.add(fault(413, ["payload_too_large"]));
  // An empty type or id is none (Herald: the browser's default type, the hub's own id).
  const type = first("type") || null;
  if (type !== null) {
    checkString(type, faults, MAX_TYPE_BYTES, ["invalid_event_type"]);
    if (type === "mercure" || type.startsWith("herald.")) faults.add(fault(400, ["reserved_event_type", "invalid_event_type"]));
  }
  const id = first("id") || undefined;
  if (id !== undefined) {
    checkString(id, faults, MAX_STRING_BYTES, ["invalid_event_id"]);
    // Herald keeps urn:herald: for its own ids, or a resume could not tell them apart.
    if (id.startsWith("#") || id === "earliest" || id.startsWith("urn:herald:")) faults.add(fault(400, ["invalid_event_id"]));
  }
  const retryText = first("retry");
  let retry: number | undefined;
  if (retryText !== undefined) {
    // An empty retry has no digit: refusing it or taking it as none are both fair.
    if (retryText === "") faults.add(fault(400, ["invalid_request"]), false);
    else if (!/^[0-9]+$/.test(retryText)) faults.add(fault(400, ["invalid_request"]));
    else if (retryText.length > MAX_RETRY_DIGITS) faults.add(fault(413, ["payload_too_large"]));
    else retry = Number(retryText);
  }
  const isPrivate = fields.some((f) => f.name === "private");
  return {
    topics,
    private: isPrivate,
    type,
    data,
    ...(id !== undefined && { publisherId: id }),
    ...(retry !== undefined && { retry }),
  };
}

function publish(req: WireRequest, config: MercureOracleConfig): MercureOutcome[] {
  const faults = new Faults();
  mediaType(req, faults);
  const credential = mercureCredential(req);
  if (credential === "malformed") faults.add(MALFORMED);
  const token = credential === "malformed" ? undefined : credential;
  if (token?.source === "cookie" && crossSite(req, config.origin, true)) faults.add(fault(403, ["cross_site_request"]));
  if (heraldCookieAuthenticates(req) && crossSite(req, config.origin)) faults.add(fault(403, ["cross_site_request"]), false);
  const reading = token === undefined ? undefined : readToken(token.token, config, config.nowSeconds());
  if (reading === undefined) faults.add(fault(401, ["unauthorized"], [null]), credential !== "malformed");
  else if (!reading.valid) faults.add(tokenRefusal(reading.empty));
  const text = utf8(req.body);
  if (text === null) faults.add(fault(400, ["invalid_encoding"]));
  const fields = formFields(text ?? "");
  if (fields.length > MAX_FIELDS) faults.add(fault(413, ["payload_too_large"]));
  if (fields.some((f) => f.broken !== null)) faults.add(fault(400, ["invalid_encoding"]));
  const u = update(fields, config, faults);
  if (reading?.valid) {
    const granted = u.topics.map((t) => grantsAny(reading.grants.publish, [t], config.hubUrl));
    const insufficient = fault(403, ["forbidden"], ["insufficient_scope"]);
    if (granted.includes("no")) faults.add(insufficient);
    else if (granted.includes("maybe")) faults.add(insufficient, false);
  }
  const key = idempotencyKey(req, u, faults);
  return faults.verdict(() => ({ kind: "publish", update: u, key }));
}

function idempotencyKey(req: WireRequest, u: Update, faults: Faults): IdempotencyKey | undefined {
  const key = req.headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (!/^[\x20-\x7e]{1,200}$/.test(key)) faults.add(fault(400, ["invalid_idempotency_key"]));
  // What the update is, every field: the same key with another update is a conflict (Herald: the topics as sent).
  const fingerprint = JSON.stringify([u.topics, u.type, u.data, u.private, u.publisherId ?? null, u.retry ?? null]);
  return { key, fingerprint };
}

/** One matcher parameter: draft 07's `topic` (a string or a URI template), draft 08's `match*`; null for other names. */
function matcher(field: FormField, config: MercureOracleConfig, faults: Faults): Matcher | null {
  const { name, value } = field;
  const invalid = () => faults.add(fault(400, ["invalid_selector"]));
  if (name !== "topic" && !name.toLowerCase().startsWith("match")) return null;
  if (field.broken !== null) faults.add(fault(400, ["invalid_encoding", "invalid_selector"]));
  if (name !== "topic" && name !== "match" && name !== "match_exact" && name !== "match_urlpattern") invalid();
  if (value === "" || bytes(value) > MAX_STRING_BYTES || CONTROL_OR_FORMAT.test(value)) invalid();
  if (value === "*") return { kind: "wildcard" };
  if (name === "match_urlpattern") {
    const pattern = urlPattern(value, config.hubUrl);
    if (pattern === null) invalid();
    // Draft 08 asks for a bound on a pattern's cost: one with a regular expression or many wildcards may be refused.
    const costly = pattern?.hasRegExpGroups || (value.match(/\*|:[A-Za-z_]/g)?.length ?? 0) > 2;
    if (costly) faults.add(fault(400, ["invalid_selector"]), false);
    return pattern ? { kind: "urlpattern", value, pattern } : null;
  }
  if (name !== "topic") return { kind: "exact", value };
  const t = template(value);
  // Braces that make no template: any string is a draft 07 selector (matched exactly), but Herald's spec refuses unparsable matchers.
  if (t === null && /[{}]/.test(value)) faults.add(fault(400, ["invalid_selector"]), false);
  return t ?? { kind: "exact", value };
}

/** Herald's spec: the `Last-Event-ID` header, else `last_event_id` (draft 08), else `lastEventID` (draft 07). */
function resumeChoices(req: WireRequest, fields: readonly FormField[]): Array<string | undefined> {
  const header = req.headers["last-event-id"];
  if (header !== undefined && header !== "") return [headerText(header)];
  const first = (name: string) => fields.find((f) => f.name === name)?.value;
  const chosen = first("last_event_id") ?? first("lastEventID");
  if (chosen === undefined) return [undefined];
  if (chosen !== "") return [chosen];
  // An empty id asks for nothing: no resume, or (where the draft 08 parameter is empty) the draft 07 one.
  const older = first("lastEventID");
  return older ? [undefined, older] : [undefined];
}

function subscribe(req: WireRequest, config: MercureOracleConfig): MercureOutcome[] {
  const faults = new Faults();
  const fields = formFields(req.query);
  // The URL standard's parser would put U+FFFD in place of bytes that are not UTF-8: refusing them is fair.
  if (fields.some((f) => f.broken !== null)) faults.add(fault(400, ["invalid_encoding", "invalid_request"]), false);
  if (fields.length > MAX_FIELDS) faults.add(fault(400, ["invalid_request", "invalid_selector"]), false);
  const given = fields.flatMap((f) => {
    const m = matcher(f, config, faults);
    return m ? [{ m, text: f.value }] : [];
  });
  if (given.length === 0) faults.add(fault(400, ["invalid_selector"]));
  // Draft 08: a limit on matcher parameters, 400 past it; Herald counts distinct ones.
  if (new Set(given.map((g) => g.text)).size > MAX_MATCHERS) faults.add(fault(400, ["invalid_selector"]));
  else if (given.length > MAX_MATCHERS) faults.add(fault(400, ["invalid_selector"]), false);
  const matchers = given.map((g) => g.m);
  const { grants, challenge } = reader(req, config, faults);
  const readable = [...config.publicTopics, ...(grants ?? [])];
  const covered = matchers.map((m) => covers(readable, m, config.hubUrl));
  // Anything not public needs a token that covers it: 401 without one, else 403.
  const refusal = grants === null ? fault(401, ["unauthorized"], challenge) : fault(403, ["forbidden"], ["insufficient_scope"]);
  if (covered.includes("no")) faults.add(refusal);
  else if (covered.includes("maybe")) faults.add(refusal, false);
  const resume = resumeChoices(req, fields);
  return faults.verdict(() => ({
    kind: "subscribe",
    subscription: { matchers, covered, grants: grants ?? [], readable, resume },
  }));
}
