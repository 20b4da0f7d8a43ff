/**
 * The worker threads of one process: started together on the claimed port, each replaced when it dies (logged
 * and counted), drained together on a stop. A worker that cannot start at start-up stops the process with its
 * reason, as a single thread would.
 */
import { Worker } from "node:worker_threads";
import type { Config } from "../config";
import type { CertificateInfo } from "../http/listener";
import type { Logger } from "../logger";
import type { Coordinator, Seat } from "./coordinator";
import type { WorkerData } from "./protocol";

/** How long a replacement that could not start waits before the next try. */
const RETRY_START_MS = 1000;

interface Running {
  readonly worker: Worker;
  readonly seat: Seat;
  readonly startedAt: number;
}

export class Supervisor {
  private readonly running = new Map<number, Running>();
  private stopping = false;

  /**
   * @param thread where a worker thread begins (thread.ts)
   * @param config each worker's, with the port the main thread claimed
   * @param startedAt when the process started (Unix ms)
   */
  constructor(
    private readonly thread: URL,
    private readonly config: Config,
    private readonly startedAt: number,
    private readonly coordinator: Coordinator,
    private readonly logger: Logger,
  ) {}

  /** Starts `count` workers; resolves once all serve (with the certificate the first presents), or rejects with why one could not start. */
  async start(count: number): Promise<CertificateInfo | undefined> {
    const certificates = await Promise.all(Array.from({ length: count }, (_, i) => this.spawn(i + 1)));
    return certificates[0];
  }

  /** Ends the worker that has run longest at once, as a crash would: its clients resume elsewhere, and a new one takes its place. */
  killOldest(): void {
    const oldest = [...this.running.values()].sort((a, b) => a.startedAt - b.startedAt)[0];
    if (!oldest) return;
    this.logger.warn("SIGUSR2: ending a worker as a crash would", { worker: oldest.seat.index });
    void oldest.worker.terminate();
  }

  /** Every worker refuses new work from now on; none is replaced any more. */
  async halt(): Promise<void> {
    this.stopping = true;
    await this.coordinator.halt();
  }

  /** Lets every worker finish what is in flight and stop listening, then ends them. */
  async drain(): Promise<void> {
    await this.coordinator.drain();
    await Promise.all([...this.running.values()].map((r) => r.worker.terminate()));
  }

  private spawn(index: number): Promise<CertificateInfo | undefined> {
    const data: WorkerData = { config: this.config, index, startedAt: this.startedAt };
    const worker = new Worker(this.thread, { workerData: data });
    const seat = this.coordinator.seat(index, worker);
    const running: Running = { worker, seat, startedAt: performance.now() };
    this.running.set(index, running);
    let failure = "it exited";
    let served = false;
    return new Promise((resolve, reject) => {
      void seat.ready.then((certificate) => {
        served = true;
        resolve(certificate);
      });
      worker.on("error", (error) => {
        failure = error instanceof Error ? error.message : String(error);
        if (served) this.logger.error("worker failed", { worker: index, error: failure });
      });
      worker.on("exit", (code) => {
        this.coordinator.unseat(seat);
        if (this.running.get(index) === running) this.running.delete(index);
        if (this.stopping) return;
        if (!served) {
          reject(new Error(failure));
          return;
        }
        this.coordinator.replaced++;
        this.logger.error("worker died; starting another in its place", { worker: index, exitCode: code });
        this.replace(index);
      });
    });
  }

  /** A replacement that cannot start is tried again, each failure logged, until one starts or the hub stops. */
  private replace(index: number): void {
    this.spawn(index).then(
      () => this.logger.info("worker replaced", { worker: index }),
      (error: unknown) => {
        this.logger.error("a replacement worker could not start; trying again", { worker: index, error: String(error) });
        setTimeout(() => {
          if (!this.stopping) this.replace(index);
        }, RETRY_START_MS);
      },
    );
  }
}
