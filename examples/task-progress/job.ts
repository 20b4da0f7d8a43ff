/** A long job that reports its progress to a Herald topic: a "progress" event per step, then "done". */
export {}; // a module, for top-level await

const [hub = "http://localhost:8080", job = `job-${Date.now()}`, steps = 20, delayMs = 250] = process.argv
  .slice(2)
  .map((arg, i) => (i >= 2 ? Number(arg) : arg)) as [string?, string?, number?, number?];
const topic = `jobs.${job}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Publishes one report. The Idempotency-Key makes a retry safe: if the hub committed the event but the answer was
 * lost, the retry appends nothing and gets the original id back.
 */
async function report(event: "progress" | "done", data: Record<string, unknown>, key: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${hub}/topics/${topic}/events`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": key },
      body: JSON.stringify({ event, data }),
    }).catch((error: unknown) => new Error(`hub unreachable: ${error}`));
    let failure: string;
    if (res instanceof Response) {
      const body = (await res.json()) as { id?: string; error?: { code: string; message: string } };
      if (res.ok && body.id) return body.id;
      failure = `${res.status} ${body.error?.code}: ${body.error?.message}`;
      if (res.status < 500) throw new Error(failure); // bad input: a retry would not help
    } else {
      failure = res.message;
    }
    if (attempt === 5) throw new Error(`giving up on ${key}: ${failure}`);
    await sleep(200 * attempt);
  }
}

const started = Date.now();
for (let step = 1; step <= steps; step++) {
  await sleep(delayMs); // the actual work would go here
  const percent = Math.round((step * 100) / steps);
  await report("progress", { step, steps, percent, message: `step ${step} of ${steps}` }, `${job}:${step}`);
}
const id = await report("done", { steps, seconds: (Date.now() - started) / 1000 }, `${job}:done`);
console.log(`job ${job}: ${steps} steps reported to ${topic}, done as event ${id}`);
