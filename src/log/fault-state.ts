/** A log's fault state: entered when the store fails, left when a probe finds it usable again; logged once each way. */
import type { HeraldError } from "../errors";
import type { Logger } from "../logger";
import { type FaultReason, faultError, type LogFault } from "./faults";

/** What /health and /metrics read. */
export interface FaultReport {
  /** What is wrong now; undefined while the log is usable. */
  readonly current: LogFault | undefined;
  /** Faults begun since start, per reason. */
  readonly started: Readonly<Record<FaultReason, number>>;
}

/** Looks at the store: the fault found now, or undefined when it is usable. */
export type FaultCheck = (current: LogFault | undefined) => LogFault | undefined | Promise<LogFault | undefined>;

export class FaultState implements FaultReport {
  private fault: LogFault | undefined;
  private since = 0;
  private readonly counts: Record<FaultReason, number> = { storage_full: 0, log_unavailable: 0 };
  private timer: Timer | undefined;
  private checking = false;

  constructor(private readonly logger: Logger) {}

  get current(): LogFault | undefined {
    return this.fault;
  }

  get started(): Readonly<Record<FaultReason, number>> {
    return this.counts;
  }

  /** Records a fault a request or the probe ran into, and returns the error to answer with. */
  enter(fault: LogFault): HeraldError {
    if (this.fault?.reason !== fault.reason) {
      // Logged once per fault (and per change of reason), however many requests run into it.
      this.logger.error("log fault started", { reason: fault.reason, message: fault.message, was: this.fault?.reason });
      this.counts[fault.reason]++;
      if (!this.fault) this.since = Date.now();
    }
    this.fault = fault;
    return faultError(fault);
  }

  clear(): void {
    if (!this.fault) return;
    this.logger.info("log fault cleared", { reason: this.fault.reason, seconds: (Date.now() - this.since) / 1000 });
    this.fault = undefined;
  }

  /** Runs `check` every `intervalMs` (never two at once) and follows what it finds. */
  watch(check: FaultCheck, intervalMs: number): void {
    this.timer = setInterval(async () => {
      if (this.checking) return;
      this.checking = true;
      try {
        const found = await check(this.fault);
        if (found) this.enter(found);
        else this.clear();
      } catch {
        // A check that throws found out nothing: the state stays as it was until one answers.
      } finally {
        this.checking = false;
      }
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
