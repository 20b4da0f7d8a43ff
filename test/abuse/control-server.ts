/** The probe's control: a bare Bun server answering like /health. Its latency is the loaded machine's, not Herald's. */
const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json({ status: "ok" }) });
console.log(server.port);
