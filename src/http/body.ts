/** Reading request bodies: within the size limit, strictly UTF-8, JSON parsed only as deep as the request's shape. */
import { HeraldError, quote } from "../errors";
import { parseShallow, RawJson } from "../json/shallow";

export interface BodyLimits {
  /** Largest data of one event, in bytes. */
  readonly maxEventBytes: number;
  /** Largest request body, in bytes. */
  readonly maxRequestBytes: number;
}

/** Room for a batch of large events and the JSON around them. */
export function maxRequestBytes(maxEventBytes: number): number {
  return Math.max(32 * 1024 * 1024, 2 * maxEventBytes + 64 * 1024);
}

/** US-ASCII is a subset of UTF-8; every other charset would need transcoding, which the hub does not guess at. */
const CHARSETS = new Set(["utf-8", "us-ascii"]);
const NON_ASCII = /[\u0080-\uffff]/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

interface MediaType {
  readonly type: string;
  readonly charset: string | undefined;
}

function mediaType(header: string | null): MediaType {
  const [type = "", ...params] = (header ?? "").split(";");
  let charset: string | undefined;
  for (const param of params) {
    const eq = param.indexOf("=");
    if (eq !== -1 && param.slice(0, eq).trim().toLowerCase() === "charset") {
      charset = param
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1")
        .toLowerCase();
    }
  }
  return { type: type.trim().toLowerCase(), charset };
}

export function isJson(request: Request): boolean {
  return mediaType(request.headers.get("content-type")).type === "application/json";
}

/**
 * The body as text. Refused before a byte is read when the declared length or the charset is wrong; read as a
 * stream and abandoned as soon as it passes the request limit, so a body of any size, declared or chunked, gets
 * the JSON 413. A leading byte order mark is an encoding signature, not text: it is dropped, as UTF-8 decoding
 * does in browsers and as RFC 8259 allows for JSON.
 */
export async function readText(request: Request, limits: BodyLimits): Promise<string> {
  const { charset } = mediaType(request.headers.get("content-type"));
  if (charset !== undefined && !CHARSETS.has(charset)) {
    throw new HeraldError("unsupported_charset", `charset ${quote(charset)} is not supported: send UTF-8`);
  }
  const tooLarge = () => new HeraldError("payload_too_large", `the request body is larger than ${limits.maxRequestBytes} bytes`);
  const declared = request.headers.get("content-length");
  if (Number(declared ?? 0) > limits.maxRequestBytes) throw tooLarge();
  // A declared length bounds the body (Bun reads no more), so Bun's own one-piece read is safe and cheaper.
  const bytes =
    declared === null ? await readBytes(request, limits.maxRequestBytes, tooLarge) : new Uint8Array(await request.arrayBuffer());
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new HeraldError("invalid_encoding", "the request body is not valid UTF-8");
  }
  if (charset === "us-ascii" && NON_ASCII.test(text)) {
    throw new HeraldError("invalid_encoding", "the request body declares charset us-ascii but is not ASCII");
  }
  return text;
}

async function readBytes(request: Request, limit: number, tooLarge: () => HeraldError): Promise<Uint8Array> {
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(read.value);
  }
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, size);
}

/** A text body's data: stored as a JSON string, measured by the UTF-8 bytes of the text itself. */
export class TextData extends RawJson {
  readonly bytes: number;
  constructor(text: string) {
    super(JSON.stringify(text));
    this.bytes = Buffer.byteLength(text);
  }
}

/**
 * A JSON body parsed down to `depth` levels of containers, every `data` member kept as the publisher's text
 * (minified): nothing re-serialises it, so big numbers keep their digits and deep nesting costs no stack.
 */
export function parseJsonBody(text: string, depth: number): unknown {
  return parseShallow(text, depth, "data");
}

/** The stored form of event data (the publisher's JSON without insignificant whitespace), refused past the limit. */
export function eventData(data: unknown, limits: BodyLimits): string {
  if (!(data instanceof RawJson)) throw new HeraldError("invalid_request", "data is required (null is a value)");
  const size = data instanceof TextData ? data.bytes : Buffer.byteLength(data.text);
  if (size > limits.maxEventBytes) {
    throw new HeraldError("payload_too_large", `event data is larger than ${limits.maxEventBytes} bytes`);
  }
  return data.text;
}
