/** Web origins as browsers write them in the `Origin` header. */

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
