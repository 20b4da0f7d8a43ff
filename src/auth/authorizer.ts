/**
 * Authorization: JWTs (HS256 with the secret, EdDSA, ES256 or RS256 with a configured public key) granting through
 * a `herald` claim, a `mercure` claim or `authorization_details`, public topics, and open mode when no key is set.
 */
import { errors } from "jose";
import { HeraldError, quote } from "../errors";
import { parseSelector, type Selector, selectorOf } from "../names";
import { type AccessTokenChecks, ClaimError, grantsOfToken, topicSelector } from "./claims";
import { coveredBy, type Grants } from "./grants";
import { Keyring } from "./keyring";
import type { PublicKey } from "./public-keys";

const CHALLENGE = { "WWW-Authenticate": "Bearer" };
const INVALID = { "WWW-Authenticate": 'Bearer error="invalid_token"' };

/** A token and where the request carried it: a cookie is sent by the browser on its own, the others are not. */
export interface Credential {
  readonly token: string;
  readonly source: "header" | "query" | "cookie";
}

/** Reads the request's token only when one is needed: open mode never parses headers or cookies. */
export type TokenSource = () => Credential | undefined;

export interface AuthOptions {
  /** The HS256 key. Empty, with no public key either: open mode, everyone may publish and subscribe. */
  readonly secret: string;
  /** The keys of EdDSA, ES256 and RS256 tokens. Default none. */
  readonly publicKeys?: readonly PublicKey[];
  readonly publicTopics: readonly string[];
  /** What a token with `authorization_details` must also show (RFC 9068). Default: nothing checked beyond `typ` and `exp`. */
  readonly accessToken?: AccessTokenChecks;
}

/** Who is reading, as far as a verified token tells. */
export interface Reader {
  /** The token's `sub`, when a verified token has one. */
  readonly subject?: string;
  /** Whether the request came with a token that was verified. */
  readonly withToken: boolean;
  /** The `payload` member of a verified token's `herald` claim, else of its `mercure` claim: what presence shows of it. */
  readonly payload?: unknown;
  /**
   * Draft 08's payload of a subscription on `matcher`: that of the first subscribe authorization detail whose
   * topics cover the matcher string, read as a topic; undefined when no detail does.
   */
  payloadFor(matcher: string): unknown;
  /** When the token read with expires (ms since the epoch); undefined without a token or an `exp`. */
  readonly expiresAt?: number;
  /** Whether the token grants reading one of an update's topics, and has not expired: who may receive a private update. */
  grantsAny(topics: readonly string[]): boolean;
}

interface Verified {
  readonly grants: Grants;
  readonly subject?: string;
  readonly payload?: unknown;
  readonly expiresAt?: number;
}

const NOTHING = () => false;
const NONE = () => undefined;
const ANONYMOUS: Reader = { withToken: false, grantsAny: NOTHING, payloadFor: NONE };
const EVERY_TOPIC = [parseSelector("*")];
const NO_TOKEN = new HeraldError("unauthorized", "a token is required to read these topics", CHALLENGE);

export class Authorizer {
  private readonly keys: Keyring;
  private readonly publicSelectors: readonly Selector[];
  private readonly checks: AccessTokenChecks;

  constructor({ secret, publicKeys = [], publicTopics, accessToken = { audience: "", issuer: "" } }: AuthOptions) {
    this.keys = new Keyring(secret, publicKeys);
    this.checks = accessToken;
    // Herald's selectors, and Mercure topics with Herald's `prefix*` (`https://example.com/news/*`).
    this.publicSelectors = publicTopics.map(selectorOf);
  }

  get openMode(): boolean {
    return this.keys.empty;
  }

  /** Publishing needs a token whose publish selectors match every topic written (any topic string, Mercure's too). */
  async authorizePublish(token: TokenSource, topics: readonly string[]): Promise<void> {
    if (this.openMode) return;
    const { grants } = await this.verify(token()?.token);
    const denied = topics.find((t) => !coveredBy(grants.publish, topicSelector(t)));
    if (denied !== undefined) throw new HeraldError("forbidden", `this token may not publish to ${quote(denied)}`);
  }

  /**
   * Reading needs, for every selector not covered by the public topics, a token that covers it. A private
   * update goes to a reader whose token grants one of its topics, until the token expires. `rules` "mercure"
   * applies the drafts where they differ from the native API: a presented token that fails is a 401 even in a
   * cookie. On both, a stream opened with a token ends when it expires, as the spec says, whether or not its topics
   * needed it. Open mode grants no private update: no one can show a right to one.
   */
  async authorizeRead(
    token: TokenSource,
    selectors: readonly Selector[],
    rules: "native" | "mercure" = "native",
  ): Promise<Reader> {
    if (this.openMode) return ANONYMOUS;
    const { verified, refusal } = await this.reader(token(), rules === "mercure");
    for (const s of selectors) {
      if (coveredBy(this.publicSelectors, s)) continue;
      if (verified === null) throw refusal;
      if (!coveredBy(verified.grants.subscribe, s))
        throw new HeraldError("forbidden", `this token may not read ${quote(s.text)}`);
    }
    return readerOf(verified);
  }

  /**
   * Reading what only a token can grant (Mercure's subscriptions API, whose URL is the topic a token must cover,
   * as for the private subscription events it mirrors): public topics grant nothing here. Open mode allows it.
   */
  async authorizeGranted(token: TokenSource, topic: string): Promise<void> {
    if (this.openMode) return;
    const { grants } = await this.verify(token()?.token);
    if (!coveredBy(grants.subscribe, topicSelector(topic)))
      throw new HeraldError("forbidden", `this token may not read ${quote(topic)}`);
  }

  /**
   * The selectors a caller may read, and who the caller is: every topic they match may be listed to it. Pattern
   * grants are left out: the log lists topics by prefix, and a pattern's literal prefix covers topics it does not match.
   */
  async readable(token: TokenSource): Promise<{ selectors: readonly Selector[]; reader: Reader }> {
    if (this.openMode) return { selectors: EVERY_TOPIC, reader: ANONYMOUS };
    const { verified } = await this.reader(token());
    const granted = (verified?.grants.subscribe ?? []).filter((s) => s.pattern === undefined);
    return { selectors: [...this.publicSelectors, ...granted], reader: readerOf(verified) };
  }

  /**
   * A reader's verified token, or why there is none. A bad token in the header or the query is the caller's
   * mistake and refused at once; on the native API a bad cookie is what browsers keep sending long after it went
   * stale, so it only matters where a token is needed (public topics stay readable, and `EventSource` never
   * retries a 401). Draft 08 wants a presented cookie used like any token: `strictCookie` refuses it at once.
   */
  private async reader(
    credential: Credential | undefined,
    strictCookie = false,
  ): Promise<{ verified: Verified | null; refusal: HeraldError }> {
    if (credential === undefined) return { verified: null, refusal: NO_TOKEN };
    try {
      return { verified: await this.verify(credential.token), refusal: NO_TOKEN };
    } catch (error) {
      if (strictCookie || credential.source !== "cookie" || !(error instanceof HeraldError)) throw error;
      return { verified: null, refusal: new HeraldError(error.code, `herald_token cookie: ${error.message}`, error.headers) };
    }
  }

  private async verify(token: string | undefined): Promise<Verified> {
    if (token === undefined || token === "") throw new HeraldError("unauthorized", "a bearer token is required", CHALLENGE);
    let payload: Record<string, unknown>;
    let header: { typ?: unknown };
    try {
      ({ payload, protectedHeader: header } = await this.keys.verify(token));
    } catch (error) {
      throw new HeraldError("unauthorized", `invalid token: ${reason(error)}`, INVALID);
    }
    let grants: Grants;
    try {
      grants = grantsOfToken(header, payload, this.checks);
    } catch (error) {
      if (!(error instanceof ClaimError)) throw error;
      throw new HeraldError("unauthorized", `invalid token: ${error.message}`, INVALID);
    }
    return {
      grants,
      subject: typeof payload.sub === "string" && payload.sub !== "" ? payload.sub : undefined,
      payload: claimPayload(payload.herald) ?? claimPayload(payload.mercure),
      expiresAt: typeof payload.exp === "number" ? payload.exp * 1000 : undefined,
    };
  }
}

/** Who reads with `verified` (null: no token). */
function readerOf(verified: Verified | null): Reader {
  const granted = verified?.grants.subscribe ?? [];
  const until = verified?.expiresAt ?? Number.POSITIVE_INFINITY;
  return {
    subject: verified?.subject,
    withToken: verified !== null,
    payload: verified?.payload,
    payloadFor: (matcher) => verified?.grants.details?.find((d) => coveredBy(d.topics, topicSelector(matcher)))?.payload,
    expiresAt: verified?.expiresAt,
    // Checked again for each event: a read of history may outlast the token too.
    grantsAny:
      granted.length === 0 ? NOTHING : (topics) => Date.now() < until && topics.some((t) => coveredBy(granted, topicSelector(t))),
  };
}

/** The `payload` member of a claim object, if it has one. */
function claimPayload(claim: unknown): unknown {
  return typeof claim === "object" && claim !== null ? (claim as { payload?: unknown }).payload : undefined;
}

/** A reason safe to show: never the token or its contents. */
function reason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWTClaimValidationFailed) return `claim "${error.claim}" failed (${error.reason})`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "algorithm not allowed";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "bad signature";
  return "malformed";
}
