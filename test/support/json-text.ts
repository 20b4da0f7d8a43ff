/**
 * JSON kept as text: values whose numbers keep their spelling and whose objects keep their key order,
 * rendered with any whitespace, parsed back without loss, compared exactly or as JSON values.
 * JSON.parse cannot judge "kept as the publisher wrote it": it turns 9007199254740993 into ...992 and 1e400
 * into Infinity, and moves integer-like keys to the front of every object.
 */

export type Json =
  | { readonly t: "num"; readonly raw: string }
  /**
   * `escaped`: written with every non-ASCII character as a \u escape (the same value, another spelling);
   * `raw`: the spelling a parsed string had, quotes included.
   */
  | { readonly t: "str"; readonly v: string; readonly escaped?: boolean; readonly raw?: string }
  | { readonly t: "lit"; readonly v: null | boolean }
  | { readonly t: "arr"; readonly items: readonly Json[] }
  | { readonly t: "obj"; readonly entries: ReadonlyArray<readonly [string, Json]> };

export const str = (v: string, escaped = false): Json => ({ t: "str", v, escaped });
export const num = (raw: string): Json => ({ t: "num", raw });
export const obj = (entries: ReadonlyArray<readonly [string, Json]>): Json => ({ t: "obj", entries });

function quote(v: string, escaped: boolean | undefined): string {
  const json = JSON.stringify(v);
  return escaped ? json.replace(/[^ -~]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : json;
}

/** The JSON text of a value, with `pad` (insignificant whitespace) around every token; "" gives compact JSON. */
export function render(j: Json, pad = ""): string {
  switch (j.t) {
    case "num":
      return j.raw;
    case "str":
      return j.raw ?? quote(j.v, j.escaped);
    case "lit":
      return String(j.v);
    case "arr":
      return `[${pad}${j.items.map((i) => render(i, pad)).join(`${pad},${pad}`)}${pad}]`;
    case "obj":
      return `{${pad}${j.entries.map(([k, v]) => `${JSON.stringify(k)}${pad}:${pad}${render(v, pad)}`).join(`${pad},${pad}`)}${pad}}`;
  }
}

/** Compact JSON as JSON.stringify spells strings: the other way a hub may measure the size of data. */
export function renderPlain(j: Json): string {
  return render(plainSpelling(j));
}

function plainSpelling(j: Json): Json {
  if (j.t === "str") return str(j.v);
  if (j.t === "arr") return { t: "arr", items: j.items.map(plainSpelling) };
  if (j.t === "obj") return obj(j.entries.map(([k, v]) => [k, plainSpelling(v)] as const));
  return j;
}

/** Same value, same spelling of numbers, same key order; string escapes do not matter. */
export function same(a: Json, b: Json): boolean {
  if (a.t !== b.t) return false;
  switch (a.t) {
    case "num":
      return a.raw === (b as typeof a).raw;
    case "str":
    case "lit":
      return a.v === (b as typeof a).v;
    case "arr": {
      const items = (b as typeof a).items;
      return a.items.length === items.length && a.items.every((x, i) => same(x, items[i] as Json));
    }
    case "obj": {
      const entries = (b as typeof a).entries;
      return (
        a.entries.length === entries.length &&
        a.entries.every(([k, v], i) => entries[i]?.[0] === k && same(v, (entries[i] as readonly [string, Json])[1]))
      );
    }
  }
}

/** The value as a string that is equal for equal JSON values: key order, whitespace and number spelling aside. */
export function canonical(j: Json): string {
  switch (j.t) {
    case "num":
      return `n${canonicalNumber(j.raw)}`;
    case "str":
      return JSON.stringify(j.v);
    case "lit":
      return String(j.v);
    case "arr":
      return `[${j.items.map(canonical).join(",")}]`;
    case "obj":
      return `{${[...j.entries]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
        .join(",")}}`;
  }
}

/** `1.50e1`, `15` and `15.0` are one number: significant digits and a power of ten, exactly. */
function canonicalNumber(raw: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(raw);
  if (!m) return raw;
  const fraction = m[3] ?? "";
  let digits = `${m[2]}${fraction}`.replace(/^0+/, "");
  let exponent = BigInt(m[4] ?? "0") - BigInt(fraction.length);
  if (digits === "") return "0";
  const trailing = /0*$/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(0, digits.length - trailing);
  exponent += BigInt(trailing);
  return `${m[1]}${digits}e${exponent}`;
}

const STRING = /"(?:[^"\\]|\\.)*"/sy;
const TOKEN = /-?\d[\d.eE+-]*|true|false|null/y;

/** The match of a sticky pattern at `at`: no slicing, so parsing stays linear in the text. */
function sticky(pattern: RegExp, text: string, at: number): string {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0] ?? "";
}

/** Parses JSON text that JSON.parse accepted, keeping what JSON.parse loses. */
export function parse(text: string): Json {
  let at = 0;
  const skip = () => {
    while (at < text.length && " \t\n\r".includes(text[at] as string)) at++;
  };
  const value = (): Json => {
    skip();
    const c = text[at];
    if (c === "{") {
      at++;
      const entries: Array<[string, Json]> = [];
      skip();
      if (text[at] === "}") {
        at++;
        return obj(entries);
      }
      for (;;) {
        const key = value();
        skip();
        at++; // the colon
        entries.push([key.t === "str" ? key.v : "", value()]);
        skip();
        if (text[at++] === "}") return obj(entries);
      }
    }
    if (c === "[") {
      at++;
      const items: Json[] = [];
      skip();
      if (text[at] === "]") {
        at++;
        return { t: "arr", items };
      }
      for (;;) {
        items.push(value());
        skip();
        if (text[at++] === "]") return { t: "arr", items };
      }
    }
    if (c === '"') {
      const end = sticky(STRING, text, at);
      at += end.length;
      return { t: "str", v: JSON.parse(end) as string, raw: end };
    }
    const token = sticky(TOKEN, text, at);
    at += token.length;
    if (token === "true" || token === "false") return { t: "lit", v: token === "true" };
    if (token === "null") return { t: "lit", v: null };
    return num(token);
  };
  return value();
}

/** Whether text is JSON at all (RFC 8259, as JSON.parse judges it). */
export function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Looks up a key of a parsed object (the last one, as JSON.parse does with duplicates). */
export function member(j: Json, key: string): Json | undefined {
  if (j.t !== "obj") return undefined;
  return j.entries.findLast(([k]) => k === key)?.[1];
}
