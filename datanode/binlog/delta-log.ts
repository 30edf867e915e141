// Delta logs: the tombstones of one segment from one flush, as an Arrow IPC file with two columns —
// `pk` (Int64 or Utf8) and `ts` (the delete's timestamp, Uint64) — one row per deleted key, plus the
// same kind of metadata and per-column CRC-32 as insert binlogs (arrow-file.ts). Pure codec.
// Invariants: decode(encode(x)) = x; a file decodes only if metadata, path, columns and checksums agree.

import { binlogDefaults } from "../../common/config.ts";
import type { BinlogLimits } from "../../common/config.ts";
import { invalidArgument } from "../../common/errors.ts";
import { isDataType } from "../../common/schema.ts";
import { corrupted, decodePrimaryKeys, decodeTimestamps, encodePrimaryKeys, encodeTimestamps, primaryKeyType } from "./arrow-columns.ts";
import type { PrimaryKeys } from "./arrow-columns.ts";
import { ArrowFileReader, BINLOG_FORMAT_VERSION, checksumText, encodeArrowFile, metadataKeys, timestampRange } from "./arrow-file.ts";
import { parseBinlogPath } from "./paths.ts";
import { verifyFileChecksum } from "./checksum.ts";

export const deltaColumnNames = { primaryKey: "pk", timestamp: "ts" } as const;

export interface DeltaLogHeader {
  collectionId: bigint;
  partitionId: bigint;
  segmentId: bigint;
  logId: bigint;
}

/** Deleted primary keys and, row for row, the timestamp of each delete. */
export interface Tombstones {
  primaryKeys: PrimaryKeys;
  timestamps: BigUint64Array;
}

export interface DecodedDeltaLog extends Tombstones {
  header: DeltaLogHeader;
  rowCount: number;
  timestampMin: bigint;
  timestampMax: bigint;
}

export function checkTombstones(tombstones: Tombstones): number {
  if (typeof tombstones !== "object" || tombstones === null) throw invalidArgument("tombstones must be an object");
  primaryKeyType(tombstones.primaryKeys);
  if (!(tombstones.timestamps instanceof BigUint64Array)) throw invalidArgument("tombstone timestamps must be a BigUint64Array");
  if (tombstones.primaryKeys.length !== tombstones.timestamps.length) {
    throw invalidArgument(`tombstones: ${tombstones.primaryKeys.length} primary keys but ${tombstones.timestamps.length} timestamps`);
  }
  return tombstones.timestamps.length;
}

export function encodeDeltaLog(header: DeltaLogHeader, tombstones: Tombstones, limitOverrides?: Partial<BinlogLimits>): Uint8Array {
  const limits = { ...binlogDefaults, ...(limitOverrides ?? {}) };
  const rowCount = checkTombstones(tombstones);
  const arrays = [encodePrimaryKeys(deltaColumnNames.primaryKey, tombstones.primaryKeys, limits), encodeTimestamps(deltaColumnNames.timestamp, tombstones.timestamps)];
  const range = timestampRange(tombstones.timestamps);
  const metadata = new Map<string, string>([
    [metadataKeys.kind, "delta_log"],
    [metadataKeys.version, String(BINLOG_FORMAT_VERSION)],
    [metadataKeys.collectionId, String(header.collectionId)],
    [metadataKeys.partitionId, String(header.partitionId)],
    [metadataKeys.segmentId, String(header.segmentId)],
    [metadataKeys.logId, String(header.logId)],
    [metadataKeys.primaryKeyType, String(primaryKeyType(tombstones.primaryKeys))],
    [metadataKeys.rowCount, String(rowCount)],
    [metadataKeys.timestampMin, String(range.min)],
    [metadataKeys.timestampMax, String(range.max)],
  ]);
  for (const array of arrays) metadata.set(metadataKeys.checksumPrefix + array.field.name, checksumText(array.checksum));
  return encodeArrowFile(arrays, metadata, rowCount);
}

export function decodeDeltaLog(path: string, bytes: Uint8Array, expectedCrc32?: number): DecodedDeltaLog {
  const location = parseBinlogPath(path);
  if (location.kind !== "delta_log") throw invalidArgument(`${path} is a ${location.kind} path, not a delta_log`);
  verifyFileChecksum(path, bytes, expectedCrc32);
  const file = new ArrowFileReader(path, bytes);
  if (file.string(metadataKeys.kind) !== "delta_log") throw corrupted(path, `it is a ${file.string(metadataKeys.kind)} file, not a delta_log`);
  file.expectId(metadataKeys.collectionId, location.collectionId);
  file.expectId(metadataKeys.partitionId, location.partitionId);
  file.expectId(metadataKeys.segmentId, location.segmentId);
  file.expectId(metadataKeys.logId, location.logId);
  const rowCount = file.integer(metadataKeys.rowCount);
  if (file.table.numRows !== rowCount) throw corrupted(path, `metadata says ${rowCount} rows, the file holds ${file.table.numRows}`);
  const pkType = file.integer(metadataKeys.primaryKeyType);
  if (!isDataType(pkType)) throw corrupted(path, `unknown primary key type ${pkType}`);
  const pk = decodePrimaryKeys(path, file.column(deltaColumnNames.primaryKey), deltaColumnNames.primaryKey, rowCount, pkType);
  file.verifyChecksum(deltaColumnNames.primaryKey, pk.checksum);
  const ts = decodeTimestamps(path, file.column(deltaColumnNames.timestamp), deltaColumnNames.timestamp, rowCount);
  file.verifyChecksum(deltaColumnNames.timestamp, ts.checksum);
  const range = timestampRange(ts.timestamps);
  if (String(range.min) !== file.string(metadataKeys.timestampMin) || String(range.max) !== file.string(metadataKeys.timestampMax)) {
    throw corrupted(path, "timestamp range in the metadata does not match the rows");
  }
  return {
    header: { collectionId: location.collectionId, partitionId: location.partitionId, segmentId: location.segmentId, logId: location.logId },
    rowCount,
    timestampMin: range.min,
    timestampMax: range.max,
    primaryKeys: pk.keys,
    timestamps: ts.timestamps,
  };
}
