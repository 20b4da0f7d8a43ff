/** Several Herald nodes on one redis-server of their own: a cluster as the tests build it. */
import { type Herald, removeDir, type StartOptions, startHerald, tempDir } from "./herald";
import { type RedisOptions, type RedisServer, startRedis } from "./redis";

export interface Cluster {
  /** The running Redis (a new process after `restartRedis`). */
  readonly redis: RedisServer;
  readonly nodes: Herald[];
  /** Every node's environment: the Redis URL and prefix they share, and the test's own settings. */
  readonly env: Record<string, string>;
  /** Starts one more node (or a replacement) on the shared log. */
  add(options?: StartOptions): Promise<Herald>;
  /** Starts Redis again after it was stopped or killed: same port, same directory, its append-only file. */
  restartRedis(): Promise<void>;
  /** Stops every node still running and the Redis, and removes their directories. */
  stop(): Promise<void>;
}

export async function startCluster(
  size: number,
  env: Record<string, string> = {},
  redisOptions: RedisOptions = {},
): Promise<Cluster> {
  let redis = await startRedis(redisOptions);
  const shared = { HERALD_REDIS_URL: redis.url, HERALD_REDIS_PREFIX: "cluster", ...env };
  const nodes: Herald[] = [];
  const cluster: Cluster = {
    get redis() {
      return redis;
    },
    nodes,
    env: shared,
    async add(options = {}) {
      const node = await startHerald({ ...options, dir: options.dir ?? tempDir(), env: { ...shared, ...options.env } });
      nodes.push(node);
      return node;
    },
    async restartRedis() {
      redis = await redis.restart();
    },
    async stop() {
      await Promise.all(
        nodes.map(async (n) => {
          if (n.proc.exitCode === null && n.proc.signalCode === null) await n.stop();
          removeDir(n.dir);
        }),
      );
      await redis.stop();
      redis.remove();
    },
  };
  await Promise.all(Array.from({ length: size }, () => cluster.add()));
  return cluster;
}

export function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}
