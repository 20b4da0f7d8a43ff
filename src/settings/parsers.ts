/** Parsers of setting values: each turns text into a value inside its range, or says what it accepts. */
import { ACCEPTED_KEYS, type PublicKey, parsePublicKeys } from "../auth/public-keys";
import { ConfigError, quote } from "../errors";
import { isSelectorOfAnyTopic } from "../names";
import { parseAddressRange } from "../net/address-range";
import { normalizeOrigin } from "../net/origin";
import { checkRedisUrl } from "../net/redis-url";
import { TIMER_MAX_MS } from "../timers";

export { ConfigError };

export interface Parser<T> {
  /** `name` is how the user gave the value (`PORT`, `--port`), for the message. */
  (raw: string, name: string): T;
  /** The values accepted, as `--help` and the README list them. */
  readonly range: string;
}

function parser<T>(range: string, parse: (raw: string, name: string) => T): Parser<T> {
  return Object.assign(parse, { range });
}

export const SECOND = 1000;
export const DAY = 86_400_000;

const units: Record<string, number> = { ms: 1, s: SECOND, m: 60_000, h: 3_600_000, d: DAY, w: 7 * DAY };

/** `2073600000` → `24d`: the largest unit that divides the value. */
function formatMs(ms: number): string {
  if (ms === 0) return "0";
  const [unit, size] = Object.entries(units)
    .reverse()
    .find(([, size]) => ms % size === 0) ?? ["ms", 1];
  return `${ms / size}${unit}`;
}

/** A whole number from `min` to `max`; `note` explains a special value such as 0. */
export const integer = (min: number, max = Number.MAX_SAFE_INTEGER, note = ""): Parser<number> => {
  const range = `${min} to ${max}${note ? ` (${note})` : ""}`;
  return parser(range, (raw, name) => {
    const value = raw.trim();
    if (!/^-?\d+$/.test(value)) throw new ConfigError(`${name} must be a whole number from ${range}, got ${quote(raw)}`);
    const n = Number(value);
    if (n < min || n > max) throw new ConfigError(`${name} is out of range: ${range}, got ${quote(raw)}`);
    return n;
  });
};

/** A delay in plain milliseconds that ends up in a timer, so it stays below the timer's limit. */
export const milliseconds = (min: number, max = TIMER_MAX_MS): Parser<number> =>
  integer(min, max, `milliseconds, at most ${formatMs(max)}`);

/** `90s`, `15m`, `12h`, `7d`, `2w` or plain milliseconds, from `min` to `max` (ms); 0 is allowed when `zero` says what it means. */
export const duration = (min: number, max: number, zero?: string): Parser<number> => {
  const range = `${zero ? `0 (${zero}), or ` : ""}${formatMs(min)} to ${formatMs(max)}, e.g. 30s, 12h, 7d`;
  return parser(range, (raw, name) => {
    const text = raw.trim();
    if (zero && text === "0") return 0;
    // A unit is required: a bare "7" meant as days would otherwise keep events for 7 ms.
    const match = /^(\d+)(ms|s|m|h|d|w)$/.exec(text);
    if (!match?.[1] || !match[2]) {
      const why = /^\d+$/.test(text) ? "needs a unit" : "must be a duration";
      throw new ConfigError(`${name} ${why}: ${range}; got ${quote(raw)}`);
    }
    const ms = Number(match[1]) * (units[match[2]] ?? 1);
    if (ms === 0 && zero) return 0;
    if (ms < min || ms > max) throw new ConfigError(`${name} is out of range: ${range}; got ${quote(raw)}`);
    return ms;
  });
};

export const oneOf = <T extends string>(...values: T[]): Parser<T> => {
  const range = `one of ${values.join(", ")}`;
  return parser(range, (raw, name) => {
    if (!values.includes(raw as T)) throw new ConfigError(`${name} must be ${range}, got ${quote(raw)}`);
    return raw as T;
  });
};

/** `true` or `false`, exactly. */
export const boolean: Parser<boolean> = parser("true or false", (raw, name) => {
  const value = raw.trim();
  if (value !== "true" && value !== "false") throw new ConfigError(`${name} must be true or false, got ${quote(raw)}`);
  return value === "true";
});

/** Text that must not be empty, such as a host or a path; `range` says what it is. */
export const nonEmpty = (range: string): Parser<string> =>
  parser(range, (raw, name) => {
    if (raw.trim() === "") throw new ConfigError(`${name} must not be empty (${range})`);
    return raw.trim();
  });

/** Text that may be left unset, such as the path of an optional file; `range` says what it is. */
export const optional = (range: string): Parser<string> => parser(`unset, or ${range}`, (raw) => raw.trim());

/** An IP address or a host name; an IPv6 address may come in the brackets of a URL (`[::1]`). */
export const host: Parser<string> = parser("an IP address or host name", (raw, name) =>
  nonEmpty("an IP address or host name")(raw, name).replace(/^\[(.*)\]$/, "$1"),
);

export const list: Parser<readonly string[]> = parser("comma-separated list", (raw) =>
  raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== ""),
);

export const selectorList: Parser<readonly string[]> = parser(
  "comma-separated topics (names or Mercure topics) or prefixes ending in *",
  (raw, name) => {
    const selectors = list(raw, name);
    const bad = selectors.find((s) => !isSelectorOfAnyTopic(s));
    if (bad !== undefined)
      throw new ConfigError(`${name}: ${quote(bad)} is not a topic, a Mercure topic or a prefix ending in "*"`);
    return selectors;
  },
);

export const originList: Parser<readonly string[]> = parser(
  "comma-separated origins such as https://app.example, or *",
  (raw, name) =>
    list(raw, name).map((entry) => {
      const origin = normalizeOrigin(entry);
      if (origin === null) throw new ConfigError(`${name}: ${quote(entry)} is not an origin such as https://app.example, or *`);
      return origin;
    }),
);

export const addressRanges: Parser<readonly string[]> = parser("comma-separated IP addresses or CIDR ranges", (raw, name) => {
  const ranges = list(raw, name);
  const bad = ranges.find((r) => parseAddressRange(r) === null);
  if (bad !== undefined) throw new ConfigError(`${name}: ${quote(bad)} is not an IP address or a CIDR range such as 10.0.0.0/8`);
  return ranges;
});

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash, 256 bits. */
const HS256_MIN_BYTES = 32;

/** An HS256 key: unset (open mode) or at least 32 bytes. The message never repeats the value. */
export const hmacSecret: Parser<string> = parser(`unset, or at least ${HS256_MIN_BYTES} bytes`, (raw, name) => {
  const bytes = Buffer.byteLength(raw);
  if (raw !== "" && bytes < HS256_MIN_BYTES)
    throw new ConfigError(
      `${name} is ${bytes} bytes; an HS256 secret needs at least ${HS256_MIN_BYTES} (try: openssl rand -base64 48)`,
    );
  return raw;
});

/** Public keys that verify tokens: none when unset. The messages name the key and the fault, never the PEM. */
export const publicKeys: Parser<readonly PublicKey[]> = parser(
  `unset, or PEM SPKI public keys, concatenated: ${ACCEPTED_KEYS}`,
  (raw, name) => {
    if (raw.trim() === "") return [];
    try {
      return parsePublicKeys(raw);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(`${name}: ${error.message}`);
    }
  },
);

export const redisUrl: Parser<string> = parser(
  "unset, or redis://[user:password@]host:port[/db] (rediss:// for TLS)",
  (raw, name) => {
    if (raw === "") return raw;
    try {
      return checkRedisUrl(raw);
    } catch (error) {
      throw new ConfigError(`${name} ${(error as Error).message}`);
    }
  },
);

export const redisPrefix: Parser<string> = parser("1 to 64 of A-Z a-z 0-9 . _ : -", (raw, name) => {
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(raw))
    throw new ConfigError(`${name} must be 1 to 64 of A-Z a-z 0-9 . _ : -, got ${quote(raw)}`);
  return raw;
});
