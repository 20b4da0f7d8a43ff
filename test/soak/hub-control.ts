/**
 * The hub under soak: one database and one port, killed with SIGKILL and started again on both; with several
 * workers, every other fault ends one worker instead (SIGUSR2), which the hub replaces while it goes on.
 */
import { type Herald, startHerald, tempDir } from "../support/herald";
import type { SoakTarget } from "./target";

export class HubControl implements SoakTarget {
  readonly dir = tempDir();
  private herald: Herald | undefined;
  private boundPort = 0;
  kills = 0;
  peakRss = 0;
  private readonly sampler: Timer;

  constructor(
    private readonly env: Record<string, string>,
    private readonly workers = 1,
  ) {
    this.sampler = setInterval(() => this.sample(), 250);
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  get running(): Herald | undefined {
    return this.herald;
  }

  async start(): Promise<void> {
    this.herald = await startHerald({ dir: this.dir, port: this.boundPort, env: this.env });
    this.boundPort = this.herald.port;
  }

  /** SIGKILL: no drain, no checkpoint; whatever was acknowledged must be there after the restart. */
  async kill(): Promise<void> {
    const h = this.herald;
    this.herald = undefined;
    this.sample(h);
    await h?.kill();
    this.kills++;
  }

  /** SIGKILL, a moment down, and a start on the same database and port; or one worker ended and replaced. */
  async fault(rnd: () => number): Promise<string> {
    if (this.workers > 1 && this.kills % 2 === 1) return this.killWorker();
    await this.kill();
    await Bun.sleep(rnd() * 300);
    await this.start();
    return "hub killed";
  }

  /** Ends the oldest worker as a crash would, and waits until the hub has started another in its place. */
  private async killWorker(): Promise<string> {
    const h = this.herald as Herald;
    const replaced = () => h.lines.filter((l) => l.includes('"msg":"worker replaced"')).length;
    const before = replaced();
    h.proc.kill("SIGUSR2");
    while (replaced() === before) await Bun.sleep(20);
    this.kills++;
    return "worker killed";
  }

  async stop(): Promise<number | undefined> {
    clearInterval(this.sampler);
    const h = this.herald;
    this.herald = undefined;
    return h?.stop();
  }

  private sample(h = this.herald): void {
    try {
      if (h) this.peakRss = Math.max(this.peakRss, h.rss());
    } catch {
      // the process is gone between the check and the read
    }
  }
}
