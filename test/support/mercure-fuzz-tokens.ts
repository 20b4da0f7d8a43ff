/**
 * Generated tokens for the Mercure fuzz, and where a request carries them: good and bad signatures, `alg:
 * none`, expired, each of the three claim forms granting some topics and not others, RFC 9068's `typ`, `aud`
 * and `iss` right and wrong. A token is kept as its claims until sent, so a counterexample reads as what it grants.
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { skip } from "./fuzz-bodies";
import { DETAIL_TYPE } from "./mercure-fuzz-grants";

export const FUZZ_SECRET = "a-secret-of-at-least-thirty-two-bytes!";
export const FUZZ_AUDIENCE = "https://hub.example.com/.well-known/mercure";
export const FUZZ_ISSUER = "https://app.example.com";

export interface TokenSpec {
  readonly sig: "good" | "bad" | "alg-none" | "garbage" | "empty";
  readonly exp: "future" | "past" | "absent";
  readonly typ?: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Where a token goes: the Authorization header (either case of the scheme), draft 07's parameter, a cookie. */
export type Place = "header" | "header-lowercase" | "query" | "cookie" | "secure-cookie" | "herald-cookie";

export interface Presented {
  readonly at: Place;
  readonly token: TokenSpec;
}

const oneOf = <T>(...values: T[]) => fc.constantFrom(...values);
const weighted = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>, ratio: number) =>
  fc.oneof({ weight: ratio, arbitrary: usual }, { weight: 1, arbitrary: odd });
const some = <T>(values: T[], maxLength = 3) => fc.subarray(values, { maxLength });

/** Topics and selectors the generated requests also use, so grants and requests meet. */
const HERALD_SELECTORS = ["*", "orders.*", "orders.eu", "news.a", "o*"];
const TEMPLATES = skip.has("templates") ? [] : ["https://example.com/books/{id}", "https://example.com/{+path}"];
const MERCURE_SELECTORS = [
  "*",
  "https://example.com/books/1",
  "https://example.com/books/*",
  "https://example.com/pub/1",
  "orders.eu",
  "urn:isbn:1",
  "/relative/x",
  ...TEMPLATES,
];
const DETAIL_MATCHERS: unknown[] = [
  { match: "*" },
  { match: "https://example.com/books/1" },
  { match: "https://example.com/books/2", match_type: "exact" },
  { match: "https://example.com/books/*" },
  { match: "orders.eu" },
  { match: "*", match_type: "urlpattern" },
  ...(skip.has("urlpattern")
    ? []
    : [
        { match: "https://example.com/books/:id", match_type: "urlpattern" },
        { match: "/relative/*", match_type: "urlpattern" },
      ]),
];
const BAD_DETAIL_MATCHERS: unknown[] = [
  { match: "x", match_type: "regex" },
  "not an object",
  { match: "" },
  { match_type: "exact" },
];

const heraldClaim = fc.oneof(
  { weight: 8, arbitrary: fc.record({ publish: some(HERALD_SELECTORS), subscribe: some(HERALD_SELECTORS) }) },
  { weight: 1, arbitrary: oneOf<unknown>("x", null, { publish: ["https://example.com/books/1"] }, { subscribe: "orders.*" }) },
);

const mercureClaim = fc.oneof(
  { weight: 8, arbitrary: fc.record({ publish: some(MERCURE_SELECTORS), subscribe: some(MERCURE_SELECTORS) }) },
  { weight: 1, arbitrary: oneOf<unknown>("x", { publish: "*" }, { subscribe: [1] }) },
);

const detail = fc.record({
  type: fc.oneof(
    { weight: 8, arbitrary: fc.constant(DETAIL_TYPE) },
    { weight: 1, arbitrary: oneOf("https://other.example/detail") },
  ),
  actions: fc.oneof(
    { weight: 8, arbitrary: fc.subarray(["publish", "subscribe", "future"], { minLength: 1 }) },
    { weight: 1, arbitrary: oneOf<unknown>([], [1], "publish") },
  ),
  topics: fc.oneof(
    { weight: 8, arbitrary: fc.subarray(DETAIL_MATCHERS, { minLength: 1, maxLength: 3 }) },
    {
      weight: 1,
      arbitrary: fc.subarray(BAD_DETAIL_MATCHERS, { minLength: 1, maxLength: 1 }).map((bad) => [DETAIL_MATCHERS[1], ...bad]),
    },
    { weight: 1, arbitrary: fc.constant([]) },
  ),
});

/** Draft 08's access token: mostly right, sometimes with the wrong `aud`, `iss` or `typ`. */
const accessToken = fc.record({
  iss: fc.oneof(
    { weight: 8, arbitrary: fc.constant(FUZZ_ISSUER) },
    { weight: 1, arbitrary: oneOf<string | undefined>("https://evil.example", undefined) },
  ),
  aud: fc.oneof(
    { weight: 8, arbitrary: oneOf<unknown>(FUZZ_AUDIENCE, [FUZZ_AUDIENCE, "https://other.example"]) },
    { weight: 1, arbitrary: oneOf<unknown>("https://elsewhere.example", undefined, []) },
  ),
  sub: oneOf("fuzz"),
  authorization_details: fc.oneof(
    { weight: 8, arbitrary: fc.array(detail, { minLength: 1, maxLength: 2 }) },
    { weight: 1, arbitrary: oneOf<unknown>({}, "x", [42]) },
  ),
});

const claims: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 3, arbitrary: heraldClaim.map((herald) => ({ herald })) },
  { weight: 3, arbitrary: mercureClaim.map((mercure) => ({ mercure })) },
  { weight: 3, arbitrary: accessToken.map((t) => Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined))) },
  { weight: 1, arbitrary: fc.record({ herald: heraldClaim, mercure: mercureClaim }) },
);

export const token: fc.Arbitrary<TokenSpec> = fc.record(
  {
    sig: weighted(oneOf<TokenSpec["sig"]>("good"), oneOf<TokenSpec["sig"]>("bad", "alg-none", "garbage", "empty"), 12),
    exp: weighted(oneOf<TokenSpec["exp"]>("future"), oneOf<TokenSpec["exp"]>("past", "absent"), 8),
    typ: fc.oneof(
      { weight: 3, arbitrary: oneOf("at+jwt", "application/AT+JWT") },
      { weight: 1, arbitrary: oneOf("JWT", "at+jwt+x") },
    ),
    claims,
  },
  { requiredKeys: ["sig", "exp", "claims"] },
);

export const presented: fc.Arbitrary<Presented[]> = fc.array(
  fc.record({
    at: fc.oneof(
      { weight: 4, arbitrary: fc.constant("header" as const) },
      { weight: 1, arbitrary: oneOf<Place>("header-lowercase", "query", "cookie", "secure-cookie", "herald-cookie") },
    ),
    token,
  }),
  { maxLength: 2 },
);

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** The compact JWS of a token spec, its `exp` counted from now. */
export function sign(spec: TokenSpec, nowSeconds: number): string {
  if (spec.sig === "empty") return "";
  if (spec.sig === "garbage") return "not-a.jwt";
  const exp = spec.exp === "absent" ? {} : { exp: nowSeconds + (spec.exp === "future" ? 600 : -600) };
  const head = b64({ alg: spec.sig === "alg-none" ? "none" : "HS256", ...(spec.typ !== undefined && { typ: spec.typ }) });
  const body = b64({ ...spec.claims, ...exp });
  if (spec.sig === "alg-none") return `${head}.${body}.`;
  const key = spec.sig === "good" ? FUZZ_SECRET : "another-secret-of-at-least-thirty-two-bytes";
  return `${head}.${body}.${createHmac("sha256", key).update(`${head}.${body}`).digest("base64url")}`;
}

/** A token that may do everything: the driver's own, for fences and reading the log back. */
export const MASTER: TokenSpec = { sig: "good", exp: "future", claims: { herald: { publish: ["*"], subscribe: ["*"] } } };

/** The headers and query parameters that carry `tokens`, later ones of a place replacing earlier ones. */
export function carry(tokens: readonly Presented[], nowSeconds: number): { headers: Record<string, string>; query: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  const query: string[] = [];
  const cookieName = {
    cookie: "mercureAuthorization",
    "secure-cookie": "__Secure-mercure_access_token",
    "herald-cookie": "herald_token",
  };
  for (const { at, token: spec } of tokens) {
    const jws = sign(spec, nowSeconds);
    if (at === "header") headers.authorization = `Bearer ${jws}`;
    else if (at === "header-lowercase") headers.authorization = `bearer ${jws}`;
    else if (at === "query") query.push(`authorization=${encodeURIComponent(jws)}`);
    else cookies.push(`${cookieName[at]}=${jws}`);
  }
  if (cookies.length > 0) headers.cookie = cookies.join("; ");
  return { headers, query };
}
