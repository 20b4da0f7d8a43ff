/** JSON parsed only as deep as a request's shape needs, with event data kept as the publisher's text. */
import { type JsonToken, JsonTokens } from "./tokens";

/** A JSON value kept as text, without insignificant whitespace: never parsed into numbers and re-serialised. */
export class RawJson {
  constructor(readonly text: string) {}
}

interface Container {
  readonly items: unknown[] | Array<[string, unknown]>;
  readonly isObject: boolean;
  /** The name of the member whose value comes next. */
  key: string;
}

/**
 * Parses `text` into plain values for the outer `depth` levels of containers; a container deeper than that, and
 * the value of every member named `rawKey`, becomes a RawJson. The whole text is validated either way.
 */
export function parseShallow(text: string, depth: number, rawKey: string): unknown {
  const tokens = new JsonTokens(text);
  const open: Container[] = [];
  let root: unknown;
  const put = (value: unknown) => {
    const into = open[open.length - 1];
    if (into === undefined) root = value;
    else if (into.isObject) (into.items as Array<[string, unknown]>).push([into.key, value]);
    else (into.items as unknown[]).push(value);
  };
  for (let token = tokens.next(); token !== null; token = tokens.next()) {
    const into = open[open.length - 1];
    if (token === "key" && into) into.key = tokens.scalar(token) as string;
    else if (token === "}" || token === "]") {
      open.pop();
      // fromEntries defines own properties: a "__proto__" member stays a member, not a prototype.
      put(token === "}" ? Object.fromEntries((into?.items ?? []) as Array<[string, unknown]>) : into?.items);
    } else if (isRaw(token, into, open.length >= depth, rawKey)) put(new RawJson(tokens.rawValue(token)));
    else if (token === "{" || token === "[") open.push({ items: [], isObject: token === "{", key: "" });
    else put(tokens.scalar(token));
  }
  return root;
}

function isRaw(token: JsonToken, into: Container | undefined, deep: boolean, rawKey: string): boolean {
  if (into?.isObject && into.key === rawKey) return true;
  return deep && (token === "{" || token === "[");
}
