/** Servers the tests start themselves (redis-server, nginx): whether they are installed, and a port for them. */
const warned = new Set<string>();

/**
 * The path of `binary` (looked up on PATH, then in `fallbacks`), or null where it is missing: the tests that
 * need it then skip, with one warning. Under CI=true (.ci/run installs everything) a missing one fails instead.
 */
export function installed(binary: string, debianPackage: string, fallbacks: readonly string[] = []): string | null {
  const path = Bun.which(binary) ?? fallbacks.find((p) => Bun.which(p) !== null) ?? null;
  if (path !== null) return path;
  if (process.env.CI === "true")
    throw new Error(`${binary} is missing: CI must run its tests (.ci/run installs ${debianPackage})`);
  if (!warned.has(binary))
    console.warn(`${binary} not found: its tests are skipped (apt-get install ${debianPackage} to run them)`);
  warned.add(binary);
  return null;
}

/** A port free on loopback right now, for a server that cannot be told to pick its own. */
export async function freePort(): Promise<number> {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}
