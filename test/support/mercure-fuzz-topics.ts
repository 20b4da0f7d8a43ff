/**
 * Mercure topics and topic matchers as the drafts define them, for the oracle: the character rules, the hub's
 * reserved namespace, and whether a matcher matches a topic. Written from the drafts, not from src/. Where a
 * rule cannot be judged exactly (URI templates beyond `{name}`), the answer is "maybe": either outcome is right.
 */

/** Three-valued truth: an oracle that cannot tell accepts either answer. */
export type Tri = "yes" | "no" | "maybe";

export const any = (values: Iterable<Tri>): Tri => {
  let result: Tri = "no";
  for (const v of values) {
    if (v === "yes") return "yes";
    if (v === "maybe") result = "maybe";
  }
  return result;
};

export const both = (a: Tri, b: Tri): Tri => (a === "no" || b === "no" ? "no" : a === "yes" && b === "yes" ? "yes" : "maybe");

export const tri = (b: boolean): Tri => (b ? "yes" : "no");

/** Draft 08, Terminology: C0, C1, DEL and format characters (Cf) are never part of a topic, matcher, id or type. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ranges are the draft's own words
export const CONTROL_OR_FORMAT = /[\u0000-\u001f\u007f-\u009f\p{Cf}]/u;

export const bytes = (s: string) => Buffer.byteLength(s);

/** RFC 3986 section 5.2.4. */
function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split("/");
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    if (segment === "..") {
      if (out.length > 1) out.pop();
      if (last) out.push("");
    } else if (segment === ".") {
      if (last) out.push("");
    } else out.push(segment);
  }
  return out.join("/");
}

/**
 * Draft 08, Publication: the topic resolved against the hub's URL (the URL standard's parser), its path with
 * unreserved characters percent-decoded and dot segments removed, is the hub's path or under it. An opaque
 * path (`urn:…`) is no hierarchical path: it never equals the hub's. A topic that is no URL reference names no hub path.
 */
export function addressesHub(topic: string, hubUrl: URL): boolean {
  let url: URL;
  try {
    url = new URL(topic, hubUrl);
  } catch {
    return false;
  }
  if (!url.pathname.startsWith("/")) return false;
  const decoded = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (encoded, hex: string) => {
    const c = String.fromCharCode(Number.parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : encoded;
  });
  const path = removeDotSegments(decoded);
  return path === hubUrl.pathname || path.startsWith(`${hubUrl.pathname}/`);
}

export type Matcher =
  | { readonly kind: "wildcard" }
  | { readonly kind: "exact"; readonly value: string }
  | { readonly kind: "urlpattern"; readonly value: string; readonly pattern: URLPattern }
  /** Draft 07's `topic=` value that is a URI template: `simple` when every expression is a plain `{name}`. */
  | { readonly kind: "template"; readonly value: string; readonly could: RegExp; readonly must: RegExp | null };

const EXPRESSION = /^([+#./;?&]?)([A-Za-z0-9_.%]+(\*|:[1-9][0-9]{0,3})?(,[A-Za-z0-9_.%]+(\*|:[1-9][0-9]{0,3})?)*)$/;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** RFC 6570, section 1.5: what an expansion writes unencoded, and the percent-encoded octets it writes for the rest. */
const UNRESERVED = "A-Za-z0-9\\-._~";
const RESERVED = ":/?#\\[\\]@!$&'()*+,;=";
/** Percent-encoded octets, and (a matcher may take an IRI's characters as their encoding) characters past ASCII. */
const PCT = "%[0-9A-Fa-f]{2}|[\\u0080-\\uffff]";
const NAME = "[A-Za-z0-9_.%]+";

/**
 * What an expression of each operator can expand to (section 3.2), any values given: `could` takes in every
 * expansion (lists, empty and undefined values, percent-encoded octets); `must` only plain, non-empty ones, so
 * that a topic it matches surely matches, whatever a matcher does at the edges. Null: no such sure form.
 */
const EXPANSIONS: Record<string, { could: string; must: string | null }> = {
  "": { could: `(?:[${UNRESERVED},]|${PCT})*`, must: `[${UNRESERVED}]+` },
  "+": { could: `(?:[${UNRESERVED}${RESERVED}]|${PCT})*`, must: `[${UNRESERVED}${RESERVED}]+` },
  "#": { could: `(?:#(?:[${UNRESERVED}${RESERVED}]|${PCT})*)?`, must: `#[${UNRESERVED}${RESERVED}]+` },
  ".": { could: `(?:\\.(?:[${UNRESERVED},]|${PCT})*)*`, must: "\\.[A-Za-z0-9\\-_~]+" },
  "/": { could: `(?:/(?:[${UNRESERVED},]|${PCT})*)*`, must: `/[${UNRESERVED}]+` },
  ";": { could: `(?:;${NAME}(?:=(?:[${UNRESERVED},]|${PCT})*)?)*`, must: null },
  "?": { could: `(?:\\?${NAME}=(?:[${UNRESERVED},]|${PCT})*(?:&${NAME}=(?:[${UNRESERVED},]|${PCT})*)*)?`, must: null },
  "&": { could: `(?:&${NAME}=(?:[${UNRESERVED},]|${PCT})*)*`, must: null },
};

/**
 * An RFC 6570 template, or null when `value` has no expression or is not a well-formed template; `could` and
 * `must` as in EXPANSIONS, for the whole template (`must` only when every expression is one plain variable).
 */
export function template(value: string): Extract<Matcher, { kind: "template" }> | null {
  if (!value.includes("{") && !value.includes("}")) return null;
  let could = "";
  let must: string | null = "";
  for (const part of value.split(/(\{[^{}]*\})/)) {
    const expression = part.startsWith("{") && part.endsWith("}") ? EXPRESSION.exec(part.slice(1, -1)) : null;
    if (expression) {
      const [, operator = "", variables = ""] = expression;
      const expansion = EXPANSIONS[operator] as { could: string; must: string | null };
      could += expansion.could;
      must = must !== null && expansion.must !== null && /^[A-Za-z0-9_]+$/.test(variables) ? must + expansion.must : null;
    } else {
      if (part.includes("{") || part.includes("}")) return null;
      could += escapeRe(part);
      if (must !== null) must += escapeRe(part);
    }
  }
  return { kind: "template", value, could: new RegExp(`^${could}$`), must: must === null ? null : new RegExp(`^${must}$`) };
}

/** A URL pattern relative to the hub's URL (draft 08), or null when it is not one. */
export function urlPattern(value: string, hubUrl: URL): URLPattern | null {
  try {
    return new URLPattern(value, hubUrl.href);
  } catch {
    return null;
  }
}

/** Whether `m` matches `topic`: exactly byte for byte, every topic, a URL pattern, or a URI template (draft 07). */
export function matchesTopic(m: Matcher, topic: string, hubUrl: URL): Tri {
  switch (m.kind) {
    case "wildcard":
      return "yes";
    case "exact":
      return tri(m.value === topic);
    case "urlpattern": {
      // A topic that is no URL reference never matches a pattern.
      try {
        return tri(m.pattern.test(new URL(topic, hubUrl).href));
      } catch {
        return "no";
      }
    }
    case "template":
      if (m.value === topic || m.must?.test(topic)) return "yes";
      return m.could.test(topic) ? "maybe" : "no";
  }
}
