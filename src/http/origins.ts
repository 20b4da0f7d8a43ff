/** The origins named in HERALD_CORS_ORIGINS: who may read with credentials, and whose cookie publishes count. */

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
