// File-system steps the embedded log needs to be crash-safe: fsync a directory (so that a created,
// renamed or deleted name survives power loss) and replace a small file atomically (temp + fsync + rename
// + directory fsync). Invariant: after writeFileAtomically resolves, a crash leaves either the old or the
// new content under the name, never a mix or nothing.

import { open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";

/** Makes the directory's entries (created, renamed, deleted names) durable. */
export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `data`; with `durable` false it skips the fsyncs (tests and benchmarks only). */
export async function writeFileAtomically(path: string, data: string | Uint8Array, durable: boolean): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
  if (durable) await fsyncDirectory(dirname(path));
}
