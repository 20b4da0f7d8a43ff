/** What the main thread and its worker threads say to each other: each side's requests (body, reply) and notes. */
import type { Config } from "../config";
import type { CertificateInfo, Reload } from "../http/listener";
import type { StreamEntry } from "../http/stream-admission";
import type { AppendResult, EventDraft, Idempotency, PrunePolicy } from "../log/event-log";
import type { LogFault } from "../log/faults";
import type { SharedSubscription } from "../log/presence-exchange";
import type { WriterStatus } from "../log/worker-log";
import type { Counts } from "../metrics";
import type { Side } from "./channel";

/** What a worker thread is started with. */
export interface WorkerData {
  readonly config: Config;
  /** 1, 2, ...: a replacement takes the number of the worker it replaces. */
  readonly index: number;
  /** When the process started (Unix ms): /health's uptime is the hub's, not the thread's. */
  readonly startedAt: number;
}

/** What a worker is told as it joins: where the log stands, so the commits that follow continue from there. */
export interface Joined {
  readonly head: number;
  readonly status: WriterStatus;
  /** Which commit each worker has handed to its streams, and the streams it holds (board.ts), shared by every thread. */
  readonly board: SharedArrayBuffer;
}

/** A worker's counters, and the streams open on it. */
export interface WorkerCounts extends Counts {
  readonly subscribers: number;
}

export interface FromWorker extends Side {
  readonly requests: {
    /** The first thing a worker asks; the main thread's commits follow its answer. */
    readonly join: { readonly body: null; readonly reply: Joined };
    readonly append: {
      readonly body: { readonly drafts: readonly EventDraft[]; readonly idempotency: Idempotency | undefined };
      readonly reply: AppendResult;
    };
    readonly caughtUp: { readonly body: number; readonly reply: null };
    readonly prune: { readonly body: PrunePolicy; readonly reply: number };
    /** A slot for a stream: the ticket to give back when it closes. */
    readonly admit: { readonly body: StreamEntry; readonly reply: number };
    readonly metrics: { readonly body: null; readonly reply: string };
    /** This worker's streams (JSON SharedSubscription[]) join presence; changes after the answer come as notes. */
    readonly joinPresence: { readonly body: string; readonly reply: PresenceJoined };
    /** Answered once every other worker's presence changes made before it reached this worker. */
    readonly settlePresence: { readonly body: null; readonly reply: null };
  };
  readonly notes: {
    /** This worker's streams opened and closed this turn (JSON PresenceChange). */
    readonly presence: string;
    /** A stream closed: its ticket. */
    readonly release: number;
    /** A read ran into a store failure. */
    readonly fault: LogFault;
    /** The worker serves on the port, presenting `certificate` (HTTPS). */
    readonly listening: CertificateInfo | undefined;
  };
}

export interface ToWorker extends Side {
  readonly requests: {
    readonly counts: { readonly body: null; readonly reply: WorkerCounts };
    /** The log could not announce some commits (a shared log pruned them first): streams that lost some are told. */
    readonly missed: { readonly body: null; readonly reply: null };
    /** Refuse new work from now on (/health says draining), and end every stream. */
    readonly halt: { readonly body: null; readonly reply: null };
    /** Once halted: let in-flight requests finish, and answer once no request has come for a moment. */
    readonly settle: { readonly body: null; readonly reply: null };
    /** Once every worker has settled: close the listener. */
    readonly drain: { readonly body: null; readonly reply: null };
    /** SIGHUP: read the TLS certificate and key again. */
    readonly reload: { readonly body: null; readonly reply: Reload };
    /** Answered after the presence changes this worker sent before it. */
    readonly flushPresence: { readonly body: null; readonly reply: null };
  };
  readonly notes: {
    /** A committed batch: the JSON of its events, one string for every worker (strings cross threads uncopied). */
    readonly commit: string;
    readonly status: WriterStatus;
    /** Another worker's or node's streams changed (JSON PresenceNews): one string for every worker it goes to. */
    readonly presence: string;
  };
}

/** A worker's streams that opened and closed in one turn, in that order: its change number `seq` (presence-tally.ts). */
export interface PresenceChange {
  readonly seq: number;
  readonly opened: readonly SharedSubscription[];
  readonly closed: readonly string[];
}

/** What a worker joining presence is told. */
export interface PresenceJoined {
  /** JSON PresenceShares: every other worker's and node's streams. */
  readonly shares: string;
  /** The changes each worker has sent (presence-tally.ts). */
  readonly tally: SharedArrayBuffer;
  /** The last change of each worker that the shares include: [worker, seq] pairs. */
  readonly known: ReadonlyArray<readonly [number, number]>;
}

/** Every other worker's and node's streams, by node. */
export type PresenceShares = ReadonlyArray<readonly [node: string, subscriptions: readonly SharedSubscription[]]>;

/** A worker's change as the others hear it: its number, and the change number it accounts for. */
interface Origin {
  /** The worker whose change it is; none for another node's. */
  readonly from?: number;
  readonly seq?: number;
}

/** What a worker hears of another worker's or node's streams: the PresenceHandlers' three calls. */
export type PresenceNews = Origin &
  (
    | { readonly node: string; readonly opened: readonly SharedSubscription[]; readonly closed: readonly string[] }
    | { readonly node: string; readonly all: readonly SharedSubscription[] }
    | { readonly node: string; readonly gone: true }
  );
