/**
 * `bun run bench:redis-memory`: what the shared log costs Redis, from `used_memory`: per retained event, per
 * topic holding one event, and per topic retention emptied (what it keeps of them: the pruned-through ids).
 */
import { startCluster } from "../test/support/cluster";
import { publishBatch } from "../test/support/herald";
import { redisCommand } from "../test/support/redis";

const TOPICS = 10_000;
const EVENTS = 50_000;
const DATA = "x".repeat(100);

async function usedMemory(url: string): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(String(await redisCommand(url, "INFO", ["memory"])))?.[1]);
}

async function publish(base: string, count: number, topic: (i: number) => string): Promise<void> {
  for (let from = 0; from < count; from += 1000) {
    await publishBatch(
      base,
      Array.from({ length: Math.min(1000, count - from) }, (_, i) => ({ topic: topic(from + i), data: DATA })),
    );
  }
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await Bun.sleep(200);
}

const c = await startCluster(1, { HERALD_RETENTION_MAX_AGE: "30s" });
try {
  const node = c.nodes[0]?.url as string;
  const url = c.redis.url;
  // The feed keeps the newest events in full: fill it first, so what follows measures the log alone.
  await publish(node, 6000, (i) => `warm.${i % 10}`);
  const baseline = await usedMemory(url);
  let before = baseline;
  await publish(node, EVENTS, (i) => `t.${i % 10}`);
  const perEvent = ((await usedMemory(url)) - before) / EVENTS;
  before = await usedMemory(url);
  await publish(node, TOPICS, (i) => `user.${i}`);
  const perTopic = ((await usedMemory(url)) - before) / TOPICS;
  // Retention (30 s) empties every topic; what stays is the pruned-through record of each name. The feed is
  // filled again and the warm topics hold their events again, as at the baseline.
  await until(async () => Number(await redisCommand(url, "XLEN", ["{cluster}:log"])) === 0);
  await publish(node, 6000, (i) => `warm.${i % 10}`);
  const emptied = TOPICS + 20;
  const perEmptied = ((await usedMemory(url)) - baseline) / emptied;
  const keys = Number(await redisCommand(url, "DBSIZE", []));
  console.log(
    JSON.stringify(
      {
        dataBytes: JSON.stringify(DATA).length,
        bytesPerRetainedEvent: Math.round(perEvent),
        bytesPerOneEventTopic: Math.round(perTopic),
        bytesPerEmptiedTopic: Math.round(perEmptied),
        keysLeft: keys,
      },
      null,
      2,
    ),
  );
} finally {
  await c.stop();
}
