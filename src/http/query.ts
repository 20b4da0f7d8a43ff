/**
 * Query parameters read from the raw URL, each value literally. Elysia's own query decoding is not used: it drops
 * the first and last characters of a value that starts with `[` and splits commas wherever a schema says array.
 */
import { HeraldError, quote } from "../errors";
import { type ClientEventId, checkAnyTopic, parseEventId, parseSelectors, type Selector } from "../names";

/** The parameters the hub reads that take one value: a second one is ambiguous, so it is refused, not guessed at. */
const SINGLE_VALUED = ["after", "limit", "envelope", "lastEventId", "event", "access_token"] as const;
type SingleValued = (typeof SINGLE_VALUED)[number];

/** Refuses a repeated single-valued parameter: routes call it before they read credentials or a body. */
export function checkQuery(request: Request): void {
  refuseRepeats(searchParams(request));
}

const NONE = new URLSearchParams();

function searchParams(request: Request): URLSearchParams {
  const url = request.url;
  const at = url.indexOf("?");
  return at === -1 ? NONE : new URLSearchParams(url.slice(at + 1));
}

function refuseRepeats(params: URLSearchParams): void {
  if (params === NONE) return;
  for (const name of SINGLE_VALUED) {
    if (params.getAll(name).length > 1) {
      throw new HeraldError("repeated_parameter", `query parameter ${name} may be given only once`);
    }
  }
}

export class Query {
  private readonly params: URLSearchParams;

  constructor(request: Request) {
    this.params = searchParams(request);
    refuseRepeats(this.params);
  }

  one(name: SingleValued): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  /** `topic` repeated or comma-separated (`topic=a&topic=b` is `topic=a,b`), every item a selector as written. */
  selectors(): Selector[] {
    const items: string[] = [];
    for (const value of this.params.getAll("topic")) {
      for (const item of value.split(",")) {
        if (item === "") throw new HeraldError("invalid_selector", `topic ${quote(value)} has an empty selector`);
        items.push(item);
      }
    }
    return parseSelectors(items);
  }

  /** The selectors, or undefined when no `topic` parameter is given at all (an empty one is still a 400). */
  optionalSelectors(): Selector[] | undefined {
    return this.params.has("topic") ? this.selectors() : undefined;
  }

  /** A topic (`after` on /topics: a name or a Mercure topic, as the page before ended), or undefined when absent. */
  topic(name: "after"): string | undefined {
    const value = this.one(name);
    return value === undefined ? undefined : checkAnyTopic(value);
  }

  /** An event id (`after`, `lastEventId`), or undefined when absent. */
  eventId(name: "after" | "lastEventId"): ClientEventId | undefined {
    const value = this.one(name);
    return value === undefined ? undefined : parseEventId(value, name);
  }

  /** A decimal integer in a range: no exponent, sign, brackets or spaces. */
  integer(name: SingleValued, min: number, max: number, fallback: number): number {
    const value = this.one(name);
    if (value === undefined) return fallback;
    const n = /^[0-9]{1,10}$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= min && n <= max)) {
      throw new HeraldError("invalid_request", `${name} must be an integer from ${min} to ${max}, not ${quote(value)}`);
    }
    return n;
  }

  /** Exactly `true` or `false`. */
  boolean(name: SingleValued, fallback: boolean): boolean {
    const value = this.one(name);
    if (value === undefined) return fallback;
    if (value !== "true" && value !== "false") {
      throw new HeraldError("invalid_request", `${name} must be true or false, not ${quote(value)}`);
    }
    return value === "true";
  }
}
