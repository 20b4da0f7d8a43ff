/**
 * RFC 6570 URI templates (levels 1 to 4) as topic matchers: a topic matches when some values of the template's
 * variables expand to exactly it. The template is compiled to a small automaton and a topic is run through it
 * depth first, never visiting one (state, position) twice: the time is linear in the topic's length for a given
 * template, whatever the template, where a regular expression of adjacent variables would backtrack without end.
 * Our own code, not a library: the npm matchers either accept topics no values expand to (in a grant, a wider
 * token than was issued) or take exponential time on adjacent variables (see the commit that says why).
 */
import { HeraldError, quote } from "../errors";

/** Variables one template may hold: the automaton, and so the time a topic takes, grows with them. */
export const MAX_TEMPLATE_VARIABLES = 8;
/** Characters the prefix modifiers (`{var:3}`) of one template may keep in all: each costs a scan per position. */
export const MAX_TEMPLATE_PREFIXES = 256;

/** The characters a value expands to unencoded: unreserved only, or reserved too (`+` and `#`). */
type Allowed = (code: number) => boolean;

const isUnreserved: Allowed = (c) =>
  (c >= 0x61 && c <= 0x7a) ||
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x30 && c <= 0x39) ||
  c === 0x2d ||
  c === 0x2e ||
  c === 0x5f ||
  c === 0x7e;
const RESERVED = new Set([..."/?#[]@!$&'()*+,;=:"].map((c) => c.charCodeAt(0)));
const isUnreservedOrReserved: Allowed = (c) => isUnreserved(c) || RESERVED.has(c);

type Node =
  | { readonly kind: "text"; readonly text: string; next: number }
  /** One allowed character or one percent-encoded byte. */
  | { readonly kind: "unit"; readonly allowed: Allowed; next: number }
  /** At most `max` characters of a value (a prefix modifier), counted before encoding. */
  | { readonly kind: "upTo"; readonly allowed: Allowed; readonly max: number; next: number }
  | { readonly kind: "fork"; next: number[] }
  | { readonly kind: "end" };

/** How an operator expands its variables (RFC 6570, appendix A). */
interface Operator {
  readonly first: string;
  readonly sep: string;
  readonly named: boolean;
  /** What follows a named variable whose value is empty. */
  readonly ifEmpty: string;
  readonly allowed: Allowed;
}

const OPERATORS: Record<string, Operator> = {
  "": { first: "", sep: ",", named: false, ifEmpty: "", allowed: isUnreserved },
  "+": { first: "", sep: ",", named: false, ifEmpty: "", allowed: isUnreservedOrReserved },
  "#": { first: "#", sep: ",", named: false, ifEmpty: "", allowed: isUnreservedOrReserved },
  ".": { first: ".", sep: ".", named: false, ifEmpty: "", allowed: isUnreserved },
  "/": { first: "/", sep: "/", named: false, ifEmpty: "", allowed: isUnreserved },
  ";": { first: ";", sep: ";", named: true, ifEmpty: "", allowed: isUnreserved },
  "?": { first: "?", sep: "&", named: true, ifEmpty: "=", allowed: isUnreserved },
  "&": { first: "&", sep: "&", named: true, ifEmpty: "=", allowed: isUnreserved },
};

interface VarSpec {
  readonly name: string;
  readonly explode: boolean;
  readonly maxLength?: number;
}

interface Expression {
  readonly operator: Operator;
  readonly vars: readonly VarSpec[];
}

/** Literal characters a template may hold (RFC 6570, section 2.1), besides percent-encoded bytes. */
const LITERAL = /^[^\p{Cc}\p{Cf} "'%<>\\^`{|}]$/u;
const VARSPEC = /^((?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})(?:\.?(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2}))*)(?::([1-9][0-9]{0,3})|(\*))?$/;
const PCT = /^%[0-9A-Fa-f]{2}/;

/** The parts of a template, or undefined when the string is not a valid URI template. */
function parse(template: string): (string | Expression)[] | undefined {
  const parts: (string | Expression)[] = [];
  let literal = "";
  let i = 0;
  while (i < template.length) {
    const char = template[i] as string;
    if (char === "{") {
      const close = template.indexOf("}", i);
      if (close < 0) return undefined;
      const expression = parseExpression(template.slice(i + 1, close));
      if (expression === undefined) return undefined;
      if (literal !== "") parts.push(literal);
      literal = "";
      parts.push(expression);
      i = close + 1;
    } else if (char === "%") {
      if (!PCT.test(template.slice(i, i + 3))) return undefined;
      literal += template.slice(i, i + 3);
      i += 3;
    } else {
      const point = String.fromCodePoint(template.codePointAt(i) as number);
      if (!LITERAL.test(point)) return undefined;
      literal += point;
      i += point.length;
    }
  }
  if (literal !== "") parts.push(literal);
  return parts;
}

function parseExpression(body: string): Expression | undefined {
  const hasOperator = /^[+#./;?&]/.test(body);
  const operator = OPERATORS[hasOperator ? (body[0] as string) : ""] as Operator;
  const vars: VarSpec[] = [];
  // The operators RFC 6570 reserves for later (`=,!@|`) fail here like any other character a name may not hold.
  for (const spec of (hasOperator ? body.slice(1) : body).split(",")) {
    const m = VARSPEC.exec(spec);
    if (m === null) return undefined;
    vars.push({ name: m[1] as string, explode: m[3] !== undefined, ...(m[2] !== undefined && { maxLength: Number(m[2]) }) });
  }
  return { operator, vars };
}

/** Builds the automaton right to left: each part is built with the node it continues to. */
class Automaton {
  readonly nodes: Node[] = [{ kind: "end" }];

  private add(node: Node): number {
    this.nodes.push(node);
    return this.nodes.length - 1;
  }

  text(text: string, next: number): number {
    return text === "" ? next : this.add({ kind: "text", text, next });
  }

  fork(next: number[]): number {
    return next.length === 1 ? (next[0] as number) : this.add({ kind: "fork", next });
  }

  /** Zero or more of what `body` builds (given the node to loop back to). */
  star(body: (loop: number) => number, next: number): number {
    const loop = this.add({ kind: "fork", next: [] });
    (this.nodes[loop] as { next: number[] }).next = [body(loop), next];
    return loop;
  }

  /** An encoded string of `allowed` characters and percent-encoded bytes, possibly empty. */
  encoded(allowed: Allowed, next: number): number {
    return this.star((loop) => this.add({ kind: "unit", allowed, next: loop }), next);
  }

  /** One or more items of what `item` builds, separated by `sep`. */
  list(item: (next: number) => number, sep: string, next: number): number {
    return item(this.star((loop) => this.text(sep, item(loop)), next));
  }

  /** What one defined variable expands to. */
  variable(op: Operator, v: VarSpec, next: number): number {
    const { allowed, sep } = op;
    // A prefix applies to a string; a list or a map without explode is its items joined by commas.
    const value = (after: number) =>
      v.maxLength !== undefined
        ? this.add({ kind: "upTo", allowed, max: v.maxLength, next: after })
        : this.star((loop) => this.fork([this.add({ kind: "unit", allowed, next: loop }), this.text(",", loop)]), after);
    if (!v.explode) {
      if (!op.named) return value(next);
      const valued = this.text("=", value(next));
      return this.text(v.name, op.ifEmpty === "" ? this.fork([valued, next]) : valued);
    }
    const word = (after: number) => this.encoded(allowed, after);
    const pair = (after: number) => word(this.text("=", word(after)));
    if (!op.named) return this.fork([this.list(word, sep, next), this.list(pair, sep, next)]);
    // Each item or pair is named by its key; with `;`, an empty value is the key alone (some expanders add `=`).
    const named = (after: number) => {
      const valued = this.text("=", word(after));
      return word(op.ifEmpty === "" ? this.fork([after, valued]) : valued);
    };
    return this.list(named, sep, next);
  }

  /** An expression: nothing when no variable is defined, else `first` and the defined ones joined by `sep`. */
  expression({ operator, vars }: Expression, next: number): number {
    // Built last to first, each variable once: `own[j]` is variable j followed by any of the later ones.
    const own: number[] = [];
    const joined: number[] = [];
    let rest = next;
    for (let j = vars.length - 1; j >= 0; j--) {
      own.unshift(this.variable(operator, vars[j] as VarSpec, rest));
      joined.unshift(this.text(operator.sep, own[0] as number));
      rest = this.fork([next, ...joined]);
    }
    return this.fork([this.text(operator.first, this.fork(own)), next]);
  }
}

const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** The length of the allowed character or percent-encoded byte at `pos`, 0 when there is none. */
function unitAt(topic: string, pos: number, allowed: Allowed): number {
  const c = topic.charCodeAt(pos);
  if (c === 0x25) return isHex(topic.charCodeAt(pos + 1)) && isHex(topic.charCodeAt(pos + 2)) ? 3 : 0;
  return c < 0x80 && allowed(c) ? 1 : 0;
}

/** A percent-encoded UTF-8 continuation byte (`%80` to `%BF`) adds no character to a prefix's count. */
const continues = (topic: string, pos: number, width: number) => width === 3 && /[89ABab]/.test(topic[pos + 1] as string);

/**
 * The (node, position) pairs one run has visited, stamped with the run's number: one buffer serves every run
 * (they never overlap), grown to the largest automaton times the longest topic, and never cleared.
 */
let visited = new Uint32Array(0);
let runs = 0;

/** Whether some path through the automaton from `start` reads all of `topic`. */
function accepts(nodes: readonly Node[], start: number, topic: string): boolean {
  const width = topic.length + 1;
  if (visited.length < nodes.length * width) visited = new Uint32Array(nodes.length * width);
  if (++runs === 0xffffffff) {
    visited.fill(0);
    runs = 1;
  }
  const run = runs;
  const stack: number[] = [];
  const visit = (node: number, pos: number) => {
    const key = node * width + pos;
    if (visited[key] === run) return;
    visited[key] = run;
    stack.push(node, pos);
  };
  visit(start, 0);
  while (stack.length > 0) {
    const pos = stack.pop() as number;
    const node = nodes[stack.pop() as number] as Node;
    switch (node.kind) {
      case "end":
        if (pos === topic.length) return true;
        break;
      case "text":
        if (topic.startsWith(node.text, pos)) visit(node.next, pos + node.text.length);
        break;
      case "unit": {
        const w = unitAt(topic, pos, node.allowed);
        if (w > 0) visit(node.next, pos + w);
        break;
      }
      case "fork":
        for (let k = node.next.length - 1; k >= 0; k--) visit(node.next[k] as number, pos);
        break;
      case "upTo": {
        visit(node.next, pos);
        let count = 0;
        for (let at = pos, w = unitAt(topic, at, node.allowed); w > 0; w = unitAt(topic, at, node.allowed)) {
          if (!continues(topic, at, w) && ++count > node.max) break;
          at += w;
          visit(node.next, at);
        }
        break;
      }
    }
  }
  return false;
}

/**
 * The test of a URI template: undefined when `text` holds no expression (it then matches only itself). A text
 * with a `{` that is not valid RFC 6570 (a template with a typo, most likely) is refused, as is a template
 * costlier than the limits above.
 */
export function compileTemplate(text: string): ((topic: string) => boolean) | undefined {
  if (!text.includes("{")) return undefined;
  const parts = parse(text);
  if (parts === undefined) throw new HeraldError("invalid_selector", `${quote(text)} is not a URI template (RFC 6570)`);
  const vars = parts.flatMap((p) => (typeof p === "string" ? [] : p.vars));
  if (vars.length > MAX_TEMPLATE_VARIABLES) {
    throw new HeraldError("invalid_selector", `a URI template may hold at most ${MAX_TEMPLATE_VARIABLES} variables`);
  }
  if (vars.reduce((sum, v) => sum + (v.maxLength ?? 0), 0) > MAX_TEMPLATE_PREFIXES) {
    throw new HeraldError(
      "invalid_selector",
      `the prefix lengths of a URI template may add up to ${MAX_TEMPLATE_PREFIXES} at most`,
    );
  }
  const automaton = new Automaton();
  let start = 0;
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i] as string | Expression;
    start = typeof part === "string" ? automaton.text(part, start) : automaton.expression(part, start);
  }
  const { nodes } = automaton;
  return (topic) => accepts(nodes, start, topic);
}
