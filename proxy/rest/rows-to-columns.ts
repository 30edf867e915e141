// Insert and upsert rows (JSON objects, as REST sends them) turned into the facade's column input.
// The facade validates every value against the schema; this module only reshapes, and keeps what
// JSON.parse would lose: Int64 values stay bigints or decimal strings, JSON-field values are passed
// as their exact JSON text, and vectors become one Float32Array (checked for shape and numbers here,
// as Milvus's REST server does, so a bad vector is error 1804 naming its row).
//
// Invariant: a key that is not a schema field goes to the dynamic field; on a schema without one it
// is passed through, so the facade refuses it by name rather than it being dropped silently.

import { DYNAMIC_FIELD_NAME, DataType, type CollectionSchema, type FieldSchema } from "../../common/schema.ts";
import type { ColumnInput } from "../validate-insert.ts";
import { serializeJson } from "./json-serialize.ts";
import { isPlainObject, jsonType } from "./request-body.ts";
import { badInsertData } from "./rest-errors.ts";

export function columnsFromRows(schema: CollectionSchema, rows: readonly unknown[]): Record<string, ColumnInput> {
  if (rows.length === 0) throw badInsertData("data holds no rows");
  const objects = rows.map((row, index) => {
    if (!isPlainObject(row)) throw badInsertData(`data[${index}] must be a JSON object, got ${jsonType(row)}`);
    return row;
  });
  const columns: Record<string, ColumnInput> = {};
  const fieldNames = new Set<string>();
  for (const field of schema.fields) {
    if (field.isDynamic) continue;
    fieldNames.add(field.name);
    if (!objects.some((row) => row[field.name] !== undefined)) continue;
    columns[field.name] = columnOf(field, objects);
  }
  const extraKeys = new Set<string>();
  for (const row of objects) for (const key of Object.keys(row)) if (!fieldNames.has(key)) extraKeys.add(key);
  if (extraKeys.size === 0) return columns;
  if (extraKeys.has(DYNAMIC_FIELD_NAME)) throw badInsertData(`"${DYNAMIC_FIELD_NAME}" is reserved for the dynamic field; put its keys in the row itself`);
  if (!schema.enableDynamicField) {
    for (const key of extraKeys) columns[key] = objects.map((row) => row[key]);
    return columns;
  }
  columns[DYNAMIC_FIELD_NAME] = objects.map((row, index) => {
    const meta: Record<string, unknown> = {};
    for (const key of extraKeys) {
      const value = row[key];
      if (value === undefined) continue;
      if (holdsBigInt(value)) throw badInsertData(`data[${index}].${key}: integers beyond 2^53 cannot be stored exactly in the dynamic field; send them as strings or declare an Int64 field`);
      meta[key] = value;
    }
    return meta;
  });
  return columns;
}

function columnOf(field: FieldSchema, rows: ReadonlyArray<Record<string, unknown>>): ColumnInput {
  switch (field.dataType) {
    case DataType.FloatVector: return vectorsOf(field, rows);
    case DataType.JSON: return rows.map((row, index) => jsonTextOf(field, row[field.name], index));
    case DataType.Int64: return rows.map((row) => row[field.name]);
    default:
      // Only Int64 takes bigints; elsewhere an integer literal beyond 2^53 is just a large number.
      return rows.map((row) => {
        const value = row[field.name];
        return typeof value === "bigint" ? Number(value) : value;
      });
  }
}

function vectorsOf(field: FieldSchema, rows: ReadonlyArray<Record<string, unknown>>): Float32Array {
  const dim = field.dim as number;
  const out = new Float32Array(rows.length * dim);
  rows.forEach((row, index) => {
    const vector = row[field.name];
    if (!Array.isArray(vector)) throw badInsertData(`data[${index}].${field.name} must be an array of ${dim} numbers, got ${jsonType(vector)}`);
    if (vector.length !== dim) throw badInsertData(`data[${index}].${field.name} has ${vector.length} dimensions, the field's dim is ${dim}`);
    for (let i = 0; i < dim; i++) {
      const value: unknown = vector[i];
      if (typeof value === "number") out[index * dim + i] = value;
      else if (typeof value === "bigint") out[index * dim + i] = Number(value);
      else throw badInsertData(`data[${index}].${field.name}[${i}] is ${jsonType(value)}, not a number`);
    }
  });
  return out;
}

/** A JSON field's value as exact JSON text; a string is taken as JSON text already (as Milvus does). */
function jsonTextOf(field: FieldSchema, value: unknown, index: number): unknown {
  if (value === undefined || value === null || typeof value === "string") return value;
  try {
    return serializeJson(value);
  } catch {
    throw badInsertData(`data[${index}].${field.name} nests too deeply to be stored`);
  }
}

/** True when a parsed value holds a bigint anywhere (iterative, so any depth is safe). */
function holdsBigInt(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === "bigint") return true;
    if (Array.isArray(next)) for (const item of next) pending.push(item);
    else if (isPlainObject(next)) for (const item of Object.values(next)) pending.push(item);
  }
  return false;
}
