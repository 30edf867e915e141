// Runs once per test run: gives the run a scratch root of its own (test/.tmp/run-<pid>) that every
// scratchDir() of the run lives under, and removes the roots of earlier runs whose process is gone.
// Concurrent runs in one checkout therefore never delete each other's files.

import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const scratchBase = join(import.meta.dirname, ".tmp");

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export default function setup(): () => void {
  mkdirSync(scratchBase, { recursive: true });
  for (const entry of readdirSync(scratchBase)) {
    const match = /^run-(\d+)$/.exec(entry);
    if (match === null) {
      rmSync(join(scratchBase, entry), { recursive: true, force: true });
      continue;
    }
    if (!isAlive(Number(match[1]))) rmSync(join(scratchBase, entry), { recursive: true, force: true });
  }
  const root = join(scratchBase, `run-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  process.env.VELA_SCRATCH_ROOT = root;
  return () => {
    if (existsSync(root)) rmSync(root, { recursive: true, force: true });
  };
}
