/** A soak publisher: singles and batches, most with an Idempotency-Key, retried through kills until answered. */

import { type Acked, type Ledger, pick } from "./ledger";
import type { SoakTarget } from "./target";

export const TOPICS = ["soak.a", "soak.b", "soak.c.x", "soak.c.y", "other"];
const TYPES = [null, "created", "updated"];

interface Item {
  topic: string;
  event: string | null;
  data: { token: string; pad: string };
}

interface Receipt {
  id: string;
  topic: string;
  event: string | null;
}

export class Publisher {
  private seq = 0;

  constructor(
    private readonly name: string,
    private readonly hub: SoakTarget,
    private readonly ledger: Ledger,
    private readonly rnd: () => number,
  ) {}

  async loop(running: () => boolean): Promise<void> {
    while (running()) {
      const batch = this.rnd() < 0.25;
      const items = Array.from({ length: batch ? 2 + Math.floor(this.rnd() * 19) : 1 }, () => this.item());
      const keyed = this.rnd() < 0.85;
      const key = keyed ? `${this.name}-${this.seq}` : undefined;
      const receipts = await this.send(items, batch, key);
      if (receipts) this.record(items, receipts);
      // Now and then a deliberate retry of an answered request: it must repeat the answer, not append.
      if (receipts && key && this.rnd() < 0.05) await this.repeat(items, batch, key, receipts);
      await Bun.sleep(this.rnd() * 8);
    }
  }

  private item(): Item {
    const token = `${this.name}.${++this.seq}`;
    return {
      topic: pick(this.rnd, TOPICS),
      event: pick(this.rnd, TYPES),
      data: { token, pad: "x".repeat(Math.floor(this.rnd() ** 3 * 2000)) },
    };
  }

  /** The request body, spelled anew on every attempt (whitespace differs), as a client rebuilding it would. */
  private body(items: readonly Item[], batch: boolean): string {
    const pad = pick(this.rnd, ["", " ", "\n  "]);
    if (batch) return JSON.stringify({ events: items }, null, pad);
    const [only] = items as [Item];
    return JSON.stringify({ data: only.data, event: only.event }, null, pad);
  }

  /** Answers the receipts once the hub has acknowledged; undefined when an unkeyed request's fate is unknown. */
  private async send(items: readonly Item[], batch: boolean, key: string | undefined): Promise<Receipt[] | undefined> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        this.ledger.counts.retries++;
        await Bun.sleep(50 + this.rnd() * 100);
      }
      const path = batch ? "/events" : `/topics/${(items[0] as Item).topic}/events`;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (key) headers["idempotency-key"] = key;
      let res: Response;
      let text: string;
      try {
        [res, text] = await this.ledger.track(this.post(path, headers, this.body(items, batch)));
      } catch {
        // Refused (the hub is down) or cut (killed mid-request): only a keyed request may be sent again.
        if (key) continue;
        this.ledger.counts.abandoned++;
        return undefined;
      }
      if (res.status === 503 && key) continue;
      if (res.status === 503) {
        this.ledger.counts.abandoned++;
        return undefined;
      }
      if (res.status !== 201 && res.status !== 200) {
        this.ledger.violate(`publish ${key ?? "(no key)"} answered ${res.status}: ${text.slice(0, 200)}`);
        return undefined;
      }
      const answer = JSON.parse(text) as Receipt & { events?: Receipt[] };
      return batch ? (answer.events ?? []) : [answer];
    }
  }

  /** One attempt: the answer and its whole body. */
  private async post(path: string, headers: Record<string, string>, body: string): Promise<[Response, string]> {
    const res = await fetch(`${this.hub.url}${path}`, { method: "POST", headers, body, signal: AbortSignal.timeout(15_000) });
    return [res, await res.text().catch(() => "")];
  }

  private record(items: readonly Item[], receipts: readonly Receipt[]): void {
    if (receipts.length !== items.length) this.ledger.violate(`${items.length} events answered with ${receipts.length} receipts`);
    let previous = 0;
    items.forEach((item, i) => {
      const r = receipts[i];
      if (!r) return;
      const id = Number(r.id);
      if (id <= previous || r.topic !== item.topic || r.event !== item.event)
        this.ledger.violate(`receipt ${JSON.stringify(r)} for ${item.data.token}`);
      previous = id;
      const acked: Acked = { id, topic: item.topic, event: item.event, token: item.data.token };
      this.ledger.ack(acked);
    });
    this.ledger.counts.published += items.length;
    if (items.length > 1) this.ledger.counts.batches++;
  }

  private async repeat(items: readonly Item[], batch: boolean, key: string, receipts: readonly Receipt[]): Promise<void> {
    const again = await this.send(items, batch, key);
    if (!again) return;
    this.ledger.counts.repeats++;
    if (JSON.stringify(again.map((r) => r.id)) === JSON.stringify(receipts.map((r) => r.id))) return;
    // A rollback of the store that took the events took their key with them: the repeat is a new publish.
    if (receipts.every((r) => this.ledger.excused(Number(r.id)))) {
      for (const r of receipts) this.ledger.acked.delete(Number(r.id));
      this.ledger.counts.repeatsAfterRollback++;
      this.record(items, again);
      return;
    }
    this.ledger.violate(`a repeat of ${key} got ids ${again.map((r) => r.id)} instead of ${receipts.map((r) => r.id)}`);
  }
}
