/** HERALD_REDIS_URL: checked at start-up, and shown in logs with its password hidden. */

/** Throws a message naming what is wrong, without echoing a password. */
export function checkRedisUrl(raw: string): string {
  const shape = "redis://[user:password@]host:port[/db] or rediss://... for TLS";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`must be ${shape}, got "${redactRedisUrl(raw)}"`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new Error(`must start with redis:// or rediss://`);
  if (url.hostname === "") throw new Error(`needs a host: ${shape}`);
  if (!/^(\/\d*)?$/.test(url.pathname)) throw new Error(`the path must be a database number, as in ${shape}`);
  if (url.search !== "" || url.hash !== "") throw new Error(`takes no query or fragment: ${shape}`);
  return raw;
}

/** The URL with its password replaced, for logs and error messages. */
export function redactRedisUrl(raw: string): string {
  return raw.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, "$1[redacted]@");
}
