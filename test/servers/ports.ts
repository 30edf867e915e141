// Helpers for tests that start real servers: free loopback ports and scratch directories under the
// run's own scratch root (test/.tmp/run-<pid>, see test/global-setup.ts).
import { mkdtempSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { freeLoopbackPort } from "../../bench/tool/vela-server.ts";

const scratchRoot = process.env.VELA_SCRATCH_ROOT ?? join(import.meta.dirname, "..", ".tmp", `run-${process.pid}`);

/** A TCP port on 127.0.0.1 that was free a moment ago (the load generator's helper, shared). */
export const freePort = freeLoopbackPort;

/** A new empty directory for one test or server. */
export function scratchDir(label: string): string {
  mkdirSync(scratchRoot, { recursive: true });
  return mkdtempSync(join(scratchRoot, `${label}-`));
}
