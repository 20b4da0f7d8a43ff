/** Debian's nginx as the reverse proxy in front of a hub, configured as the README says, on a free port. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { removeDir, tempDir } from "./herald";
import { eventually } from "./wait";

export const NGINX = "/usr/sbin/nginx";
/** Proxy tests skip only where nginx is missing (.ci/run installs it). */
export const hasNginx = existsSync(NGINX);

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
  const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");
  const block = /```nginx\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error("README.md has no nginx block");
  return block.replaceAll("127.0.0.1:8080", `127.0.0.1:${upstreamPort}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function tryStart(upstreamPort: number): Promise<{ proc: Subprocess; port: number; dir: string } | null> {
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
  server {
    listen 127.0.0.1:${port};
    ${documentedBlock(upstreamPort)}
  }
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

export async function startNginx(upstreamPort: number): Promise<Nginx> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const started = await tryStart(upstreamPort);
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
