/**
 * Generated requests, valid and invalid, for every route: methods, paths, headers, content types, bodies,
 * query strings. Bodies are kept as values until sent, so a later step can resend one spelled differently
 * (another whitespace, keys in another order), as a client that rebuilds its request on retry does.
 */
import fc from "fast-check";
import {
  BAD_TYPES,
  type BodySpec,
  batchObject,
  CONTENT_TYPES,
  jsonBody,
  maybe,
  oneOf,
  PADS,
  publishObject,
  skip,
  TOPICS,
  TYPES,
  textBody,
} from "./fuzz-bodies";

export interface RequestSpec {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** `{nonce}` in a value is replaced by a per-run nonce: keys stay fresh across runs and shrinks. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: BodySpec;
}

/** A step of a run: a new request, or an earlier JSON request sent again spelled differently. */
export type Step = { readonly send: RequestSpec } | { readonly again: number; readonly pad: string; readonly reverse: boolean };

const BAD_TOPICS = ["", ".a", "-a", "_a", "a b", "é", "a/b", `t${"x".repeat(200)}`, "a*", "[a]", "a,b", "%", "a\u0000"];
const SELECTORS = [...TOPICS.slice(0, 6), "a*", "a.*", "orders.*", "*", "o*", "x:*"];
const BAD_SELECTORS = ["", "**", "*a", "a**", "[a", "[a]", "a b", ".*", "é", "a\u0000b", "a+b", "a;b"];
const IDS = [
  "0",
  "1",
  "2",
  "5",
  "20",
  "100",
  "1000000",
  ...(skip.has("huge-ids") ? [] : ["9223372036854775807", "99999999999999999999999"]),
];
const BAD_IDS = ["-1", "abc", "", "1.5", "1e3", "0x10", "٣", "[1]", "1,2", ...(skip.has("literal") ? [] : [" 7", "+5"])];
const LIMITS = ["1", "2", "3", "100", "1000"];
const BAD_LIMITS = ["0", "1001", "-1", "abc", "", "1.5", "[5]"];

/** Encodes a query value: escaped, or raw where a URL allows it, so `[`, `,`, `*` and `:` reach the hub literally. */
const queryValue = (value: string, raw: boolean) =>
  raw ? value.replace(/[^A-Za-z0-9._~:*,[\]@!$'()-]/g, (c) => encodeURIComponent(c)) : encodeURIComponent(value);

const param = (name: string, value: fc.Arbitrary<string>) =>
  fc.tuple(value, fc.boolean()).map(([v, raw]) => `${name}=${queryValue(v, raw)}`);

const noise = fc.array(oneOf("x=1", "access_token=abc", "_=123", "utm_source=a%20b", "flag", "=", "&", "a[]=1", "topic[0]=a"), {
  maxLength: 2,
});

const joinQuery = (parts: ReadonlyArray<string | undefined>) => parts.filter((p) => p !== undefined && p !== "").join("&");

const badSelectors = skip.has("literal") ? BAD_SELECTORS.filter((s) => !s.startsWith("[")) : BAD_SELECTORS;
const selectorValue = fc
  .array(fc.oneof({ weight: 8, arbitrary: oneOf(...SELECTORS) }, { weight: 1, arbitrary: oneOf(...badSelectors) }), {
    minLength: 1,
    maxLength: 3,
  })
  .map((items) => items.join(","));

const selectorParams = fc.oneof(
  { weight: 20, arbitrary: fc.array(param("topic", selectorValue), { minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constant([] as string[]) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 50, max: 51 }).map((n) => [`topic=${Array.from({ length: n }, (_, i) => `s${i}`).join(",")}`]),
  },
);

const idText = fc.oneof(
  { weight: 6, arbitrary: oneOf(...IDS) },
  { weight: 6, arbitrary: fc.nat(400).map(String) },
  { weight: 2, arbitrary: oneOf(...BAD_IDS) },
);
/** A header value must be Latin-1 for fetch to send it at all. */
const headerIdText = idText.filter((id) => [...id].every((c) => c.charCodeAt(0) <= 0xff));

/** Headers any request may carry; in open mode credentials of any shape must change nothing. */
const commonHeaders = fc.record(
  {
    authorization: oneOf("Bearer x.y.z", "Basic Zm9vOmJhcg==", "Bearer", "", "Negotiate abc"),
    cookie: oneOf("herald_token=%", "herald_token=abc", "a=b; herald_token=%E0%A4%A", "herald_token="),
    origin: oneOf("http://evil.example", "null", "http://127.0.0.1"),
    "x-forwarded-for": oneOf("1.2.3.4", "garbage, 5.6.7.8"),
    accept: oneOf("*/*", "text/event-stream", "application/xml"),
  },
  { requiredKeys: [] },
);

const idempotencyKey = fc.oneof(
  { weight: 6, arbitrary: oneOf("k1-{nonce}", "k2-{nonce}", " spaced ~!@#$%^&*()<>{} key-{nonce}") },
  { weight: 1, arbitrary: oneOf("", "x".repeat(201), "é", "a\tb") },
);

const method = (usual: string) =>
  fc.oneof(
    { weight: 15, arbitrary: fc.constant(usual) },
    { weight: 1, arbitrary: oneOf("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD") },
  );

const topicSegment = fc
  .tuple(fc.oneof({ weight: 8, arbitrary: oneOf(...TOPICS) }, { weight: 1, arbitrary: oneOf(...BAD_TOPICS) }), fc.boolean())
  .map(([t, escapeAll]) =>
    escapeAll ? [...Buffer.from(t)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("") : encodeURIComponent(t),
  );

const publishOne: fc.Arbitrary<RequestSpec> = fc
  .tuple(
    method("POST"),
    topicSegment,
    oneOf(...CONTENT_TYPES),
    fc.array(param("event", fc.oneof({ weight: 4, arbitrary: oneOf(...TYPES) }, { weight: 1, arbitrary: oneOf(...BAD_TYPES) })), {
      maxLength: skip.has("repeat-event") ? 1 : 2,
    }),
    noise,
    commonHeaders,
    maybe(idempotencyKey, 2),
  )
  .chain(([m, segment, contentType, events, extra, headers, key]) => {
    const isJson = contentType.split(";")[0]?.trim().toLowerCase() === "application/json";
    return (isJson ? jsonBody(publishObject) : textBody).map(
      (body): RequestSpec => ({
        method: m,
        path: `/topics/${segment}/events`,
        query: joinQuery([...events, ...extra]),
        headers: withOptional({ ...headers, "content-type": contentType || undefined, "idempotency-key": key }),
        body,
      }),
    );
  });

const publishBatch: fc.Arbitrary<RequestSpec> = fc
  .tuple(
    method("POST"),
    oneOf(...CONTENT_TYPES.slice(0, 8)),
    jsonBody(batchObject),
    commonHeaders,
    maybe(oneOf("b1-{nonce}", "b2-{nonce}", ""), 2),
  )
  .map(([m, contentType, body, headers, key]) => ({
    method: m,
    path: "/events",
    query: "",
    headers: withOptional({ ...headers, "content-type": contentType || undefined, "idempotency-key": key }),
    body,
  }));

const historyRead: fc.Arbitrary<RequestSpec> = fc
  .tuple(
    method("GET"),
    selectorParams,
    maybe(param("after", idText)),
    maybe(param("limit", fc.oneof({ weight: 4, arbitrary: oneOf(...LIMITS) }, { weight: 1, arbitrary: oneOf(...BAD_LIMITS) }))),
    noise,
    commonHeaders,
  )
  .map(([m, topics, after, limit, extra, headers]) => ({
    method: m,
    path: "/events",
    query: joinQuery([...topics, after, limit, ...extra]),
    headers: withOptional(headers),
    body: { kind: "none" } as const,
  }));

const streamOpen: fc.Arbitrary<RequestSpec> = fc
  .tuple(
    method("GET"),
    selectorParams,
    fc.oneof(oneOf<"none" | "header" | "query" | "both">("none", "header", "query", "both")),
    headerIdText,
    idText,
    maybe(param("envelope", oneOf("true", "false", "1", "", "TRUE", "yes")), 2),
    commonHeaders,
  )
  .map(([m, topics, resume, headerId, queryId, envelope, headers]) => ({
    method: m,
    path: "/stream",
    query: joinQuery([
      ...topics,
      resume === "query" || resume === "both" ? `lastEventId=${encodeURIComponent(queryId)}` : undefined,
      envelope,
    ]),
    headers: withOptional({ ...headers, "last-event-id": resume === "header" || resume === "both" ? headerId : undefined }),
    body: { kind: "none" } as const,
  }));

const elsewhere: fc.Arbitrary<RequestSpec> = fc
  .tuple(
    oneOf("GET", "GET", "HEAD", "POST", "DELETE"),
    oneOf(
      "/",
      "/health",
      "/metrics",
      "/openapi.json",
      "/docs",
      "/topics",
      "/nope",
      "/events/",
      "/EVENTS",
      "/topics/a/events/x",
      "/topics//events",
      "/stream/x",
      "/topics/a",
    ),
    noise,
  )
  .map(([m, path, extra]) => ({ method: m, path, query: joinQuery(extra), headers: {}, body: { kind: "none" } as const }));

export const request: fc.Arbitrary<RequestSpec> = fc.oneof(
  { weight: 8, arbitrary: publishOne },
  { weight: 3, arbitrary: publishBatch },
  { weight: 3, arbitrary: historyRead },
  { weight: 3, arbitrary: streamOpen },
  { weight: 1, arbitrary: elsewhere },
);

/** A run: up to a dozen steps, some of them resending an earlier JSON request spelled anew. */
export const run: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: request.map((send): Step => ({ send })) },
    {
      weight: 1,
      arbitrary: fc.record({
        again: fc.nat(11),
        pad: oneOf(...PADS),
        reverse: skip.has("key-order") ? fc.constant(false) : fc.boolean(),
      }),
    },
  ),
  { minLength: 1, maxLength: 12 },
);

function withOptional(headers: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined));
}
