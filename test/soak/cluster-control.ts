/**
 * The soak's cluster: two Herald nodes on one redis-server, and the faults a cluster meets: a node SIGKILLed,
 * Redis paused (SIGSTOP, as a long GC pause or a partition would), Redis rolled back to an older copy of its
 * files (a failover to a replica that was behind, a restore). Events a rollback takes away are noted in the
 * ledger: absent from the log afterwards is excused for them, and only for them; an id given twice never is.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Herald, removeDir, startHerald, tempDir } from "../support/herald";
import { type RedisServer, redisCommand, startRedis } from "../support/redis";
import type { Ledger } from "./ledger";
import type { SoakTarget } from "./target";

const PREFIX = "soak";

/** Redis's newest id, read on a connection of our own. */
async function redisHead(redis: RedisServer): Promise<number> {
  return Number((await redisCommand(redis.url, "HGET", [`{${PREFIX}}:head`, "id"])) ?? 0);
}

export class ClusterControl implements SoakTarget {
  readonly dir = tempDir();
  kills = 0;
  rollbacks = 0;
  peakRss = 0;
  private redis: RedisServer | undefined;
  private readonly nodes: Array<Herald | undefined> = [undefined, undefined];
  private readonly ports = [0, 0];
  /** A copy of Redis's files and the newest id Redis had assigned before it was taken. */
  private copy: { dir: string; head: number } | undefined;
  private readonly sampler = setInterval(() => this.sample(), 250);

  constructor(
    private readonly env: Record<string, string>,
    private readonly ledger: Ledger,
  ) {}

  private get live(): Herald[] {
    return this.nodes.filter((n): n is Herald => n !== undefined);
  }

  private any(): Herald | undefined {
    const live = this.live;
    return live[Math.floor(Math.random() * live.length)];
  }

  get url(): string {
    return this.any()?.url ?? `http://127.0.0.1:${this.ports[0]}`;
  }

  get port(): number {
    return this.any()?.port ?? (this.ports[0] as number);
  }

  async start(): Promise<void> {
    const dir = join(this.dir, "redis");
    mkdirSync(dir);
    // No rewrite of the append-only file under the copy being taken.
    this.redis = await startRedis({ dir, args: ["--auto-aof-rewrite-percentage", "0"] });
    await Promise.all([0, 1].map((i) => this.startNode(i)));
  }

  /** A node killed, Redis paused, or Redis rolled back to the copy an earlier fault took; every third at the latest is a rollback. */
  async fault(rnd: () => number): Promise<string> {
    this.kills++;
    if (this.copy && (rnd() < 0.35 || this.kills - this.rollbacks * 3 >= 3)) return this.rollBack();
    const copied = this.copy ? "" : `${await this.takeCopy()}, then `;
    if (rnd() < 0.5) return copied + (await this.killNode(Math.floor(rnd() * 2), rnd));
    return copied + (await this.pauseRedis(1000 + rnd() * 5000));
  }

  async stop(): Promise<number | undefined> {
    clearInterval(this.sampler);
    const codes = await Promise.all(this.live.map((n) => n.stop()));
    await this.redis?.stop();
    if (this.copy) rmSync(this.copy.dir, { recursive: true, force: true });
    removeDir(this.dir);
    return codes.find((c) => c !== 0) ?? 0;
  }

  private async startNode(i: number): Promise<void> {
    const redis = this.redis as RedisServer;
    const node = await startHerald({
      dir: join(this.dir, `node${i}`),
      port: this.ports[i],
      env: { ...this.env, HERALD_REDIS_URL: redis.url, HERALD_REDIS_PREFIX: PREFIX },
    });
    this.ports[i] = node.port;
    this.nodes[i] = node;
  }

  private async killNode(i: number, rnd: () => number): Promise<string> {
    const node = this.nodes[i];
    this.nodes[i] = undefined;
    this.sample(node);
    await node?.kill();
    await Bun.sleep(rnd() * 300);
    await this.startNode(i);
    return `node ${i} killed`;
  }

  private async pauseRedis(ms: number): Promise<string> {
    const redis = this.redis as RedisServer;
    redis.proc.kill("SIGSTOP");
    await Bun.sleep(ms);
    redis.proc.kill("SIGCONT");
    return `redis paused ${Math.round(ms)} ms`;
  }

  private async takeCopy(): Promise<string> {
    const redis = this.redis as RedisServer;
    const head = await redisHead(redis);
    const dir = mkdtempSync(join(tmpdir(), "herald-soak-copy-"));
    cpSync(redis.dir, dir, { recursive: true });
    this.copy = { dir, head };
    return `copy of redis taken at id ${head}`;
  }

  /** SIGKILL Redis, put the copy's files back, start it: whatever came after the copy is gone. */
  private async rollBack(): Promise<string> {
    const redis = this.redis as RedisServer;
    const copy = this.copy as { dir: string; head: number };
    this.copy = undefined;
    this.rollbacks++;
    await redis.kill();
    // An answer Redis gave before it died may still be on its way to its publisher: what it acknowledged is lost
    // too, and must be counted before the copy comes back and the ids go on.
    await this.ledger.answered();
    // Whatever anyone saw past the copy may be gone now; what the copy holds stays (an id is committed in order).
    const lostThrough = Math.max(this.ledger.highestSeen, copy.head);
    this.ledger.excuse(copy.head, lostThrough);
    rmSync(redis.dir, { recursive: true, force: true });
    cpSync(copy.dir, redis.dir, { recursive: true });
    rmSync(copy.dir, { recursive: true, force: true });
    this.redis = await redis.restart();
    return `redis rolled back to id ${copy.head} (ids up to ${lostThrough} may be gone)`;
  }

  private sample(...nodes: Array<Herald | undefined>): void {
    for (const node of nodes.length > 0 ? nodes : this.live) {
      try {
        if (node) this.peakRss = Math.max(this.peakRss, node.rss());
      } catch {
        // the process is gone between the check and the read
      }
    }
  }
}
