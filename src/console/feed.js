// A feed of Herald events through EventSource: each id handed over once, in order, across reconnects. No DOM here.

const POLL_MS = 1000;
const laterId = (a, b) => (a === null || BigInt(b) > BigInt(a) ? b : a);

export class Feed {
  /**
   * @param {object} hooks
   * @param {(extra: Record<string, string>) => URLSearchParams} hooks.query the selectors (and token) plus `extra`
   * @param {(event: {id: string, topic: string, event: string | null, data: unknown, time: string, mercure?: object}) => void} hooks.onEvent
   * @param {(text: string) => void} hooks.onNotice a gap in the log, or an unreadable event
   * @param {(state: string, text?: string) => void} hooks.onState connecting, live, reconnecting, closed, idle
   * @param {(text: string | null) => void} hooks.onError why the hub refused the stream, or null once it is back
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.es = null;
    this.seen = new Set();
    this.types = new Set();
    this.lastId = null;
    this.cursor = "0";
    this.retryMs = 1000;
    this.timers = { retry: 0, poll: 0 };
    // Bumped on every start and stop, so an answer meant for an older subscription is dropped.
    this.generation = 0;
    this.deliver = (message) => this.onMessage(message);
  }

  /** Subscribes afresh. `resumeAfter`: an id, or null for live only (which still starts at a known id: the head). */
  async start(resumeAfter) {
    this.stop();
    const generation = this.generation;
    this.seen.clear();
    this.lastId = null;
    this.hooks.onState("connecting");
    const from = resumeAfter ?? (await this.headId());
    if (generation !== this.generation) return;
    this.cursor = from;
    this.connect(from);
    void this.poll();
  }

  stop() {
    this.generation++;
    clearTimeout(this.timers.retry);
    clearTimeout(this.timers.poll);
    this.es?.close();
    this.es = null;
    this.hooks.onState("idle");
  }

  /** EventSource hands typed events only to listeners of that type, and has no wildcard: listen to each type met. */
  listen(type) {
    if (!type || this.types.has(type)) return;
    this.types.add(type);
    this.es?.addEventListener(type, this.deliver);
  }

  onMessage(message) {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return this.hooks.onNotice(`unreadable event ${message.lastEventId}`);
    }
    if (this.seen.has(event.id)) return;
    this.seen.add(event.id);
    this.lastId = laterId(this.lastId, event.id);
    this.hooks.onEvent(event);
  }

  connect(resumeAfter) {
    clearTimeout(this.timers.retry);
    this.es?.close();
    const es = new EventSource(`/stream?${this.hooks.query({ envelope: "true", lastEventId: resumeAfter })}`);
    this.es = es;
    es.onmessage = this.deliver;
    for (const type of this.types) es.addEventListener(type, this.deliver);
    es.addEventListener("herald.gap", (m) => {
      const { prunedThrough } = JSON.parse(m.data);
      this.hooks.onNotice(
        prunedThrough ? `gap: events up to #${prunedThrough} were pruned` : "gap: the log is older than the last id seen",
      );
    });
    es.onopen = () => {
      this.retryMs = 1000;
      this.hooks.onError(null);
      this.hooks.onState("live");
    };
    es.onerror = () => {
      if (es !== this.es) return;
      // CONNECTING: the browser retries by itself, sending Last-Event-ID. CLOSED: it gave up on an HTTP error.
      if (es.readyState === EventSource.CONNECTING) return this.hooks.onState("reconnecting");
      void this.explainAndRetry();
    };
  }

  /**
   * EventSource hides why a stream was refused. /events checks the same selectors and token without taking a stream
   * slot (a probe of /stream would hold the very slot the retry needs): a client error there stops the retries;
   * otherwise retry with backoff, from the last id seen, as `lastEventId`.
   */
  async explainAndRetry() {
    const resumeAfter = this.lastId ?? this.cursor;
    const generation = this.generation;
    let retry = true;
    let reason = "The hub refused the stream (busy, or restarting): retrying";
    try {
      const res = await fetch(`/events?${this.hooks.query({ after: resumeAfter, limit: "1" })}`);
      if (!res.ok) {
        const body = await res.json().catch(() => null);
        reason = body?.error?.message ?? `HTTP ${res.status}`;
        retry = res.status >= 500;
      }
    } catch {
      reason = "The hub is unreachable: retrying";
    }
    if (generation !== this.generation) return;
    this.hooks.onError(reason);
    if (!retry) return this.hooks.onState("closed", "refused");
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 10000);
    this.hooks.onState("reconnecting", `retrying in ${Math.round(wait / 1000)} s`);
    this.timers.retry = setTimeout(() => this.connect(resumeAfter), wait);
  }

  /**
   * EventSource drops typed events nobody listens to, silently. The log tells which types exist: on finding an event
   * the stream must have dropped, listen to its type and reconnect from just before it (`lastEventId`), so the replay
   * brings it; events already handed over are skipped by id.
   */
  async poll() {
    clearTimeout(this.timers.poll);
    const generation = this.generation;
    let full = false;
    try {
      const res = await fetch(`/events?${this.hooks.query({ after: this.cursor, limit: "1000" })}`);
      const page = res.ok ? await res.json() : { events: [], next: null };
      if (generation !== this.generation) return;
      let missed = null;
      for (const event of page.events) {
        const known = this.types.has(event.event);
        this.listen(event.event);
        // Delivered in id order: an unseen event before the last one seen was dropped, as is one of a new type.
        const dropped = event.event && !this.seen.has(event.id) && (!known || BigInt(event.id) < BigInt(this.lastId ?? "0"));
        if (dropped && missed === null) missed = event.id;
        this.cursor = laterId(this.cursor, event.id);
      }
      full = page.next !== null;
      if (missed !== null) this.connect((BigInt(missed) - 1n).toString());
    } catch {
      // the hub is restarting: try again next round
    }
    if (generation === this.generation) this.timers.poll = setTimeout(() => this.poll(), full ? 0 : POLL_MS);
  }

  async headId() {
    try {
      return (await (await fetch("/health")).json()).lastEventId ?? "0";
    } catch {
      return "0";
    }
  }
}
