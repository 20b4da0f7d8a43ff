/** Reading request bodies within the size limits, before any JSON parsing or validation. */
import { HeraldError } from "../errors";

export interface BodyLimits {
  /** Largest data of one event, in bytes. */
  readonly maxEventBytes: number;
  /** Largest request body, in bytes. */
  readonly maxRequestBytes: number;
}

/** Room for a batch of large events and the JSON around them; Bun enforces it on chunked bodies too. */
export function maxRequestBytes(maxEventBytes: number): number {
  return Math.max(32 * 1024 * 1024, 2 * maxEventBytes + 64 * 1024);
}

export function isJson(contentType: string | null): boolean {
  return (contentType ?? "").split(";", 1)[0]?.trim().toLowerCase() === "application/json";
}

export async function readText(request: Request, limits: BodyLimits): Promise<string> {
  const tooLarge = () => new HeraldError("payload_too_large", `the request body is larger than ${limits.maxRequestBytes} bytes`);
  if (Number(request.headers.get("content-length") ?? "0") > limits.maxRequestBytes) throw tooLarge();
  const text = await request.text();
  // A chunked body declares no length: measure what came.
  if (text.length > limits.maxRequestBytes / 3 && Buffer.byteLength(text) > limits.maxRequestBytes) throw tooLarge();
  return text;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HeraldError("invalid_json", "the request body is not valid JSON");
  }
}

/** The stored form of event data (compact JSON), refused past the per-event limit. */
export function dataJson(data: unknown, limits: BodyLimits, sizeOf: "json" | "text" = "json"): string {
  // JSON has no undefined: it means the property was missing.
  if (data === undefined) throw new HeraldError("invalid_request", "data is required (null is a value)");
  const json = JSON.stringify(data);
  const measured = sizeOf === "text" ? (data as string) : json;
  if (Buffer.byteLength(measured) > limits.maxEventBytes) {
    throw new HeraldError("payload_too_large", `event data is larger than ${limits.maxEventBytes} bytes`);
  }
  return json;
}
