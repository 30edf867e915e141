// Where binlog encoding and decoding run: on the calling thread for small batches, in a worker of the
// binlog pool (binlog-worker.ts) for batches above binlogDefaults.inlineCodecBytesMax. Invariant: with
// a pool given, no encode or decode of more than inlineCodecBytesMax bytes runs on the event loop; the
// result and the errors are the same either way. Without a pool (tools, tests) everything runs inline.

import type { Transferable } from "node:worker_threads";
import { binlogDefaults, resolveLimits } from "../../common/config.ts";
import type { BinlogLimits, WorkerPoolLimits } from "../../common/config.ts";
import { WorkerPool } from "../../common/worker-pool.ts";

export const binlogWorkerFile = new URL("./binlog-worker.ts", import.meta.url);

/** A pool of binlog codec workers; the data node owns one and closes it when it stops. */
export function createBinlogPool(limits?: Partial<WorkerPoolLimits>): WorkerPool {
  return new WorkerPool({ workerFile: binlogWorkerFile, name: "binlog codec pool", ...(limits === undefined ? {} : { limits }) });
}

export interface BinlogOptions {
  /** Runs large encodes and decodes off the event loop (see the header). */
  pool?: WorkerPool;
  limits?: Partial<BinlogLimits>;
}

export function resolveBinlogLimits(overrides: Partial<BinlogLimits> | undefined): BinlogLimits {
  return resolveLimits(binlogDefaults as BinlogLimits, overrides, "binlog");
}

/**
 * Runs `inline()` here when `sizeBytes` is within the bound or no pool is given, else task `name` with
 * `payload` in the pool.
 */
export async function runCodec<T>(options: BinlogOptions, sizeBytes: number, inline: () => T, name: string, payload: unknown, transfer: readonly Transferable[] = []): Promise<T> {
  const limits = resolveBinlogLimits(options.limits);
  if (options.pool === undefined || sizeBytes <= limits.inlineCodecBytesMax) return inline();
  return options.pool.run<T>(name, payload, transfer);
}

/** The buffer under `bytes` when it can be moved to a worker (it is the whole buffer, not shared). */
export function movableBuffer(bytes: Uint8Array): Transferable[] {
  const buffer = bytes.buffer;
  return buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength ? [buffer] : [];
}
