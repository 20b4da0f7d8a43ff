/**
 * deploy/nginx.conf and deploy/Caddyfile, rendered into a temp dir (ports, certificate, upstream nodes, paths) and
 * run with Debian's nginx and caddy on free loopback ports, stopped by PID. Each substitution must find its line:
 * when the shipped file changes shape, the tests say so instead of running something else.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { removeDir, tempDir } from "./herald";
import type { TestCertificate } from "./tls";

const DEPLOY = join(import.meta.dir, "..", "..", "deploy");
export const NGINX = "/usr/sbin/nginx";
export const CADDY = "/usr/bin/caddy";

export type ProxyKind = "nginx" | "caddy";
export const hasProxy: Record<ProxyKind, boolean> = { nginx: existsSync(NGINX), caddy: existsSync(CADDY) };

export interface ProxyOptions {
  /** `host:port` of every Herald node. */
  readonly upstreams: readonly string[];
  readonly certificate: TestCertificate;
}

export interface ReverseProxy {
  readonly kind: ProxyKind;
  /** `https://127.0.0.1:<port>` (the certificate names 127.0.0.1 and localhost). */
  readonly url: string;
  readonly port: number;
  /** The plain-HTTP port that redirects to HTTPS. */
  readonly httpPort: number;
  readonly dir: string;
  /** The configuration as rendered, for a failing test to show. */
  readonly config: string;
  stop(): Promise<void>;
}

interface Rendering {
  readonly port: number;
  readonly httpPort: number;
  readonly dir: string;
}

/** Replaces every match of `pattern`, which must match at least once. */
function substitute(text: string, file: string, pattern: RegExp, replacement: string): string {
  if (!pattern.test(text)) throw new Error(`deploy/${file} has no line matching ${pattern}: update test/support/proxy.ts`);
  return text.replace(new RegExp(pattern.source, `${pattern.flags.replace("g", "")}g`), replacement);
}

function render(file: string, rules: ReadonlyArray<readonly [RegExp, string]>): string {
  return rules.reduce(
    (text, [pattern, replacement]) => substitute(text, file, pattern, replacement),
    readFileSync(join(DEPLOY, file), "utf8"),
  );
}

export function renderNginx({ upstreams, certificate }: ProxyOptions, { port, httpPort, dir }: Rendering): string {
  return render("nginx.conf", [
    [/^pid .*;$/m, `pid ${dir}/nginx.pid;`],
    [/\/var\/log\/nginx\//, `${dir}/`],
    [/^( *)listen \[::\]:.*\n/m, ""],
    [/listen 80;/, `listen 127.0.0.1:${httpPort};`],
    [/listen 443 ssl http2;/, `listen 127.0.0.1:${port} ssl http2;`],
    [/server_name hub\.example\.com;/, "server_name localhost;"],
    [/ssl_certificate \/etc\/\S+;/, `ssl_certificate ${certificate.certPath};`],
    [/ssl_certificate_key \/etc\/\S+;/, `ssl_certificate_key ${certificate.keyPath};`],
    [/^( *)server 127\.0\.0\.1:8080;$/m, upstreams.map((u) => `$1server ${u};`).join("\n")],
  ]);
}

export function renderCaddyfile({ upstreams, certificate }: ProxyOptions, { port, httpPort, dir }: Rendering): string {
  // No ACME, no admin endpoint, nothing written outside the temp dir, no long wait for streams on stop.
  const globals = [
    "admin off",
    "default_bind 127.0.0.1",
    `http_port ${httpPort}`,
    `storage file_system ${dir}/data`,
    "grace_period 1s",
  ];
  return render("Caddyfile", [
    [/^\temail .*$/m, globals.map((g) => `\t${g}`).join("\n")],
    [
      /^hub\.example\.com \{$/m,
      `https://localhost:${port}, https://127.0.0.1:${port} {\n\ttls ${certificate.certPath} ${certificate.keyPath}`,
    ],
    [/reverse_proxy 127\.0\.0\.1:8080 \{/, `reverse_proxy ${upstreams.join(" ")} {`],
  ]);
}

/** A port nobody listens on right now (the kernel's choice for port 0). */
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

async function listening(port: number, proc: Subprocess, what: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the proxy exited with ${proc.exitCode}: ${what()}`);
    try {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      socket.end();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`the proxy did not listen on ${port}: ${what()}`);
      await Bun.sleep(20);
    }
  }
}

const readOr = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");

export async function startProxy(kind: ProxyKind, options: ProxyOptions): Promise<ReverseProxy> {
  const dir = tempDir();
  const rendering = { port: freePort(), httpPort: freePort(), dir };
  const config = kind === "nginx" ? renderNginx(options, rendering) : renderCaddyfile(options, rendering);
  const file = join(dir, kind === "nginx" ? "nginx.conf" : "Caddyfile");
  writeFileSync(file, config);
  mkdirSync(join(dir, "data"));
  const errorLog = join(dir, "error.log");
  const command =
    kind === "nginx"
      ? [NGINX, "-p", dir, "-e", errorLog, "-c", file, "-g", "daemon off;"]
      : [CADDY, "run", "--adapter", "caddyfile", "--config", file];
  const proc = Bun.spawn(command, {
    cwd: dir,
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, "data"), XDG_CONFIG_HOME: join(dir, "data") },
    stdin: "ignore",
    stdout: "ignore",
    // Caddy logs to stderr; nginx to its error log.
    stderr: Bun.file(join(dir, "stderr.log")),
  });
  const stop = async () => {
    // SIGTERM: nginx's fast shutdown (its workers go with it), Caddy's graceful one (grace_period 1s).
    proc.kill("SIGTERM");
    await proc.exited;
    removeDir(dir);
  };
  try {
    await listening(rendering.port, proc, () => `${readOr(errorLog)}${readOr(join(dir, "stderr.log"))}\n${config}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    kind,
    url: `https://127.0.0.1:${rendering.port}`,
    port: rendering.port,
    httpPort: rendering.httpPort,
    dir,
    config,
    stop,
  };
}
