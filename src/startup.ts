/** What a failed start tells the operator: one `herald: ...` line on stderr and exit code 2, never a stack trace. */
import { lookup } from "node:dns/promises";
import { urlHost } from "./net/url-host";

export function refuseToStart(message: string): never {
  process.stderr.write(`herald: ${message}\n`);
  process.exit(2);
}

/** Resolves the host before anything else starts, so a typo in it is named as such rather than as a failed bind. */
export async function checkResolvable(host: string): Promise<void> {
  try {
    await lookup(host);
  } catch (error) {
    refuseToStart(`HOST ${JSON.stringify(host)} cannot be resolved (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
}

/** Why the listener could not be opened, in words; Bun throws these from `Bun.serve` with the code set. */
export function bindFailure(error: unknown, host: string, port: number): string {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${urlHost(host)}:${port}`;
  if (code === "EADDRINUSE") return `cannot listen on ${where}: the port is already in use (by another Herald?)`;
  if (code === "EADDRNOTAVAIL") return `cannot listen on ${where}: ${host} is not an address of this machine`;
  if (code === "EACCES") return `cannot listen on ${where}: permission denied (ports below 1024 need privileges)`;
  const firstLine = (error instanceof Error ? error.message : String(error)).split("\n")[0];
  return `cannot listen on ${where}: ${firstLine}${code ? ` (${code})` : ""}`;
}
