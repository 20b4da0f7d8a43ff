/**
 * The main thread's side of every worker: it owns the log, hands each committed batch to every worker (whose
 * publishers answer once every serving worker has it: see board.ts), and counts for the whole hub what no
 * worker can count alone: streams per client and in all, and the metrics summed over workers; presence it
 * relays between them (presence-relay.ts).
 */
import { HeraldError, RETRY_LATER } from "../errors";
import type { CertificateInfo, Reload } from "../http/listener";
import { ClientStreams, type StreamEntry } from "../http/stream-admission";
import type { EventLog } from "../log/event-log";
import { isFaultError } from "../log/faults";
import type { WriterStatus } from "../log/worker-log";
import { Metrics, renderMetrics, renderWorkerMetrics } from "../metrics";
import { Board } from "./board";
import { Channel, type Port } from "./channel";
import type { PresenceMember, PresenceRelay } from "./presence-relay";
import type { FromWorker, PresenceChange, ToWorker, WorkerCounts } from "./protocol";
import { beatAndWatch, type Silence, WRITER_SLOT } from "./watchdog";

/** How often workers are told of the log's faults and size (what /health and their log report), besides at once when a publish or read meets a fault. */
const STATUS_MS = 1000;

/** One worker thread, as the main thread knows it. */
export class Seat {
  /** Its streams' slots. */
  readonly tickets = new Set<number>();
  /** Its counters as last read, kept when it dies so the sums never go back. */
  counts: WorkerCounts | undefined;
  private listening: (certificate: CertificateInfo | undefined) => void = () => {};
  /** Resolves once the worker serves on the port, with the certificate it presents (HTTPS). */
  readonly ready = new Promise<CertificateInfo | undefined>((resolve) => {
    this.listening = resolve;
  });

  constructor(
    readonly index: number,
    readonly channel: Channel<ToWorker, FromWorker>,
    /** Its streams, as presence shares them with every other worker. */
    readonly presence: PresenceMember,
  ) {}

  serve(certificate: CertificateInfo | undefined): void {
    this.listening(certificate);
  }
}

export interface CoordinatorOptions {
  /** HERALD_MAX_SUBSCRIBERS, over every worker. */
  readonly maxSubscribers: number;
  /** HERALD_MAX_STREAMS_PER_CLIENT, over every worker; 0: no limit. */
  readonly maxStreamsPerClient: number;
  /** Called once a serving worker has not beaten for the watchdog's limit (watchdog.ts). */
  readonly workerHung: (silence: Silence) => void;
}

const noop = () => {};

interface Ticket {
  readonly seat: Seat;
  readonly release: () => void;
}

export class Coordinator {
  private readonly seats = new Set<Seat>();
  private readonly board = Board.create();
  private readonly clients: ClientStreams | null;
  private readonly tickets = new Map<number, Ticket>();
  private nextTicket = 1;
  /** Seats taken so far: each worker thread is a node of presence of its own. */
  private seated = 0;
  /** Counters of workers that died, as last read. */
  private readonly departed = new Metrics(false);
  private readonly statusTimer: Timer;
  /** This thread's beat, which every worker watches, and its look at theirs. */
  private readonly beating: Timer;
  /** Set by a stop: workers that drain are no longer watched. */
  private halted = false;
  /** Workers that died and were replaced. */
  replaced = 0;

  /**
   * @param metrics the main thread's: retention and the process, counted and measured here
   * @param presence who listens, on every worker (and every node of a cluster)
   */
  constructor(
    private readonly log: EventLog,
    private readonly options: CoordinatorOptions,
    private readonly metrics: Metrics,
    private readonly presence: PresenceRelay,
  ) {
    this.clients = options.maxStreamsPerClient > 0 ? new ClientStreams(options.maxStreamsPerClient) : null;
    log.onCommit((events) => {
      // Serialised once for every worker: one string to copy, not every event cloned for each.
      const batch = JSON.stringify(events);
      for (const seat of this.seats) seat.channel.notify("commit", batch);
    });
    log.onMissed(() => this.missed());
    this.statusTimer = setInterval(() => this.tellStatus(), STATUS_MS);
    this.statusTimer.unref();
    this.board.serve(WRITER_SLOT, true);
    const watched = () => (this.halted ? [] : [...this.seats].map((seat) => seat.index));
    this.beating = beatAndWatch(this.board, WRITER_SLOT, watched, options.workerHung);
  }

  /** Answers a new worker's requests from now on; it takes commits once it has joined. */
  seat(index: number, port: Port): Seat {
    const channel = new Channel<ToWorker, FromWorker>(port);
    const member: PresenceMember = {
      index,
      node: `worker-${index}-${++this.seated}`,
      tell: (news) => channel.notify("presence", news),
      // A worker that died meanwhile has nothing more to send.
      flushed: () => channel.request("flushPresence", null).then(noop, noop),
    };
    const seat = new Seat(index, channel, member);
    channel.handle("join", () => {
      // Commits announced from now on go to it too, after this answer: it misses none and gets none twice.
      this.seats.add(seat);
      const head = this.log.lastId();
      this.board.apply(index, head);
      return { head, status: this.status(), board: this.board.buffer };
    });
    channel.handle("append", ({ drafts, idempotency }) =>
      this.log.append(drafts, idempotency).catch((error: unknown) => this.faulted(error)),
    );
    channel.handle("caughtUp", async (id) => {
      await this.log.caughtUp(id);
      return null;
    });
    channel.handle("prune", (policy) => this.log.prune(policy));
    channel.handle("admit", (entry) => this.admit(seat, entry));
    channel.handle("metrics", () => this.exposition());
    channel.handle("joinPresence", (own) => this.presence.join(member, JSON.parse(own)));
    channel.on("presence", (change) => this.presence.changed(member, JSON.parse(change) as PresenceChange));
    channel.handle("settlePresence", async () => {
      await this.presence.settle(member);
      return null;
    });
    channel.on("release", (ticket) => this.release(ticket));
    channel.on("listening", (certificate) => seat.serve(certificate));
    channel.on("fault", (fault) => {
      this.log.degrade(fault);
      this.tellStatus();
    });
    return seat;
  }

  /** The worker is gone: its slots are free, its streams closed for presence, nobody waits for it, its counts are kept. */
  unseat(seat: Seat): void {
    this.seats.delete(seat);
    this.presence.leave(seat.presence);
    this.board.serve(seat.index, false);
    this.board.dropStreams(seat.index);
    seat.channel.close(new Error(`worker ${seat.index} is gone`));
    for (const ticket of seat.tickets) this.release(ticket);
    if (seat.counts) this.departed.add(seat.counts);
  }

  /** Asks every worker to refuse new work, and resolves once all do. */
  halt(): Promise<void> {
    this.halted = true;
    return this.everyWorker("halt");
  }

  /**
   * Asks every worker to finish what is in flight and stop listening, and resolves once all have. No listener
   * closes before all are quiet: the kernel resets the connections queued to a closing listener, and a client told
   * `Connection: close` by one worker may open its next connection on another worker's listener.
   */
  async drain(): Promise<void> {
    await this.everyWorker("settle");
    await this.everyWorker("drain");
  }

  private async everyWorker(kind: "halt" | "settle" | "drain" | "missed"): Promise<void> {
    await Promise.all([...this.seats].map((seat) => seat.channel.request(kind, null).catch(() => undefined)));
  }

  stop(): void {
    clearInterval(this.statusTimer);
    clearInterval(this.beating);
  }

  /** Asks every worker to read its TLS files again: what each did, every different outcome once. */
  async reload(): Promise<Reload[]> {
    const outcomes = await Promise.all(
      [...this.seats].map((seat) => seat.channel.request("reload", null).catch(() => undefined)),
    );
    const distinct = new Map<string, Reload>();
    for (const outcome of outcomes) if (outcome) distinct.set(JSON.stringify(outcome), outcome);
    return [...distinct.values()];
  }

  private admit(seat: Seat, { client }: StreamEntry): number {
    if (this.tickets.size >= this.options.maxSubscribers) {
      throw new HeraldError("too_many_subscribers", "the hub has reached its stream limit", RETRY_LATER);
    }
    const release = client === null || this.clients === null ? () => {} : this.clients.take(client);
    const ticket = this.nextTicket++;
    this.tickets.set(ticket, { seat, release });
    seat.tickets.add(ticket);
    return ticket;
  }

  private release(ticket: number): void {
    const held = this.tickets.get(ticket);
    if (!held) return;
    this.tickets.delete(ticket);
    held.seat.tickets.delete(ticket);
    held.release();
  }

  /** A publish that met a fault: the workers hear of it now, not at the next status. */
  private faulted(error: unknown): never {
    if (isFaultError(error)) this.tellStatus();
    throw error;
  }

  private tellStatus(): void {
    const status = this.status();
    for (const seat of this.seats) seat.channel.notify("status", status);
  }

  /** Faults and size as plain data: the log's own objects have getters, which a message would not carry. */
  private status(): WriterStatus {
    const { current, started } = this.log.faults;
    return { faults: { current, started: { ...started } }, size: this.log.size() };
  }

  /** Streams of every worker that lost events the log could not announce are told, before the next commit. */
  private missed(): Promise<void> {
    return this.everyWorker("missed");
  }

  /** The whole hub's metrics: each worker's counters (its publishes among them) summed, retention counted here, the process measured here. */
  private async exposition(): Promise<string> {
    const totals = new Metrics(false);
    totals.add(this.departed.counts());
    let subscribers = 0;
    await Promise.all(
      [...this.seats].map(async (seat) => {
        try {
          seat.counts = await seat.channel.request("counts", null);
        } catch {
          // It died meanwhile: its last counts are among the departed.
          return;
        }
        totals.add(seat.counts);
        subscribers += seat.counts.subscribers;
      }),
    );
    totals.pruned += this.metrics.pruned;
    // A stream whose first bytes went out before this scrape is counted, whichever worker holds it.
    await this.presence.settle();
    const herald = renderMetrics(totals, {
      subscribers,
      presence: this.presence.size,
      logSize: this.log.size(),
      retainedEvents: await this.log.retained().catch(() => Number.NaN),
      lastEventId: this.log.lastId(),
      faults: this.log.faults,
    });
    return herald + renderWorkerMetrics(this.seats.size, this.replaced) + (await this.metrics.processText());
  }
}
