/**
 * What the oracle reads off a Mercure request's wire form: form fields (the URL standard's
 * application/x-www-form-urlencoded parser, with percent-decoded bytes required to be UTF-8 as draft 08 asks),
 * the token and where it came from (draft 07's precedence), and whether a cookie-authenticated publish is
 * cross-site (Herald's spec).
 */
import type { WireRequest } from "./oracle";

export interface FormField {
  readonly name: string;
  readonly value: string;
  /** Percent-decoded bytes that are not UTF-8: in the name, the value, or neither. */
  readonly broken: "name" | "value" | null;
}

const strict = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder("utf-8");

function percentDecode(text: string): { text: string; ok: boolean } {
  const bytes: number[] = [];
  const raw = Buffer.from(text.replaceAll("+", " "), "utf8");
  for (let i = 0; i < raw.length; i++) {
    const hex = String.fromCharCode(raw[i + 1] ?? 0, raw[i + 2] ?? 0);
    if (raw[i] === 0x25 && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else bytes.push(raw[i] as number);
  }
  try {
    return { text: strict.decode(Uint8Array.from(bytes)), ok: true };
  } catch {
    return { text: lossy.decode(Uint8Array.from(bytes)), ok: false };
  }
}

/** The fields of a form body or query string, in order; a broken one is decoded with U+FFFD as the URL standard would. */
export function formFields(text: string): FormField[] {
  const fields: FormField[] = [];
  for (const part of text.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = percentDecode(eq === -1 ? part : part.slice(0, eq));
    const value = percentDecode(eq === -1 ? "" : part.slice(eq + 1));
    fields.push({ name: name.text, value: value.text, broken: !name.ok ? "name" : !value.ok ? "value" : null });
  }
  return fields;
}

/** A body's text, or null when its bytes are not UTF-8 (before any percent-decoding). */
export function utf8(bytes: Uint8Array | undefined): string | null {
  try {
    return strict.decode(bytes ?? new Uint8Array());
  } catch {
    return null;
  }
}

export interface Credential {
  readonly token: string;
  readonly source: "header" | "query" | "cookie";
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}

/**
 * The token the hub must use: an `Authorization: Bearer` header (the scheme in any case; another scheme is no
 * token), else draft 07's `authorization` parameter (it "MUST be used" over the cookie), else the cookie
 * (`mercureAuthorization` as configured, or draft 08's `__Secure-mercure_access_token`). "malformed": a header
 * or parameter that holds no single token, a 400 `invalid_request` in draft 08 (RFC 6750).
 */
export function mercureCredential(req: WireRequest): Credential | "malformed" | undefined {
  const authorization = req.headers.authorization;
  if (authorization !== undefined && /^Bearer(\s|$)/i.test(authorization)) {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    return token === undefined ? "malformed" : { token, source: "header" };
  }
  const query = new URLSearchParams(req.query).getAll("authorization");
  if (query.length > 1 || query[0] === "") return "malformed";
  if (query[0] !== undefined) return { token: query[0], source: "query" };
  const cookie = req.headers.cookie;
  const token = cookieValue(cookie, "mercureAuthorization") ?? cookieValue(cookie, "__Secure-mercure_access_token");
  return token === undefined ? undefined : { token, source: "cookie" };
}

/** Whether the request carries a token in its URL: draft 07 asks its answers be `Cache-Control: private`. */
export const tokenInUrl = (req: WireRequest) => new URLSearchParams(req.query).has("authorization");

/** Whether the native API's cookie would authenticate the request (its own cross-site rule then applies). */
export function heraldCookieAuthenticates(req: WireRequest): boolean {
  const authorization = req.headers.authorization;
  if (authorization !== undefined && /^Bearer(\s|$)/i.test(authorization)) return false;
  if (new URLSearchParams(req.query).has("access_token")) return false;
  return cookieValue(req.headers.cookie, "herald_token") !== undefined;
}

/**
 * A cookie-authenticated publish must come from the hub's own origin (`Origin`, else `Referer`). With neither
 * header, Herald's native API takes it as from no browser; draft 08 ("rejecting the request when neither header
 * is available") refuses it: `strict`.
 */
export function crossSite(req: WireRequest, hubOrigin: string, strict = false): boolean {
  let origin = req.headers.origin;
  if (origin === undefined && req.headers.referer !== undefined) {
    try {
      origin = new URL(req.headers.referer).origin;
    } catch {
      origin = "null";
    }
  }
  if (origin === undefined) return strict;
  try {
    return new URL(origin).host !== new URL(hubOrigin).host;
  } catch {
    return true;
  }
}

/** A header's text as a client meant it: UTF-8 bytes carried one per character, as EventSource sends a non-ASCII id. */
export function headerText(value: string): string {
  if ([...value].some((c) => c.charCodeAt(0) > 0xff)) return value;
  try {
    return strict.decode(Buffer.from(value, "latin1"));
  } catch {
    return value;
  }
}
