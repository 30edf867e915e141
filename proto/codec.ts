// Encoding and decoding of the log payloads declared in vela.proto. Fixed-width columns travel as
// little-endian packed bytes, so a batch of vectors is encoded with one copy. Decoded typed arrays own
// their memory (aligned copies), never views into the message buffer.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";
import Long from "long";
import type { Column } from "../common/columns.ts";
import { ErrorCode, VelaError, assert } from "../common/errors.ts";
import { DataType, isDataType } from "../common/schema.ts";

assert(new Uint8Array(new Uint16Array([1]).buffer)[0] === 1, "Vela's wire format assumes a little-endian host");

const root = protobuf.parse(readFileSync(join(import.meta.dirname, "vela.proto"), "utf8"), { keepCase: false }).root;
const InsertMsgType = root.lookupType("vela.internal.v1.InsertMsg");
const DeleteMsgType = root.lookupType("vela.internal.v1.DeleteMsg");
const CollectionDdlMsgType = root.lookupType("vela.internal.v1.CollectionDdlMsg");
const PartitionDdlMsgType = root.lookupType("vela.internal.v1.PartitionDdlMsg");

export interface InsertMsg {
  collectionId: bigint;
  partitionId: bigint;
  segmentId: bigint;
  vchannel: string;
  rowCount: number;
  columns: Column[];
}

export interface DeleteMsg {
  collectionId: bigint;
  /** 0n: every partition. */
  partitionId: bigint;
  vchannel: string;
  rowCount: number;
  primaryKeys: Column;
}

export interface CollectionDdlMsg {
  collectionId: bigint;
  dbName: string;
  collectionName: string;
  /** The collection's metadata record (JSON text), on create only. */
  collectionInfo: string;
}

export interface PartitionDdlMsg {
  collectionId: bigint;
  partitionId: bigint;
  partitionName: string;
}

interface WireColumn {
  fieldId: Long;
  dataType: number;
  dim: number;
  fixedWidth: Uint8Array;
  strings: string[];
  json: Uint8Array[];
  valid: Uint8Array;
}

function toLong(value: bigint): Long {
  return Long.fromString(value.toString(), false);
}

function fromLong(value: Long | number | undefined): bigint {
  if (value === undefined) return 0n;
  return typeof value === "number" ? BigInt(value) : BigInt(value.toString());
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function columnToWire(column: Column): WireColumn {
  const wire: WireColumn = {
    fieldId: Long.fromNumber(column.fieldId),
    dataType: column.type,
    dim: column.type === DataType.FloatVector ? column.dim : 0,
    fixedWidth: new Uint8Array(0),
    strings: [],
    json: [],
    valid: column.valid ?? new Uint8Array(0),
  };
  switch (column.type) {
    case DataType.VarChar:
      wire.strings = column.values;
      break;
    case DataType.JSON:
      wire.json = column.values;
      break;
    default:
      wire.fixedWidth = bytesOf(column.values);
  }
  return wire;
}

/** An aligned copy of `bytes` as the typed array `Kind`. */
function aligned<T>(bytes: Uint8Array, elementBytes: number, make: (buffer: ArrayBuffer) => T, what: string): T {
  if (bytes.byteLength % elementBytes !== 0) {
    throw new VelaError(ErrorCode.Corrupted, `${what}: ${bytes.byteLength} bytes is not a multiple of ${elementBytes}`);
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return make(copy.buffer);
}

function columnFromWire(wire: WireColumn, rowCount: number): Column {
  const fieldId = Number(fromLong(wire.fieldId));
  const type = wire.dataType;
  if (!isDataType(type)) throw new VelaError(ErrorCode.Corrupted, `column of field ${fieldId} has unknown data type ${type}`);
  const valid = wire.valid.byteLength > 0 ? Uint8Array.from(wire.valid) : undefined;
  const base = { fieldId, ...(valid === undefined ? {} : { valid }) };
  const what = `column of field ${fieldId}`;
  let column: Column;
  switch (type) {
    case DataType.Bool:
      column = { ...base, type, values: Uint8Array.from(wire.fixedWidth) };
      break;
    case DataType.Int8:
      column = { ...base, type, values: aligned(wire.fixedWidth, 1, (b) => new Int8Array(b), what) };
      break;
    case DataType.Int16:
      column = { ...base, type, values: aligned(wire.fixedWidth, 2, (b) => new Int16Array(b), what) };
      break;
    case DataType.Int32:
      column = { ...base, type, values: aligned(wire.fixedWidth, 4, (b) => new Int32Array(b), what) };
      break;
    case DataType.Int64:
      column = { ...base, type, values: aligned(wire.fixedWidth, 8, (b) => new BigInt64Array(b), what) };
      break;
    case DataType.Float:
      column = { ...base, type, values: aligned(wire.fixedWidth, 4, (b) => new Float32Array(b), what) };
      break;
    case DataType.Double:
      column = { ...base, type, values: aligned(wire.fixedWidth, 8, (b) => new Float64Array(b), what) };
      break;
    case DataType.VarChar:
      column = { ...base, type, values: wire.strings };
      break;
    case DataType.JSON:
      column = { ...base, type, values: wire.json.map((value) => Uint8Array.from(value)) };
      break;
    case DataType.FloatVector: {
      if (!(wire.dim > 0)) throw new VelaError(ErrorCode.Corrupted, `${what}: vector column without a dim`);
      column = { ...base, type, dim: wire.dim, values: aligned(wire.fixedWidth, 4, (b) => new Float32Array(b), what) };
      break;
    }
  }
  const rows = column.type === DataType.FloatVector ? column.values.length / column.dim : column.values.length;
  if (rows !== rowCount || (valid !== undefined && valid.length !== rowCount)) {
    throw new VelaError(ErrorCode.Corrupted, `${what}: holds ${rows} rows, the message says ${rowCount}`);
  }
  return column;
}

function decodeWith<T>(type: protobuf.Type, bytes: Uint8Array, what: string): T {
  try {
    return type.decode(bytes) as unknown as T;
  } catch (error) {
    throw new VelaError(ErrorCode.Corrupted, `cannot decode ${what}: ${(error as Error).message}`, { cause: error });
  }
}

export function encodeInsertMsg(msg: InsertMsg): Uint8Array {
  return InsertMsgType.encode({
    collectionId: toLong(msg.collectionId),
    partitionId: toLong(msg.partitionId),
    segmentId: toLong(msg.segmentId),
    vchannel: msg.vchannel,
    rowCount: msg.rowCount,
    columns: msg.columns.map(columnToWire),
  }).finish();
}

export function decodeInsertMsg(bytes: Uint8Array): InsertMsg {
  const wire = decodeWith<{ collectionId: Long; partitionId: Long; segmentId: Long; vchannel: string; rowCount: number; columns: WireColumn[] }>(
    InsertMsgType, bytes, "InsertMsg");
  return {
    collectionId: fromLong(wire.collectionId),
    partitionId: fromLong(wire.partitionId),
    segmentId: fromLong(wire.segmentId),
    vchannel: wire.vchannel,
    rowCount: wire.rowCount,
    columns: wire.columns.map((column) => columnFromWire(column, wire.rowCount)),
  };
}

export function encodeDeleteMsg(msg: DeleteMsg): Uint8Array {
  return DeleteMsgType.encode({
    collectionId: toLong(msg.collectionId),
    partitionId: toLong(msg.partitionId),
    vchannel: msg.vchannel,
    rowCount: msg.rowCount,
    primaryKeys: columnToWire(msg.primaryKeys),
  }).finish();
}

export function decodeDeleteMsg(bytes: Uint8Array): DeleteMsg {
  const wire = decodeWith<{ collectionId: Long; partitionId: Long; vchannel: string; rowCount: number; primaryKeys?: WireColumn }>(
    DeleteMsgType, bytes, "DeleteMsg");
  if (wire.primaryKeys === undefined) throw new VelaError(ErrorCode.Corrupted, "DeleteMsg without primary keys");
  return {
    collectionId: fromLong(wire.collectionId),
    partitionId: fromLong(wire.partitionId),
    vchannel: wire.vchannel,
    rowCount: wire.rowCount,
    primaryKeys: columnFromWire(wire.primaryKeys, wire.rowCount),
  };
}

export function encodeCollectionDdlMsg(msg: CollectionDdlMsg): Uint8Array {
  return CollectionDdlMsgType.encode({
    collectionId: toLong(msg.collectionId),
    dbName: msg.dbName,
    collectionName: msg.collectionName,
    collectionInfo: new TextEncoder().encode(msg.collectionInfo),
  }).finish();
}

export function decodeCollectionDdlMsg(bytes: Uint8Array): CollectionDdlMsg {
  const wire = decodeWith<{ collectionId: Long; dbName: string; collectionName: string; collectionInfo: Uint8Array }>(
    CollectionDdlMsgType, bytes, "CollectionDdlMsg");
  return {
    collectionId: fromLong(wire.collectionId),
    dbName: wire.dbName,
    collectionName: wire.collectionName,
    collectionInfo: new TextDecoder().decode(wire.collectionInfo),
  };
}

export function encodePartitionDdlMsg(msg: PartitionDdlMsg): Uint8Array {
  return PartitionDdlMsgType.encode({
    collectionId: toLong(msg.collectionId),
    partitionId: toLong(msg.partitionId),
    partitionName: msg.partitionName,
  }).finish();
}

export function decodePartitionDdlMsg(bytes: Uint8Array): PartitionDdlMsg {
  const wire = decodeWith<{ collectionId: Long; partitionId: Long; partitionName: string }>(PartitionDdlMsgType, bytes, "PartitionDdlMsg");
  return {
    collectionId: fromLong(wire.collectionId),
    partitionId: fromLong(wire.partitionId),
    partitionName: wire.partitionName,
  };
}
