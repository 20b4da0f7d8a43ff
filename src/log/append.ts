/** What the group commit of every log queues: publish requests waiting to share one commit. */
import { HeraldError } from "../errors";
import type { AppendResult, EventDraft, Idempotency } from "./event-log";

export interface AppendRequest {
  readonly drafts: readonly EventDraft[];
  readonly idempotency: Idempotency | undefined;
}

export interface PendingAppend extends AppendRequest {
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** The same Idempotency-Key came with another request body: nothing is appended. */
export function idempotencyConflict(): HeraldError {
  return new HeraldError("idempotency_conflict", "this Idempotency-Key was already used with a different request");
}
