/** A canonical text for a JSON value, so that two texts of the same value compare equal. */
import { JsonTokens } from "./tokens";

/** A container to write out once all is read: members are sorted by moving entries, never by copying text. */
class Container {
  readonly entries: Entry[] = [];
  /** Whether its text is canonical as written: no whitespace, no escapes to rewrite, members in order. */
  verbatim = true;
  /** Whether every member is canonical as written, if perhaps out of order or spaced apart. */
  membersVerbatim = true;
  /** The member being read: its decoded name, where its name starts and ends, and the whitespace count there. */
  name = "";
  keyStart = 0;
  keyEnd = 0;
  keySpaces = 0;
  keyVerbatim = true;
  constructor(
    readonly isObject: boolean,
    readonly start: number,
    readonly spaces: number,
  ) {}
}

interface Entry {
  /** A member's decoded name: members sort by it, in UTF-16 code units (as RFC 8785 does); "" for array items. */
  readonly name: string;
  /** The canonical `"name"`, or null for an array item or a member whose text is canonical as written. */
  readonly key: string | null;
  /** The value's canonical text or container; null when the text from start to end is canonical as written. */
  readonly value: string | Container | null;
  readonly start: number;
  readonly end: number;
}

const byName = (a: Entry, b: Entry) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Object members sorted by name, no whitespace, strings in JSON.stringify's escaping; numbers as written
 * (`1.0` and `1` stay different). Members of the same name keep their order (the last one wins when parsed).
 * Read and written on explicit stacks in time linear in the text, so any nesting the size limit allows is fine;
 * text that is canonical as written (sorted members, no whitespace) is taken as one slice, not rebuilt.
 */
export function canonicalJson(text: string): string {
  const tokens = new JsonTokens(text);
  const open: Container[] = [];
  let root: string | Container = "";
  /** Records a value that started at `start` and ends at the current token; null: canonical as written. */
  const put = (value: string | Container | null, start: number) => {
    const into = open[open.length - 1];
    if (into === undefined) root = value ?? text.slice(start, tokens.end);
    else if (!into.isObject) {
      into.entries.push({ name: "", key: null, value, start, end: tokens.end });
      into.verbatim &&= value === null;
    } else {
      const whole = value === null && into.keyVerbatim && tokens.spaces === into.keySpaces;
      const end = tokens.end;
      if (whole) into.entries.push({ name: into.name, key: null, value: null, start: into.keyStart, end });
      else {
        const key = into.keyVerbatim ? text.slice(into.keyStart, into.keyEnd) : JSON.stringify(into.name);
        into.entries.push({ name: into.name, key, value: value ?? text.slice(start, end), start, end });
      }
      into.verbatim &&= whole;
      into.membersVerbatim &&= whole;
    }
  };
  for (let token = tokens.next(); token !== null; token = tokens.next()) {
    const into = open[open.length - 1];
    if (token === "key" && into) {
      into.name = tokens.scalar(token) as string;
      into.keyStart = tokens.start;
      into.keyEnd = tokens.end;
      into.keySpaces = tokens.spaces;
      into.keyVerbatim = !tokens.escaped;
      const previous = into.entries[into.entries.length - 1];
      if (previous !== undefined && previous.name > into.name) into.verbatim = false;
    } else if (token === "{" || token === "[") open.push(new Container(token === "{", tokens.start, tokens.spaces));
    else if ((token === "}" || token === "]") && into) {
      open.pop();
      const verbatim = into.verbatim && tokens.spaces === into.spaces;
      if (verbatim) put(null, into.start);
      else if (!into.isObject) put(into, into.start);
      else put(sortedObject(into, text), into.start);
    } else if (token === "string" && tokens.escaped) put(JSON.stringify(tokens.scalar(token)), tokens.start);
    else put(null, tokens.start);
  }
  return typeof root === "string" ? root : write(root, text);
}

/**
 * An object with its members sorted. When each member is canonical as written (only their order or the spacing
 * between them is not), its text is joined at once: every byte of the source is copied at most once this way.
 */
function sortedObject(object: Container, text: string): Container | string {
  const entries = object.entries.sort(byName);
  if (!object.membersVerbatim) return object;
  return `{${entries.map((e) => text.slice(e.start, e.end)).join(",")}}`;
}

/** Writes a container out depth first, on an explicit stack. */
function write(root: Container, text: string): string {
  const parts: string[] = [];
  const open: Array<{ container: Container; next: number }> = [];
  let pending: Container | null = root;
  for (;;) {
    if (pending !== null) {
      parts.push(pending.isObject ? "{" : "[");
      open.push({ container: pending, next: 0 });
      pending = null;
    }
    const top = open[open.length - 1];
    if (top === undefined) return parts.join("");
    const { entries, isObject } = top.container;
    const entry = entries[top.next++];
    if (entry === undefined) {
      parts.push(isObject ? "}" : "]");
      open.pop();
      continue;
    }
    if (top.next > 1) parts.push(",");
    if (entry.key !== null) parts.push(entry.key, ":");
    if (entry.value === null) parts.push(text.slice(entry.start, entry.end));
    else if (typeof entry.value === "string") parts.push(entry.value);
    else pending = entry.value;
  }
}
