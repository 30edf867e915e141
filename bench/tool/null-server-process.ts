// The null Milvus server (null-server.ts) as a process of its own, started by startNullServer as
// `node --import tsx null-server-process.ts --dim N --rows N`. It serves on a free loopback port, prints
// {"port": N} once serving, and on SIGTERM (or when its parent closes stdin) prints {"calls": {...}},
// the calls it answered by method, and exits.

import { parseArgs } from "node:util";
import { serveNullMilvus } from "./null-server.ts";

const { values } = parseArgs({ options: { dim: { type: "string" }, rows: { type: "string" } }, strict: true });
const dim = Number(values.dim);
const rows = Number(values.rows ?? "1");
if (!Number.isInteger(dim) || dim < 1 || !Number.isInteger(rows) || rows < 1) {
  process.stderr.write("usage: null-server-process.ts --dim N --rows N\n");
  process.exit(2);
}
const { port, server, calls } = await serveNullMilvus({ host: "127.0.0.1", port: 0, dim, rows });
process.stdout.write(`${JSON.stringify({ port })}\n`);

let exiting = false;
const exit = (): void => {
  if (exiting) return;
  exiting = true;
  server.forceShutdown();
  process.stdout.write(`${JSON.stringify({ calls: Object.fromEntries(calls) })}\n`);
  process.exit(0);
};
process.on("SIGTERM", exit);
process.stdin.on("close", exit);
process.stdin.resume();
