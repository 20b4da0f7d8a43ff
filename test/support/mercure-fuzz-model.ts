/**
 * What the Mercure hub under test must hold: every accepted update with the id the hub gave it, and every
 * Idempotency-Key; where a subscription resumes (drafts 07 and 08, "Reconciliation", and Herald's spec).
 */

/** An update as the oracle accepted it. */
export interface Update {
  /** The canonical topic first, then the alternates as sent. */
  readonly topics: readonly string[];
  readonly private: boolean;
  readonly publisherId?: string;
  readonly type: string | null;
  readonly retry?: number;
  /** The data: a Mercure update's text, or a native event's JSON text (`native`). */
  readonly data: string;
  /** Published on the native API with JSON data that is not a string: the same log, another face. */
  readonly native?: boolean;
}

export interface LoggedUpdate extends Update {
  readonly id: number;
  readonly time: string;
}

/** An event as /events shows it (Herald's spec: "the JSON history shows both" ids, in `mercure` for an update). */
export interface Shown {
  readonly id: string;
  readonly topic: string;
  readonly event: string | null;
  readonly data: unknown;
  readonly time: string;
  readonly mercure?: { readonly id: string; readonly topics: string[]; readonly private: boolean; readonly retry: number | null };
}

export interface IdempotencyKey {
  readonly key: string;
  readonly fingerprint: string;
}

export type PublishExpectation =
  | { readonly status: 200; readonly fresh: true }
  | { readonly status: 200; readonly fresh: false; readonly answer: string }
  | { readonly status: 422 };

/** Where a replay starts: after event `after` (0: the oldest), and what the response headers must say. */
export interface Resume {
  readonly after: number;
  readonly told: string;
}

const HERALD_ID = /^urn:herald:([1-9][0-9]{0,15})$/;

export class MercureModel {
  readonly events: LoggedUpdate[] = [];
  private readonly keys = new Map<string, { fingerprint: string; answer: string }>();

  get lastId(): number {
    return this.events[this.events.length - 1]?.id ?? 0;
  }

  /** The id a Mercure subscriber and publisher know an event by. */
  static mercureId(e: { id: number; publisherId?: string }): string {
    return e.publisherId ?? `urn:herald:${e.id}`;
  }

  expectPublish(key: IdempotencyKey | undefined): PublishExpectation {
    const prior = key && this.keys.get(key.key);
    if (!prior) return { status: 200, fresh: true };
    return prior.fingerprint === key.fingerprint ? { status: 200, fresh: false, answer: prior.answer } : { status: 422 };
  }

  record(update: Update, id: number, time: string, key: IdempotencyKey | undefined, answer: string): LoggedUpdate {
    const topics = [...new Set(update.topics)];
    const logged = { ...update, topics, id, time };
    this.events.push(logged);
    if (key) this.keys.set(key.key, { fingerprint: key.fingerprint, answer });
    return logged;
  }

  /** An event the model missed (a failed run), as the hub shows it. */
  adopt(e: Shown): void {
    const m = e.mercure;
    const publisherId = m && m.id !== `urn:herald:${e.id}` ? m.id : undefined;
    const native = typeof e.data !== "string";
    this.events.push({
      id: Number(e.id),
      time: e.time,
      topics: m?.topics ?? [e.topic],
      private: m?.private ?? false,
      type: e.event,
      data: native ? JSON.stringify(e.data) : String(e.data),
      ...(native && { native }),
      ...(publisherId !== undefined && { publisherId }),
      ...(m?.retry != null && { retry: m.retry }),
    });
  }

  /** How /events must show `e`: the Mercure fields only for an update that has any beyond one topic. */
  static shown(e: LoggedUpdate): Shown {
    const data: unknown = e.native ? JSON.parse(e.data) : e.data;
    const plain = { id: String(e.id), topic: e.topics[0] ?? "", event: e.type, data, time: e.time };
    if (e.topics.length === 1 && !e.private && e.publisherId === undefined && e.retry === undefined) return plain;
    const mercure = { id: MercureModel.mercureId(e), topics: [...e.topics], private: e.private, retry: e.retry ?? null };
    return { ...plain, mercure };
  }

  /**
   * `earliest`, an id naming no event (unknown, from the future) replay every retained event and say
   * `earliest`; a publisher's id names the earliest event that has it; `urn:herald:<n>` names event n.
   * `lastId`: the newest event when the subscription opened.
   */
  resume(given: string, lastId = this.lastId): Resume {
    const earliest = { after: 0, told: "earliest" };
    if (given === "earliest") return earliest;
    const herald = HERALD_ID.exec(given);
    if (herald) {
      const n = Number(herald[1]);
      return n <= lastId ? { after: n, told: given } : earliest;
    }
    if (given.startsWith("urn:herald:")) return earliest;
    const named = this.events.find((e) => e.publisherId === given && e.id <= lastId);
    return named ? { after: named.id, told: given } : earliest;
  }
}
