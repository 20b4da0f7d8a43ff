/**
 * Generated requests, valid and invalid, for every route: methods, paths, headers, content types, bodies,
 * query strings. Bodies are kept as values until sent, so a later step can resend one spelled differently
 * (another whitespace, keys in another order), as a client that rebuilds its request on retry does.
 */
import fc from "fast-check";
import { type Json, num, obj, str } from "./json-text";

/**
 * Findings already reported and owned elsewhere can be left out of generation while they are open
 * (`HERALD_FUZZ_SKIP=numbers,keys`), so a run looks past them; the oracle stays as strict.
 */
const skip = new Set((process.env.HERALD_FUZZ_SKIP ?? "").split(","));

/** The largest event data of the hub under test: small, so sizes around it are cheap to generate. */
export const FUZZ_MAX_EVENT_BYTES = 2048;

export type BodySpec =
  | { readonly kind: "none" }
  | { readonly kind: "bytes"; readonly bytes: readonly number[] }
  /** JSON text with `pad` as whitespace; `inject` puts raw bytes (invalid UTF-8) at a fraction of its length. */
  | { readonly kind: "json"; readonly value: Json; readonly pad: string; readonly inject?: InjectSpec };

export interface InjectSpec {
  readonly at: number;
  readonly bytes: readonly number[];
}

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

const TOPICS = ["a", "a.b", "a.b.c", "ab", "orders.eu", "orders.eu.created", "x:y_z-1", "Z9", `t${"x".repeat(199)}`];
const BAD_TOPICS = ["", ".a", "-a", "_a", "a b", "é", "a/b", `t${"x".repeat(200)}`, "a*", "[a]", "a,b", "%", "a\u0000"];
const SELECTORS = [...TOPICS.slice(0, 6), "a*", "a.*", "orders.*", "*", "o*", "x:*"];
const BAD_SELECTORS = ["", "**", "*a", "a**", "[a", "[a]", "a b", ".*", "é", "a\u0000b", "a+b", "a;b"];
const TYPES = ["created", "a.b:c-d_e", "T".repeat(64), "Herald.x", "heraldx"];
const BAD_TYPES = ["", "T".repeat(65), "a b", "é", "herald.gap", "herald.x", "a\nb"];
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
const NUMBERS = [
  "9007199254740993",
  "1e400",
  "-0",
  "0.0",
  "1E+2",
  "1.50",
  "-9223372036854775809",
  "1e-400",
  "0.1",
  "123456789012345678901234567890",
];
const CONTENT_TYPES_ALL = [
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON;charset=UTF-8",
  'application/json; charset="utf-8"',
  "application/json; charset=us-ascii",
  "application/json; charset=latin1",
  "application/json; charset=utf-16",
  "text/plain",
  "text/plain;charset=UTF-8",
  "text/plain; charset=iso-8859-1",
  "application/x-www-form-urlencoded",
  "application/octet-stream",
  "multipart/form-data; boundary=x",
  "application/vnd.api+json",
  "a/b/c;;=",
  "",
];
const CONTENT_TYPES = skip.has("charset")
  ? CONTENT_TYPES_ALL.filter((t) => !/latin1|utf-16|iso-8859/.test(t))
  : CONTENT_TYPES_ALL;
/** Bytes that are never UTF-8: a stray continuation, an overlong '/', a truncated sequence, a surrogate, 0xFF. */
const INVALID_UTF8 = [[0x80], [0xc0, 0xaf], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xff], [0xf8, 0x88, 0x80, 0x80, 0x80]];
const PADS = ["", " ", "\n", "\t", "\r\n  ", "  "];

const oneOf = <T>(...values: T[]) => fc.constantFrom(...values);
const maybe = <T>(arb: fc.Arbitrary<T>, freq = 1) => fc.option(arb, { nil: undefined, freq });

/** Strings that stress the SSE line split and the encoders: CR, LF, CRLF, NUL, U+2028, emoji, quotes. */
const tricky = fc
  .array(oneOf("a", "\n", "\r", "\r\n", " ", "é", "😀", "\u2028", "\u0000", '"', "\\", "data: x", ":"), { maxLength: 8 })
  .map((parts) => parts.join(""));

const jsonString = fc.oneof(
  fc.tuple(fc.string({ unit: "binary", maxLength: 16 }), fc.boolean()).map(([v, escaped]) => str(v, escaped)),
  tricky.map((v) => str(v)),
);

/** Numbers as JavaScript spells them, and spellings JavaScript would change: 2^53 + 1, 1e400, -0, 1.50. */
const jsonNumber = skip.has("numbers")
  ? fc.integer().map((n) => num(String(n)))
  : fc.oneof(
      fc.integer().map((n) => num(String(n))),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => num(String(n))),
      oneOf(...NUMBERS).map(num),
    );

/** Data sized around the limit: ASCII, two-byte characters, or escapes that spell it larger than it is. */
const sizedString = fc
  .tuple(fc.integer({ min: -24, max: 24 }), oneOf("x", "é", "\n"), fc.boolean())
  .map(([delta, c, escaped]) =>
    str(c.repeat(Math.max(0, Math.floor((FUZZ_MAX_EVENT_BYTES + delta) / Buffer.byteLength(c)))), escaped),
  );

const deepArray = fc.integer({ min: 1, max: 1100 }).map((depth): Json => {
  let j: Json = num("0");
  for (let i = 0; i < depth; i++) j = { t: "arr", items: [j] };
  return j;
});

/** Integer-like keys are the ones a JavaScript object moves to the front. */
const KEYS = skip.has("keys")
  ? oneOf("a", "b", "z", "é", "", "data", "event", "__proto__")
  : oneOf("a", "b", "z", "1", "0", "10", "é", "", "data", "event", "__proto__");

export const jsonValue: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    jsonNumber,
    jsonString,
    oneOf<Json>({ t: "lit", v: null }, { t: "lit", v: true }, { t: "lit", v: false }),
    fc.array(tie("value"), { maxLength: 4 }).map((items): Json => ({ t: "arr", items })),
    fc.uniqueArray(fc.tuple(KEYS, tie("value")), { maxLength: 4, selector: ([k]) => k }).map(obj),
  ),
})).value;

const data = fc.oneof(
  { weight: 8, arbitrary: jsonValue },
  { weight: 1, arbitrary: sizedString },
  { weight: 1, arbitrary: deepArray },
);
const eventMember = fc.oneof(
  { weight: 6, arbitrary: oneOf(...TYPES).map((t) => str(t)) },
  { weight: 2, arbitrary: oneOf(...BAD_TYPES).map((t) => str(t)) },
  { weight: 1, arbitrary: oneOf<Json>({ t: "lit", v: null }, num("1"), { t: "arr", items: [] }) },
);

/** The body of a single publish: mostly `{data, event?}`, sometimes missing data, an extra member, or no object. */
const publishObject: fc.Arbitrary<Json> = fc
  .oneof(
    { weight: 12, arbitrary: fc.tuple(data, maybe(eventMember, 2), fc.boolean()) },
    { weight: 1, arbitrary: fc.tuple(fc.constant(undefined), maybe(eventMember), fc.boolean()) },
  )
  .chain(([d, e, dataFirst]) => {
    const entries: Array<readonly [string, Json]> = [];
    if (d !== undefined) entries.push(["data", d]);
    if (e !== undefined) entries[dataFirst ? "push" : "unshift"](["event", e]);
    return fc.oneof(
      { weight: 20, arbitrary: fc.constant(obj(entries)) },
      { weight: 1, arbitrary: oneOf("evnt", "Data", "extra").map((k) => obj([...entries, [k, num("1")]])) },
      { weight: 1, arbitrary: jsonValue },
    );
  });

const batchItem: fc.Arbitrary<Json> = fc
  .tuple(
    fc.oneof(
      { weight: 10, arbitrary: oneOf(...TOPICS).map((t) => str(t)) },
      { weight: 1, arbitrary: oneOf<Json | undefined>(str("a b"), str(""), num("7"), undefined) },
    ),
    maybe(eventMember, 2),
    fc.oneof({ weight: 15, arbitrary: data }, { weight: 1, arbitrary: fc.constant(undefined) }),
    fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  )
  .map(([topic, event, d, extra]) => {
    const entries: Array<readonly [string, Json]> = [];
    if (topic !== undefined) entries.push(["topic", topic]);
    if (event !== undefined) entries.push(["event", event]);
    if (d !== undefined) entries.push(["data", d]);
    if (extra) entries.push(["topics", str("a")]);
    return obj(entries);
  });

const manyItems = fc.integer({ min: 999, max: 1001 }).map((n) =>
  Array.from({ length: n }, (_, i) =>
    obj([
      ["topic", str("bulk")],
      ["data", num(String(i))],
    ]),
  ),
);

const batchObject: fc.Arbitrary<Json> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.array(batchItem, { minLength: 1, maxLength: 6 }).map((items) => obj([["events", { t: "arr", items }]])),
  },
  { weight: 1, arbitrary: fc.constant(obj([["events", { t: "arr", items: [] }]])) },
  { weight: 1, arbitrary: manyItems.map((items) => obj([["events", { t: "arr", items }]])) },
  { weight: 1, arbitrary: fc.constant(obj([["events", obj([])]])) },
  { weight: 1, arbitrary: jsonValue },
);

const inject = fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: oneOf(...INVALID_UTF8) });

function jsonBody(value: fc.Arbitrary<Json>): fc.Arbitrary<BodySpec> {
  return fc.oneof(
    { weight: 20, arbitrary: fc.record({ kind: fc.constant("json" as const), value, pad: oneOf(...PADS) }) },
    ...(skip.has("utf8")
      ? []
      : [{ weight: 1, arbitrary: fc.record({ kind: fc.constant("json" as const), value, pad: oneOf(...PADS), inject }) }]),
    { weight: 2, arbitrary: brokenJson.map((text) => ({ kind: "bytes" as const, bytes: [...Buffer.from(text)] })) },
  );
}

/** Text that is not JSON: truncated documents, JavaScript-isms, nothing at all. */
const brokenJson = fc.oneof(
  oneOf(
    "",
    "{",
    '{"data":',
    '{"data":1,}',
    "{'data':1}",
    '{"data":NaN}',
    '{"data":undefined}',
    "nul",
    '{"data":1}}',
    '{"data":"\u0001"}',
  ),
  fc.string({ maxLength: 12 }).filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  }),
);

const textBody: fc.Arbitrary<BodySpec> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .oneof(tricky, fc.string({ unit: "binary", maxLength: 40 }))
      .map((t) => ({ kind: "bytes" as const, bytes: [...Buffer.from(t)] })),
  },
  {
    weight: 1,
    arbitrary: sizedString.map((s) => ({ kind: "bytes" as const, bytes: [...Buffer.from(s.t === "str" ? s.v : "")] })),
  },
  ...(skip.has("utf8")
    ? []
    : [
        {
          weight: 1,
          arbitrary: fc
            .tuple(tricky, oneOf(...INVALID_UTF8))
            .map(([t, bad]) => ({ kind: "bytes" as const, bytes: [...Buffer.from(t), ...bad] })),
        },
      ]),
);

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
