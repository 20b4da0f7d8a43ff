/** The origins named in HERALD_CORS_ORIGINS: who may read with credentials, and whose cookie publishes count. */

/** `https://App.example/` → `https://app.example`, as browsers write the `Origin` header; null if not an origin. */
export function normalizeOrigin(raw: string): string | null {
  if (raw === "*") return raw;
  try {
    const url = new URL(raw);
    const bare = url.pathname === "/" && url.search === "" && url.hash === "" && url.username === "" && url.password === "";
    return bare && (url.protocol === "http:" || url.protocol === "https:") ? url.origin : null;
  } catch {
    return null;
  }
}

export class OriginPolicy {
  /** `*` was given: every origin may read, without credentials. */
  readonly anyOrigin: boolean;
  private readonly named: ReadonlySet<string>;

  /** `origins` as config parsed them: normalized, `*` among them or not. */
  constructor(origins: readonly string[]) {
    this.anyOrigin = origins.includes("*");
    this.named = new Set(origins.filter((o) => o !== "*"));
  }

  get hasNamed(): boolean {
    return this.named.size > 0;
  }

  /** Named explicitly (never through `*`): may send credentials and publish with the cookie. */
  isNamed(origin: string): boolean {
    return this.named.has(origin);
  }
}
