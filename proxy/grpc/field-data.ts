// Milvus `schema.FieldData` (columnar, as the SDKs send and read it) to and from Vela's column inputs
// and result rows. Decoded with the loader options the SDKs use: snake_case keys, int64 as decimal
// strings, enums as names, oneofs named.

import { invalidArgument } from "../../common/errors.ts";
import { DYNAMIC_FIELD_NAME, DataType, dataTypeName, type CollectionSchema, type FieldSchema } from "../../common/schema.ts";
import type { ColumnInput } from "../validate-insert.ts";

export const DATA_TYPE_BY_NAME: Record<string, number> = {
  None: 0, Bool: 1, Int8: 2, Int16: 3, Int32: 4, Int64: 5, Float: 10, Double: 11, String: 20, VarChar: 21,
  Array: 22, JSON: 23, Geometry: 24, Text: 25, Timestamptz: 26, BinaryVector: 100, FloatVector: 101, Float16Vector: 102,
  BFloat16Vector: 103, SparseFloatVector: 104, Int8Vector: 105, ArrayOfVector: 106, ArrayOfStruct: 200, Struct: 201,
};
const DATA_TYPE_NAMES = new Map(Object.entries(DATA_TYPE_BY_NAME).map(([name, value]) => [value, name]));

export function dataTypeFromWire(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value in DATA_TYPE_BY_NAME) return DATA_TYPE_BY_NAME[value] as number;
  throw invalidArgument(`unknown data type ${JSON.stringify(value)}`);
}

export function dataTypeToWire(type: number): string {
  return DATA_TYPE_NAMES.get(type) ?? "None";
}

export interface WireFieldData {
  type?: string | number;
  field_name?: string;
  field_id?: string | number;
  is_dynamic?: boolean;
  valid_data?: boolean[];
  scalars?: Record<string, { data?: unknown[] } | string | undefined>;
  vectors?: { dim?: string | number; float_vector?: { data?: number[] | Float32Array }; data?: string; [key: string]: unknown };
}

/** The values of one FieldData, expanded to one entry per row (nulls where valid_data says so). */
export function columnFromFieldData(field: WireFieldData, rowCount: number | undefined): ColumnInput {
  const type = dataTypeFromWire(field.type ?? 0);
  const name = field.field_name ?? "";
  let values: unknown[];
  if (type === DataType.FloatVector) {
    const data = field.vectors?.float_vector?.data ?? [];
    const dim = Number(field.vectors?.dim ?? 0);
    if (!(dim > 0)) throw invalidArgument(`field "${name}": vector data without a dim`);
    if (data.length % dim !== 0) throw invalidArgument(`field "${name}": ${data.length} floats is not a multiple of dim ${dim}`);
    return data instanceof Float32Array ? data : Float32Array.from(data);
  }
  if (type >= 100 && type <= 106) {
    throw invalidArgument(`field "${name}": ${dataTypeName(type)} vectors are not supported; Vela stores FloatVector`);
  }
  const scalars = field.scalars ?? {};
  const holder = (key: string): unknown[] => ((scalars[key] as { data?: unknown[] } | undefined)?.data ?? []);
  switch (type) {
    case DataType.Bool: values = holder("bool_data"); break;
    case DataType.Int8: case DataType.Int16: case DataType.Int32: values = holder("int_data"); break;
    case DataType.Int64: values = holder("long_data"); break;
    case DataType.Float: values = holder("float_data"); break;
    case DataType.Double: values = holder("double_data"); break;
    case DataType.VarChar: case 20: values = holder("string_data"); break;
    case DataType.JSON: values = holder("json_data"); break;
    default: throw invalidArgument(`field "${name}": data type ${dataTypeName(type)} is not supported`);
  }
  const valid = field.valid_data ?? [];
  if (valid.length > 0) {
    const rows = rowCount ?? valid.length;
    const present = valid.filter(Boolean).length;
    // Senders either pack only the present values or send one (ignored) value per row.
    const packed = values.length === present && values.length !== rows;
    const out: unknown[] = new Array<unknown>(rows);
    let cursor = 0;
    for (let row = 0; row < rows; row++) {
      if (valid[row] === true) out[row] = packed ? values[cursor++] : values[row];
      else {
        out[row] = null;
        if (!packed) cursor++;
      }
    }
    return out;
  }
  return values;
}

/** Columns of an insert request by field name ($meta included). */
export function columnsFromFieldsData(fieldsData: readonly WireFieldData[], numRows: number | undefined): Record<string, ColumnInput> {
  const columns: Record<string, ColumnInput> = {};
  for (const field of fieldsData) {
    const name = field.is_dynamic === true ? DYNAMIC_FIELD_NAME : field.field_name ?? "";
    if (name === "") throw invalidArgument("a fields_data entry has no field_name");
    if (columns[name] !== undefined) throw invalidArgument(`field "${name}" appears twice in fields_data`);
    columns[name] = columnFromFieldData(field, numRows);
  }
  return columns;
}

/** FieldData for result rows: one column per field, in the given order. */
export function fieldDataFromRows(fields: readonly FieldSchema[], rows: ReadonlyArray<Record<string, unknown>>): WireFieldData[] {
  return fields.map((field) => fieldDataOf(field, rows.map((row) => row[field.name])));
}

export function fieldDataOf(field: FieldSchema, values: readonly unknown[]): WireFieldData {
  // Built property by property: an object literal that starts with a spread and adds properties after
  // it is slow on Node 20 (microseconds), and this runs for every column of every search answer.
  const out: WireFieldData = { type: dataTypeToWire(field.dataType), field_name: field.name, field_id: String(field.fieldId), is_dynamic: field.isDynamic };
  if (field.nullable && field.dataType !== DataType.FloatVector) {
    const validData = values.map((value) => value !== null && value !== undefined);
    if (validData.length > 0) out.valid_data = validData;
  }
  const fill = <T>(fallback: T, map: (value: unknown) => T): T[] => values.map((value) => (value === null || value === undefined ? fallback : map(value)));
  switch (field.dataType) {
    case DataType.Bool: out.scalars = { bool_data: { data: fill(false, Boolean) } }; break;
    case DataType.Int8: case DataType.Int16: case DataType.Int32: out.scalars = { int_data: { data: fill(0, Number) } }; break;
    case DataType.Int64: out.scalars = { long_data: { data: fill<number | string>(0, int64Wire) } }; break;
    case DataType.Float: out.scalars = { float_data: { data: fill(0, Number) } }; break;
    case DataType.Double: out.scalars = { double_data: { data: fill(0, Number) } }; break;
    case DataType.VarChar: out.scalars = { string_data: { data: fill("", String) } }; break;
    case DataType.JSON: out.scalars = { json_data: { data: fill(Buffer.from("null"), (value) => Buffer.from(JSON.stringify(value))) } }; break;
    case DataType.FloatVector: {
      const data: number[] = [];
      for (const value of values) for (const x of value as number[]) data.push(x);
      out.vectors = { dim: String(field.dim), float_vector: { data } };
      break;
    }
  }
  return out;
}

/**
 * An int64 as the encoder is given it: a number when it is one exactly (|v| <= 2^53), else its
 * decimal string. The bytes on the wire are the same; a string costs the encoder a Long.fromString,
 * which for the 1,000 keys of an insert answer was two thirds of its encoding time (0.67 vs 0.20 ms).
 */
export function int64Wire(value: unknown): number | string {
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : String(value);
}

/** The primary key column of results, as the `IDs` message. */
export function idsOf(schema: CollectionSchema, keys: ReadonlyArray<bigint | string>): { int_id?: { data: Array<number | string> }; str_id?: { data: string[] } } {
  const pk = schema.fields.find((field) => field.isPrimaryKey);
  if (pk?.dataType === DataType.VarChar) return { str_id: { data: keys.map(String) } };
  return { int_id: { data: keys.map(int64Wire) } };
}
