import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dispose, type Herald, startHerald } from "./support/herald";

let herald: Herald;
beforeAll(async () => {
  herald = await startHerald({ env: { HERALD_RETENTION_MAX_EVENTS: "3" } });
});
afterAll(() => dispose(herald));

function post(path: string, body: unknown, key?: string): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key !== undefined) headers["idempotency-key"] = key;
  return fetch(`${herald.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
}

async function count(topic: string): Promise<number> {
  const res = await fetch(`${herald.url}/events?topic=${topic}&limit=1000`);
  return ((await res.json()) as { events: unknown[] }).events.length;
}

describe("Idempotency-Key", () => {
  test("a repeat returns 200 with the original answer and appends nothing", async () => {
    const first = await post("/topics/idem.a/events", { data: { n: 1 } }, "order-1");
    expect(first.status).toBe(201);
    const original = await first.json();
    const again = await post("/topics/idem.a/events", { data: { n: 1 } }, "order-1");
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(original);
    expect(await count("idem.a")).toBe(1);
  });

  test("the same key with a different body is a 422 and appends nothing", async () => {
    await post("/topics/idem.b/events", { data: 1 }, "k");
    const res = await post("/topics/idem.b/events", { data: 2 }, "k");
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("idempotency_conflict");
    expect(await count("idem.b")).toBe(1);
  });

  test("keys are scoped to the topic", async () => {
    expect((await post("/topics/idem.c1/events", { data: 1 }, "shared")).status).toBe(201);
    expect((await post("/topics/idem.c2/events", { data: 1 }, "shared")).status).toBe(201);
  });

  test("bad keys are 400s and write nothing", async () => {
    let reached = 0;
    for (const key of ["", "x".repeat(201), "tab\tkey", "ünïcode"]) {
      const res = await fetch(`${herald.url}/topics/idem.bad/events`, {
        method: "POST",
        headers: [["idempotency-key", key]],
        body: "x",
      }).catch(() => null);
      // Headers fetch itself refuses to send (non-ASCII) cannot reach the server at all.
      if (res === null) continue;
      reached++;
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_idempotency_key");
    }
    expect(reached).toBeGreaterThanOrEqual(3);
    expect(await count("idem.bad")).toBe(0);
  });

  test("concurrent duplicates with the same key append once", async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post("/topics/idem.race/events", { data: "same" }, "race-key")),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201).length).toBe(1);
    expect(statuses.filter((s) => s === 200).length).toBe(19);
    const ids = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as { id: string }).id)));
    expect(ids.size).toBe(1);
    expect(await count("idem.race")).toBe(1);
  });

  test("on a batch the key covers the whole batch", async () => {
    const batch = {
      events: [
        { topic: "idem.batch", data: 1 },
        { topic: "idem.batch2", data: 2 },
      ],
    };
    const first = await post("/events", batch, "batch-1");
    expect(first.status).toBe(201);
    const again = await post("/events", batch, "batch-1");
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    expect((await post("/events", { events: [{ topic: "idem.batch", data: 3 }] }, "batch-1")).status).toBe(422);
    expect(await count("idem.batch")).toBe(1);
  });

  test("bodies are compared as JSON values: key order, spacing and escapes do not matter, values do", async () => {
    const send = (body: string) =>
      fetch(`${herald.url}/topics/idem.json/events`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": "rebuilt" },
        body,
      });
    const first = await send('{"event":"created","data":{"id":7,"items":[{"sku":"a","qty":1}],"note":"A"}}');
    expect(first.status).toBe(201);
    const original = await first.json();
    for (const rebuilt of [
      '{"data":{"note":"A","items":[{"qty":1,"sku":"a"}],"id":7},"event":"created"}',
      '{ "data" : { "items" : [ { "sku" : "a" , "qty" : 1 } ] , "id" : 7 , "note" : "\u0041" } , "event" : "created" }',
    ]) {
      const again = await send(rebuilt);
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual(original);
    }
    for (const changed of [
      '{"event":"created","data":{"id":7,"items":[{"qty":1,"sku":"a"}],"note":"B"}}',
      '{"event":"created","data":{"id":7,"items":[{"sku":"a","qty":1}],"note":"A","extra":null}}',
      '{"event":"created","data":{"id":7,"items":[{"sku":"a","qty":1},{"sku":"b","qty":1}],"note":"A"}}',
      '{"event":"updated","data":{"id":7,"items":[{"sku":"a","qty":1}],"note":"A"}}',
    ]) {
      expect((await send(changed)).status).toBe(422);
    }
    expect(await count("idem.json")).toBe(1);
  });

  test("a rebuilt batch (members in another order) is recognised too", async () => {
    const send = (body: string) =>
      fetch(`${herald.url}/events`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": "rebuilt-batch" },
        body,
      });
    const first = await send('{"events":[{"topic":"idem.rb","data":{"a":1,"b":[2]}},{"topic":"idem.rb","event":"x","data":3}]}');
    expect(first.status).toBe(201);
    const again = await send('{"events":[{"data":{"b":[2],"a":1},"topic":"idem.rb"},{"data":3,"event":"x","topic":"idem.rb"}]}');
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    expect(await count("idem.rb")).toBe(2);
  });

  test("a key lives as long as its event: once retention deletes it, the key appends anew", async () => {
    const first = (await (await post("/topics/idem.ret/events", { data: 0 }, "ret")).json()) as { id: string };
    for (let i = 1; i <= 4; i++) await post("/topics/idem.ret/events", { data: i });
    // HERALD_RETENTION_MAX_EVENTS=3: the first event goes at the next sweep (about every second).
    const deadline = Date.now() + 5000;
    while ((await count("idem.ret")) > 3 && Date.now() < deadline) await Bun.sleep(100);
    const again = await post("/topics/idem.ret/events", { data: 0 }, "ret");
    expect(again.status).toBe(201);
    expect(Number(((await again.json()) as { id: string }).id)).toBeGreaterThan(Number(first.id));
  });
});
