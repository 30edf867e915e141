// Turns the columns of an insert or upsert request into typed columns checked against the schema.
// Everything is checked before anything is stamped or published: a request either passes whole or
// fails with an InvalidArgument / LimitExceeded error naming the field and row, and nothing reaches the
// log. Accepted shapes per type (JS arrays, as the public APIs deliver them, or typed arrays):
//   Bool: boolean; Int8/16/32: integers in range; Int64: bigint, safe integer or decimal string;
//   Float/Double: finite numbers; VarChar: strings within max_length UTF-8 bytes; JSON: any JSON value
//   (or its text as a string or bytes); FloatVector: number[dim] per row or one Float32Array of
//   rows × dim, every value finite. Nullable fields accept null/undefined.

import type { ProxyLimits } from "../common/config.ts";
import type { Column } from "../common/columns.ts";
import { invalidArgument, limitExceeded } from "../common/errors.ts";
import { DYNAMIC_FIELD_NAME, DataType, dataTypeName, type CollectionSchema, type FieldSchema } from "../common/schema.ts";

export type ColumnInput = ArrayLike<unknown>;

export interface ValidatedRows {
  rowCount: number;
  /** One column per schema field, in schema order (primary key included, `$meta` if dynamic). */
  columns: Column[];
  /** Estimated payload bytes. */
  byteSize: number;
}

const encoder = new TextEncoder();
const INT_RANGES: Record<number, [number, number]> = {
  [DataType.Int8]: [-128, 127],
  [DataType.Int16]: [-32768, 32767],
  [DataType.Int32]: [-2147483648, 2147483647],
};
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Validates the columns of a request. `columns` maps field names to values; with a dynamic schema, a
 * name that is not a field becomes a key of every row's `$meta`. `autoIds`, when given, fills the
 * auto-ID primary key (which the request must then not carry).
 */
export function validateRows(
  schema: CollectionSchema,
  columns: Record<string, ColumnInput>,
  limits: ProxyLimits,
  options: { autoIds?: BigInt64Array; requirePrimaryKey: boolean },
): ValidatedRows {
  if (typeof columns !== "object" || columns === null) throw invalidArgument("insert data must be an object of columns");
  const rowCount = inferRowCount(schema, columns);
  if (rowCount === 0) throw invalidArgument("insert data has no rows");
  if (rowCount > limits.insertBatchRowsMax) throw limitExceeded(`${rowCount} rows exceed the limit of ${limits.insertBatchRowsMax} rows per request (insertBatchRowsMax)`);

  const known = new Set(schema.fields.map((field) => field.name));
  const dynamicNames = Object.keys(columns).filter((name) => !known.has(name));
  if (dynamicNames.length > 0 && !schema.enableDynamicField) {
    throw invalidArgument(`field "${dynamicNames[0]}" is not in the schema of collection "${schema.name}" and the collection has no dynamic field`);
  }
  for (const name of dynamicNames) checkLength(name, columns[name] as ColumnInput, rowCount);

  const out: Column[] = [];
  let byteSize = 0;
  for (const field of schema.fields) {
    let column: Column;
    if (field.isDynamic) {
      column = buildDynamicColumn(field, columns, dynamicNames, rowCount, limits);
    } else if (field.isPrimaryKey && field.autoId && options.autoIds !== undefined) {
      if (columns[field.name] !== undefined) throw invalidArgument(`primary key "${field.name}" is auto-generated; do not provide it`);
      column = { fieldId: field.fieldId, type: DataType.Int64, values: options.autoIds };
    } else {
      const input = columns[field.name];
      if (input === undefined || input === null) {
        if (field.isPrimaryKey && !options.requirePrimaryKey) continue;
        if (!field.nullable) throw invalidArgument(`field "${field.name}" is missing from the insert data`);
        column = buildColumn(field, new Array<null>(rowCount).fill(null), rowCount, limits);
      } else {
        if (field.dataType === DataType.FloatVector && input instanceof Float32Array) {
          const dim = field.dim as number;
          if (input.length % dim !== 0) throw invalidArgument(`vector field "${field.name}": ${input.length} values is not a multiple of dim ${dim}`);
          if (input.length / dim !== rowCount) throw invalidArgument(`field "${field.name}" has ${input.length / dim} vectors but the request has ${rowCount} rows`);
        } else {
          checkLength(field.name, input, rowCount);
        }
        column = buildColumn(field, input, rowCount, limits);
      }
    }
    byteSize += columnBytes(column);
    out.push(column);
  }
  if (byteSize > limits.insertBatchBytesMax) {
    throw limitExceeded(`request of about ${byteSize} bytes exceeds the limit of ${limits.insertBatchBytesMax} bytes (insertBatchBytesMax)`);
  }
  return { rowCount, columns: out, byteSize };
}

function inferRowCount(schema: CollectionSchema, columns: Record<string, ColumnInput>): number {
  for (const field of schema.fields) {
    const input = columns[field.name];
    if (input === undefined || input === null) continue;
    if (field.dataType === DataType.FloatVector && input instanceof Float32Array) {
      const dim = field.dim as number;
      if (input.length % dim !== 0) throw invalidArgument(`vector field "${field.name}": ${input.length} values is not a multiple of dim ${dim}`);
      return input.length / dim;
    }
    if (typeof input.length !== "number") throw invalidArgument(`field "${field.name}" must be an array of values`);
    return input.length;
  }
  for (const input of Object.values(columns)) {
    if (input !== undefined && input !== null && typeof input.length === "number") return input.length;
  }
  return 0;
}

function checkLength(name: string, input: ColumnInput, rowCount: number): void {
  if (input === null || typeof input !== "object" || typeof input.length !== "number") throw invalidArgument(`field "${name}" must be an array of values`);
  if (input.length !== rowCount) throw invalidArgument(`field "${name}" has ${input.length} values but the request has ${rowCount} rows`);
}

function rowError(field: FieldSchema, row: number, problem: string): Error {
  return invalidArgument(`field "${field.name}" (${dataTypeName(field.dataType)}), row ${row}: ${problem}`);
}

function buildColumn(field: FieldSchema, input: ColumnInput, rowCount: number, limits: ProxyLimits): Column {
  const fieldId = field.fieldId;
  const valid = field.nullable ? new Uint8Array(rowCount).fill(1) : undefined;
  const isNull = (value: unknown, row: number): boolean => {
    if (value !== null && value !== undefined) return false;
    if (valid === undefined) throw rowError(field, row, "null is not allowed (the field is not nullable)");
    valid[row] = 0;
    return true;
  };
  const withValid = valid === undefined ? {} : { valid };
  switch (field.dataType) {
    case DataType.Bool: {
      const values = new Uint8Array(rowCount);
      for (let row = 0; row < rowCount; row++) {
        const value = input[row];
        if (isNull(value, row)) continue;
        if (typeof value !== "boolean") throw rowError(field, row, `expected a boolean, got ${describe(value)}`);
        values[row] = value ? 1 : 0;
      }
      return { fieldId, type: DataType.Bool, values, ...withValid };
    }
    case DataType.Int8:
    case DataType.Int16:
    case DataType.Int32: {
      const [min, max] = INT_RANGES[field.dataType] as [number, number];
      const values = field.dataType === DataType.Int8 ? new Int8Array(rowCount) : field.dataType === DataType.Int16 ? new Int16Array(rowCount) : new Int32Array(rowCount);
      for (let row = 0; row < rowCount; row++) {
        const value = input[row];
        if (isNull(value, row)) continue;
        if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
          throw rowError(field, row, `expected an integer in [${min}, ${max}], got ${describe(value)}`);
        }
        values[row] = value;
      }
      return { fieldId, type: field.dataType, values, ...withValid } as Column;
    }
    case DataType.Int64: {
      const values = new BigInt64Array(rowCount);
      for (let row = 0; row < rowCount; row++) {
        const value = input[row];
        if (isNull(value, row)) continue;
        values[row] = toInt64(value, field, row);
      }
      return { fieldId, type: DataType.Int64, values, ...withValid };
    }
    case DataType.Float:
    case DataType.Double: {
      const values = field.dataType === DataType.Float ? new Float32Array(rowCount) : new Float64Array(rowCount);
      for (let row = 0; row < rowCount; row++) {
        const value = input[row];
        if (isNull(value, row)) continue;
        if (typeof value !== "number" || !Number.isFinite(value)) throw rowError(field, row, `expected a finite number, got ${describe(value)}`);
        if (field.dataType === DataType.Float && Math.abs(value) > 3.4028234663852886e38) throw rowError(field, row, `${value} is out of the float32 range`);
        values[row] = value;
      }
      return { fieldId, type: field.dataType, values, ...withValid } as Column;
    }
    case DataType.VarChar: {
      const values: string[] = new Array<string>(rowCount);
      const maxLength = field.maxLength as number;
      for (let row = 0; row < rowCount; row++) {
        const value = input[row];
        if (isNull(value, row)) {
          values[row] = "";
          continue;
        }
        if (typeof value !== "string") throw rowError(field, row, `expected a string, got ${describe(value)}`);
        const bytes = utf8Length(value);
        if (bytes > maxLength) throw rowError(field, row, `string of ${bytes} bytes exceeds max_length ${maxLength}`);
        values[row] = value;
      }
      return { fieldId, type: DataType.VarChar, values, ...withValid };
    }
    case DataType.JSON: {
      const values: Uint8Array[] = new Array<Uint8Array>(rowCount);
      for (let row = 0; row < rowCount; row++) {
        const value = input[row];
        if (isNull(value, row)) {
          values[row] = encoder.encode("null");
          continue;
        }
        values[row] = toJsonBytes(value, field, row, limits);
      }
      return { fieldId, type: DataType.JSON, values, ...withValid };
    }
    case DataType.FloatVector:
      return { fieldId, type: DataType.FloatVector, dim: field.dim as number, values: toVectors(field, input, rowCount) };
  }
}

function toVectors(field: FieldSchema, input: ColumnInput, rowCount: number): Float32Array {
  const dim = field.dim as number;
  let values: Float32Array;
  if (input instanceof Float32Array) {
    values = input;
  } else {
    values = new Float32Array(rowCount * dim);
    for (let row = 0; row < rowCount; row++) {
      const vector = input[row] as ArrayLike<unknown> | null | undefined;
      if (vector === null || vector === undefined || typeof vector !== "object" || typeof vector.length !== "number") {
        throw rowError(field, row, `expected a vector of ${dim} numbers, got ${describe(vector)}`);
      }
      if (vector.length !== dim) throw rowError(field, row, `vector has ${vector.length} dimensions, the field's dim is ${dim}`);
      const offset = row * dim;
      for (let i = 0; i < dim; i++) {
        const value = vector[i];
        if (typeof value !== "number") throw rowError(field, row, `element ${i} is ${describe(value)}, not a number`);
        values[offset + i] = value;
      }
    }
  }
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (value - value !== 0) {
      throw rowError(field, Math.floor(i / dim), `element ${i % dim} is ${value}; NaN and infinity are not allowed in vectors`);
    }
  }
  return values;
}

function toInt64(value: unknown, field: FieldSchema, row: number): bigint {
  let result: bigint;
  if (typeof value === "bigint") result = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) result = BigInt(value);
  else if (typeof value === "string" && /^-?\d{1,20}$/.test(value)) result = BigInt(value);
  else throw rowError(field, row, `expected a 64-bit integer, got ${describe(value)}`);
  if (result < INT64_MIN || result > INT64_MAX) throw rowError(field, row, `${result} is out of the Int64 range`);
  return result;
}

function toJsonBytes(value: unknown, field: FieldSchema, row: number, limits: ProxyLimits): Uint8Array {
  let text: string;
  if (typeof value === "string" || value instanceof Uint8Array) {
    text = typeof value === "string" ? value : new TextDecoder().decode(value);
    try {
      JSON.parse(text);
    } catch {
      throw rowError(field, row, "not valid JSON text");
    }
  } else {
    try {
      text = JSON.stringify(value, (_key, inner: unknown) => {
        if (typeof inner === "number" && !Number.isFinite(inner)) throw new Error("non-finite number");
        if (typeof inner === "bigint") return Number(inner);
        return inner;
      });
    } catch (error) {
      throw rowError(field, row, `cannot be stored as JSON: ${(error as Error).message}`);
    }
    if (text === undefined) throw rowError(field, row, `cannot be stored as JSON: ${describe(value)}`);
  }
  const bytes = encoder.encode(text);
  if (bytes.byteLength > limits.jsonBytesMax) throw rowError(field, row, `JSON of ${bytes.byteLength} bytes exceeds the limit of ${limits.jsonBytesMax} bytes (jsonBytesMax)`);
  return bytes;
}

/** `$meta` per row: the given `$meta` objects merged with the request's extra columns. */
function buildDynamicColumn(field: FieldSchema, columns: Record<string, ColumnInput>, dynamicNames: string[], rowCount: number, limits: ProxyLimits): Column {
  const metaInput = columns[DYNAMIC_FIELD_NAME];
  if (metaInput !== undefined) checkLength(DYNAMIC_FIELD_NAME, metaInput, rowCount);
  const extras = dynamicNames.filter((name) => name !== DYNAMIC_FIELD_NAME);
  const values: Uint8Array[] = new Array<Uint8Array>(rowCount);
  for (let row = 0; row < rowCount; row++) {
    let meta: Record<string, unknown> = {};
    const given = metaInput?.[row];
    if (given !== undefined && given !== null) {
      const parsed = typeof given === "string" || given instanceof Uint8Array ? safeParse(given, field, row) : given;
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw rowError(field, row, "the dynamic field must hold a JSON object");
      meta = { ...(parsed as Record<string, unknown>) };
    }
    for (const name of extras) {
      const value = (columns[name] as ColumnInput)[row];
      if (value !== undefined) meta[name] = value;
    }
    values[row] = toJsonBytes(meta, field, row, limits);
  }
  return { fieldId: field.fieldId, type: DataType.JSON, values };
}

function safeParse(value: string | Uint8Array, field: FieldSchema, row: number): unknown {
  try {
    return JSON.parse(typeof value === "string" ? value : new TextDecoder().decode(value));
  } catch {
    throw rowError(field, row, "not valid JSON text");
  }
}

function columnBytes(column: Column): number {
  switch (column.type) {
    case DataType.VarChar:
      return column.values.reduce((sum, value) => sum + value.length * 3, 0);
    case DataType.JSON:
      return column.values.reduce((sum, value) => sum + value.byteLength, 0);
    default:
      return column.values.byteLength;
  }
}

function utf8Length(value: string): number {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (typeof value === "string") return `the string "${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value;
}

/** Primary keys of a delete request, checked against the key's type. */
export function validatePrimaryKeys(field: FieldSchema, keys: ArrayLike<unknown>, limits: ProxyLimits): Column {
  if (keys === null || typeof keys !== "object" || typeof keys.length !== "number") throw invalidArgument("primary keys must be an array");
  if (keys.length === 0) throw invalidArgument("no primary keys given");
  if (keys.length > limits.deleteBatchKeysMax) throw limitExceeded(`${keys.length} keys exceed the limit of ${limits.deleteBatchKeysMax} per request (deleteBatchKeysMax)`);
  const column = buildColumn({ ...field, nullable: false }, keys, keys.length, limits);
  return column;
}
