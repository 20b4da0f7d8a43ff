/** Authorization: HS256 JWTs with a `herald` claim, public topics, and open mode when no secret is set. */
import { errors, jwtVerify } from "jose";
import { HeraldError } from "../errors";
import { parseSelector, type Selector } from "../names";
import { coveredBy, type Grants, grantsFromClaim } from "./grants";

const CHALLENGE = { "WWW-Authenticate": "Bearer" };
const INVALID = { "WWW-Authenticate": 'Bearer error="invalid_token"' };

/** Reads the request's token only when one is needed: open mode never parses headers or cookies. */
export type TokenSource = () => string | undefined;

export interface AuthOptions {
  /** Empty: open mode, everyone may publish and subscribe. */
  readonly secret: string;
  readonly publicTopics: readonly string[];
}

export class Authorizer {
  private readonly key: Uint8Array | null;
  private readonly publicSelectors: readonly Selector[];

  constructor({ secret, publicTopics }: AuthOptions) {
    this.key = secret === "" ? null : new TextEncoder().encode(secret);
    this.publicSelectors = publicTopics.map(parseSelector);
  }

  get openMode(): boolean {
    return this.key === null;
  }

  /** Publishing needs a token whose publish selectors match every topic written. */
  async authorizePublish(token: TokenSource, topics: readonly string[]): Promise<void> {
    if (this.key === null) return;
    const grants = await this.verify(token(), this.key);
    const denied = topics.find((t) => !coveredBy(grants.publish, parseSelector(t)));
    if (denied !== undefined) throw new HeraldError("forbidden", `this token may not publish to "${denied}"`);
  }

  /** Reading needs, for every selector not covered by the public topics, a token that covers it. */
  async authorizeRead(token: TokenSource, selectors: readonly Selector[]): Promise<void> {
    if (this.key === null) return;
    const presented = token();
    const grants = presented === undefined ? null : await this.verify(presented, this.key);
    for (const s of selectors) {
      if (coveredBy(this.publicSelectors, s)) continue;
      if (grants === null) throw new HeraldError("unauthorized", "a token is required to read these topics", CHALLENGE);
      if (!coveredBy(grants.subscribe, s)) throw new HeraldError("forbidden", `this token may not read "${s.text}"`);
    }
  }

  /** A predicate for the topics a caller may see listed. */
  async readableTopics(token: TokenSource): Promise<(topic: string) => boolean> {
    if (this.key === null) return () => true;
    const presented = token();
    const grants = presented === undefined ? null : await this.verify(presented, this.key);
    const allowed = [...this.publicSelectors, ...(grants?.subscribe ?? [])];
    return (topic) => coveredBy(allowed, parseSelector(topic));
  }

  private async verify(token: string | undefined, key: Uint8Array): Promise<Grants> {
    if (token === undefined || token === "") throw new HeraldError("unauthorized", "a bearer token is required", CHALLENGE);
    let payload: Record<string, unknown>;
    try {
      // Only HS256: `alg: none` and every other algorithm are refused before the signature is looked at.
      ({ payload } = await jwtVerify(token, key, { algorithms: ["HS256"] }));
    } catch (error) {
      throw new HeraldError("unauthorized", `invalid token: ${reason(error)}`, INVALID);
    }
    const grants = grantsFromClaim(payload.herald);
    if (grants === null) throw new HeraldError("unauthorized", "invalid token: malformed herald claim", INVALID);
    return grants;
  }
}

/** A reason safe to show: never the token or its contents. */
function reason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWTClaimValidationFailed) return `claim "${error.claim}" failed (${error.reason})`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "algorithm not allowed";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "bad signature";
  return "malformed";
}
