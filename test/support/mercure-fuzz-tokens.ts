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
  /** Signed with the hub's secret (HS256), another secret, the right secret and HS512, none, or no JWS at all. */
  readonly sig: "good" | "bad" | "hs512" | "alg-none" | "garbage" | "empty";
  /** `exp` ahead, past, absent or not a number; `nbf-future`: valid only later. */
  readonly exp: "future" | "past" | "absent" | "string" | "nbf-future";
  readonly typ?: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * Where a token goes: the Authorization header (either case of the scheme), draft 07's parameter, a cookie;
 * `basic`: an Authorization header of another scheme (a proxy's), which carries no token.
 */
export type Place = "header" | "header-lowercase" | "basic" | "query" | "cookie" | "secure-cookie" | "herald-cookie";

export interface Presented {
  readonly at: Place;
  readonly token: TokenSpec;
}

const oneOf = <T>(...values: T[]) => fc.constantFrom(...values);
const weighted = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>, ratio: number) =>
  fc.oneof({ weight: ratio, arbitrary: usual }, { weight: 1, arbitrary: odd });
const some = <T>(values: T[], maxLength = 3) => fc.subarray(values, { maxLength });

/** Topics and selectors the generated requests also use, so grants and requests meet. */
const HERALD_SELECTORS = ["*", "orders.*", "orders.eu", "news.a", "o*", "https://example.com/books/*", "urn:isbn:1"];
/** Draft 07's URI templates and draft 08's URL patterns as grants (tag `grant-patterns`). */
const TEMPLATES = skip.has("grant-patterns") ? [] : ["https://example.com/books/{id}", "https://example.com/{+path}"];
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
  ...(skip.has("grant-patterns")
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

/** Grants of one kind: every topic now and then, else a few selectors. */
const grantList = (selectors: string[]) => weighted(some(selectors), fc.constant<string[]>(["*"]), 3);
const lists = (selectors: string[]) => fc.record({ publish: grantList(selectors), subscribe: grantList(selectors) });

const heraldClaim = weighted<unknown>(
  lists(HERALD_SELECTORS),
  oneOf<unknown>("x", null, { publish: [""] }, { publish: ["a\u0000b"] }, { subscribe: "orders.*" }),
  8,
);

const mercureClaim = weighted<unknown>(lists(MERCURE_SELECTORS), oneOf<unknown>("x", { publish: "*" }, { subscribe: [1] }), 8);

const goodDetail = fc.record({
  type: weighted(fc.constant(DETAIL_TYPE), oneOf("https://other.example/detail"), 12),
  actions: fc.subarray(["publish", "subscribe", "future"], { minLength: 1 }),
  topics: fc.subarray(DETAIL_MATCHERS, { minLength: 1, maxLength: 3 }),
});

const detail = weighted<unknown>(
  goodDetail,
  fc.oneof(
    goodDetail.map((d) => ({ ...d, actions: [] })),
    goodDetail.map((d) => ({ ...d, actions: [1] })),
    goodDetail.map((d) => ({ ...d, topics: [] })),
    fc.tuple(goodDetail, oneOf(...BAD_DETAIL_MATCHERS)).map(([d, bad]) => ({ ...d, topics: [...d.topics, bad] })),
    oneOf("not an object"),
  ),
  8,
);

/** Draft 08's access token, right or with a wrong `aud`, `iss` or malformed details. */
const accessToken = (good: boolean) =>
  fc
    .record({
      iss: good ? fc.constant(FUZZ_ISSUER) : oneOf<string | undefined>(FUZZ_ISSUER, "https://evil.example", undefined),
      aud: good
        ? oneOf<unknown>(FUZZ_AUDIENCE, [FUZZ_AUDIENCE, "https://other.example"])
        : oneOf<unknown>(FUZZ_AUDIENCE, "https://elsewhere.example", undefined, []),
      sub: fc.constant("fuzz"),
      authorization_details: good
        ? fc.array(goodDetail, { minLength: 1, maxLength: 2 })
        : weighted(fc.array(detail, { minLength: 1, maxLength: 2 }), oneOf<unknown>({}, "x", [42]), 4),
    })
    .map((t) => Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)));

/** Claims of each form; `good` ones are well formed (what they grant is left to chance). */
const claimsOf = (good: boolean): fc.Arbitrary<Record<string, unknown>> =>
  fc.oneof(
    { weight: 3, arbitrary: (good ? lists(HERALD_SELECTORS) : heraldClaim).map((herald) => ({ herald })) },
    { weight: 3, arbitrary: (good ? lists(MERCURE_SELECTORS) : mercureClaim).map((mercure) => ({ mercure })) },
    { weight: 3, arbitrary: accessToken(good) },
    { weight: 1, arbitrary: fc.record({ herald: heraldClaim, mercure: mercureClaim }) },
  );
const claims = claimsOf(false);

export const token: fc.Arbitrary<TokenSpec> = fc.record(
  {
    sig: weighted(oneOf<TokenSpec["sig"]>("good"), oneOf<TokenSpec["sig"]>("bad", "hs512", "alg-none", "garbage", "empty"), 12),
    exp: weighted(oneOf<TokenSpec["exp"]>("future"), oneOf<TokenSpec["exp"]>("past", "absent", "string", "nbf-future"), 8),
    typ: fc.oneof(
      { weight: 3, arbitrary: oneOf("at+jwt", "application/AT+JWT") },
      { weight: 1, arbitrary: oneOf("JWT", "at+jwt+x") },
    ),
    claims,
  },
  { requiredKeys: ["sig", "exp", "claims"] },
);

const place = weighted(
  oneOf<Place>("header"),
  oneOf<Place>("header-lowercase", "basic", "query", "cookie", "secure-cookie", "herald-cookie"),
  4,
);

/** Mostly one good token, in the header or now and then elsewhere, granting what it may; sometimes none, several, or bad ones. */
export const presented: fc.Arbitrary<Presented[]> = weighted(
  fc
    .tuple(claimsOf(true), weighted(oneOf<Place>("header"), oneOf<Place>("cookie", "secure-cookie", "query"), 3))
    .map(([claims, at]): Presented[] => [{ at, token: { sig: "good", exp: "future", typ: "at+jwt", claims } }]),
  fc.array(fc.record({ at: place, token }), { maxLength: 2 }),
  3,
);

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** The compact JWS of a token spec, its `exp` counted from now. */
export function sign(spec: TokenSpec, nowSeconds: number): string {
  if (spec.sig === "empty") return "";
  if (spec.sig === "garbage") return "not-a.jwt";
  const times = {
    future: { exp: nowSeconds + 600 },
    past: { exp: nowSeconds - 600 },
    absent: {},
    string: { exp: String(nowSeconds + 600) },
    "nbf-future": { exp: nowSeconds + 1200, nbf: nowSeconds + 600 },
  }[spec.exp];
  const alg = { "alg-none": "none", hs512: "HS512" }[spec.sig as string] ?? "HS256";
  const head = b64({ alg, ...(spec.typ !== undefined && { typ: spec.typ }) });
  const body = b64({ ...spec.claims, ...times });
  if (spec.sig === "alg-none") return `${head}.${body}.`;
  const key = spec.sig === "bad" ? "another-secret-of-at-least-thirty-two-bytes" : FUZZ_SECRET;
  const hash = spec.sig === "hs512" ? "sha512" : "sha256";
  return `${head}.${body}.${createHmac(hash, key).update(`${head}.${body}`).digest("base64url")}`;
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
    else if (at === "basic") headers.authorization = "Basic Zm9vOmJhcg==";
    else if (at === "query") query.push(`authorization=${encodeURIComponent(jws)}`);
    else cookies.push(`${cookieName[at]}=${jws}`);
  }
  if (cookies.length > 0) headers.cookie = cookies.join("; ");
  return { headers, query };
}
