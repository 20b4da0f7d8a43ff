/** A validating pull tokenizer for JSON text: containers are tracked on a byte stack, never on the call stack. */
import { HeraldError } from "../errors";

/** `key` is an object member's name; `literal` is true, false or null. */
export type JsonToken = "{" | "}" | "[" | "]" | "key" | "string" | "number" | "literal";

// What may come next. A "first" state also allows the container to close at once.
const VALUE = 0;
const FIRST_VALUE = 1;
const KEY = 2;
const FIRST_KEY = 3;
const COLON = 4;
const AFTER_VALUE = 5;

const OBJECT = 1;
const ARRAY = 2;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON_CHAR = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;

const HEX4 = /[0-9a-fA-F]{4}/y;
const SIMPLE_ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"].map((c) => c.charCodeAt(0)));

// What a string holds as is: anything but `"`, `\` and control characters (U+0000 to U+001F).
const PLAIN_RUN = /[ !#-[\]-\uffff]*/y;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

export class JsonTokens {
  /** Where the current token starts and ends (exclusive) in the text. */
  start = 0;
  end = 0;
  /** Whether the current string or key token holds escapes (without any, its text between the quotes is its value). */
  escaped = false;
  /** Runs of whitespace skipped so far: a value read between two equal counts was written without any. */
  spaces = 0;
  private pos = 0;
  private expect = VALUE;
  private stack = new Uint8Array(64);
  private depth = 0;
  /** While a raw value is read: its text so far, cut where whitespace was left out, and where the next piece starts. */
  private pieces: string[] | null = null;
  private pieceFrom = 0;

  constructor(private readonly text: string) {}

  /** Containers open around the next token. */
  get level(): number {
    return this.depth;
  }

  /** The next token, or null once the one JSON value is complete; anything that is not JSON is `invalid_json`. */
  next(): JsonToken | null {
    let c = this.skipSpace();
    const top = this.depth === 0 ? 0 : (this.stack[this.depth - 1] as number);
    if (this.expect === AFTER_VALUE) {
      if (top === 0) {
        if (c !== -1) this.fail("more text after the JSON value");
        return null;
      }
      if (c === (top === OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) return this.close();
      if (c !== COMMA) this.fail(top === OBJECT ? 'expected "," or "}"' : 'expected "," or "]"');
      this.pos++;
      c = this.skipSpace();
      this.expect = top === OBJECT ? KEY : VALUE;
    } else if (this.expect === COLON) {
      if (c !== COLON_CHAR) this.fail('expected ":"');
      this.pos++;
      c = this.skipSpace();
      this.expect = VALUE;
    } else if (this.expect === FIRST_KEY && c === CLOSE_OBJECT) {
      return this.close();
    } else if (this.expect === FIRST_VALUE && c === CLOSE_ARRAY) {
      return this.close();
    }
    this.start = this.pos;
    if (this.expect === KEY || this.expect === FIRST_KEY) {
      if (c !== QUOTE) this.fail("expected a string key");
      this.string();
      this.expect = COLON;
      return "key";
    }
    return this.value(c);
  }

  /**
   * Reads the rest of the value whose first token `first` was just returned, and gives the value's text without
   * insignificant whitespace: the publisher's own text, so numbers keep every digit and strings their escapes.
   */
  rawValue(first: JsonToken): string {
    const start = this.start;
    if (first !== "{" && first !== "[") return this.tokenText();
    const outside = this.depth - 1;
    const pieces: string[] = [];
    this.pieces = pieces;
    this.pieceFrom = start;
    try {
      while (this.depth > outside) this.next();
    } finally {
      this.pieces = null;
    }
    if (pieces.length === 0) return this.text.slice(start, this.end);
    pieces.push(this.text.slice(this.pieceFrom, this.end));
    return pieces.join("");
  }

  /** The current token's text as written. */
  tokenText(): string {
    return this.text.slice(this.start, this.end);
  }

  /** The JavaScript value of the current string, key, number or literal token. */
  scalar(token: JsonToken): string | number | boolean | null {
    const text = this.text;
    if (token === "string" || token === "key") {
      return this.escaped ? (JSON.parse(text.slice(this.start, this.end)) as string) : text.slice(this.start + 1, this.end - 1);
    }
    if (token === "number") return Number(text.slice(this.start, this.end));
    const c = text.charCodeAt(this.start);
    return c === 0x6e ? null : c === 0x74;
  }

  private value(c: number): JsonToken {
    this.expect = AFTER_VALUE;
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      this.push(c === OPEN_OBJECT ? OBJECT : ARRAY);
      this.expect = c === OPEN_OBJECT ? FIRST_KEY : FIRST_VALUE;
      this.end = ++this.pos;
      return c === OPEN_OBJECT ? "{" : "[";
    }
    if (c === QUOTE) {
      this.string();
      return "string";
    }
    const literal = c === 0x74 ? "true" : c === 0x66 ? "false" : c === 0x6e ? "null" : null;
    if (literal !== null) {
      if (!this.text.startsWith(literal, this.pos)) this.fail("expected a value");
      this.end = this.pos += literal.length;
      return "literal";
    }
    this.number(c);
    return "number";
  }

  /** `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, scanned by hand: numbers are the commonest token. */
  private number(first: number): void {
    const text = this.text;
    let p = this.pos;
    let c = first;
    if (c === MINUS) c = text.charCodeAt(++p);
    if (c === ZERO) p++;
    else if (isDigit(c)) p = this.digits(p);
    else this.fail(c === -1 ? "unexpected end of text" : "expected a value");
    if (text.charCodeAt(p) === DOT) p = this.digits(p + 1);
    c = text.charCodeAt(p);
    if (c === 0x65 || c === 0x45) {
      c = text.charCodeAt(++p);
      p = this.digits(c === 0x2b || c === MINUS ? p + 1 : p);
    }
    this.end = this.pos = p;
  }

  /** One or more digits from `at`; returns where they end. */
  private digits(at: number): number {
    const text = this.text;
    let p = at;
    while (isDigit(text.charCodeAt(p))) p++;
    if (p === at) this.failAt(at, "expected a digit");
    return p;
  }

  private string(): void {
    const text = this.text;
    let p = this.pos + 1;
    this.escaped = false;
    for (;;) {
      // Short runs by hand (cheaper than a regex call), long ones by the regex engine (faster per character).
      const handUntil = p + 32;
      let c = text.charCodeAt(p);
      while (c >= 0x20 && c !== QUOTE && c !== BACKSLASH && p < handUntil) c = text.charCodeAt(++p);
      if (p === handUntil) {
        PLAIN_RUN.lastIndex = p;
        PLAIN_RUN.test(text);
        p = PLAIN_RUN.lastIndex;
        c = text.charCodeAt(p);
      }
      if (c === QUOTE) break;
      if (c !== BACKSLASH) {
        this.pos = p;
        this.fail(p >= text.length ? "unterminated string" : "control characters in strings must be escaped");
      }
      this.escaped = true;
      p = text.charCodeAt(p + 1) === 0x75 ? this.unicodeEscape(p) : this.simpleEscape(p);
    }
    this.end = this.pos = p + 1;
  }

  private simpleEscape(at: number): number {
    if (!SIMPLE_ESCAPES.has(this.text.charCodeAt(at + 1))) this.failAt(at, "invalid escape");
    return at + 2;
  }

  /** `\uXXXX`; a surrogate must come in a pair (I-JSON, RFC 7493): a lone one has no UTF-8 form to send. */
  private unicodeEscape(at: number): number {
    const unit = this.hex4(at);
    if (unit >= 0xdc00 && unit <= 0xdfff) this.failAt(at, "lone surrogate escape");
    if (unit < 0xd800 || unit > 0xdbff) return at + 6;
    const low = this.text.startsWith("\\u", at + 6) ? this.hex4(at + 6) : -1;
    if (low < 0xdc00 || low > 0xdfff) this.failAt(at, "lone surrogate escape");
    return at + 12;
  }

  private hex4(at: number): number {
    HEX4.lastIndex = at + 2;
    if (!HEX4.test(this.text)) this.failAt(at, "invalid \\u escape");
    return Number.parseInt(this.text.slice(at + 2, at + 6), 16);
  }

  private close(): JsonToken {
    this.depth--;
    this.expect = AFTER_VALUE;
    this.start = this.pos;
    this.end = ++this.pos;
    return this.text.charCodeAt(this.start) === CLOSE_OBJECT ? "}" : "]";
  }

  private push(container: number): void {
    if (this.depth === this.stack.length) {
      const grown = new Uint8Array(this.stack.length * 2);
      grown.set(this.stack);
      this.stack = grown;
    }
    this.stack[this.depth++] = container;
  }

  /** Skips whitespace and returns the next character code, or -1 at the end; a raw value being read leaves it out. */
  private skipSpace(): number {
    const text = this.text;
    let p = this.pos;
    let c = text.charCodeAt(p);
    if (isSpace(c)) {
      const from = p;
      do c = text.charCodeAt(++p);
      while (isSpace(c));
      this.pos = p;
      this.spaces++;
      if (this.pieces !== null) {
        this.pieces.push(text.slice(this.pieceFrom, from));
        this.pieceFrom = p;
      }
    }
    return p < text.length ? c : -1;
  }

  private fail(problem: string): never {
    return this.failAt(this.pos, problem);
  }

  private failAt(at: number, problem: string): never {
    throw new HeraldError("invalid_json", `the request body is not valid JSON: ${problem} at character ${at}`);
  }
}
