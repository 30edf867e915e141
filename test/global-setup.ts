// Runs once before the whole suite: prepares the scratch directory every test writes under, so that
// a run never touches the user's data and a new run starts clean.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";

export default function setup(): void {
  const scratch = join(import.meta.dirname, ".tmp");
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
}
