/** A typed Herald client: types generated from the hub's /openapi.json by openapi-typescript, calls made by openapi-fetch. */
import createClient from "openapi-fetch";
import type { components, paths } from "./herald";

type EventRecord = components["schemas"]["EventRecord"];
type HistoryPage = components["schemas"]["HistoryPage"];

const baseUrl = process.argv[2] ?? process.env.HERALD_URL ?? "http://localhost:8080";
const client = createClient<paths>({ baseUrl });

/** Every error has one shape, typed as ErrorResponse: one place to turn it into an exception. */
function check<T>(result: { data?: T; error?: components["schemas"]["ErrorResponse"]; response: Response }): T {
  if (result.error) throw new Error(`${result.response.status} ${result.error.error.code}: ${result.error.error.message}`);
  if (result.data === undefined) throw new Error(`${result.response.status} with no body`);
  return result.data;
}

// One event: path parameters and the JSON body are checked against the document at compile time.
const created = check(
  await client.POST("/topics/{topic}/events", {
    params: { path: { topic: "orders.eu" } },
    body: { data: { order: 1042, total: 42.5 }, event: "created" },
  }),
);
console.log(`published ${created.id} to ${created.topic} (${created.event})`);

// A batch, made safe to retry by an Idempotency-Key: the repeat appends nothing and answers with the same ids.
const batch = {
  events: [
    { topic: "orders.eu", event: "paid", data: { order: 1042 } },
    { topic: "users", event: "joined", data: { id: 7, name: "Ada" } },
  ],
};
const first = check(await client.POST("/events", { body: batch, params: { header: { "Idempotency-Key": "example-batch-1" } } }));
const again = await client.POST("/events", { body: batch, params: { header: { "Idempotency-Key": "example-batch-1" } } });
console.log(
  `batch ${first.events.map((e) => e.id).join(",")}; retried: ${again.response.status}, same ids: ${
    check(again)
      .events.map((e) => e.id)
      .join(",") === first.events.map((e) => e.id).join(",")
  }`,
);

// A refusal comes back as a typed ErrorResponse, not an exception.
const refused = await client.POST("/topics/{topic}/events", { params: { path: { topic: "not a topic" } }, body: { data: 1 } });
console.log(`refused: ${refused.response.status} ${refused.error?.error.code}`);

// History, paged: `next` goes back as `after` until a partial page says null.
const history: EventRecord[] = [];
let after: string | undefined = "0";
while (after !== undefined) {
  const page: HistoryPage = check(
    await client.GET("/events", { params: { query: { topic: ["orders.*", "users"], after, limit: 2 } } }),
  );
  history.push(...page.events);
  after = page.next ?? undefined;
}
console.log(`history: ${history.map((e) => `${e.id}:${e.topic}:${e.event ?? "-"}`).join(" ")}`);

const { topics } = check(await client.GET("/topics"));
for (const t of topics) console.log(`topic ${t.topic}: ${t.events} events, last ${t.lastId}`);
