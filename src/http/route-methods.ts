/** Which methods each path of the app is served with: a known path asked with another method is a 405 naming them. */

interface Route {
  readonly method: string;
  readonly path: string;
}

/** HEAD is answered wherever GET is. (OPTIONS is a CORS preflight's, answered before routing: http/cors.ts.) */
const IMPLIED: Record<string, readonly string[]> = { GET: ["HEAD"] };

export class RouteMethods {
  private readonly paths = new Map<string, { readonly pattern: RegExp; readonly methods: Set<string> }>();

  /** Reads the app's routes (Elysia's `router.history`), once they are all declared. */
  learn(routes: Iterable<Route>): void {
    for (const { method, path } of routes) {
      const entry = this.paths.get(path) ?? { pattern: pathPattern(path), methods: new Set<string>() };
      for (const m of [method, ...(IMPLIED[method] ?? [])]) entry.methods.add(m);
      this.paths.set(path, entry);
    }
  }

  /** The methods `pathname` is served with, sorted, or undefined when no route has that path. */
  allowedFor(pathname: string): readonly string[] | undefined {
    const methods = new Set<string>();
    for (const { pattern, methods: served } of this.paths.values()) {
      if (pattern.test(pathname)) for (const m of served) methods.add(m);
    }
    return methods.size === 0 ? undefined : [...methods].sort();
  }
}

/** A route path as a test of request paths: `:name` is one segment, `*` the rest. */
function pathPattern(path: string): RegExp {
  const source = path
    .split(/(:[A-Za-z_][A-Za-z0-9_]*|\*)/)
    .map((part) => (part === "*" ? ".*" : part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`);
}
