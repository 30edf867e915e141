// Helpers for tests that start real servers: free loopback ports and scratch directories under the
// run's own scratch root (test/.tmp/run-<pid>, see test/global-setup.ts).
import { mkdtempSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

const scratchRoot = process.env.VELA_SCRATCH_ROOT ?? join(import.meta.dirname, "..", ".tmp", `run-${process.pid}`);

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A new empty directory for one test or server. */
export function scratchDir(label: string): string {
  mkdirSync(scratchRoot, { recursive: true });
  return mkdtempSync(join(scratchRoot, `${label}-`));
}
