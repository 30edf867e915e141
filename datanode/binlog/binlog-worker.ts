// The binlog codec worker: the module each thread of the binlog pool runs (binlog-pool.ts), so that
// encoding and decoding large batches never runs on the event loop. Invariant: it serves exactly the
// pure codecs, with the same results and errors as calling them inline; decoded buffers are fresh and
// moved back, never copied.

import type { Transferable } from "node:worker_threads";
import type { BinlogLimits } from "../../common/config.ts";
import { serveWorkerTasks, withTransfer } from "../../common/worker-serve.ts";
import type { PrimaryKeys } from "./arrow-columns.ts";
import { decodeDeltaLog, encodeDeltaLog } from "./delta-log.ts";
import type { DeltaLogHeader, Tombstones } from "./delta-log.ts";
import { decodeInsertBinlog, encodeInsertBinlog } from "./insert-binlog.ts";
import type { InsertBinlogBatch, InsertBinlogHeader } from "./insert-binlog.ts";
import { buildPrimaryKeyStats, encodeStatsLog } from "./stats-log.ts";
import type { StatsLogHeader } from "./stats-log.ts";

export interface EncodeInsertTask { header: InsertBinlogHeader; batch: InsertBinlogBatch; limits?: Partial<BinlogLimits> }
export interface EncodeDeltaTask { header: DeltaLogHeader; tombstones: Tombstones; limits?: Partial<BinlogLimits> }
export interface EncodeStatsTask { header: StatsLogHeader; primaryKeys: PrimaryKeys; limits?: Partial<BinlogLimits> }
export interface DecodeTask { path: string; bytes: Uint8Array; expectedCrc32?: number }

function ownBuffer(array: unknown, out: Transferable[]): void {
  if (ArrayBuffer.isView(array) && array.buffer instanceof ArrayBuffer && array.byteOffset === 0 && array.byteLength === array.buffer.byteLength && !out.includes(array.buffer)) {
    out.push(array.buffer);
  }
}

function movedBytes(bytes: Uint8Array): unknown {
  const transfer: Transferable[] = [];
  ownBuffer(bytes, transfer);
  return withTransfer(bytes, transfer);
}

serveWorkerTasks({
  encodeInsert: (payload) => {
    const { header, batch, limits } = payload as EncodeInsertTask;
    return movedBytes(encodeInsertBinlog(header, batch, limits));
  },
  decodeInsert: (payload) => {
    const { path, bytes, expectedCrc32 } = payload as DecodeTask;
    const decoded = decodeInsertBinlog(path, bytes, expectedCrc32);
    const transfer: Transferable[] = [];
    for (const array of [decoded.timestamps, decoded.primaryKeys, decoded.column.values, decoded.column.valid]) ownBuffer(array, transfer);
    return withTransfer(decoded, transfer);
  },
  encodeDelta: (payload) => {
    const { header, tombstones, limits } = payload as EncodeDeltaTask;
    return movedBytes(encodeDeltaLog(header, tombstones, limits));
  },
  decodeDelta: (payload) => {
    const { path, bytes, expectedCrc32 } = payload as DecodeTask;
    const decoded = decodeDeltaLog(path, bytes, expectedCrc32);
    const transfer: Transferable[] = [];
    for (const array of [decoded.timestamps, decoded.primaryKeys]) ownBuffer(array, transfer);
    return withTransfer(decoded, transfer);
  },
  encodeStats: (payload) => {
    const { header, primaryKeys, limits } = payload as EncodeStatsTask;
    return movedBytes(encodeStatsLog(header, buildPrimaryKeyStats(primaryKeys, limits)));
  },
});
