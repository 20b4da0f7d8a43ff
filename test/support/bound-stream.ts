/** A stream request from a chosen local address (loopback is all of 127.0.0.0/8): one client per address. */
import { connect, type Socket } from "node:net";

export interface BoundStream {
  status: number;
  /** Everything received so far, head and body. */
  text: string;
  close(): void;
}

/**
 * GETs `path` over a socket bound to `from` and resolves once the status line and the first body bytes are in;
 * a refused request's socket is closed, a stream's is left open until `close()`.
 */
export function streamFrom(port: number, from: string, path: string, headers: Record<string, string> = {}): Promise<BoundStream> {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return new Promise((resolve, reject) => {
    let text = "";
    const socket: Socket = connect({ host: "127.0.0.1", port, localAddress: from }, () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${lines.join("")}\r\n`),
    );
    socket.on("data", (chunk) => {
      text += chunk.toString();
      const head = text.indexOf("\r\n\r\n");
      if (head === -1 || text.length === head + 4) return;
      const status = Number(text.slice(9, 12));
      if (status !== 200) socket.destroy();
      resolve({ status, text, close: () => socket.destroy() });
    });
    socket.on("error", reject);
  });
}
