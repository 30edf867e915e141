// Binlogs to and from an ObjectStore: each write encodes one file (inline or in the binlog pool, see
// binlog-pool.ts) and puts it at its DESIGN §7 path; each read gets a file by path and decodes it.
// Invariants: a write puts nothing when its input is refused (validation happens before any put); the
// ObjectStore's atomic put means a reader sees a whole binlog or none; a file that does not decode is
// Corrupted naming its path.

import type { ObjectStore } from "../../storage/object/object-store.ts";
import { columnByteSize } from "../../common/columns.ts";
import { invalidArgument } from "../../common/errors.ts";
import type { PrimaryKeys } from "./arrow-columns.ts";
import { runCodec, movableBuffer } from "./binlog-pool.ts";
import type { BinlogOptions } from "./binlog-pool.ts";
import type { DecodeTask, EncodeDeltaTask, EncodeInsertTask, EncodeStatsTask } from "./binlog-worker.ts";
import { checkTombstones, decodeDeltaLog, encodeDeltaLog } from "./delta-log.ts";
import type { DecodedDeltaLog, DeltaLogHeader, Tombstones } from "./delta-log.ts";
import { checkInsertBatch, decodeInsertBinlog, encodeInsertBinlog } from "./insert-binlog.ts";
import type { DecodedInsertBinlog, InsertBinlogBatch, InsertBinlogHeader } from "./insert-binlog.ts";
import { formatBinlogPath } from "./paths.ts";
import { crc32Bytes } from "./checksum.ts";
import { buildPrimaryKeyStats, decodeStatsLog, encodeStatsLog } from "./stats-log.ts";
import type { DecodedStatsLog, StatsLogHeader } from "./stats-log.ts";

/** One written file, as the data node commits it to the MetaStore (the CRC too: readers verify it). */
export interface WrittenBinlog {
  path: string;
  sizeBytes: number;
  rowCount: number;
  /** CRC-32 of the whole file, checked before the file is decoded. */
  crc32: number;
}

/** A read: the file's CRC-32 as committed, verified before decoding (always pass it for Arrow files). */
export type ReadBinlogOptions = BinlogOptions & { expectedCrc32?: number };

/** Bytes a batch of keys takes in memory, for the inline-or-worker decision. */
function keysByteSize(keys: PrimaryKeys): number {
  if (keys instanceof BigInt64Array) return keys.byteLength;
  let bytes = 0;
  for (const key of keys) bytes += 16 + key.length * 2;
  return bytes;
}

function checkRoot(root: string): void {
  if (typeof root !== "string") throw invalidArgument("binlog root must be a string");
}

async function put(store: ObjectStore, path: string, bytes: Uint8Array, rowCount: number): Promise<WrittenBinlog> {
  await store.put(path, bytes);
  return { path, sizeBytes: bytes.byteLength, rowCount, crc32: crc32Bytes(bytes) };
}

/** Encodes one field of one batch and puts it at `<root>/insert_log/<collection>/<partition>/<segment>/<field>/<logId>`. */
export async function writeInsertBinlog(store: ObjectStore, root: string, header: InsertBinlogHeader, batch: InsertBinlogBatch, options: BinlogOptions = {}): Promise<WrittenBinlog> {
  checkRoot(root);
  const rowCount = checkInsertBatch(batch);
  const path = formatBinlogPath({ kind: "insert_log", root, ...header });
  const size = columnByteSize(batch.column) + batch.timestamps.byteLength + keysByteSize(batch.primaryKeys);
  const task: EncodeInsertTask = { header, batch, ...(options.limits === undefined ? {} : { limits: options.limits }) };
  const bytes = await runCodec(options, size, () => encodeInsertBinlog(header, batch, options.limits), "encodeInsert", task);
  return put(store, path, bytes, rowCount);
}

export async function readInsertBinlog(store: ObjectStore, path: string, options: ReadBinlogOptions = {}): Promise<DecodedInsertBinlog> {
  const bytes = await store.get(path);
  const expectedCrc32 = options.expectedCrc32;
  const task: DecodeTask = { path, bytes, ...(expectedCrc32 === undefined ? {} : { expectedCrc32 }) };
  return runCodec(options, bytes.byteLength, () => decodeInsertBinlog(path, bytes, expectedCrc32), "decodeInsert", task, movableBuffer(bytes));
}

/** Encodes tombstones and puts them at `<root>/delta_log/<collection>/<partition>/<segment>/<logId>`. */
export async function writeDeltaLog(store: ObjectStore, root: string, header: DeltaLogHeader, tombstones: Tombstones, options: BinlogOptions = {}): Promise<WrittenBinlog> {
  checkRoot(root);
  const rowCount = checkTombstones(tombstones);
  const path = formatBinlogPath({ kind: "delta_log", root, ...header });
  const task: EncodeDeltaTask = { header, tombstones, ...(options.limits === undefined ? {} : { limits: options.limits }) };
  const size = tombstones.timestamps.byteLength + keysByteSize(tombstones.primaryKeys);
  const bytes = await runCodec(options, size, () => encodeDeltaLog(header, tombstones, options.limits), "encodeDelta", task);
  return put(store, path, bytes, rowCount);
}

export async function readDeltaLog(store: ObjectStore, path: string, options: ReadBinlogOptions = {}): Promise<DecodedDeltaLog> {
  const bytes = await store.get(path);
  const expectedCrc32 = options.expectedCrc32;
  const task: DecodeTask = { path, bytes, ...(expectedCrc32 === undefined ? {} : { expectedCrc32 }) };
  return runCodec(options, bytes.byteLength, () => decodeDeltaLog(path, bytes, expectedCrc32), "decodeDelta", task, movableBuffer(bytes));
}

/** Builds the primary-key stats of `primaryKeys` and puts them at `<root>/stats_log/<collection>/<partition>/<segment>/<field>/<logId>`. */
export async function writeStatsLog(store: ObjectStore, root: string, header: StatsLogHeader, primaryKeys: PrimaryKeys, options: BinlogOptions = {}): Promise<WrittenBinlog> {
  checkRoot(root);
  const path = formatBinlogPath({ kind: "stats_log", root, ...header });
  const task: EncodeStatsTask = { header, primaryKeys, ...(options.limits === undefined ? {} : { limits: options.limits }) };
  const bytes = await runCodec(options, keysByteSize(primaryKeys), () => encodeStatsLog(header, buildPrimaryKeyStats(primaryKeys, options.limits)), "encodeStats", task);
  return put(store, path, bytes, primaryKeys.length);
}

/** Stats logs are small (a bloom filter is ~1.8 bytes per row) and decode with one copy: always inline. */
export async function readStatsLog(store: ObjectStore, path: string, options: BinlogOptions = {}): Promise<DecodedStatsLog> {
  const bytes = await store.get(path);
  return decodeStatsLog(path, bytes, options.limits);
}
