/**
 * Generated requests for /.well-known/mercure: publishes as form bodies (fields repeated, missing, empty,
 * percent-encoded oddly or not UTF-8, topics in the hub's namespace, reserved ids and types, retries that are
 * not digits, too many or too long fields) and subscriptions as query strings (matchers of every name, good and
 * bad, resume ids of every kind), each with tokens in any place. Values are kept readable until sent:
 * `{last}`-style placeholders become ids of the log at that moment.
 */
import fc from "fast-check";
import { FUZZ_MAX_EVENT_BYTES, skip } from "./fuzz-bodies";
import { type Presented, presented } from "./mercure-fuzz-tokens";

/** How a field is written: as URLSearchParams does, every byte escaped (upper or lower hex), unreserved letters escaped too, or barely escaped. */
export type Encoding = "form" | "component" | "all" | "lower" | "letters" | "bare";

/** A form field (`value` null: the name alone, no `=`), or text written as it is, or raw bytes. */
export type Part =
  | { readonly name: string; readonly value: string | null; readonly enc: Encoding }
  | { readonly raw: string }
  | { readonly bytes: readonly number[] };

export interface PublishSpec {
  readonly kind: "publish";
  readonly method: string;
  readonly contentType?: string;
  readonly parts: readonly Part[];
  readonly tokens: readonly Presented[];
  readonly origin?: string;
  readonly referer?: string;
  /** `{nonce}` is replaced by a per-run nonce, so keys stay fresh across runs and shrinks. */
  readonly idempotencyKey?: string;
}

export interface SubscribeSpec {
  readonly kind: "subscribe";
  readonly parts: readonly Part[];
  /** Where the fence matcher goes among the parts, if at all: the driver then publishes to it to end the replay. */
  readonly fence: number | null;
  readonly lastEventId?: string;
  readonly tokens: readonly Presented[];
}

/** An event published on the native API, which Mercure subscribers of its topic get too (one log). */
export interface NativeSpec {
  readonly kind: "native";
  readonly topic: string;
  readonly event: string | null;
  readonly data: unknown;
}

export type MercureStep = PublishSpec | SubscribeSpec | NativeSpec;

/** The topic the driver publishes fences to (public, so every reader may match it). */
export const FENCE_TOPIC = "urn:fuzz:fence";

const oneOf = <T>(...values: T[]) => fc.constantFrom(...values);
const weighted = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>, ratio = 6) =>
  fc.oneof({ weight: ratio, arbitrary: usual }, { weight: 1, arbitrary: odd });

const TEMPLATE_TOPICS = skip.has("templates") ? [] : ["https://example.com/books/{id}"];
export const TOPICS = [
  "https://example.com/books/1",
  "https://example.com/books/2",
  "https://example.com/pub/1",
  "https://example.com/pub/2",
  "news.a",
  "orders.eu",
  "urn:isbn:1",
  "https://example.com/café",
  // Draft 08: no normalisation, no case folding: these are other topics than the two above.
  "https://example.com/cafe\u0301",
  "https://EXAMPLE.com/books/1",
  "/relative/x",
  "https://example.com/pub/*",
  "x y",
];
/** Topics the drafts refuse (or Herald's limits do), and some that only look like it. */
const ODD_TOPICS = [
  "",
  "*",
  "/.well-known/mercure",
  "/.well-known/mercure/x",
  "/.well-known/%6Dercure/x",
  "https://host/.well-known/mercure/../mercure/x",
  "https://other.example/.well-known/mercure",
  "//evil/.well-known/mercure/subscriptions",
  "/.well-known/%2e%2e/.well-known/mercure/x",
  "mercure",
  "./mercure/x",
  "?q",
  "#f",
  "urn:.well-known/mercure",
  "https://example.com//x/.well-known/mercure/y",
  "/.well-known/mercurex",
  "/.WELL-KNOWN/mercure",
  "https://x/.well-known/mercure%2Fx",
  "a\u0000b",
  "a\u200bb",
  "a\u0085b",
  "a\u007fb",
  "t".repeat(2048),
  "t".repeat(2049),
  "é".repeat(1025),
];
const IDS = ["p1", "p2", "urn:uuid:1", "книга", "a#b", " spaced ", "Earliest"];
const ODD_IDS = ["", "#x", "earliest", "urn:herald:1", "urn:herald:x", "a\nb", "a\u200eb", "x".repeat(2049)];
const TYPES = ["", "book.updated", "Mercure", "heraldx", "a b", "é", "t".repeat(256)];
const ODD_TYPES = ["mercure", "herald.gap", "herald.x", "a\rb", "t".repeat(257)];
const RETRIES = ["0", "5000", "0005", "9999999999"];
const ODD_RETRIES = ["", "12a", "-1", " 1", "1.5", "99999999999", "٣", "+5"];
const DATA = ["", "hello", "line 1\nline 2", "a\r\nb\rc", "\u0000", "é😀", "data: x\n\nid: 5\nevent: mercure"];
const sizedData = fc
  .tuple(fc.integer({ min: -2, max: 2 }), oneOf("x", "é"))
  .map(([delta, c]) => c.repeat(Math.floor((FUZZ_MAX_EVENT_BYTES + delta) / Buffer.byteLength(c))));

/** Text written into a form as it is: odd escapes, bytes that are not UTF-8 once decoded, names escaped. */
const RAW_PARTS = [
  "%FF",
  "data=%FF",
  "data=%C0%AF",
  "topic=%E2%82",
  "data=%ED%A0%80",
  "x=%F8%88%80%80%80",
  "data=100%",
  "data=%4",
  "data=%zz",
  "=",
  "private",
  "%74opic=https%3A%2F%2Fexample.com%2Fbooks%2F1",
  "topic",
  "data=a+b%2Bc",
  "Topic=https://example.com/books/2",
  "topic%00=x",
];

const encoding = weighted(oneOf<Encoding>("form", "component"), oneOf<Encoding>("all", "lower", "letters", "bare"), 3);

const field = (name: fc.Arbitrary<string>, value: fc.Arbitrary<string | null>): fc.Arbitrary<Part> =>
  fc.record({ name, value, enc: encoding });

const dataValue = fc.oneof({ weight: 6, arbitrary: oneOf(...DATA) }, { weight: 1, arbitrary: sizedData });
const rawBytes = oneOf([0xff], [0xc3], [0xed, 0xa0, 0x80]).map((b): Part => ({ bytes: [...Buffer.from("data=x"), ...b] }));

const publishField = fc.oneof(
  { weight: 12, arbitrary: field(fc.constant("topic"), weighted(oneOf(...TOPICS, ...TEMPLATE_TOPICS), oneOf(...ODD_TOPICS), 8)) },
  { weight: 8, arbitrary: field(fc.constant("data"), dataValue) },
  { weight: 4, arbitrary: field(fc.constant("id"), weighted(oneOf(...IDS), oneOf(...ODD_IDS), 6)) },
  { weight: 4, arbitrary: field(fc.constant("type"), weighted(oneOf(...TYPES), oneOf(...ODD_TYPES), 6)) },
  { weight: 2, arbitrary: field(fc.constant("retry"), weighted(oneOf(...RETRIES), oneOf(...ODD_RETRIES), 4)) },
  { weight: 4, arbitrary: field(fc.constant("private"), oneOf<string | null>("on", "", "false", null)) },
  { weight: 2, arbitrary: field(oneOf("future", "Topic", "topic[]", "data2", "authorization"), oneOf("1", "")) },
  { weight: 1, arbitrary: oneOf(...RAW_PARTS).map((raw): Part => ({ raw })) },
  { weight: 1, arbitrary: rawBytes },
);

/** Past Herald's limits: 50 or 51 topics, 200 or 201 fields. */
const crowd = fc.oneof(
  fc
    .integer({ min: 49, max: 51 })
    .map((n) => Array.from({ length: n }, (_, i): Part => ({ name: "topic", value: `urn:crowd:${i}`, enc: "form" }))),
  fc
    .integer({ min: 199, max: 201 })
    .map((n) => Array.from({ length: n }, (_, i): Part => ({ name: `f${i}`, value: "", enc: "form" }))),
);

const publishParts = fc.oneof(
  {
    weight: 20,
    arbitrary: fc
      .tuple(field(fc.constant("topic"), oneOf(...TOPICS)), fc.array(publishField, { maxLength: 6 }))
      .map(([t, rest]) => [t, ...rest]),
  },
  { weight: 3, arbitrary: fc.array(publishField, { maxLength: 6 }) },
  { weight: 1, arbitrary: fc.tuple(crowd, fc.array(publishField, { maxLength: 2 })).map(([c, rest]) => [...rest, ...c]) },
);

const CONTENT_TYPES = [
  "application/x-www-form-urlencoded",
  "application/x-www-form-urlencoded; charset=utf-8",
  "APPLICATION/X-WWW-FORM-URLENCODED;charset=UTF-8",
];
const ODD_CONTENT_TYPES: Array<string | undefined> = [
  "application/x-www-form-urlencoded; charset=latin1",
  "application/x-www-form-urlencoded; charset=us-ascii",
  "text/plain",
  "application/json",
  "multipart/form-data; boundary=x",
  undefined,
];

const publishStep: fc.Arbitrary<PublishSpec> = fc.record(
  {
    kind: fc.constant("publish" as const),
    method: weighted(fc.constant("POST"), oneOf("PUT", "DELETE", "PATCH"), 30),
    contentType: weighted<string | undefined>(oneOf(...CONTENT_TYPES), oneOf(...ODD_CONTENT_TYPES), 12),
    parts: publishParts,
    tokens: presented,
    origin: oneOf("{hub}", "http://evil.example", "null"),
    referer: oneOf("{hub}/page", "http://evil.example/x", "not a url"),
    idempotencyKey: weighted(oneOf("mk1-{nonce}", "mk2-{nonce}"), oneOf("", "x".repeat(201), "a\tb", "é"), 6),
  },
  { requiredKeys: ["kind", "method", "contentType", "parts", "tokens"] },
);

const URL_PATTERNS = skip.has("urlpattern")
  ? []
  : [
      "https://example.com/books/:id",
      "/relative/:x",
      "https://example.com/pub/*",
      "https://example.com/(",
      "https://*.example.com/*",
      "*",
      "/books/:id(\\d+)",
      "https://example.com/*/*/*",
    ];
const TOPIC_TEMPLATES = skip.has("templates")
  ? []
  : [
      "https://example.com/books/{id}",
      "https://example.com/{+path}",
      "{x}",
      "https://example.com/books/{",
      "https://example.com/books/{id}{?q}",
    ];
const ODD_MATCHERS = ["", "a\u0001b", "a\u200bb", "x".repeat(2049), "%2A"];
const MATCH_NAMES = ["match", "match_exact", ...(skip.has("urlpattern") ? [] : ["match_urlpattern"])];
const ODD_MATCH_NAMES = ["Match", "MATCH_EXACT", "match_regex", "matches", "match_", "Topic", "lastEventId"];
const RESUME_IDS = [
  "earliest",
  "p1",
  "p2",
  "urn:uuid:1",
  "книга",
  "unknown",
  "urn:herald:{last}",
  "urn:herald:{last-1}",
  "urn:herald:{last-3}",
];
const ODD_RESUME_IDS = ["", "urn:herald:{last+1}", "urn:herald:0", "urn:herald:x", "urn:herald:007", "Earliest", "#x"];

const matcherValue = weighted(oneOf("*", ...TOPICS), oneOf(...ODD_MATCHERS, ...TOPIC_TEMPLATES, ...URL_PATTERNS), 8);

const subscribeField = fc.oneof(
  { weight: 8, arbitrary: field(fc.constant("topic"), matcherValue) },
  { weight: 8, arbitrary: field(oneOf(...MATCH_NAMES), matcherValue) },
  { weight: 1, arbitrary: field(oneOf(...ODD_MATCH_NAMES), oneOf("https://example.com/books/1", "x")) },
  {
    weight: 2,
    arbitrary: field(oneOf("last_event_id", "lastEventID"), weighted(oneOf(...RESUME_IDS), oneOf(...ODD_RESUME_IDS), 3)),
  },
  { weight: 1, arbitrary: field(oneOf("x", "access_token", "_"), oneOf("1", "%FF")) },
  {
    weight: 1,
    arbitrary: oneOf("match=%FF", "topic=%C0%AF", "x=%FF", "last_event_id=%FF", "match", "topic=a%zz").map(
      (raw): Part => ({ raw }),
    ),
  },
);

/** 50 or 51 matchers, distinct or not; or 200 parameters or more. */
const manyMatchers = fc.oneof(
  fc
    .tuple(fc.integer({ min: 49, max: 51 }), fc.boolean())
    .map(([n, distinct]) =>
      Array.from({ length: n }, (_, i): Part => ({ name: "match", value: `urn:many:${distinct ? i : i % 3}`, enc: "form" })),
    ),
  fc
    .integer({ min: 198, max: 201 })
    .map((n) => [
      { name: "match", value: "*", enc: "form" as const },
      ...Array.from({ length: n }, (_, i): Part => ({ name: `p${i}`, value: "", enc: "form" })),
    ]),
);

const subscribeStep: fc.Arbitrary<SubscribeSpec> = fc
  .record(
    {
      kind: fc.constant("subscribe" as const),
      parts: weighted(fc.array(subscribeField, { minLength: 1, maxLength: 4 }), manyMatchers, 20),
      fence: weighted(fc.nat(5), fc.constant(null), 12),
      lastEventId: weighted(oneOf(...RESUME_IDS), oneOf(...ODD_RESUME_IDS), 3),
      tokens: presented,
    },
    { requiredKeys: ["kind", "parts", "fence", "tokens"] },
  )
  .map((s) => ({ ...s, fence: s.fence === null ? null : Math.min(s.fence, s.parts.length) }));

/** JSON data whose text JavaScript keeps as it is (the native fuzz covers the rest). */
const nativeStep: fc.Arbitrary<NativeSpec> = fc.record({
  kind: fc.constant("native" as const),
  topic: oneOf("orders.eu", "news.a"),
  event: oneOf("created", null),
  data: oneOf<unknown>({ total: 1 }, [1, "a\nb"], 42, null, true, { nested: { a: [] } }),
});

/** A run: up to a dozen publishes and subscriptions, now and then a native publish. */
export const mercureRun: fc.Arbitrary<MercureStep[]> = fc.array(
  fc.oneof({ weight: 6, arbitrary: publishStep }, { weight: 4, arbitrary: subscribeStep }, { weight: 1, arbitrary: nativeStep }),
  { minLength: 1, maxLength: 12 },
);
