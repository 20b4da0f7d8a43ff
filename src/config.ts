/** Settings: command-line flags over environment variables over defaults, frozen once parsed. */
import { parseAddressRange } from "./http/client-address";
import { normalizeOrigin } from "./http/origins";
import { SELECTOR_PATTERN } from "./names";

export type SyncMode = "full" | "normal";
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Config {
  /** TCP port to listen on. Default 8080. */
  readonly port: number;
  /** Interface to bind. Default `0.0.0.0`. */
  readonly host: string;
  /** SQLite file of the event log. Default `./data/herald.db`. */
  readonly db: string;
  /** `full`: an acknowledged event survives power loss; `normal`: it survives a process crash. Default `full`. */
  readonly sync: SyncMode;
  /** Largest event data in bytes (UTF-8 text, or compact JSON). Default 1 MiB. */
  readonly maxEventBytes: number;
  /** Reconnection delay suggested to clients in the `retry:` field. Default 2000 ms. */
  readonly retryMs: number;
  /** Longest silence on a stream before a comment is sent. Default 15000 ms. */
  readonly heartbeatMs: number;
  /** Bytes held for one subscriber that does not read before its stream is closed. Default 4 MiB. */
  readonly subscriberBufferBytes: number;
  /** Open streams past which `/stream` answers 503. Default 10000. */
  readonly maxSubscribers: number;
  /** Events older than this are pruned, in ms. Default 7 days. */
  readonly retentionMaxAgeMs: number;
  /** Events kept per topic; 0 means unlimited. Default unlimited. */
  readonly retentionMaxEvents: number;
  /** HS256 secret for JWTs; empty means open mode. Default unset. */
  readonly jwtSecret: string;
  /** Selectors readable without a token. Default none. */
  readonly publicTopics: readonly string[];
  /** Origins allowed by CORS, normalized (`*`: any, without credentials). Default none. */
  readonly corsOrigins: readonly string[];
  /** Open streams per client (token `sub`, else address); 0 means no limit. Default 0. */
  readonly maxStreamsPerClient: number;
  /** Peers whose `X-Forwarded-For` names the client: addresses or CIDR ranges. Default none. */
  readonly trustedProxies: readonly string[];
  /** Lowest level logged. Default `info`. */
  readonly logLevel: LogLevel;
}

type Parser<T> = (raw: string, name: string) => T;

interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  flag: string;
  default: string;
  help: string;
  parse: Parser<Config[K]>;
  secret?: boolean;
}

export class ConfigError extends Error {}

const integer =
  (min: number): Parser<number> =>
  (raw, name) => {
    if (!/^\d+$/.test(raw.trim()) || Number(raw) < min)
      throw new ConfigError(`${name} must be an integer ≥ ${min}, got "${raw}"`);
    return Number(raw);
  };

const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw, name) => {
    if (!values.includes(raw as T)) throw new ConfigError(`${name} must be one of ${values.join(", ")}, got "${raw}"`);
    return raw as T;
  };

const text: Parser<string> = (raw) => raw;
const list: Parser<readonly string[]> = (raw) =>
  raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

const selectorList: Parser<readonly string[]> = (raw, name) => {
  const selectors = list(raw, name);
  const bad = selectors.find((s) => !new RegExp(SELECTOR_PATTERN).test(s));
  if (bad !== undefined) throw new ConfigError(`${name}: "${bad}" is not a topic or a prefix ending in "*"`);
  return selectors;
};

const originList: Parser<readonly string[]> = (raw, name) =>
  list(raw, name).map((entry) => {
    const origin = normalizeOrigin(entry);
    if (origin === null) throw new ConfigError(`${name}: "${entry}" is not an origin such as https://app.example, or *`);
    return origin;
  });

const addressRanges: Parser<readonly string[]> = (raw, name) => {
  const ranges = list(raw, name);
  const bad = ranges.find((r) => parseAddressRange(r) === null);
  if (bad !== undefined) throw new ConfigError(`${name}: "${bad}" is not an IP address or a CIDR range such as 10.0.0.0/8`);
  return ranges;
};

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `90s`, `15m`, `12h`, `7d`, `2w` (or plain milliseconds) into milliseconds. */
export const duration: Parser<number> = (raw, name) => {
  const match = /^(\d+)(ms|s|m|h|d|w)?$/.exec(raw.trim());
  if (!match?.[1]) throw new ConfigError(`${name} must be a duration such as 30s, 12h or 7d, got "${raw}"`);
  return Number(match[1]) * (durationUnits[match[2] ?? "ms"] ?? 1);
};

function setting<K extends keyof Config>(s: Setting<K>): Setting<K> {
  return s;
}

const settings = [
  setting({ key: "port", env: "PORT", flag: "port", default: "8080", help: "TCP port", parse: integer(0) }),
  setting({ key: "host", env: "HOST", flag: "host", default: "0.0.0.0", help: "interface to bind", parse: text }),
  setting({
    key: "db",
    env: "HERALD_DB",
    flag: "db",
    default: "./data/herald.db",
    help: "SQLite file of the event log",
    parse: text,
  }),
  setting({
    key: "sync",
    env: "HERALD_SYNC",
    flag: "sync",
    default: "full",
    help: "full: acknowledged events survive power loss; normal: they survive a process crash",
    parse: oneOf<SyncMode>("full", "normal"),
  }),
  setting({
    key: "maxEventBytes",
    env: "HERALD_MAX_EVENT_BYTES",
    flag: "max-event-bytes",
    default: "1048576",
    help: "largest event data in bytes",
    parse: integer(1),
  }),
  setting({
    key: "retryMs",
    env: "HERALD_RETRY_MS",
    flag: "retry-ms",
    default: "2000",
    help: "reconnect delay sent to clients (retry:)",
    parse: integer(0),
  }),
  setting({
    key: "heartbeatMs",
    env: "HERALD_HEARTBEAT_MS",
    flag: "heartbeat-ms",
    default: "15000",
    help: "longest silence on a stream before a comment",
    parse: integer(100),
  }),
  setting({
    key: "subscriberBufferBytes",
    env: "HERALD_SUBSCRIBER_BUFFER_BYTES",
    flag: "subscriber-buffer-bytes",
    default: "4194304",
    help: "bytes held for a subscriber that does not read before it is cut off",
    parse: integer(1024),
  }),
  setting({
    key: "maxSubscribers",
    env: "HERALD_MAX_SUBSCRIBERS",
    flag: "max-subscribers",
    default: "10000",
    help: "open streams past which /stream answers 503",
    parse: integer(1),
  }),
  setting({
    key: "retentionMaxAgeMs",
    env: "HERALD_RETENTION_MAX_AGE",
    flag: "retention-max-age",
    default: "7d",
    help: "events older than this are pruned (30s, 12h, 7d, ...)",
    parse: duration,
  }),
  setting({
    key: "retentionMaxEvents",
    env: "HERALD_RETENTION_MAX_EVENTS",
    flag: "retention-max-events",
    default: "0",
    help: "events kept per topic, 0 for unlimited",
    parse: integer(0),
  }),
  setting({
    key: "jwtSecret",
    env: "HERALD_JWT_SECRET",
    flag: "jwt-secret",
    default: "",
    help: "HS256 secret; unset means open mode",
    parse: text,
    secret: true,
  }),
  setting({
    key: "publicTopics",
    env: "HERALD_PUBLIC_TOPICS",
    flag: "public-topics",
    default: "",
    help: "comma-separated selectors readable without a token",
    parse: selectorList,
  }),
  setting({
    key: "corsOrigins",
    env: "HERALD_CORS_ORIGINS",
    flag: "cors-origins",
    default: "",
    help: "comma-separated origins allowed by CORS, with credentials; * allows any origin without them",
    parse: originList,
  }),
  setting({
    key: "maxStreamsPerClient",
    env: "HERALD_MAX_STREAMS_PER_CLIENT",
    flag: "max-streams-per-client",
    default: "0",
    help: "open streams per client (token sub, else address) past which /stream answers 429; 0 for no limit",
    parse: integer(0),
  }),
  setting({
    key: "trustedProxies",
    env: "HERALD_TRUSTED_PROXIES",
    flag: "trusted-proxies",
    default: "",
    help: "comma-separated addresses or CIDR ranges of proxies whose X-Forwarded-For names the client",
    parse: addressRanges,
  }),
  setting({
    key: "logLevel",
    env: "HERALD_LOG_LEVEL",
    flag: "log-level",
    default: "info",
    help: "debug, info, warn or error",
    parse: oneOf<LogLevel>("debug", "info", "warn", "error"),
  }),
];

/** Reads `--name value` and `--name=value` pairs. */
function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("--")) throw new ConfigError(`unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!settings.some((s) => s.flag === name)) throw new ConfigError(`unknown flag --${name} (see --help)`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    flags.set(name, value);
  }
  return flags;
}

export function loadConfig(argv: readonly string[] = [], env: Record<string, string | undefined> = {}): Config {
  const flags = parseFlags(argv);
  const config: Record<string, unknown> = {};
  for (const s of settings) {
    const raw = flags.get(s.flag) ?? env[s.env] ?? s.default;
    config[s.key] = s.parse(raw, flags.has(s.flag) ? `--${s.flag}` : s.env);
  }
  return Object.freeze(config as unknown as Config);
}

/** The effective settings with secrets redacted, for the start-up log. */
export function describeConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of settings) out[s.key] = s.secret && config[s.key] ? "[redacted]" : config[s.key];
  return out;
}

export function helpText(): string {
  const rows = settings.map(
    (s) => `  --${s.flag.padEnd(26)}${s.env.padEnd(32)}default: ${s.default || "(unset)"}\n      ${s.help}`,
  );
  return `Herald, a Server-Sent Events hub.\n\nUsage: herald [--flag value ...]\n       herald healthcheck [--port N]   exit 0 if the hub on this machine answers /health\nFlags override environment variables, which override defaults.\n\n${rows.join("\n")}\n  --help\n      print this text\n`;
}
