/** `bun run token -- --publish 'orders.*' --subscribe '*' --ttl 1h`: mints an HS256 token with the hub's secret. */
import { SignJWT } from "jose";
import { ConfigError, settingFromEnv } from "../config";
import { parseSelectorOfAnyTopic } from "../names";
import { DAY, duration, SECOND } from "../settings/parsers";

const ttl = duration(SECOND, 3650 * DAY);

const USAGE = `Usage: bun run token -- [--publish SELECTOR]... [--subscribe SELECTOR]... [--ttl 1h] [--sub NAME]
Reads the secret as the hub does: HERALD_JWT_SECRET, or the file named by HERALD_JWT_SECRET_FILE.
Selectors may repeat or be comma-separated. --ttl: ${ttl.range}.`;

export interface TokenRequest {
  publish: string[];
  subscribe: string[];
  ttlMs: number;
  subject?: string;
}

export function parseTokenArgs(argv: readonly string[]): TokenRequest {
  const request: TokenRequest = { publish: [], subscribe: [], ttlMs: 3_600_000 };
  const args = argv[0] === "--" ? argv.slice(1) : argv;
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new ConfigError(`${flag} needs a value\n${USAGE}`);
    const selectors = () => value.split(",").map((s) => parseSelectorOfAnyTopic(s.trim()).text);
    if (flag === "--publish") request.publish.push(...selectors());
    else if (flag === "--subscribe") request.subscribe.push(...selectors());
    else if (flag === "--ttl") request.ttlMs = ttl(value, "--ttl");
    else if (flag === "--sub") request.subject = value;
    else throw new ConfigError(`unknown flag ${flag}\n${USAGE}`);
  }
  return request;
}

export async function mintToken(secret: string, r: TokenRequest, now = Date.now()): Promise<string> {
  const jwt = new SignJWT({ herald: { publish: r.publish, subscribe: r.subscribe } })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor((now + r.ttlMs) / 1000));
  if (r.subject !== undefined) jwt.setSubject(r.subject);
  return jwt.sign(new TextEncoder().encode(secret));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const request = parseTokenArgs(argv);
  const secret = settingFromEnv("jwtSecret", process.env);
  if (secret === "") throw new ConfigError("HERALD_JWT_SECRET (or HERALD_JWT_SECRET_FILE) is not set");
  process.stdout.write(`${await mintToken(secret, request)}\n`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}
