/** Settings: command-line flags over environment variables over defaults, each with its range, frozen once parsed. */

import { availableParallelism } from "node:os";
import type { PublicKey } from "./auth/public-keys";
import { ConfigError } from "./errors";
import type { LogLevel } from "./logger";
import { redactRedisUrl } from "./net/redis-url";
import {
  addressRanges,
  boolean,
  DAY,
  duration,
  hmacSecret,
  host,
  integer,
  milliseconds,
  nonEmpty,
  oneOf,
  optional,
  originList,
  type Parser,
  publicKeys,
  redisPrefix,
  redisUrl,
  selectorList,
} from "./settings/parsers";
import {
  closestName,
  type Env,
  fileFlag,
  fileVariable,
  flagsOf,
  given,
  parseFlags,
  readsFile,
  type SettingSource,
  unknownVariables,
  variablesOf,
} from "./settings/sources";

export { ConfigError };

export interface Config {
  /** TCP port to listen on. Default 8080. */
  readonly port: number;
  /** Interface to bind. Default `0.0.0.0`. */
  readonly host: string;
  /** SQLite file of the event log. Default `./data/herald.db`. */
  readonly db: string;
  /** `full`: an acknowledged event survives power loss; `normal`: it survives a process crash. Default `full`. */
  readonly sync: "full" | "normal";
  /** Largest event data in bytes (UTF-8 text, or compact JSON). Default 1 MiB. */
  readonly maxEventBytes: number;
  /** Reconnection delay suggested to clients in the `retry:` field. Default 2000 ms. */
  readonly retryMs: number;
  /** Longest silence on a stream before a comment is sent. Default 15000 ms. */
  readonly heartbeatMs: number;
  readonly maxStreamAgeMs: number;
  /** Bytes held for one subscriber that does not read before its stream is closed. Default 4 MiB. */
  readonly subscriberBufferBytes: number;
  /** Open streams past which `/stream` answers 503. Default 10000. */
  readonly maxSubscribers: number;
  /** Events older than this are pruned, in ms; 0 means no age limit. Default 7 days. */
  readonly retentionMaxAgeMs: number;
  /** Events kept per topic; 0 means unlimited. Default unlimited. */
  readonly retentionMaxEvents: number;
  /** HS256 secret for JWTs, at least 32 bytes; empty means open mode. Default unset. */
  readonly jwtSecret: string;
  /** EdDSA (Ed25519), ES256 (P-256) and RS256 (RSA, 2048 bits or more) keys for JWTs. Default none. */
  readonly jwtPublicKeys: readonly PublicKey[];
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
  /** Selects the shared Redis log (cluster mode) instead of SQLite. Default unset. */
  readonly redisUrl: string;
  /** Names the Redis keys, so several hubs can share one Redis. Default `herald`. */
  readonly redisPrefix: string;
  /** Redis replicas that must have an event before it is acknowledged. Default 0. */
  readonly redisReplicas: number;
  /** PEM certificate (chain) file for native HTTPS; with `tlsKey`. Default unset: plain HTTP. */
  readonly tlsCert: string;
  /** PEM private key file of `tlsCert`. Default unset. */
  readonly tlsKey: string;
  /** The resource identifier an `authorization_details` token's `aud` must name. Default unset: not checked. */
  readonly mercureAudience: string;
  /** The issuer an `authorization_details` token's `iss` must equal. Default unset: not checked. */
  readonly mercureIssuer: string;
  /** The cookie the Mercure endpoint reads a token from (`__Secure-mercure_access_token` too). Default `mercureAuthorization`. */
  readonly mercureCookie: string;
  /** Threads serving HTTP on the one port, beside one writer of the log; 1 serves from one thread. Default: the cores this process may use. */
  readonly workers: number;
  /** Mercure's active subscriptions: subscription events and the subscriptions web API. Default false. */
  readonly mercureSubscriptions: boolean;
  /** Cluster mode: the longest a node that died stays listed by presence on the others, in ms. Default 30000. */
  readonly presenceTtlMs: number;
}

interface Setting<K extends keyof Config> extends SettingSource {
  key: K;
  /** The text a user would give for the default value. */
  default: string;
  help: string;
  parse: Parser<Config[K]>;
  /** How the start-up log shows a value set: a secret that is only partly secret (a URL's password), keys. */
  show?(value: Config[K]): unknown;
}

const MiB = 1024 * 1024;
/** Worker threads at most: each holds a heap of its own (17 to 30 MiB idle). */
const MAX_WORKERS = 256;

function setting<K extends keyof Config>(s: Setting<K>): Setting<K> {
  return s;
}

const settings = [
  setting({
    key: "port",
    env: "PORT",
    flag: "port",
    default: "8080",
    help: "TCP port",
    parse: integer(0, 65535, "0: any free port, the start-up line names it"),
  }),
  setting({ key: "host", env: "HOST", flag: "host", default: "0.0.0.0", help: "interface to bind", parse: host }),
  setting({
    key: "db",
    env: "HERALD_DB",
    flag: "db",
    default: "./data/herald.db",
    help: "SQLite file of the event log",
    parse: nonEmpty("a file path"),
  }),
  setting({
    key: "sync",
    env: "HERALD_SYNC",
    flag: "sync",
    default: "full",
    help: "full: acknowledged events survive power loss; normal: they survive a process crash",
    parse: oneOf("full", "normal"),
  }),
  setting({
    key: "maxEventBytes",
    env: "HERALD_MAX_EVENT_BYTES",
    flag: "max-event-bytes",
    default: "1048576",
    help: "largest event data in bytes",
    parse: integer(1, 128 * MiB, "bytes, at most 128 MiB"),
  }),
  setting({
    key: "retryMs",
    env: "HERALD_RETRY_MS",
    flag: "retry-ms",
    default: "2000",
    help: "reconnect delay sent to clients (retry:)",
    parse: milliseconds(0),
  }),
  setting({
    key: "heartbeatMs",
    env: "HERALD_HEARTBEAT_MS",
    flag: "heartbeat-ms",
    default: "15000",
    help: "longest silence on a stream before a comment",
    parse: milliseconds(100),
  }),
  setting({
    key: "maxStreamAgeMs",
    env: "HERALD_MAX_STREAM_AGE",
    flag: "max-stream-age",
    default: "24h",
    help: "a stream opened with a token ends after this (or at the token's exp), for its client to come back with a current one",
    parse: duration(1000, 24 * DAY, "no limit"),
  }),
  setting({
    key: "subscriberBufferBytes",
    env: "HERALD_SUBSCRIBER_BUFFER_BYTES",
    flag: "subscriber-buffer-bytes",
    default: "4194304",
    help: "bytes held for a subscriber that does not read before it is cut off",
    parse: integer(1024, 1024 * MiB, "bytes, at most 1 GiB"),
  }),
  setting({
    key: "maxSubscribers",
    env: "HERALD_MAX_SUBSCRIBERS",
    flag: "max-subscribers",
    default: "10000",
    help: "open streams past which /stream answers 503",
    parse: integer(1, 10_000_000),
  }),
  setting({
    key: "retentionMaxAgeMs",
    env: "HERALD_RETENTION_MAX_AGE",
    flag: "retention-max-age",
    default: "7d",
    help: "events older than this are pruned",
    parse: duration(1, 36_500 * DAY, "no age limit"),
  }),
  setting({
    key: "retentionMaxEvents",
    env: "HERALD_RETENTION_MAX_EVENTS",
    flag: "retention-max-events",
    default: "0",
    help: "events kept per topic",
    parse: integer(0, Number.MAX_SAFE_INTEGER, "0: unlimited"),
  }),
  setting({
    key: "jwtSecret",
    env: "HERALD_JWT_SECRET",
    flag: "jwt-secret",
    default: "",
    help: "HS256 secret; unset means open mode",
    parse: hmacSecret,
    secret: true,
  }),
  setting({
    key: "jwtPublicKeys",
    env: "HERALD_JWT_PUBLIC_KEY",
    flag: "jwt-public-key",
    default: "",
    help: "PEM public keys that verify tokens, beside the secret; a key's type fixes its one algorithm",
    parse: publicKeys,
    file: true,
    show: (keys) => keys.map(({ alg, thumbprint }) => ({ alg, thumbprint })),
  }),
  setting({
    key: "publicTopics",
    env: "HERALD_PUBLIC_TOPICS",
    flag: "public-topics",
    default: "",
    help: "selectors readable without a token",
    parse: selectorList,
  }),
  setting({
    key: "corsOrigins",
    env: "HERALD_CORS_ORIGINS",
    flag: "cors-origins",
    default: "",
    help: "origins allowed by CORS, with credentials; * allows any origin without them",
    parse: originList,
  }),
  setting({
    key: "maxStreamsPerClient",
    env: "HERALD_MAX_STREAMS_PER_CLIENT",
    flag: "max-streams-per-client",
    default: "0",
    help: "open streams per client (token sub, else address) past which /stream answers 429",
    parse: integer(0, 10_000_000, "0: no limit"),
  }),
  setting({
    key: "trustedProxies",
    env: "HERALD_TRUSTED_PROXIES",
    flag: "trusted-proxies",
    default: "",
    help: "proxies whose X-Forwarded-For names the client",
    parse: addressRanges,
  }),
  setting({
    key: "logLevel",
    env: "HERALD_LOG_LEVEL",
    flag: "log-level",
    default: "info",
    help: "lowest level logged",
    parse: oneOf<LogLevel>("debug", "info", "warn", "error"),
  }),
  setting({
    key: "redisUrl",
    env: "HERALD_REDIS_URL",
    flag: "redis-url",
    default: "",
    help: "share one log in Redis between several nodes (cluster mode); unset, the log is the SQLite file",
    parse: redisUrl,
    secret: true,
    show: redactRedisUrl,
  }),
  setting({
    key: "redisPrefix",
    env: "HERALD_REDIS_PREFIX",
    flag: "redis-prefix",
    default: "herald",
    help: "names the Redis keys (one hash tag), so several hubs can share one Redis",
    parse: redisPrefix,
  }),
  setting({
    key: "redisReplicas",
    env: "HERALD_REDIS_REPLICAS",
    flag: "redis-replicas",
    default: "0",
    help: "Redis replicas that must have an event before it is acknowledged (WAIT)",
    parse: integer(0, 64),
  }),
  setting({
    key: "tlsCert",
    env: "HERALD_TLS_CERT",
    flag: "tls-cert",
    default: "",
    help: "PEM certificate file: serve HTTPS (with --tls-key); SIGHUP reloads both files",
    parse: optional("the path of a PEM certificate (chain) file"),
  }),
  setting({
    key: "tlsKey",
    env: "HERALD_TLS_KEY",
    flag: "tls-key",
    default: "",
    help: "PEM private key file of --tls-cert",
    parse: optional("the path of a PEM private key file"),
  }),
  setting({
    key: "mercureAudience",
    env: "HERALD_MERCURE_AUDIENCE",
    flag: "mercure-audience",
    default: "",
    help: "the aud an authorization_details token must name (the hub's URL, e.g. https://hub.example.com/.well-known/mercure)",
    parse: optional("the hub's resource identifier"),
  }),
  setting({
    key: "mercureIssuer",
    env: "HERALD_MERCURE_ISSUER",
    flag: "mercure-issuer",
    default: "",
    help: "the iss an authorization_details token must have",
    parse: optional("the trusted issuer identifier"),
  }),
  setting({
    key: "mercureCookie",
    env: "HERALD_MERCURE_COOKIE",
    flag: "mercure-cookie",
    default: "mercureAuthorization",
    help: "the cookie the Mercure endpoint reads a token from",
    parse: nonEmpty("a cookie name"),
  }),
  setting({
    key: "workers",
    env: "HERALD_WORKERS",
    flag: "workers",
    default: String(Math.min(MAX_WORKERS, availableParallelism())),
    help: "threads serving HTTP on the one port, beside one writer of the log; default: the cores this process may use (1: one thread serves and writes)",
    parse: integer(1, MAX_WORKERS),
  }),
  setting({
    key: "mercureSubscriptions",
    env: "HERALD_MERCURE_SUBSCRIPTIONS",
    flag: "mercure-subscriptions",
    default: "false",
    help: "Mercure's active subscriptions: an event when a Mercure subscription opens or closes, and the subscriptions web API",
    parse: boolean,
  }),
  setting({
    key: "presenceTtlMs",
    env: "HERALD_PRESENCE_TTL_MS",
    flag: "presence-ttl-ms",
    default: "30000",
    help: "cluster mode: the streams of a node that died leave every other node's presence within this",
    parse: milliseconds(600, 3_600_000),
  }),
];

type AnySetting = (typeof settings)[number];

const knownFlags = settings.flatMap(flagsOf);

function settingValue<K extends keyof Config>(s: Setting<K>, flags: ReadonlyMap<string, string>, env: Env): Config[K] {
  const value = given(s, flags, env);
  return value ? s.parse(value.raw, value.name) : s.parse(s.default, `the default of ${s.env}`);
}

/** Flags over environment over defaults; throws a ConfigError, naming the setting and its range, for a bad value. */
export function loadConfig(argv: readonly string[] = [], env: Env = {}): Config {
  const flags = parseFlags(argv, knownFlags);
  const config = Object.fromEntries(settings.map((s) => [s.key, settingValue(s as Setting<keyof Config>, flags, env)]));
  return Object.freeze(config as unknown as Config);
}

/** One setting read from the environment the way the hub reads it: what `bun run token` needs of the secret. */
export function settingFromEnv<K extends keyof Config>(key: K, env: Env): Config[K] {
  const s = settings.find((x) => x.key === key) as Setting<K>;
  return settingValue(s, new Map(), env);
}

export interface ConfigWarning {
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** What the start-up log should warn about in a configuration that loads: typos, and secrets anyone can see. */
export function configWarnings(argv: readonly string[], env: Env): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  const unknown = unknownVariables(env, settings);
  if (unknown.length > 0) {
    const known = settings.flatMap(variablesOf);
    const suggestions = Object.fromEntries(
      unknown.flatMap((name) => {
        const near = closestName(name, known);
        return near ? [[name, near]] : [];
      }),
    );
    warnings.push({ msg: "unknown HERALD_* variables are ignored", fields: { variables: unknown, didYouMean: suggestions } });
  }
  const flags = parseFlags(argv, knownFlags);
  for (const s of settings.filter((x) => x.secret && flags.has(x.flag))) {
    warnings.push({
      msg: `--${s.flag} is visible to every user of this machine (ps, /proc); use ${fileVariable(s)} or --${fileFlag(s)}`,
      fields: { flag: `--${s.flag}` },
    });
  }
  return warnings;
}

/** The effective settings with secrets redacted, for the start-up log. */
export function describeConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of settings as Setting<keyof Config>[]) {
    const value = config[s.key];
    out[s.key] = s.show && value ? s.show(value) : s.secret && value ? "[redacted]" : value;
  }
  return out;
}

function describeSetting(s: AnySetting): string {
  const lines = [
    `  --${s.flag.padEnd(26)}${s.env.padEnd(32)}default: ${s.default || "(unset)"}`,
    `      ${s.help}`,
    `      range: ${s.parse.range}`,
  ];
  if (readsFile(s)) lines.push(`      or from a file: ${fileVariable(s)} / --${fileFlag(s)} PATH (one trailing newline dropped)`);
  return lines.join("\n");
}

export function helpText(): string {
  return `Herald, a Server-Sent Events hub.

Usage: herald [--flag value ...]
       herald healthcheck [--port N]   exit 0 if the hub on this machine answers /health
Flags override environment variables, which override defaults. A value out of range stops start-up (exit 2).

${settings.map(describeSetting).join("\n")}
  --help
      print this text
`;
}
