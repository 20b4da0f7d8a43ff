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

/**
 * The URL with its password replaced, for logs and error messages. Read as a URL reads it (the user part ends at
 * the last `@`, so a password may hold `@`, `:` and `/`); a text that is no URL keeps only its scheme.
 */
export function redactRedisUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(raw)?.[0] ?? "";
    return raw.includes("@") ? `${scheme}[redacted]` : raw;
  }
  if (url.password === "") return raw;
  const user = url.username;
  return `${url.protocol}//${user}:[redacted]@${url.host}${url.pathname === "/" ? "" : url.pathname}`;
}
