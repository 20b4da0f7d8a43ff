/** Storage faults of every log: "disk full" or "log unavailable", and the error a publisher gets for each. */
import { HeraldError, RETRY_LATER } from "../errors";

export type FaultReason = "storage_full" | "log_unavailable";

/** What is wrong with the log's store: a stable reason for machines and a message for people. */
export interface LogFault {
  readonly reason: FaultReason;
  readonly message: string;
  /** Does not clear by itself (a corrupt file): only a repair and a restart end it. */
  readonly lasting?: boolean;
}

/** Faults last minutes, and the probe looks every second meanwhile: the publisher is asked to come back later. */
export function faultError(fault: LogFault): HeraldError {
  return new HeraldError(fault.reason, fault.message, RETRY_LATER);
}

/** True for the errors a log fault answers with (they need no further mapping or logging). */
export function isFaultError(error: unknown): error is HeraldError {
  return error instanceof HeraldError && (error.code === "storage_full" || error.code === "log_unavailable");
}

export const DISK_FULL: LogFault = {
  reason: "storage_full",
  message: "the log's disk is full; publishing resumes by itself once space is freed",
};
