/** A canonical text for a JSON value, so that two texts of the same value compare equal. */
import { JsonTokens } from "./tokens";

/** A value as a tree of canonical scalar texts: objects are reordered by moving members, never by copying text. */
type Node = string | Container;

class Container {
  readonly entries: Array<[key: string, value: Node]> = [];
  /** The canonical name of the member whose value comes next. */
  key = "";
  constructor(readonly isObject: boolean) {}
}

const byKey = (a: [string, Node], b: [string, Node]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/**
 * Object members sorted by name, no whitespace, strings in JSON.stringify's escaping; numbers as written
 * (`1.0` and `1` stay different). Members of the same name keep their order (the last one wins when parsed).
 * Built and written on explicit stacks, in time linear in the text, so any nesting the size limit allows is fine.
 */
export function canonicalJson(text: string): string {
  return write(tree(text));
}

function tree(text: string): Node {
  const tokens = new JsonTokens(text);
  const open: Container[] = [];
  let root: Node = "";
  const put = (value: Node) => {
    const into = open[open.length - 1];
    if (into === undefined) root = value;
    else into.entries.push([into.key, value]);
  };
  for (let token = tokens.next(); token !== null; token = tokens.next()) {
    const into = open[open.length - 1];
    if (token === "key" && into) into.key = canonicalString(tokens);
    else if (token === "{" || token === "[") open.push(new Container(token === "{"));
    else if (token === "}" || token === "]") {
      open.pop();
      if (into) put(into.isObject ? sorted(into) : into);
    } else put(token === "string" ? canonicalString(tokens) : tokens.tokenText());
  }
  return root;
}

function sorted(object: Container): Container {
  const entries = object.entries;
  // Most objects come sorted already, and checking is cheaper than sorting.
  for (let i = 1; i < entries.length; i++) {
    if (byKey(entries[i - 1] as [string, Node], entries[i] as [string, Node]) > 0) {
      entries.sort(byKey);
      break;
    }
  }
  return object;
}

function write(root: Node): string {
  const parts: string[] = [];
  const open: Array<{ container: Container; next: number }> = [];
  let pending: Node | null = root;
  for (;;) {
    if (typeof pending === "string") parts.push(pending);
    else if (pending !== null) {
      parts.push(pending.isObject ? "{" : "[");
      open.push({ container: pending, next: 0 });
    }
    pending = null;
    const top = open[open.length - 1];
    if (top === undefined) return parts.join("");
    const { entries, isObject } = top.container;
    const entry = entries[top.next];
    if (entry === undefined) {
      parts.push(isObject ? "}" : "]");
      open.pop();
      continue;
    }
    if (top.next > 0) parts.push(",");
    if (isObject) parts.push(entry[0], ":");
    pending = entry[1];
    top.next++;
  }
}

function canonicalString(tokens: JsonTokens): string {
  return tokens.escaped ? JSON.stringify(tokens.scalar("string")) : tokens.tokenText();
}
