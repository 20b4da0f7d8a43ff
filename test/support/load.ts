/** Publishers that keep posting until stopped, recording every acknowledged id with its data and every refusal. */
import type { Herald } from "./herald";

export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly retryAfter: string | null;
}

/** `count` publishers, each posting `p<n>-<i>` to topic `load.<n>` on a node picked from `nodes()` each time. */
export function publishers(nodes: () => readonly Herald[], count: number) {
  const acked = new Map<string, string>();
  const refusals: Refusal[] = [];
  let running = true;
  const done = Promise.all(
    Array.from({ length: count }, async (_, p) => {
      for (let i = 0; running; i++) {
        const data = `p${p}-${i}`;
        const all = nodes();
        const node = all[Math.floor(Math.random() * all.length)] as Herald;
        try {
          const res = await fetch(`${node.url}/topics/load.${p}/events`, { method: "POST", body: data });
          if (res.status === 201) acked.set(((await res.json()) as { id: string }).id, data);
          else {
            const body = (await res.json()) as { error: { code: string } };
            refusals.push({ status: res.status, code: body.error.code, retryAfter: res.headers.get("retry-after") });
            await Bun.sleep(20);
          }
        } catch {
          await Bun.sleep(20); // the node went away mid-request: that publish was never acknowledged
        }
      }
    }),
  );
  return {
    acked,
    refusals,
    stop: () => {
      running = false;
      return done;
    },
  };
}
