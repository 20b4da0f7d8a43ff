/** What the hub's log must hold: every accepted event and every idempotency key, as the oracle accepted them. */
import { type Draft, type IdempotencyKey, matches } from "./oracle";

export interface ModelEvent extends Draft {
  readonly id: number;
  readonly time: string;
}

/** A publish answer, as JSON: `{id, topic, event, time}` or `{events: [...]}`. */
export type Answer = Record<string, unknown>;

export type PublishExpectation =
  | { readonly status: 201 }
  | { readonly status: 200; readonly original: Answer }
  | { readonly status: 422; readonly code: "idempotency_conflict" };

export class LogModel {
  readonly events: ModelEvent[] = [];
  private readonly keys = new Map<string, { fingerprint: string; answer: Answer }>();

  get lastId(): number {
    return this.events[this.events.length - 1]?.id ?? 0;
  }

  expectPublish(key: IdempotencyKey | undefined): PublishExpectation {
    const prior = key && this.keys.get(`${key.scope}\u0000${key.key}`);
    if (!prior) return { status: 201 };
    if (prior.fingerprint !== key.fingerprint) return { status: 422, code: "idempotency_conflict" };
    return { status: 200, original: prior.answer };
  }

  /** Records a 201: the drafts with the ids and times the hub gave them. */
  record(
    drafts: readonly Draft[],
    receipts: ReadonlyArray<{ id: string; time: string }>,
    key: IdempotencyKey | undefined,
    answer: Answer,
  ): void {
    drafts.forEach((d, i) => {
      const r = receipts[i] as { id: string; time: string };
      this.events.push({ ...d, id: Number(r.id), time: r.time });
    });
    if (key) this.keys.set(`${key.scope}\u0000${key.key}`, { fingerprint: key.fingerprint, answer });
  }

  matching(selectors: readonly string[], after: number): ModelEvent[] {
    return this.events.filter((e) => e.id > after && selectors.some((s) => matches(s, e.topic)));
  }

  history(selectors: readonly string[], after: bigint, limit: number): { events: ModelEvent[]; next: string | null } {
    const events = after > BigInt(this.lastId) ? [] : this.matching(selectors, Number(after)).slice(0, limit);
    const last = events[events.length - 1];
    return { events, next: events.length === limit && last ? String(last.id) : null };
  }

  /** The first page of /topics, as the spec pages it: `next` is the last topic of a full page. */
  topics(limit = 100): {
    topics: Array<{ topic: string; events: number; firstId: string; lastId: string; lastTime: string }>;
    next: string | null;
  } {
    const byTopic = new Map<string, ModelEvent[]>();
    for (const e of this.events) {
      const list = byTopic.get(e.topic);
      if (list) list.push(e);
      else byTopic.set(e.topic, [e]);
    }
    const topics = [...byTopic.keys()]
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .slice(0, limit)
      .map((topic) => {
        const list = byTopic.get(topic) as ModelEvent[];
        const last = list[list.length - 1] as ModelEvent;
        return { topic, events: list.length, firstId: String(list[0]?.id), lastId: String(last.id), lastTime: last.time };
      });
    return { topics, next: topics.length === limit ? (topics[limit - 1]?.topic ?? null) : null };
  }
}
