/**
 * Why Redis refuses a connection, asked over a bare socket. Bun's client reports a refused handshake (a wrong
 * or missing password, an unknown user) as "Connection closed" and drops Redis's own answer, which names the cause
 * (`WRONGPASS …`, `NOAUTH …`) and never the password.
 */

/** How long the question may take: it is asked once, at start-up, after the connection already failed. */
const ASK_TIMEOUT_MS = 2000;

/** More than a handshake's replies: whatever answers is not Redis. */
const MAX_REPLY_BYTES = 4096;

/** A command in RESP: an array of bulk strings. */
function resp(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
}

/** The commands a client sends first: its credentials (or a ping), then its database. */
function handshake(url: URL): string[][] {
  const user = decoded(url.username);
  const password = decoded(url.password);
  const hello = password ? ["AUTH", ...(user ? [user] : []), password] : ["PING"];
  const db = url.pathname.slice(1);
  return db ? [hello, ["SELECT", db]] : [hello];
}

/** A URL part as the client sends it: percent-escapes decoded, a malformed one left as written. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * Redis's first error reply to the handshake, as Redis words it; undefined when it takes the handshake, or when it
 * cannot be asked (unreachable, not Redis, no answer in time).
 */
export async function redisRefusal(raw: string): Promise<string | undefined> {
  const url = new URL(raw);
  const commands = handshake(url);
  let received = "";
  let settle: (refusal: string | undefined) => void = () => {};
  const answer = new Promise<string | undefined>((resolve) => {
    settle = resolve;
  });
  // Replies are one line each, in order (`+OK`, `+PONG`, `-ERR …`): the first error, or all of them fine, ends the
  // question; a line of any other kind is not Redis answering (an echo would hand back the password).
  const read = () => {
    const lines = received.split("\r\n").slice(0, -1);
    for (const line of lines.slice(0, commands.length)) {
      if (line.startsWith("-")) return settle(line.slice(1));
      if (!line.startsWith("+")) return settle(undefined);
    }
    if (lines.length >= commands.length || received.length > MAX_REPLY_BYTES) settle(undefined);
  };
  const timer = setTimeout(() => settle(undefined), ASK_TIMEOUT_MS);
  try {
    const socket = await Bun.connect({
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || 6379),
      tls: url.protocol === "rediss:",
      socket: {
        data(_, chunk) {
          received += chunk.toString();
          read();
        },
        close: () => settle(undefined),
        error: () => settle(undefined),
        connectError: () => settle(undefined),
      },
    });
    socket.write(commands.map(resp).join(""));
    const refusal = await answer;
    socket.end();
    return refusal;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
