// Vela columns (common/columns.ts) to Arrow arrays and back, for the binlog files. One mapping, used
// by every binlog kind:
//   Bool → Bool (bit-packed)       Int8/16/32/64 → Int8/16/32/64   Float → Float32   Double → Float64
//   VarChar → Utf8                 JSON → Binary (the JSON bytes verbatim)
//   FloatVector(dim) → FixedSizeList<Float32>[dim]                 row timestamps → Uint64
// Nullable fields use Arrow validity bitmaps. Invariants: decoding what was encoded gives back the same
// values and validity (Bool values normalised to 0/1); each array's checksum covers its canonical
// logical contents (one byte per row for Bool and validity, offsets rebased to 0 for Utf8/Binary), so
// writer and reader agree on it whatever padding Arrow adds; every decoding failure is Corrupted.

import {
  Binary,
  Bool,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  Uint64,
  Utf8,
  makeData,
} from "apache-arrow";
import type { Data, DataType as ArrowDataType, Vector } from "apache-arrow";
import type { Column, ColumnValues } from "../../common/columns.ts";
import { ErrorCode, VelaError, invalidArgument, limitExceeded } from "../../common/errors.ts";
import { DataType, dataTypeName, isDataType } from "../../common/schema.ts";
import { combinedChecksum } from "./checksum.ts";

/** Primary keys of a batch: Int64 or VarChar. */
export type PrimaryKeys = BigInt64Array | string[];

export interface EncodedArray {
  field: Field;
  data: Data;
  /** CRC-32 of the canonical contents (values and validity). */
  checksum: number;
}

export interface DecodedArray {
  column: ColumnValues;
  valid?: Uint8Array;
  checksum: number;
}

export function corrupted(path: string, message: string, cause?: unknown): VelaError {
  return new VelaError(ErrorCode.Corrupted, `binlog ${path} is corrupt: ${message}`, cause === undefined ? undefined : { cause });
}

/** The Arrow type a Vela data type is stored as. */
export function arrowTypeOf(dataType: DataType, dim?: number): ArrowDataType {
  switch (dataType) {
    case DataType.Bool:
      return new Bool();
    case DataType.Int8:
      return new Int8();
    case DataType.Int16:
      return new Int16();
    case DataType.Int32:
      return new Int32();
    case DataType.Int64:
      return new Int64();
    case DataType.Float:
      return new Float32();
    case DataType.Double:
      return new Float64();
    case DataType.VarChar:
      return new Utf8();
    case DataType.JSON:
      return new Binary();
    case DataType.FloatVector:
      return new FixedSizeList(dim ?? 0, new Field("item", new Float32(), false));
  }
}

function packBits(mask: Uint8Array): { bitmap: Uint8Array; zeros: number } {
  const bitmap = new Uint8Array((mask.length + 7) >>> 3);
  let zeros = 0;
  for (let row = 0; row < mask.length; row++) {
    if (mask[row] !== 0) bitmap[row >>> 3] = (bitmap[row >>> 3] as number) | (1 << (row & 7));
    else zeros += 1;
  }
  return { bitmap, zeros };
}

function unpackBits(bitmap: Uint8Array, bitOffset: number, length: number): Uint8Array {
  const mask = new Uint8Array(length);
  for (let row = 0; row < length; row++) {
    const bit = bitOffset + row;
    mask[row] = ((bitmap[bit >>> 3] as number) >>> (bit & 7)) & 1;
  }
  return mask;
}

function normalizedMask(mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let row = 0; row < mask.length; row++) out[row] = mask[row] === 0 ? 0 : 1;
  return out;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strings to Utf8 offsets + bytes; refuses lone surrogates, which UTF-8 cannot carry. */
function encodeStrings(what: string, values: readonly unknown[], limits: { variableColumnBytesMax: number }): { offsets: Int32Array; bytes: Uint8Array } {
  let capacity = 0;
  for (let row = 0; row < values.length; row++) {
    const value = values[row];
    if (typeof value !== "string") throw invalidArgument(`${what}: row ${row} is ${typeof value}, expected a string`);
    if (!(value as unknown as { isWellFormed(): boolean }).isWellFormed()) {
      throw invalidArgument(`${what}: row ${row} holds a lone UTF-16 surrogate, which is not valid Unicode`);
    }
    capacity += value.length * 3;
  }
  const offsets = new Int32Array(values.length + 1);
  let bytes = new Uint8Array(Math.min(capacity, limits.variableColumnBytesMax + 4));
  let end = 0;
  for (let row = 0; row < values.length; row++) {
    const value = values[row] as string;
    if (end + value.length * 3 > bytes.length) {
      // Only reached near the bound: the exact size decides.
      const exact = utf8Encoder.encode(value);
      if (end + exact.length > limits.variableColumnBytesMax) {
        throw limitExceeded(`${what}: more than ${limits.variableColumnBytesMax} bytes of strings in one binlog (variableColumnBytesMax)`);
      }
      const grown = new Uint8Array(end + exact.length);
      grown.set(bytes.subarray(0, end));
      grown.set(exact, end);
      bytes = grown;
      end += exact.length;
    } else {
      end += utf8Encoder.encodeInto(value, bytes.subarray(end)).written;
    }
    if (end > limits.variableColumnBytesMax) {
      throw limitExceeded(`${what}: more than ${limits.variableColumnBytesMax} bytes of strings in one binlog (variableColumnBytesMax)`);
    }
    offsets[row + 1] = end;
  }
  return { offsets, bytes: bytes.subarray(0, end) };
}

function encodeBinaries(what: string, values: readonly unknown[], limits: { variableColumnBytesMax: number }): { offsets: Int32Array; bytes: Uint8Array } {
  const offsets = new Int32Array(values.length + 1);
  let total = 0;
  for (let row = 0; row < values.length; row++) {
    const value = values[row];
    if (!(value instanceof Uint8Array)) throw invalidArgument(`${what}: row ${row} is not a Uint8Array of JSON bytes`);
    total += value.byteLength;
    if (total > limits.variableColumnBytesMax) {
      throw limitExceeded(`${what}: more than ${limits.variableColumnBytesMax} bytes of JSON in one binlog (variableColumnBytesMax)`);
    }
    offsets[row + 1] = total;
  }
  const bytes = new Uint8Array(total);
  for (let row = 0; row < values.length; row++) bytes.set(values[row] as Uint8Array, offsets[row] as number);
  return { offsets, bytes };
}

/** Row timestamps as a non-null Uint64 array. */
export function encodeTimestamps(name: string, timestamps: BigUint64Array): EncodedArray {
  if (!(timestamps instanceof BigUint64Array)) throw invalidArgument("row timestamps must be a BigUint64Array");
  const data = makeData({ type: new Uint64(), length: timestamps.length, nullCount: 0, data: timestamps });
  return { field: new Field(name, new Uint64(), false), data, checksum: combinedChecksum([timestamps]) };
}

/** Primary keys as a non-null Int64 or Utf8 array. */
export function encodePrimaryKeys(name: string, keys: PrimaryKeys, limits: { variableColumnBytesMax: number }): EncodedArray {
  if (keys instanceof BigInt64Array) return encodeColumn(name, { type: DataType.Int64, values: keys }, undefined, limits);
  if (Array.isArray(keys)) return encodeColumn(name, { type: DataType.VarChar, values: keys }, undefined, limits);
  throw invalidArgument("primary keys must be a BigInt64Array (Int64) or an array of strings (VarChar)");
}

function typedValues<T>(what: string, values: unknown, constructor: abstract new (...args: never[]) => T, expected: string): T {
  if (!(values instanceof constructor)) throw invalidArgument(`${what}: values must be a ${expected}`);
  return values;
}

/** One column (values + optional validity) as an Arrow array named `name`. InvalidArgument on malformed input. */
export function encodeColumn(name: string, column: ColumnValues, valid: Uint8Array | undefined, limits: { variableColumnBytesMax: number }): EncodedArray {
  const type = (column as { type: unknown }).type;
  if (typeof type !== "number" || !isDataType(type)) throw invalidArgument(`column "${name}": unknown data type ${String(type)}`);
  const what = `column "${name}" (${dataTypeName(type)})`;
  let length: number;
  let parts: ArrayBufferView[];
  let makeArray: (validity: { nullBitmap?: Uint8Array; nullCount: number }) => Data;
  switch (column.type) {
    case DataType.Bool: {
      const values = normalizedMask(typedValues(what, column.values, Uint8Array, "Uint8Array (one byte per row)"));
      length = values.length;
      parts = [values];
      const packed = packBits(values).bitmap;
      makeArray = (validity) => makeData({ type: new Bool(), length, ...validity, data: packed });
      break;
    }
    case DataType.Int8:
    case DataType.Int16:
    case DataType.Int32:
    case DataType.Int64:
    case DataType.Float:
    case DataType.Double: {
      const [constructor, label] = {
        [DataType.Int8]: [Int8Array, "Int8Array"],
        [DataType.Int16]: [Int16Array, "Int16Array"],
        [DataType.Int32]: [Int32Array, "Int32Array"],
        [DataType.Int64]: [BigInt64Array, "BigInt64Array"],
        [DataType.Float]: [Float32Array, "Float32Array"],
        [DataType.Double]: [Float64Array, "Float64Array"],
      }[column.type] as [abstract new (...args: never[]) => ArrayBufferView & { length: number }, string];
      const values = typedValues(what, column.values, constructor, label);
      length = values.length;
      parts = [values];
      const arrowType = arrowTypeOf(column.type);
      makeArray = (validity) => makeData({ type: arrowType as Int32, length, ...validity, data: values as Int32Array });
      break;
    }
    case DataType.VarChar:
    case DataType.JSON: {
      if (!Array.isArray(column.values)) throw invalidArgument(`${what}: values must be an array`);
      const { offsets, bytes } = column.type === DataType.VarChar ? encodeStrings(what, column.values, limits) : encodeBinaries(what, column.values, limits);
      length = column.values.length;
      parts = [offsets, bytes];
      const arrowType = arrowTypeOf(column.type);
      makeArray = (validity) => makeData({ type: arrowType as Utf8, length, ...validity, valueOffsets: offsets, data: bytes });
      break;
    }
    case DataType.FloatVector: {
      const values = typedValues(what, column.values, Float32Array, "Float32Array");
      const dim = column.dim;
      if (!Number.isInteger(dim) || dim < 1) throw invalidArgument(`${what}: dim must be a positive integer, got ${String(dim)}`);
      if (values.length % dim !== 0) throw invalidArgument(`${what}: ${values.length} floats is not a whole number of ${dim}-dim vectors`);
      length = values.length / dim;
      parts = [values];
      const arrowType = arrowTypeOf(DataType.FloatVector, dim) as FixedSizeList<Float32>;
      const child = makeData({ type: new Float32(), length: values.length, nullCount: 0, data: values });
      makeArray = (validity) => makeData({ type: arrowType, length, ...validity, child });
      break;
    }
  }
  let validity: { nullBitmap?: Uint8Array; nullCount: number } = { nullCount: 0 };
  if (valid !== undefined) {
    if (!(valid instanceof Uint8Array)) throw invalidArgument(`${what}: valid must be a Uint8Array (one byte per row)`);
    if (valid.length !== length) throw invalidArgument(`${what}: valid has ${valid.length} rows, values have ${length}`);
    const normalized = normalizedMask(valid);
    const { bitmap, zeros } = packBits(normalized);
    validity = zeros === 0 ? { nullCount: 0 } : { nullBitmap: bitmap, nullCount: zeros };
    parts.push(normalized);
  }
  const field = new Field(name, arrowTypeOf(column.type, column.type === DataType.FloatVector ? column.dim : undefined), valid !== undefined);
  return { field, data: makeArray(validity), checksum: combinedChecksum(parts) };
}

/** The single chunk of a column read from a one-batch file. */
function singleChunk(path: string, vector: Vector, name: string, rowCount: number): Data {
  if (vector.data.length !== 1) throw corrupted(path, `column "${name}" has ${vector.data.length} record batches, expected 1`);
  const data = vector.data[0] as Data;
  if (data.length !== rowCount) throw corrupted(path, `column "${name}" has ${data.length} rows, the file says ${rowCount}`);
  return data;
}

function fixedWidth<T extends { subarray(start: number, end: number): T; slice(): T; length: number }>(path: string, name: string, values: unknown, constructor: abstract new (...args: never[]) => T, start: number, count: number): T {
  if (!(values instanceof constructor) || values.length < start + count) throw corrupted(path, `column "${name}" has a short or mistyped value buffer`);
  // A copy: the result must not pin (or alias) the whole file's buffer.
  return values.subarray(start, start + count).slice();
}

function variableWidth(path: string, name: string, data: Data): { offsets: Int32Array; bytes: Uint8Array } {
  const valueOffsets = data.valueOffsets as unknown;
  const values = data.values as unknown;
  if (!(valueOffsets instanceof Int32Array) || !(values instanceof Uint8Array) || valueOffsets.length < data.offset + data.length + 1) {
    throw corrupted(path, `column "${name}" has short or mistyped offsets`);
  }
  const raw = valueOffsets.subarray(data.offset, data.offset + data.length + 1);
  const first = raw[0] as number;
  const offsets = new Int32Array(raw.length);
  let previous = 0;
  for (let index = 0; index < raw.length; index++) {
    const offset = (raw[index] as number) - first;
    if (offset < previous || first + offset > values.length) throw corrupted(path, `column "${name}" has offsets out of order or past its data`);
    offsets[index] = offset;
    previous = offset;
  }
  return { offsets, bytes: values.subarray(first, first + previous) };
}

/** Reads the timestamps column back (checksum included). */
export function decodeTimestamps(path: string, vector: Vector, name: string, rowCount: number): { timestamps: BigUint64Array; checksum: number } {
  const data = singleChunk(path, vector, name, rowCount);
  if (String(data.type) !== String(new Uint64()) || data.nullCount !== 0) throw corrupted(path, `column "${name}" is ${String(data.type)}, expected non-null Uint64`);
  const timestamps = fixedWidth(path, name, data.values, BigUint64Array, data.offset, data.length);
  return { timestamps, checksum: combinedChecksum([timestamps]) };
}

/**
 * Reads a column back as `dataType` (dim for vectors). `nullable`: the file's field is nullable, so
 * the column gets a validity mask. Every mismatch with the expected type or shape is Corrupted.
 */
export function decodeColumn(path: string, vector: Vector, name: string, rowCount: number, dataType: DataType, dim: number | undefined, nullable: boolean): DecodedArray {
  const data = singleChunk(path, vector, name, rowCount);
  const expected = arrowTypeOf(dataType, dim);
  if (String(data.type) !== String(expected)) throw corrupted(path, `column "${name}" is ${String(data.type)}, expected ${String(expected)} for ${dataTypeName(dataType)}`);
  let valid: Uint8Array | undefined;
  if (nullable) {
    const bitmap = data.nullBitmap as unknown;
    if (data.nullCount > 0) {
      if (!(bitmap instanceof Uint8Array) || bitmap.length * 8 < data.offset + data.length) throw corrupted(path, `column "${name}" has a short validity bitmap`);
      valid = unpackBits(bitmap, data.offset, data.length);
    } else {
      valid = new Uint8Array(data.length).fill(1);
    }
  } else if (data.nullCount !== 0) {
    throw corrupted(path, `column "${name}" is not nullable but holds ${data.nullCount} nulls`);
  }
  const { offset, length } = data;
  let column: ColumnValues;
  let parts: ArrayBufferView[];
  switch (dataType) {
    case DataType.Bool: {
      const packed = data.values as unknown;
      if (!(packed instanceof Uint8Array) || packed.length * 8 < offset + length) throw corrupted(path, `column "${name}" has a short value bitmap`);
      const values = unpackBits(packed, offset, length);
      column = { type: dataType, values };
      parts = [values];
      break;
    }
    case DataType.Int8:
      column = { type: dataType, values: fixedWidth(path, name, data.values, Int8Array, offset, length) };
      parts = [column.values];
      break;
    case DataType.Int16:
      column = { type: dataType, values: fixedWidth(path, name, data.values, Int16Array, offset, length) };
      parts = [column.values];
      break;
    case DataType.Int32:
      column = { type: dataType, values: fixedWidth(path, name, data.values, Int32Array, offset, length) };
      parts = [column.values];
      break;
    case DataType.Int64:
      column = { type: dataType, values: fixedWidth(path, name, data.values, BigInt64Array, offset, length) };
      parts = [column.values];
      break;
    case DataType.Float:
      column = { type: dataType, values: fixedWidth(path, name, data.values, Float32Array, offset, length) };
      parts = [column.values];
      break;
    case DataType.Double:
      column = { type: dataType, values: fixedWidth(path, name, data.values, Float64Array, offset, length) };
      parts = [column.values];
      break;
    case DataType.VarChar: {
      const { offsets, bytes } = variableWidth(path, name, data);
      parts = [offsets, bytes];
      const values: string[] = new Array<string>(length);
      try {
        for (let row = 0; row < length; row++) values[row] = utf8Decoder.decode(bytes.subarray(offsets[row] as number, offsets[row + 1] as number));
      } catch (error) {
        throw corrupted(path, `column "${name}" holds bytes that are not UTF-8`, error);
      }
      column = { type: dataType, values };
      break;
    }
    case DataType.JSON: {
      const { offsets, bytes } = variableWidth(path, name, data);
      parts = [offsets, bytes];
      const values: Uint8Array[] = new Array<Uint8Array>(length);
      for (let row = 0; row < length; row++) values[row] = bytes.slice(offsets[row] as number, offsets[row + 1] as number);
      column = { type: dataType, values };
      break;
    }
    case DataType.FloatVector: {
      const child = data.children[0];
      const vectorDim = dim ?? 0;
      if (child === undefined || child.nullCount !== 0) throw corrupted(path, `vector column "${name}" has no float child or null floats`);
      const values = fixedWidth(path, name, child.values, Float32Array, (child.offset + offset) * vectorDim, length * vectorDim);
      column = { type: dataType, dim: vectorDim, values };
      parts = [values];
      break;
    }
  }
  if (valid !== undefined) parts.push(valid);
  return { column, ...(valid === undefined ? {} : { valid }), checksum: combinedChecksum(parts) };
}

/** Decodes primary keys (non-null Int64 or Utf8). */
export function decodePrimaryKeys(path: string, vector: Vector, name: string, rowCount: number, pkType: DataType): { keys: PrimaryKeys; checksum: number } {
  if (pkType !== DataType.Int64 && pkType !== DataType.VarChar) throw corrupted(path, `primary key type ${dataTypeName(pkType)} is neither Int64 nor VarChar`);
  const decoded = decodeColumn(path, vector, name, rowCount, pkType, undefined, false);
  return { keys: decoded.column.values as PrimaryKeys, checksum: decoded.checksum };
}

/** The data type of a primary-key array, checked. */
export function primaryKeyType(keys: PrimaryKeys): typeof DataType.Int64 | typeof DataType.VarChar {
  if (keys instanceof BigInt64Array) return DataType.Int64;
  if (Array.isArray(keys)) return DataType.VarChar;
  throw invalidArgument("primary keys must be a BigInt64Array (Int64) or an array of strings (VarChar)");
}

/** Column plus the Column type's fieldId and validity. */
export function withField(fieldId: number, decoded: DecodedArray): Column {
  return { ...decoded.column, fieldId, ...(decoded.valid === undefined ? {} : { valid: decoded.valid }) } as Column;
}
