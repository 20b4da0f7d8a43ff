/** Bodies are UTF-8: other bytes and other charsets are refused, never replaced; a leading BOM is not data. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dispose, type Herald, startHerald } from "./support/herald";

let herald: Herald;
beforeAll(async () => {
  herald = await startHerald();
});
afterAll(() => dispose(herald));

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p))));

function publish(path: string, contentType: string, body: Uint8Array): Promise<Response> {
  return fetch(`${herald.url}${path}`, { method: "POST", headers: { "content-type": contentType }, body });
}

async function history(topic: string): Promise<Array<{ data: unknown }>> {
  return ((await (await fetch(`${herald.url}/events?topic=${topic}`)).json()) as { events: Array<{ data: unknown }> }).events;
}

async function lastEventId(): Promise<string> {
  return ((await (await fetch(`${herald.url}/health`)).json()) as { lastEventId: string }).lastEventId;
}

describe("refused, nothing written, the server healthy", () => {
  const latin1Cafe = [0x63, 0x61, 0x66, 0xe9];
  const cases: Array<[string, string, string, Uint8Array, number, string]> = [
    ["Latin-1 bytes as text", "/topics/enc/events", "text/plain", bytes(latin1Cafe), 400, "invalid_encoding"],
    [
      "a stray continuation byte in JSON",
      "/topics/enc/events",
      "application/json",
      bytes('{"data":"', [0x80], '"}'),
      400,
      "invalid_encoding",
    ],
    ["a truncated sequence", "/topics/enc/events", "text/plain", bytes("ok ", [0xe2, 0x82]), 400, "invalid_encoding"],
    ["an overlong encoding of '/'", "/topics/enc/events", "text/plain", bytes([0xc0, 0xaf]), 400, "invalid_encoding"],
    [
      "a UTF-8-encoded surrogate (CESU-8)",
      "/topics/enc/events",
      "text/plain",
      bytes([0xed, 0xa0, 0x80]),
      400,
      "invalid_encoding",
    ],
    [
      "invalid bytes in a batch",
      "/events",
      "application/json",
      bytes('{"events":[{"topic":"enc","data":"', [0xff], '"}]}'),
      400,
      "invalid_encoding",
    ],
    [
      "us-ascii declared, UTF-8 sent",
      "/topics/enc/events",
      "text/plain; charset=us-ascii",
      bytes("café"),
      400,
      "invalid_encoding",
    ],
    ["charset=iso-8859-1", "/topics/enc/events", "text/plain; charset=iso-8859-1", bytes(latin1Cafe), 415, "unsupported_charset"],
    [
      "charset=utf-16 on JSON",
      "/topics/enc/events",
      "application/json; charset=utf-16",
      bytes('{"data":1}'),
      415,
      "unsupported_charset",
    ],
    [
      "charset=latin1 on a batch",
      "/events",
      "application/json;charset=latin1",
      bytes('{"events":[{"topic":"enc","data":1}]}'),
      415,
      "unsupported_charset",
    ],
  ];
  for (const [name, path, contentType, body, status, code] of cases) {
    test(name, async () => {
      const before = await lastEventId();
      const res = await publish(path, contentType, body);
      expect(res.status).toBe(status);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe(code);
      expect(error.message.length).toBeGreaterThan(0);
      expect(await lastEventId()).toBe(before);
      expect((await fetch(`${herald.url}/health`)).status).toBe(200);
    });
  }
});

describe("accepted", () => {
  test("utf-8 and us-ascii, however the parameter is spelled", async () => {
    for (const type of [
      "text/plain; charset=UTF-8",
      'text/plain;charset="utf-8"',
      "text/plain; format=flowed; Charset=US-ASCII",
    ]) {
      expect((await publish("/topics/enc.ok/events", type, bytes("plain"))).status).toBe(201);
    }
    expect((await publish("/topics/enc.ok/events", "application/json; charset=utf-8", bytes('{"data":"é😀"}'))).status).toBe(201);
    expect((await history("enc.ok")).map((e) => e.data)).toEqual(["plain", "plain", "plain", "é😀"]);
  });

  test("a leading byte order mark is an encoding signature, dropped; one inside the text is kept", async () => {
    const bom = [0xef, 0xbb, 0xbf];
    expect((await publish("/topics/enc.bom/events", "text/plain", bytes(bom, "hi"))).status).toBe(201);
    expect((await publish("/topics/enc.bom/events", "application/json", bytes(bom, '{"data":"json"}'))).status).toBe(201);
    expect((await publish("/topics/enc.bom/events", "text/plain", bytes("a", bom, "b"))).status).toBe(201);
    expect((await history("enc.bom")).map((e) => e.data)).toEqual(["hi", "json", "a\ufeffb"]);
  });

  test("the per-event limit counts a text body's UTF-8 bytes", async () => {
    const h = await startHerald({ env: { HERALD_MAX_EVENT_BYTES: "8" } });
    try {
      const post = (text: string) => fetch(`${h.url}/topics/t/events`, { method: "POST", body: text });
      expect((await post("éééé")).status).toBe(201);
      expect((await post("éééé!")).status).toBe(413);
    } finally {
      await dispose(h);
    }
  });
});
