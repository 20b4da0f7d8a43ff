/**
 * deploy/nginx.conf and deploy/Caddyfile, rendered into a temp dir (ports, certificate, upstream nodes, paths) and
 * run with Debian's nginx and caddy on free loopback ports, stopped by PID. Each substitution must find its line:
 * when the shipped file changes shape, the tests say so instead of running something else.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { removeDir, tempDir } from "./herald";
import { freePort, installed } from "./services";
import type { TestCertificate } from "./tls";

const DEPLOY = join(import.meta.dir, "..", "..", "deploy");
export type ProxyKind = "nginx" | "caddy";
/** Where each is installed, or null: its tests then skip (and fail under CI, which installs both). */
const BINARIES: Record<ProxyKind, string | null> = {
  nginx: installed("nginx", "nginx-light", ["/usr/sbin/nginx"]),
  caddy: installed("caddy", "caddy"),
};
export const hasProxy: Record<ProxyKind, boolean> = { nginx: BINARIES.nginx !== null, caddy: BINARIES.caddy !== null };

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

/** deploy/nginx.conf (the content of an http block) with its ports, names, certificate and nodes substituted. */
export function renderNginxSite({ upstreams, certificate }: ProxyOptions, { port, httpPort }: Rendering): string {
  return render("nginx.conf", [
    [/^( *)listen \[::\]:.*\n/m, ""],
    [/listen 80;/, `listen 127.0.0.1:${httpPort};`],
    [/listen 443 ssl http2;/, `listen 127.0.0.1:${port} ssl http2;`],
    [/server_name hub\.example\.com;/, "server_name localhost;"],
    [/ssl_certificate \/etc\/\S+;/, `ssl_certificate ${certificate.certPath};`],
    [/ssl_certificate_key \/etc\/\S+;/, `ssl_certificate_key ${certificate.keyPath};`],
    [/^( *)server 127\.0\.0\.1:8080( [^;]*)?;$/m, upstreams.map((u) => `$1server ${u}$2;`).join("\n")],
  ]);
}

/** What Debian's /etc/nginx/nginx.conf would be around the site, with every path in the temp dir. */
function renderNginx(options: ProxyOptions, rendering: Rendering): string {
  const { dir } = rendering;
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${dir}/${t};`);
  return [
    // As root, workers would otherwise run as nobody, who cannot write the temp dir.
    process.getuid?.() === 0 ? "user root;" : "",
    "worker_processes 1;",
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    "events { worker_connections 4096; }",
    "http {",
    "access_log off;",
    ...temps,
    renderNginxSite(options, rendering),
    "}",
  ].join("\n");
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
  const rendering = { port: await freePort(), httpPort: await freePort(), dir };
  const config = kind === "nginx" ? renderNginx(options, rendering) : renderCaddyfile(options, rendering);
  const file = join(dir, kind === "nginx" ? "nginx.conf" : "Caddyfile");
  writeFileSync(file, config);
  mkdirSync(join(dir, "data"));
  const errorLog = join(dir, "error.log");
  const binary = BINARIES[kind] ?? kind;
  const command =
    kind === "nginx"
      ? [binary, "-p", dir, "-e", errorLog, "-c", file, "-g", "daemon off;"]
      : [binary, "run", "--adapter", "caddyfile", "--config", file];
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
