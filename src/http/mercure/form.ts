/**
 * `application/x-www-form-urlencoded` bodies, strictly: percent-encoded bytes must make valid UTF-8. The URL
 * standard's parser (URLSearchParams) would put U+FFFD in their place, and Herald replaces nothing silently.
 */
import { HeraldError } from "../../errors";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** The value of an ASCII hex digit, or -1. */
function hexValue(b: number | undefined): number {
  if (b === undefined) return -1;
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const lower = b | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

function decode(part: string, field: string): string {
  const plus = part.replaceAll("+", " ");
  if (!plus.includes("%")) return plus;
  const bytes = encoder.encode(plus);
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    const high = b === 0x25 ? hexValue(bytes[i + 1]) : -1;
    const low = high === -1 ? -1 : hexValue(bytes[i + 2]);
    // A `%` not followed by two hex digits stays as it is, as the URL standard says.
    if (low === -1) out[n++] = b;
    else {
      out[n++] = high * 16 + low;
      i += 2;
    }
  }
  try {
    return strictUtf8.decode(out.subarray(0, n));
  } catch {
    throw new HeraldError("invalid_encoding", `the field ${field} is not valid UTF-8 once percent-decoded`);
  }
}

/**
 * The fields of a form body (or a query string) in order, names and values decoded; at most `maxFields` of
 * them, past which `tooMany` is the answer (413 for a body, 400 for a query).
 */
export function parseForm(
  body: string,
  maxFields: number,
  tooMany: "payload_too_large" | "invalid_request" = "payload_too_large",
): Array<[name: string, value: string]> {
  const fields: Array<[string, string]> = [];
  for (const part of body.split("&")) {
    if (part === "") continue;
    if (fields.length >= maxFields) {
      throw new HeraldError(tooMany, `a request has at most ${maxFields} form fields`);
    }
    const eq = part.indexOf("=");
    const name = decode(eq === -1 ? part : part.slice(0, eq), "name");
    fields.push([name, eq === -1 ? "" : decode(part.slice(eq + 1), JSON.stringify(name.slice(0, 50)))]);
  }
  return fields;
}
