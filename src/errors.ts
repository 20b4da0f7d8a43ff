/** Errors are values: a stable snake_case code, an HTTP status and a human message. */
export type ErrorCode =
  | "invalid_request"
  | "invalid_json"
  | "invalid_encoding"
  | "unsupported_charset"
  | "unsupported_media_type"
  | "repeated_parameter"
  | "invalid_topic"
  | "invalid_selector"
  | "invalid_event_type"
  | "reserved_event_type"
  | "invalid_event_id"
  | "invalid_idempotency_key"
  | "idempotency_conflict"
  | "payload_too_large"
  | "unauthorized"
  | "forbidden"
  | "cross_site_request"
  | "not_found"
  | "method_not_allowed"
  | "too_many_subscribers"
  | "too_many_streams"
  | "shutting_down"
  | "storage_full"
  | "log_unavailable"
  | "internal";

const statusOf: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_encoding: 400,
  unsupported_charset: 415,
  unsupported_media_type: 415,
  repeated_parameter: 400,
  invalid_topic: 400,
  invalid_selector: 400,
  invalid_event_type: 400,
  reserved_event_type: 400,
  invalid_event_id: 400,
  invalid_idempotency_key: 400,
  idempotency_conflict: 422,
  payload_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  cross_site_request: 403,
  not_found: 404,
  method_not_allowed: 405,
  too_many_subscribers: 503,
  too_many_streams: 429,
  shutting_down: 503,
  storage_full: 507,
  log_unavailable: 503,
  internal: 500,
};

export class HeraldError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = statusOf[code];
  }

  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/** The longest stretch of an offending value a message quotes (the spec's bound): an 8 KiB selector is not echoed. */
export const QUOTED_MAX_CHARS = 200;

/** `value` cut to at most `max` characters, the last one `…` when it was longer; a surrogate pair is never split. */
export function cut(value: string, max = QUOTED_MAX_CHARS): string {
  if (value.length <= max) return value;
  const lastKept = value.charCodeAt(max - 2);
  const highSurrogate = lastKept >= 0xd800 && lastKept <= 0xdbff;
  return `${value.slice(0, highSurrogate ? max - 2 : max - 1)}…`;
}

/**
 * How every message shows a value it was given: cut, then quoted and escaped as a JSON string, so neither its size
 * nor a stray newline or control character can change the message around it.
 */
export const quote = (value: string): string => JSON.stringify(cut(value));

/** Seconds a client is asked to wait before trying again: overload, shutdown and log faults all last a while. */
export const RETRY_LATER: Readonly<Record<string, string>> = Object.freeze({ "Retry-After": "5" });

/**
 * Something the operator gave (a setting, a file it names) cannot be used: start-up stops with this message and
 * exit code 2, and a reload keeps what it had.
 */
export class ConfigError extends Error {}

export interface ErrorBody {
  error: { code: string; message: string };
}
