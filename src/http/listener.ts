/**
 * Listening: plain HTTP on one socket, or HTTPS whose certificate SIGHUP replaces without dropping open streams.
 *
 * Bun's `server.reload()` keeps the first certificate (checked with Bun 1.4.5), so a reload starts a second
 * server on the same port with the new certificate and retires the first (see traffic.ts): it stops accepting
 * once quiet, its open streams go on until they end, and both servers run the one app over the one hub. Two
 * sockets on one port need SO_REUSEPORT on both, which would also let a second Herald share the port and split
 * subscribers between two broadcasters; so HTTPS first claims the port without it, which fails if anyone holds it.
 */
import type { Server } from "bun";
import type { Logger } from "../logger";
import { urlHost } from "../net/url-host";
import type { Handler, Listenable, Routes } from "./listenable";
import { loadTls, type TlsCredentials, type TlsFiles, tlsServeFailure } from "./tls";
import { QUIET_MS, Traffic } from "./traffic";

/** A handler as Bun.serve calls it: with the server the request came to. */
type ServerHandler = (request: Request, server: Server<unknown>) => Response | Promise<Response>;

/** The longest a server retired by a reload keeps accepting (new connections get the old certificate meanwhile). */
const RETIRE_WITHIN_MS = 1000;

export interface ServeSettings {
  readonly port: number;
  readonly hostname: string;
  readonly idleTimeout: number;
  readonly maxRequestBodySize: number;
}

/** What the logs say of a certificate in use. */
export interface CertificateInfo {
  readonly subject: string;
  readonly validTo: string;
  readonly fingerprint256: string;
}

const describe = (c: TlsCredentials): CertificateInfo => ({
  subject: c.subject,
  validTo: c.validTo,
  fingerprint256: c.fingerprint256,
});

/** What a SIGHUP did to a listener: its new certificate, why the files could not be used, or nothing (plain HTTP). */
export type Reload = { readonly loaded: CertificateInfo } | { readonly failed: string } | { readonly plain: true };

/** Logs what a reload did: once per SIGHUP, however many listeners (one per worker thread) did it. */
export function logReload(logger: Logger, reload: Reload): void {
  if ("plain" in reload) logger.info("SIGHUP: plain HTTP, no certificate to reload");
  else if ("loaded" in reload) logger.info("tls certificate loaded", { ...reload.loaded });
  else logger.error("tls reload failed; the previous certificate stays in use", { error: reload.failed });
}

export class Listener {
  /** Every server still open: the current one, and those retired by a reload that still serve their streams. */
  private readonly servers = new Map<Server<unknown>, Traffic>();
  private current: Server<unknown> | undefined;
  private readonly scheme: "http" | "https";
  /** The app's handlers, wrapped once for every server this listener starts. */
  private readonly routes: Record<string, Record<string, ServerHandler>>;
  private readonly fetch: ServerHandler;
  /** The certificate the current server presents; undefined in plain HTTP. */
  certificate: CertificateInfo | undefined;

  private constructor(
    private readonly app: Listenable,
    private readonly settings: ServeSettings,
    private readonly tls: TlsFiles | undefined,
    private readonly logger: Logger,
  ) {
    this.scheme = tls ? "https" : "http";
    this.routes = answering(app.routes, this.answer);
    this.fetch = this.answer(app.fetch);
  }

  /**
   * Throws a ConfigError for a TLS file that cannot be used, and Bun's error for a port that cannot be bound.
   * @param shared the port is one the main thread claimed for every worker: each binds it beside the others,
   * and the main thread logs the certificate, once
   */
  static start(app: Listenable, settings: ServeSettings, tls: TlsFiles | undefined, logger: Logger, shared = false): Listener {
    const listener = new Listener(app, settings, tls, logger);
    if (!tls) {
      // One process owns the port: a second one sharing it would split subscribers between two broadcasters. Its
      // worker threads share it, their broadcasters all fed by the one log.
      listener.serve(settings.port, shared);
      return listener;
    }
    const credentials = loadTls(tls);
    listener.serveTls(tls, credentials, shared ? settings.port : claimPort(settings));
    if (!shared) logger.info("tls certificate loaded", { ...describe(credentials) });
    return listener;
  }

  get port(): number {
    return this.current?.port ?? this.settings.port;
  }

  get url(): string {
    return `${this.tls ? "https" : "http"}://${urlHost(this.settings.hostname)}:${this.port}`;
  }

  /** SIGHUP: reads the certificate and key again; when they cannot be used, the running ones stay. */
  reload(): Reload {
    if (!this.tls) return { plain: true };
    const previous = this.current;
    let credentials: TlsCredentials;
    try {
      credentials = loadTls(this.tls);
      this.serveTls(this.tls, credentials, this.port);
    } catch (error) {
      return { failed: error instanceof Error ? error.message : String(error) };
    }
    if (previous) void this.retire(previous);
    // What a reload leaves behind, for whoever suspects it of leaking: servers still draining, process listeners.
    this.logger.debug("tls reload", {
      retiringServers: this.servers.size - 1,
      beforeExitListeners: process.listenerCount("beforeExit"),
    });
    return { loaded: describe(credentials) };
  }

  /** The process stops: from now on every answer is its connection's last (`Connection: close`). */
  closeConnections(): void {
    for (const traffic of this.servers.values()) traffic.retire();
  }

  /**
   * Resolves once no request has come for a moment and none is in flight (streams included), or at `deadline` (a
   * `performance.now()` time): until then keep-alive clients are told to close, rather than finding it closed.
   */
  async settle(deadline: number): Promise<void> {
    for (;;) {
      await Promise.all([...this.servers.values()].map((traffic) => traffic.quiet(deadline)));
      if (this.pendingRequests() === 0 || performance.now() >= deadline) return;
      await Bun.sleep(QUIET_MS);
    }
  }

  /** Closes every server and every connection still open. */
  async stop(): Promise<void> {
    await Promise.all([...this.servers.keys()].map((server) => server.stop(true)));
  }

  /** Requests in flight on every server still open, streams included. */
  private pendingRequests(): number {
    let pending = 0;
    for (const server of this.servers.keys()) pending += server.pendingRequests;
    return pending;
  }

  /** The new certificate's server takes new connections at once; the old one stops accepting once quiet. */
  private async retire(server: Server<unknown>): Promise<void> {
    const traffic = this.servers.get(server);
    traffic?.retire();
    await traffic?.quiet(performance.now() + RETIRE_WITHIN_MS);
    // Resolves once the last request on it (a stream, typically) has ended.
    await server.stop(false);
    this.servers.delete(server);
  }

  /** Throws a ConfigError naming the files when the TLS library refuses what loadTls let through. */
  private serveTls(files: TlsFiles, credentials: TlsCredentials, port: number): void {
    try {
      this.serve(port, true, { cert: credentials.cert, key: credentials.key });
    } catch (error) {
      throw tlsServeFailure(error, files) ?? error;
    }
    this.certificate = describe(credentials);
  }

  /**
   * Every server answers through the app's handlers wrapped once for all, each answer kept in the Traffic of the
   * server it came to, not through Elysia's `listen()`, so that its answers can say when they are their
   * connection's last. Only plain HTTP hands Bun's router the routes: a TLS server is made anew by each reload,
   * and Bun keeps some 10 KB of each stopped server that had routes (a thousand reloads on two workers: RSS grew
   * 54 MB, against 34 without).
   */
  private serve(port: number, reusePort: boolean, tls?: { cert: string; key: string }): void {
    const routes = tls ? undefined : this.routes;
    const server = Bun.serve({ ...this.settings, port, reusePort, tls, routes, fetch: this.fetch });
    this.servers.set(server, new Traffic());
    this.current = server;
    this.app.server = server;
  }

  private readonly answer =
    (handler: Handler) =>
    (request: Request, server: Server<unknown>): Response | Promise<Response> => {
      const routed = routable(request, this.scheme);
      const traffic = this.servers.get(server);
      return traffic ? traffic.answer(() => handler(routed)) : handler(routed);
    };
}

/** The routes with each handler wrapped. */
function answering(routes: Routes, wrap: (handler: Handler) => ServerHandler): Record<string, Record<string, ServerHandler>> {
  return Object.fromEntries(
    Object.entries(routes).map(([path, methods]) => [
      path,
      Object.fromEntries(Object.entries(methods).map(([method, handler]) => [method, wrap(handler)])),
    ]),
  );
}

/**
 * Bun's `request.url` is a bare path when the request has no Host (HTTP/1.0), and a Host may be one letter; Elysia
 * looks for the path from the 12th character on (past `https://` and three more). Such a request is shown to the
 * router with a full URL (the hub reads the Host header itself, never the URL's host).
 */
function routable(request: Request, scheme: string): Request {
  const url = request.url;
  const bare = url.charCodeAt(0) === SLASH;
  if (!bare && url.indexOf("/", "https://".length) >= "https://abc".length) return request;
  const path = bare ? url : url.replace(/^https?:\/\/[^/]*/, "");
  Object.defineProperty(request, "url", { value: `${scheme}://localhost${path}` });
  return request;
}

const SLASH = 0x2f;

/** Binds the port without SO_REUSEPORT and lets it go: fails, as a plain listen would, when anyone holds it. */
export function claimPort({ hostname, port }: ServeSettings): number {
  const probe = Bun.listen({ hostname, port, socket: { data() {} } });
  const claimed = probe.port;
  probe.stop(true);
  return claimed;
}
