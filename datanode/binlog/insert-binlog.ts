// Insert binlogs: one Arrow IPC file per field of one flushed batch of a segment, holding three
// columns — `ts` (row timestamps, Uint64), `pk` (primary keys, Int64 or Utf8) and `value` (the field)
// — and schema metadata naming the collection, partition, segment, field, log id, data type, row
// count and timestamp range, plus a CRC-32 per column. This module is the pure codec (bytes in, bytes
// out), so it can run in a worker. Invariants: decode(encode(x)) = x; a file decodes only if its
// metadata, the path it was read from, its columns and its checksums all agree; bad input is refused
// with InvalidArgument (or LimitExceeded) before anything is written.

import { binlogDefaults } from "../../common/config.ts";
import type { BinlogLimits } from "../../common/config.ts";
import type { Column } from "../../common/columns.ts";
import { columnRowCount } from "../../common/columns.ts";
import { invalidArgument } from "../../common/errors.ts";
import { DataType, dataTypeName, isDataType } from "../../common/schema.ts";
import {
  corrupted,
  decodeColumn,
  decodePrimaryKeys,
  decodeTimestamps,
  encodeColumn,
  encodePrimaryKeys,
  encodeTimestamps,
  primaryKeyType,
  withField,
} from "./arrow-columns.ts";
import type { PrimaryKeys } from "./arrow-columns.ts";
import { ArrowFileReader, BINLOG_FORMAT_VERSION, checksumText, encodeArrowFile, metadataKeys, timestampRange } from "./arrow-file.ts";
import { parseBinlogPath } from "./paths.ts";
import { verifyFileChecksum } from "./checksum.ts";

export const insertColumnNames = { timestamp: "ts", primaryKey: "pk", value: "value" } as const;

/** Which segment and field a binlog belongs to. */
export interface InsertBinlogHeader {
  collectionId: bigint;
  partitionId: bigint;
  segmentId: bigint;
  fieldId: number;
  logId: bigint;
}

/** The rows of one field of one batch: row timestamps, primary keys and the field's column. */
export interface InsertBinlogBatch {
  timestamps: BigUint64Array;
  primaryKeys: PrimaryKeys;
  column: Column;
}

export interface DecodedInsertBinlog extends InsertBinlogBatch {
  header: InsertBinlogHeader;
  rowCount: number;
  timestampMin: bigint;
  timestampMax: bigint;
}

function resolve(limits: Partial<BinlogLimits> | undefined): BinlogLimits {
  return { ...binlogDefaults, ...(limits ?? {}) };
}

/** The batch's row count, after checking that timestamps, keys, values and validity all have it. */
export function checkInsertBatch(batch: InsertBinlogBatch): number {
  if (typeof batch !== "object" || batch === null) throw invalidArgument("insert binlog batch must be an object");
  const { timestamps, primaryKeys, column } = batch;
  if (!(timestamps instanceof BigUint64Array)) throw invalidArgument("insert binlog: row timestamps must be a BigUint64Array");
  primaryKeyType(primaryKeys);
  if (typeof column !== "object" || column === null) throw invalidArgument("insert binlog: column is missing");
  const type = (column as { type: unknown }).type;
  if (typeof type !== "number" || !isDataType(type)) throw invalidArgument(`insert binlog: field ${column.fieldId} has unknown data type ${String(type)}`);
  if (!Number.isSafeInteger(column.fieldId) || column.fieldId < 0) throw invalidArgument(`insert binlog: field id ${String(column.fieldId)} is not a non-negative integer`);
  if (column.type === DataType.FloatVector && (!Number.isInteger(column.dim) || column.dim < 1)) {
    throw invalidArgument(`insert binlog: vector field ${column.fieldId} has dim ${String(column.dim)}`);
  }
  const rowCount = timestamps.length;
  const valuesRows = columnRowCount(column);
  if (primaryKeys.length !== rowCount || valuesRows !== rowCount) {
    throw invalidArgument(`insert binlog of field ${column.fieldId}: ${rowCount} timestamps, ${primaryKeys.length} primary keys and ${valuesRows} values; every column must have the same row count`);
  }
  return rowCount;
}

export function encodeInsertBinlog(header: InsertBinlogHeader, batch: InsertBinlogBatch, limitOverrides?: Partial<BinlogLimits>): Uint8Array {
  const limits = resolve(limitOverrides);
  const rowCount = checkInsertBatch(batch);
  if (header.fieldId !== batch.column.fieldId) throw invalidArgument(`insert binlog header names field ${header.fieldId}, the column is field ${batch.column.fieldId}`);
  const { column } = batch;
  // apache-arrow's IPC writer garbles a column whose buffer another column of the batch already uses
  // (the primary key field's own binlog): give the value column its own copy.
  const keysBuffer = batch.primaryKeys instanceof BigInt64Array ? batch.primaryKeys.buffer : undefined;
  const valueColumn = ArrayBuffer.isView(column.values) && column.values.buffer === keysBuffer ? ({ ...column, values: column.values.slice() } as Column) : column;
  const arrays = [
    encodeTimestamps(insertColumnNames.timestamp, batch.timestamps),
    encodePrimaryKeys(insertColumnNames.primaryKey, batch.primaryKeys, limits),
    encodeColumn(insertColumnNames.value, valueColumn, column.valid, limits),
  ];
  const range = timestampRange(batch.timestamps);
  const metadata = new Map<string, string>([
    [metadataKeys.kind, "insert_log"],
    [metadataKeys.version, String(BINLOG_FORMAT_VERSION)],
    [metadataKeys.collectionId, String(header.collectionId)],
    [metadataKeys.partitionId, String(header.partitionId)],
    [metadataKeys.segmentId, String(header.segmentId)],
    [metadataKeys.fieldId, String(header.fieldId)],
    [metadataKeys.logId, String(header.logId)],
    [metadataKeys.dataType, String(column.type)],
    [metadataKeys.primaryKeyType, String(primaryKeyType(batch.primaryKeys))],
    [metadataKeys.rowCount, String(rowCount)],
    [metadataKeys.timestampMin, String(range.min)],
    [metadataKeys.timestampMax, String(range.max)],
  ]);
  if (column.type === DataType.FloatVector) metadata.set(metadataKeys.dim, String(column.dim));
  for (const array of arrays) metadata.set(metadataKeys.checksumPrefix + array.field.name, checksumText(array.checksum));
  return encodeArrowFile(arrays, metadata, rowCount);
}

/**
 * Decodes an insert binlog read from `path`. Corrupted (naming the path) when the bytes are not a
 * valid file, when its metadata disagrees with the path or with its columns, or a checksum fails.
 */
export function decodeInsertBinlog(path: string, bytes: Uint8Array, expectedCrc32?: number): DecodedInsertBinlog {
  const location = parseBinlogPath(path);
  if (location.kind !== "insert_log") throw invalidArgument(`${path} is a ${location.kind} path, not an insert_log`);
  verifyFileChecksum(path, bytes, expectedCrc32);
  const file = new ArrowFileReader(path, bytes);
  if (file.string(metadataKeys.kind) !== "insert_log") throw corrupted(path, `it is a ${file.string(metadataKeys.kind)} file, not an insert_log`);
  file.expectId(metadataKeys.collectionId, location.collectionId);
  file.expectId(metadataKeys.partitionId, location.partitionId);
  file.expectId(metadataKeys.segmentId, location.segmentId);
  file.expectId(metadataKeys.fieldId, BigInt(location.fieldId as number));
  file.expectId(metadataKeys.logId, location.logId);
  const rowCount = file.integer(metadataKeys.rowCount);
  if (file.table.numRows !== rowCount) throw corrupted(path, `metadata says ${rowCount} rows, the file holds ${file.table.numRows}`);
  const dataType = file.integer(metadataKeys.dataType);
  if (!isDataType(dataType)) throw corrupted(path, `unknown data type ${dataType}`);
  let dim: number | undefined;
  if (dataType === DataType.FloatVector) {
    dim = file.integer(metadataKeys.dim);
    if (dim < 1) throw corrupted(path, `vector dim ${dim}`);
  }
  const pkType = file.integer(metadataKeys.primaryKeyType);
  if (!isDataType(pkType)) throw corrupted(path, `unknown primary key type ${pkType}`);

  const ts = decodeTimestamps(path, file.column(insertColumnNames.timestamp), insertColumnNames.timestamp, rowCount);
  file.verifyChecksum(insertColumnNames.timestamp, ts.checksum);
  const pk = decodePrimaryKeys(path, file.column(insertColumnNames.primaryKey), insertColumnNames.primaryKey, rowCount, pkType);
  file.verifyChecksum(insertColumnNames.primaryKey, pk.checksum);
  const valueField = file.table.schema.fields.find((field) => field.name === insertColumnNames.value);
  if (valueField === undefined) throw corrupted(path, `column "${insertColumnNames.value}" is missing`);
  const values = decodeColumn(path, file.column(insertColumnNames.value), insertColumnNames.value, rowCount, dataType, dim, valueField.nullable);
  file.verifyChecksum(insertColumnNames.value, values.checksum);

  const range = timestampRange(ts.timestamps);
  if (String(range.min) !== file.string(metadataKeys.timestampMin) || String(range.max) !== file.string(metadataKeys.timestampMax)) {
    throw corrupted(path, `timestamp range in the metadata does not match the rows (${dataTypeName(dataType)} field)`);
  }
  const fieldId = location.fieldId as number;
  return {
    header: { collectionId: location.collectionId, partitionId: location.partitionId, segmentId: location.segmentId, fieldId, logId: location.logId },
    rowCount,
    timestampMin: range.min,
    timestampMax: range.max,
    timestamps: ts.timestamps,
    primaryKeys: pk.keys,
    column: withField(fieldId, values),
  };
}
