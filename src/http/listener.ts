/**
 * Listening: plain HTTP on one socket, or HTTPS whose certificate SIGHUP replaces without dropping open streams.
 *
 * Bun's `server.reload()` keeps the first certificate (checked with Bun 1.4.5), so a reload starts a second
 * server on the same port with the new certificate and stops the first one from accepting: its open streams go
 * on until they end, and both servers run the one app over the one hub. Two sockets on one port need
 * SO_REUSEPORT on both, which would also let a second Herald share the port and split subscribers between two
 * broadcasters; so HTTPS first claims the port without it, which fails if anyone holds the port.
 */
import type { Server } from "bun";
import type { Logger } from "../logger";
import { urlHost } from "../net/url-host";
import { loadTls, type TlsCredentials, type TlsFiles, tlsServeFailure } from "./tls";

export interface ServeSettings {
  readonly port: number;
  readonly hostname: string;
  readonly idleTimeout: number;
  readonly maxRequestBodySize: number;
}

interface ListenOptions extends ServeSettings {
  readonly reusePort: boolean;
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** What this module needs of the Elysia app: `listen()` starts a Bun server for the app and sets `server` to it. */
export interface Listenable {
  listen(options: ListenOptions): unknown;
  server: Server<unknown> | null;
}

const describe = (c: TlsCredentials) => ({ subject: c.subject, validTo: c.validTo, fingerprint256: c.fingerprint256 });

export class Listener {
  /** Servers that stopped accepting after a reload, still serving the streams they hold. */
  private readonly retiring = new Set<Server<unknown>>();

  private constructor(
    private readonly app: Listenable,
    private readonly settings: ServeSettings,
    private readonly tls: TlsFiles | undefined,
    private readonly logger: Logger,
  ) {}

  /** Throws a ConfigError for a TLS file that cannot be used, and Bun's error for a port that cannot be bound. */
  static start(app: Listenable, settings: ServeSettings, tls: TlsFiles | undefined, logger: Logger): Listener {
    const listener = new Listener(app, settings, tls, logger);
    if (!tls) {
      // One process owns the port: a second one sharing it would split subscribers between two broadcasters.
      listener.listen({ ...settings, reusePort: false });
      return listener;
    }
    const credentials = loadTls(tls);
    listener.serveTls(tls, credentials, claimPort(settings));
    logger.info("tls certificate loaded", describe(credentials));
    return listener;
  }

  get port(): number {
    return this.current().port ?? this.settings.port;
  }

  get url(): string {
    return `${this.tls ? "https" : "http"}://${urlHost(this.settings.hostname)}:${this.port}`;
  }

  /** Requests in flight on every server still open, streams included. */
  pendingRequests(): number {
    let pending = this.current().pendingRequests;
    for (const server of this.retiring) pending += server.pendingRequests;
    return pending;
  }

  /** SIGHUP: reads the certificate and key again; when they cannot be used, the running ones stay. */
  reload(): void {
    if (!this.tls) {
      this.logger.info("SIGHUP: plain HTTP, no certificate to reload");
      return;
    }
    const previous = this.current();
    try {
      const credentials = loadTls(this.tls);
      this.serveTls(this.tls, credentials, this.port);
      this.logger.info("tls certificate loaded", describe(credentials));
    } catch (error) {
      this.app.server = previous;
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.error("tls reload failed; the previous certificate stays in use", { error: reason });
      return;
    }
    this.retiring.add(previous);
    // Resolves once the last request on it (a stream, typically) has ended.
    void previous.stop(false).then(() => this.retiring.delete(previous));
    // What a reload leaves behind, for whoever suspects it of leaking: servers still draining, process listeners.
    this.logger.debug("tls reload", {
      retiringServers: this.retiring.size,
      beforeExitListeners: process.listenerCount("beforeExit"),
    });
  }

  /** Closes every server and every connection still open. */
  async stop(): Promise<void> {
    await Promise.all([this.current(), ...this.retiring].map((server) => server.stop(true)));
  }

  /** Throws a ConfigError naming the files when the TLS library refuses what loadTls let through. */
  private serveTls(files: TlsFiles, credentials: TlsCredentials, port: number): void {
    try {
      this.listen({ ...this.settings, port, reusePort: true, tls: { cert: credentials.cert, key: credentials.key } });
    } catch (error) {
      throw tlsServeFailure(error, files) ?? error;
    }
  }

  /**
   * Elysia's `listen()` also adds a process `beforeExit` listener, on every call, that holds that server, its options
   * (the certificate and key) and its compiled routes for the life of the process: about 100 KB a reload. The hub
   * stops its servers itself (and `beforeExit` never fires while one listens), so the listener it added goes again.
   */
  private listen(options: ListenOptions): void {
    const before = new Set(process.listeners("beforeExit"));
    this.app.listen(options);
    for (const added of process.listeners("beforeExit")) if (!before.has(added)) process.off("beforeExit", added);
  }

  private current(): Server<unknown> {
    if (!this.app.server) throw new Error("the app is not listening");
    return this.app.server;
  }
}

/** Binds the port without SO_REUSEPORT and lets it go: fails, as a plain listen would, when anyone holds it. */
function claimPort({ hostname, port }: ServeSettings): number {
  const probe = Bun.listen({ hostname, port, socket: { data() {} } });
  const claimed = probe.port;
  probe.stop(true);
  return claimed;
}
