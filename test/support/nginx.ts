/**
 * Debian's nginx on a free port with the README's block in front of one hub (deploy/nginx.conf is run by
 * ./proxy.ts).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { removeDir, tempDir } from "./herald";
import { freePort } from "./services";
import { eventually } from "./wait";

export const NGINX = "/usr/sbin/nginx";
/** Proxy tests skip only where nginx is missing (.ci/run installs it). */
export const hasNginx = existsSync(NGINX);

const ROOT = join(import.meta.dir, "..", "..");

export interface Nginx {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * The README's nginx block (section "Behind a reverse proxy"), so what is documented is what is tested; its
 * upstream `127.0.0.1:8080` becomes the hub under test.
 */
function documentedBlock(upstreamPort: number): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const block = /```nginx\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error("README.md has no nginx block");
  return block.replaceAll("127.0.0.1:8080", `127.0.0.1:${upstreamPort}`);
}

/** Starts nginx with `http` (given its port) as its http block's content, or null when it would not start. */
async function tryStart(http: (port: number) => string): Promise<{ proc: Subprocess; port: number; dir: string } | null> {
  const dir = tempDir();
  const port = await freePort();
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${join(dir, t)};`).join("\n  ");
  writeFileSync(
    join(dir, "nginx.conf"),
    `${process.getuid?.() === 0 ? "user root;" : ""}
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} warn;
events { worker_connections 512; }
http {
  access_log off;
  ${temps}
  ${http(port)}
}
`,
  );
  const proc = Bun.spawn([NGINX, "-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
    stdout: "ignore",
    stderr: "pipe",
  });
  try {
    // Up once it answers; a port taken meanwhile by someone else makes nginx exit, and we try another.
    await eventually(async () => {
      if (proc.exitCode !== null) return true;
      return fetch(`http://127.0.0.1:${port}/health`).then(
        () => true,
        () => false,
      );
    }, 5000);
  } catch {
    proc.kill("SIGKILL");
  }
  if (proc.exitCode !== null || proc.killed) {
    await proc.exited;
    removeDir(dir);
    return null;
  }
  return { proc, port, dir };
}

async function start(http: (port: number) => string): Promise<Nginx> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const started = await tryStart(http);
    if (!started) continue;
    const { proc, port, dir } = started;
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      async stop() {
        proc.kill("SIGTERM");
        await proc.exited;
        removeDir(dir);
      },
    };
  }
  throw new Error("nginx did not start");
}

/** nginx in front of one hub, with the README's block. */
export function startNginx(upstreamPort: number): Promise<Nginx> {
  return start((port) => `server {\n    listen 127.0.0.1:${port};\n    ${documentedBlock(upstreamPort)}\n  }`);
}
