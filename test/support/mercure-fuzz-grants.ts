/**
 * What a token presented to the Mercure endpoint grants, read by the oracle from the token's own bytes: HS256
 * with the hub's secret, `exp`, and the three claim forms of Herald's spec (the `herald` claim, draft 07's
 * `mercure` claim, draft 08's `authorization_details` with RFC 9068's `typ`, `aud` and `iss`).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import {
  any,
  bytes,
  CONTROL_OR_FORMAT,
  type Matcher,
  matchesTopic,
  type Tri,
  template,
  tri,
  urlPattern,
} from "./mercure-fuzz-topics";

/** One grant: every topic, a prefix (Herald's `prefix*`), one exact topic, a URL pattern, or a URI template. */
export type Grant =
  | { readonly kind: "all" }
  | { readonly kind: "prefix"; readonly value: string }
  | { readonly kind: "exact"; readonly value: string }
  | { readonly kind: "pattern"; readonly matcher: Extract<Matcher, { kind: "urlpattern" | "template" }> };

export interface Grants {
  readonly publish: readonly Grant[];
  readonly subscribe: readonly Grant[];
}

export interface TokenConfig {
  readonly secret: string;
  readonly audience: string;
  readonly issuer: string;
  /**
   * The hub's URL (draft 08: what relative topics and patterns resolve against, and whose path is the reserved
   * namespace): the one it is configured with, HERALD_MERCURE_AUDIENCE, never the request's, whose Host a client chooses.
   */
  readonly hubUrl: URL;
}

export const DETAIL_TYPE = "https://mercure.rocks/authorization-detail";
const HERALD_SELECTOR = /^(\*|[A-Za-z0-9][A-Za-z0-9._:-]{0,199}\*?)$/;

/** A token is valid with its grants, or invalid (a 401 `invalid_token`); "" is no token at all. */
export type TokenReading = { readonly valid: true; readonly grants: Grants } | { readonly valid: false; readonly empty: boolean };

const INVALID: TokenReading = { valid: false, empty: false };

function b64json(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");

/** Herald's selectors and draft 07's strings: `*` is every topic, `x*` a prefix, a URI template a template. */
function selectorGrant(text: string, templates: boolean): Grant {
  if (text === "*") return { kind: "all" };
  if (text.endsWith("*")) return { kind: "prefix", value: text.slice(0, -1) };
  const t = templates ? template(text) : null;
  return t ? { kind: "pattern", matcher: t } : { kind: "exact", value: text };
}

function heraldClaim(claim: unknown): Grants | null {
  if (claim === undefined) return { publish: [], subscribe: [] };
  if (!isObject(claim)) return null;
  const { publish = [], subscribe = [] } = claim;
  if (!strings(publish) || !strings(subscribe)) return null;
  // Herald's selectors, on Herald's topics or on Mercure's (a non-empty string of 2048 bytes at most, no control or format character).
  const selector = (s: string) => HERALD_SELECTOR.test(s) || (s !== "" && bytes(s) <= 2048 && !CONTROL_OR_FORMAT.test(s));
  if (![...publish, ...subscribe].every(selector)) return null;
  return { publish: publish.map((s) => selectorGrant(s, false)), subscribe: subscribe.map((s) => selectorGrant(s, false)) };
}

function mercureClaim(claim: unknown): Grants | null {
  if (claim === undefined) return { publish: [], subscribe: [] };
  if (!isObject(claim)) return null;
  const { publish = [], subscribe = [] } = claim;
  if (!strings(publish) || !strings(subscribe)) return null;
  return { publish: publish.map((s) => selectorGrant(s, true)), subscribe: subscribe.map((s) => selectorGrant(s, true)) };
}

function detailMatcher(entry: unknown, hubUrl: URL): Grant | null {
  if (!isObject(entry) || typeof entry.match !== "string" || entry.match === "") return null;
  if (entry.match === "*") return { kind: "all" };
  if (entry.match_type === undefined || entry.match_type === "exact") return { kind: "exact", value: entry.match };
  if (entry.match_type !== "urlpattern") return null;
  const pattern = urlPattern(entry.match, hubUrl);
  return pattern ? { kind: "pattern", matcher: { kind: "urlpattern", value: entry.match, pattern } } : null;
}

function authorizationDetails(header: Record<string, unknown>, payload: Record<string, unknown>, config: TokenConfig) {
  const typ = typeof header.typ === "string" ? header.typ.toLowerCase().replace(/^application\//, "") : "";
  if (typ !== "at+jwt" || typeof payload.exp !== "number") return null;
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!aud.includes(config.audience) || payload.iss !== config.issuer) return null;
  const details = payload.authorization_details;
  if (!Array.isArray(details)) return null;
  const grants = { publish: [] as Grant[], subscribe: [] as Grant[] };
  for (const detail of details) {
    if (!isObject(detail)) return null;
    if (detail.type !== DETAIL_TYPE) continue;
    const { actions, topics } = detail;
    if (!strings(actions) || actions.length === 0 || !Array.isArray(topics) || topics.length === 0) return null;
    const matchers = topics.map((t) => detailMatcher(t, config.hubUrl));
    if (matchers.some((m) => m === null)) return null;
    if (actions.includes("publish")) grants.publish.push(...(matchers as Grant[]));
    if (actions.includes("subscribe")) grants.subscribe.push(...(matchers as Grant[]));
  }
  return grants;
}

/** Reads a compact JWS: HS256 only, signed with the secret, unexpired, its claims well formed. */
export function readToken(token: string, config: TokenConfig, nowSeconds: number): TokenReading {
  if (token === "") return { valid: false, empty: true };
  const parts = token.split(".");
  if (parts.length !== 3) return INVALID;
  const [head = "", body = "", signature = ""] = parts;
  const header = b64json(head);
  const payload = b64json(body);
  if (!isObject(header) || header.alg !== "HS256" || !isObject(payload)) return INVALID;
  const expected = createHmac("sha256", config.secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return INVALID;
  if (payload.exp !== undefined && (typeof payload.exp !== "number" || payload.exp <= nowSeconds)) return INVALID;
  // Draft 08: `nbf` enforced when present.
  if (payload.nbf !== undefined && (typeof payload.nbf !== "number" || payload.nbf > nowSeconds)) return INVALID;
  const forms = [heraldClaim(payload.herald), mercureClaim(payload.mercure)];
  if (payload.authorization_details !== undefined) forms.push(authorizationDetails(header, payload, config));
  if (forms.some((f) => f === null)) return INVALID;
  const valid = forms as Grants[];
  return { valid: true, grants: { publish: valid.flatMap((g) => g.publish), subscribe: valid.flatMap((g) => g.subscribe) } };
}

/** Whether a grant takes in `topic`. */
export function grantsTopic(grant: Grant, topic: string, hubUrl: URL): Tri {
  switch (grant.kind) {
    case "all":
      return "yes";
    case "prefix":
      return tri(topic.startsWith(grant.value));
    case "exact":
      return tri(topic === grant.value);
    case "pattern":
      return matchesTopic(grant.matcher, topic, hubUrl);
  }
}

export const grantsAny = (grants: readonly Grant[], topics: readonly string[], hubUrl: URL): Tri =>
  any(grants.flatMap((g) => topics.map((t) => grantsTopic(g, t, hubUrl))));

/**
 * Whether grants let a reader subscribe with `m` (Herald: every matcher must be covered). An exact matcher is
 * covered by a grant that takes in its topic; `*` only by a grant of every topic; a pattern or template by a
 * grant of every topic or one of the same text, and otherwise it is the hub's call how to compare the two.
 */
export function covers(grants: readonly Grant[], m: Matcher, hubUrl: URL): Tri {
  if (grants.some((g) => g.kind === "all")) return "yes";
  if (m.kind === "wildcard") return "no";
  if (m.kind === "exact") return grantsAny(grants, [m.value], hubUrl);
  const sameText = grants.some((g) => (g.kind === "exact" ? g.value : g.kind === "pattern" ? g.matcher.value : null) === m.value);
  // Draft 07: a selector matches a selector that is the same string (a template grant covers that template).
  if (sameText && m.kind === "template") return "yes";
  return grants.length === 0 ? "no" : "maybe";
}
