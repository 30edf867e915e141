// A segment's binlogs as a whole: writeSegmentBinlogs turns one flushed batch of a segment (columns,
// row timestamps, optional tombstones) into one insert binlog per field, one stats log for the primary
// key and one delta log, and returns the paths with sizes for the data node to commit to the MetaStore
// (with the channel checkpoint, in one transaction). readSegmentBinlogs reads a committed path list
// back. Invariants: bad input is refused (InvalidArgument) before anything is put; if a put fails
// midway the files already written are unreferenced (no commit names them) and GC removes them; a read
// returns data only when every file decodes and every field of every batch agrees on row count, row
// timestamps and primary keys — otherwise Corrupted naming the file that disagrees.

import type { Column } from "../../common/columns.ts";
import { concatColumns } from "../../common/columns.ts";
import { errorMessage, invalidArgument } from "../../common/errors.ts";
import { DataType } from "../../common/schema.ts";
import type { ObjectStore } from "../../storage/object/object-store.ts";
import { corrupted } from "./arrow-columns.ts";
import type { PrimaryKeys } from "./arrow-columns.ts";
import { readDeltaLog, readInsertBinlog, readStatsLog, writeDeltaLog, writeInsertBinlog, writeStatsLog } from "./binlog-io.ts";
import type { WrittenBinlog } from "./binlog-io.ts";
import type { BinlogOptions } from "./binlog-pool.ts";
import { checkTombstones } from "./delta-log.ts";
import type { Tombstones } from "./delta-log.ts";
import { checkInsertBatch } from "./insert-binlog.ts";
import type { DecodedInsertBinlog } from "./insert-binlog.ts";
import { parseBinlogPath } from "./paths.ts";
import type { BinlogLocation } from "./paths.ts";
import type { DecodedStatsLog } from "./stats-log.ts";

export interface SegmentBinlogMeta {
  /** Key prefix of all binlogs in the store ("" for none). */
  root: string;
  collectionId: bigint;
  partitionId: bigint;
  segmentId: bigint;
  primaryKeyFieldId: number;
  /** Allocated by the data node for this flush; names every file it writes (one per field and kind). */
  logId: bigint;
}

export interface SegmentWriteOptions extends BinlogOptions {
  /** Deletes of the segment's keys to flush with this batch (written as one delta log when non-empty). */
  tombstones?: Tombstones;
}

export interface WrittenSegmentBinlogs {
  rowCount: number;
  insertLogs: (WrittenBinlog & { fieldId: number })[];
  statsLogs: (WrittenBinlog & { fieldId: number })[];
  deltaLogs: WrittenBinlog[];
}

/** Every path of a written segment, for readSegmentBinlogs. */
export function binlogPaths(written: WrittenSegmentBinlogs): string[] {
  return [...written.insertLogs, ...written.statsLogs, ...written.deltaLogs].map((file) => file.path);
}

/** At most `concurrency` of the jobs at once, results in order. */
async function inBatches<T, R>(items: readonly T[], concurrency: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await job(items[index] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}

export async function writeSegmentBinlogs(
  store: ObjectStore,
  meta: SegmentBinlogMeta,
  columns: readonly Column[],
  timestamps: BigUint64Array,
  options: SegmentWriteOptions = {},
): Promise<WrittenSegmentBinlogs> {
  if (!Array.isArray(columns) || columns.length === 0) throw invalidArgument("writeSegmentBinlogs: no columns");
  if (!(timestamps instanceof BigUint64Array)) throw invalidArgument("writeSegmentBinlogs: row timestamps must be a BigUint64Array");
  const seen = new Set<number>();
  for (const column of columns) {
    if (seen.has(column.fieldId)) throw invalidArgument(`writeSegmentBinlogs: field ${column.fieldId} appears twice`);
    seen.add(column.fieldId);
  }
  const pkColumn = columns.find((column) => column.fieldId === meta.primaryKeyFieldId);
  if (pkColumn === undefined) throw invalidArgument(`writeSegmentBinlogs: no column for the primary key field ${meta.primaryKeyFieldId}`);
  if (pkColumn.type !== DataType.Int64 && pkColumn.type !== DataType.VarChar) {
    throw invalidArgument(`writeSegmentBinlogs: primary key field ${pkColumn.fieldId} must be Int64 or VarChar, not type ${String(pkColumn.type)}`);
  }
  if (pkColumn.valid !== undefined && pkColumn.valid.includes(0)) throw invalidArgument(`writeSegmentBinlogs: primary key field ${pkColumn.fieldId} holds nulls`);
  const primaryKeys = pkColumn.values as PrimaryKeys;
  const rowCount = timestamps.length;
  for (const column of columns) {
    // Same checks the per-file writes make, all before the first put.
    checkInsertBatch({ timestamps, primaryKeys, column });
  }
  if (options.tombstones !== undefined) {
    checkTombstones(options.tombstones);
    if ((options.tombstones.primaryKeys instanceof BigInt64Array) !== (primaryKeys instanceof BigInt64Array)) {
      throw invalidArgument("writeSegmentBinlogs: tombstone keys and primary keys have different types");
    }
  }
  const ids = { collectionId: meta.collectionId, partitionId: meta.partitionId, segmentId: meta.segmentId, logId: meta.logId };
  const concurrency = options.pool?.workerCount ?? 1;
  const insertLogs = await inBatches(columns, concurrency, async (column) => ({
    fieldId: column.fieldId,
    ...(await writeInsertBinlog(store, meta.root, { ...ids, fieldId: column.fieldId }, { timestamps, primaryKeys, column }, options)),
  }));
  const statsLog = { fieldId: pkColumn.fieldId, ...(await writeStatsLog(store, meta.root, { ...ids, fieldId: pkColumn.fieldId }, primaryKeys, options)) };
  const deltaLogs: WrittenBinlog[] = [];
  if (options.tombstones !== undefined && options.tombstones.timestamps.length > 0) {
    deltaLogs.push(await writeDeltaLog(store, meta.root, ids, options.tombstones, options));
  }
  return { rowCount, insertLogs, statsLogs: [statsLog], deltaLogs };
}

export interface SegmentBinlogs {
  rowCount: number;
  /** Row timestamps, in insert-log order (log id ascending). */
  timestamps: BigUint64Array;
  primaryKeys: PrimaryKeys;
  /** One column per field, rows in the same order as timestamps. */
  columns: Column[];
  tombstones: Tombstones;
  stats: DecodedStatsLog[];
}

function concatBigUint64(parts: readonly BigUint64Array[]): BigUint64Array {
  const out = new BigUint64Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function concatKeys(parts: readonly PrimaryKeys[], int64: boolean): PrimaryKeys {
  if (!int64) return (parts as string[][]).flat();
  const out = new BigInt64Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts as BigInt64Array[]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The batches of one field, end to end (Corrupted naming `path` when they disagree on type or dim). */
function concatFieldBatches(path: string, parts: readonly Column[]): Column {
  try {
    return concatColumns(parts);
  } catch (error) {
    throw corrupted(path, errorMessage(error));
  }
}

function sameTimestamps(a: BigUint64Array, b: BigUint64Array): boolean {
  if (a.length !== b.length) return false;
  for (let row = 0; row < a.length; row++) if (a[row] !== b[row]) return false;
  return true;
}

function sameKeys(a: PrimaryKeys, b: PrimaryKeys): boolean {
  if (a.length !== b.length || (a instanceof BigInt64Array) !== (b instanceof BigInt64Array)) return false;
  for (let row = 0; row < a.length; row++) if (a[row] !== b[row]) return false;
  return true;
}

/**
 * Reads a segment from the paths committed for it (any mix of insert, delta and stats logs of one
 * segment, any number of flushes). InvalidArgument when a path is not a binlog path or names another
 * segment; NotFound when a file is missing; Corrupted naming the file when one does not decode or
 * the fields of a batch disagree.
 */
export async function readSegmentBinlogs(store: ObjectStore, paths: readonly (string | { path: string; crc32?: number })[], options: BinlogOptions = {}): Promise<SegmentBinlogs> {
  const located = paths.map((entry) => {
    const path = typeof entry === "string" ? entry : entry.path;
    const crc32 = typeof entry === "string" ? undefined : entry.crc32;
    return { path, location: parseBinlogPath(path), crc32 };
  });
  const first = located[0];
  if (first === undefined) throw invalidArgument("readSegmentBinlogs: no paths");
  const sameSegment = (location: BinlogLocation): boolean =>
    location.root === first.location.root && location.collectionId === first.location.collectionId && location.partitionId === first.location.partitionId && location.segmentId === first.location.segmentId;
  for (const { path, location } of located) {
    if (!sameSegment(location)) throw invalidArgument(`readSegmentBinlogs: ${path} belongs to another segment than ${first.path}`);
  }
  const byLogId = (a: { location: BinlogLocation }, b: { location: BinlogLocation }): number =>
    a.location.logId < b.location.logId ? -1 : a.location.logId > b.location.logId ? 1 : (a.location.fieldId ?? 0) - (b.location.fieldId ?? 0);
  const insertPaths = located.filter((entry) => entry.location.kind === "insert_log").sort(byLogId);
  const deltaPaths = located.filter((entry) => entry.location.kind === "delta_log").sort(byLogId);
  const statsPaths = located.filter((entry) => entry.location.kind === "stats_log").sort(byLogId);
  if (insertPaths.length === 0) throw invalidArgument("readSegmentBinlogs: no insert_log paths");
  const concurrency = options.pool?.workerCount ?? 2;

  const inserts = await inBatches(insertPaths, concurrency, async ({ path, crc32 }) => ({ path, decoded: await readInsertBinlog(store, path, { ...options, ...(crc32 === undefined ? {} : { expectedCrc32: crc32 }) }) }));
  // Group by flush (log id); every flush must have the same fields as the first, all agreeing.
  const batches = new Map<bigint, { path: string; decoded: DecodedInsertBinlog }[]>();
  for (const entry of inserts) {
    const logId = entry.decoded.header.logId;
    const batch = batches.get(logId) ?? [];
    batch.push(entry);
    batches.set(logId, batch);
  }
  const fieldIds = (batches.values().next().value ?? []).map((entry) => entry.decoded.header.fieldId);
  const timestampParts: BigUint64Array[] = [];
  const keyParts: PrimaryKeys[] = [];
  const columnParts = new Map<number, Column[]>(fieldIds.map((fieldId) => [fieldId, []]));
  for (const [logId, batch] of batches) {
    const reference = batch[0] as { path: string; decoded: DecodedInsertBinlog };
    const batchFields = batch.map((entry) => entry.decoded.header.fieldId);
    if (batchFields.join(",") !== fieldIds.join(",")) {
      throw corrupted(reference.path, `flush ${logId} has binlogs for fields [${batchFields.join(", ")}], other flushes of the segment for [${fieldIds.join(", ")}]`);
    }
    for (const entry of batch) {
      const { decoded } = entry;
      if (decoded.rowCount !== reference.decoded.rowCount) {
        throw corrupted(entry.path, `${decoded.rowCount} rows, but ${reference.path} of the same flush has ${reference.decoded.rowCount}`);
      }
      if (!sameTimestamps(decoded.timestamps, reference.decoded.timestamps)) throw corrupted(entry.path, `row timestamps differ from ${reference.path} of the same flush`);
      if (!sameKeys(decoded.primaryKeys, reference.decoded.primaryKeys)) throw corrupted(entry.path, `primary keys differ from ${reference.path} of the same flush`);
      columnParts.get(decoded.header.fieldId)?.push(decoded.column);
    }
    timestampParts.push(reference.decoded.timestamps);
    keyParts.push(reference.decoded.primaryKeys);
  }
  const int64Keys = keyParts[0] instanceof BigInt64Array;
  if (keyParts.some((part) => (part instanceof BigInt64Array) !== int64Keys)) throw corrupted((insertPaths[0] as { path: string }).path, "primary key type changes between flushes");
  const columns = fieldIds.map((fieldId) => concatFieldBatches(insertPaths.find((entry) => entry.location.fieldId === fieldId)?.path ?? first.path, columnParts.get(fieldId) ?? []));

  const deltas = await inBatches(deltaPaths, concurrency, ({ path, crc32 }) => readDeltaLog(store, path, { ...options, ...(crc32 === undefined ? {} : { expectedCrc32: crc32 }) }));
  for (const [index, delta] of deltas.entries()) {
    if ((delta.primaryKeys instanceof BigInt64Array) !== int64Keys) throw corrupted((deltaPaths[index] as { path: string }).path, "tombstone keys are not of the segment's primary key type");
  }
  const stats = await inBatches(statsPaths, concurrency, ({ path }) => readStatsLog(store, path, options));
  const rowCount = timestampParts.reduce((sum, part) => sum + part.length, 0);
  return {
    rowCount,
    timestamps: concatBigUint64(timestampParts),
    primaryKeys: concatKeys(keyParts, int64Keys),
    columns,
    tombstones: { primaryKeys: concatKeys(deltas.map((delta) => delta.primaryKeys), int64Keys), timestamps: concatBigUint64(deltas.map((delta) => delta.timestamps)) },
    stats,
  };
}
