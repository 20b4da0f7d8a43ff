/**
 * The three claim forms a token may grant with, read into one set of grants: Herald's `herald` claim, draft 07's
 * `mercure` claim and draft 08's `authorization_details` (RFC 9396, with RFC 9068's access-token checks).
 */
import { HeraldError } from "../errors";
import { type Selector, selectorOf } from "../names";
import { templateSelector, urlPatternSelector } from "../patterns/selectors";
import { patternBase } from "../patterns/url-pattern";
import { type Grants, grantsFromClaim, type SubscribeDetail } from "./grants";

/** The authorization detail type draft 08 defines, compared byte by byte. */
export const MERCURE_DETAIL_TYPE = "https://mercure.rocks/authorization-detail";
/** Bounds on what a token may list, so a crafted token costs little to read (draft 08, "Resource Limits"). */
const MAX_DETAILS = 100;
const MAX_MATCHERS = 100;
const MAX_MATCHER_BYTES = 2048;

export interface AccessTokenChecks {
  /** Must appear in `aud` of an `authorization_details` token; empty: not checked. */
  readonly audience: string;
  /** Must equal `iss` of an `authorization_details` token; empty: not checked. */
  readonly issuer: string;
}

/** Why a token's claims grant nothing usable: the caller answers 401 `invalid_token` with it. */
export class ClaimError extends Error {}

/** An exact topic, of any form a Mercure publisher may use, as a selector to check grants against. */
export function topicSelector(topic: string): Selector {
  return { text: topic, value: topic, isPrefix: false };
}

function stringList(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((s) => typeof s === "string"))
    throw new ClaimError(`${what} must be a list of strings`);
  if (value.length > MAX_MATCHERS || value.some((s) => s.length > MAX_MATCHER_BYTES)) throw new ClaimError(`${what} is too long`);
  return value;
}

/** A pattern the token holds, or why the token is refused: one it cannot be matched by is no grant. */
function compiled(compile: () => Selector): Selector {
  try {
    return compile();
  } catch (error) {
    if (error instanceof HeraldError) throw new ClaimError(error.message);
    throw error;
  }
}

/** A draft 07 selector: `*`, Herald's `prefix*`, else a URI template (matching itself too) or an exact topic. */
function mercureSelector(text: string): Selector {
  return text.endsWith("*") ? selectorOf(text) : compiled(() => templateSelector(text));
}

/** Draft 07: `{"mercure": {"publish": [selectors], "subscribe": [selectors], "payload": ...}}`. */
function mercureClaim(claim: unknown): Grants {
  if (claim === undefined) return { publish: [], subscribe: [] };
  if (typeof claim !== "object" || claim === null || Array.isArray(claim)) throw new ClaimError("malformed mercure claim");
  const { publish, subscribe } = claim as Record<string, unknown>;
  return {
    publish: stringList(publish, "mercure.publish").map(mercureSelector),
    subscribe: stringList(subscribe, "mercure.subscribe").map(mercureSelector),
  };
}

/** One topic matcher of a Mercure authorization detail: `{"match": ..., "match_type"?: "exact" | "urlpattern"}`. */
function matcher(entry: unknown, base: string): Selector {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry))
    throw new ClaimError("a topic matcher must be an object");
  const { match, match_type: type } = entry as Record<string, unknown>;
  if (typeof match !== "string" || match === "" || match.length > MAX_MATCHER_BYTES) throw new ClaimError("malformed match");
  // `*` matches every topic whatever the matcher type; a matcher the hub cannot evaluate must reject the
  // token rather than be skipped.
  if (match === "*") return selectorOf("*");
  if (type === "urlpattern") return compiled(() => urlPatternSelector(match, base));
  if (type !== undefined && type !== "exact") throw new ClaimError(`unsupported match_type ${JSON.stringify(type)}`);
  return topicSelector(match);
}

/**
 * Draft 08: the Mercure authorization details of `authorization_details`; any malformed one rejects the token.
 * URL patterns resolve against `base` (see patternBase).
 */
function authorizationDetails(claim: unknown, base: string): Grants {
  if (!Array.isArray(claim) || claim.length > MAX_DETAILS) throw new ClaimError("malformed authorization_details");
  const publish: Selector[] = [];
  const subscribe: Selector[] = [];
  const details: SubscribeDetail[] = [];
  for (const detail of claim) {
    if (typeof detail !== "object" || detail === null || Array.isArray(detail))
      throw new ClaimError("malformed authorization detail");
    const { type, actions, topics, payload } = detail as Record<string, unknown>;
    // Details of other types belong to other resource servers.
    if (type !== MERCURE_DETAIL_TYPE) continue;
    if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => typeof a === "string")) {
      throw new ClaimError("a Mercure authorization detail needs a non-empty list of actions");
    }
    if (!Array.isArray(topics) || topics.length === 0 || topics.length > MAX_MATCHERS) {
      throw new ClaimError("a Mercure authorization detail needs a non-empty list of topics");
    }
    const matchers = topics.map((entry) => matcher(entry, base));
    // Actions the hub does not know grant nothing and invalidate nothing.
    if (actions.includes("publish")) publish.push(...matchers);
    if (actions.includes("subscribe")) {
      subscribe.push(...matchers);
      details.push({ topics: matchers, payload });
    }
  }
  return { publish, subscribe, details };
}

/** RFC 9068's checks of an access token, for tokens that carry `authorization_details`. */
function checkAccessToken(header: { typ?: unknown }, payload: Record<string, unknown>, checks: AccessTokenChecks): void {
  const typ = typeof header.typ === "string" ? header.typ.toLowerCase().replace(/^application\//, "") : "";
  if (typ !== "at+jwt") throw new ClaimError('typ must be "at+jwt"');
  if (typeof payload.exp !== "number") throw new ClaimError("exp is required");
  if (checks.audience !== "") {
    const aud = payload.aud;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(checks.audience)) throw new ClaimError("aud does not name this hub");
  }
  if (checks.issuer !== "" && payload.iss !== checks.issuer) throw new ClaimError("iss is not a trusted issuer");
}

/** Every grant of a verified token's claims, whichever forms it uses; throws ClaimError for a malformed one. */
export function grantsOfToken(header: { typ?: unknown }, payload: Record<string, unknown>, checks: AccessTokenChecks): Grants {
  const herald = grantsFromClaim(payload.herald);
  if (herald === null) throw new ClaimError("malformed herald claim");
  const forms = [herald, mercureClaim(payload.mercure)];
  if (payload.authorization_details !== undefined) {
    checkAccessToken(header, payload, checks);
    // The audience is the hub's URL, which relative URL patterns resolve against.
    forms.push(authorizationDetails(payload.authorization_details, patternBase(checks.audience)));
  }
  return {
    publish: forms.flatMap((g) => g.publish),
    subscribe: forms.flatMap((g) => g.subscribe),
    details: forms.flatMap((g) => g.details ?? []),
  };
}
