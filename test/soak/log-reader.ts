/** Reads the hub's log through /events, page by page: the soak's source of truth for what was committed. */

export interface LoggedEvent {
  readonly id: number;
  readonly topic: string;
  readonly event: string | null;
  readonly data: { readonly token: string };
}

/** Every event matching `selectors` with an id in (after, upTo], in id order. */
export async function readLog(
  base: string,
  selectors: readonly string[],
  after: number,
  upTo = Number.MAX_SAFE_INTEGER,
): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = [];
  const topics = selectors.map((s) => `topic=${encodeURIComponent(s)}`).join("&");
  for (let cursor = after; cursor < upTo; ) {
    const res = await fetchThroughKills(`${base}/events?${topics}&after=${cursor}&limit=1000`);
    if (res.status !== 200) throw new Error(`history answered ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as { events: Array<Omit<LoggedEvent, "id"> & { id: string }>; next: string | null };
    for (const e of page.events) {
      const id = Number(e.id);
      if (id > upTo) return out;
      out.push({ ...e, id });
    }
    if (page.next === null) break;
    cursor = Number(page.next);
  }
  return out;
}

/**
 * A page read retried while the hub is killed and restarted, or answers 503 while its store is paused or
 * rolled back: down for 30 s in a row is a finding.
 */
async function fetchThroughKills(url: string): Promise<Response> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status !== 503 || Date.now() > deadline) return res;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await Bun.sleep(100);
  }
}
