// Query and search results as REST rows, in the value formats Milvus's REST server writes (its
// buildQueryResp): Int64 values as decimal strings — exact numbers only when the client sends
// `Accept-Type-Allow-Int64: true` — Float and FloatVector values as float32 decimals, JSON fields as
// their JSON text, dynamic-field keys flattened into the row, and search hits with `distance`.
//
// Invariant: no 64-bit integer is ever passed through a JS number on the way out.

import { DYNAMIC_FIELD_NAME, DataType, primaryKeyField, type CollectionSchema, type FieldSchema } from "../../common/schema.ts";
import type { Hit } from "../../querynode/query-node.ts";
import { RawJson, float32ArrayJson, float32Json } from "./json-serialize.ts";
import { isPlainObject } from "./request-body.ts";

export class RowFormatter {
  private readonly fields: Map<string, FieldSchema>;
  private readonly primaryKey: FieldSchema;

  constructor(schema: CollectionSchema, private readonly allowInt64: boolean) {
    this.fields = new Map(schema.fields.filter((field) => !field.isDynamic).map((field) => [field.name, field]));
    this.primaryKey = primaryKeyField(schema);
  }

  /** A query row: schema fields by type, other keys as dynamic-field values. */
  row(values: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(values)) {
      const field = this.fields.get(key);
      if (field !== undefined) out[key] = this.value(field, value);
      else if (key === DYNAMIC_FIELD_NAME && isPlainObject(value)) for (const [name, inner] of Object.entries(value)) out[name] = jsonValue(inner);
      else out[key] = jsonValue(value);
    }
    return out;
  }

  /** A search hit: its output fields, its primary key and its distance. */
  hit(hit: Hit): Record<string, unknown> {
    return { ...this.row(hit.fields), [this.primaryKey.name]: this.value(this.primaryKey, hit.primaryKey), distance: float32Json(hit.distance) };
  }

  /** An Int64 value (a count, an id) in the client's chosen form. */
  int64(value: bigint | number | string): bigint | string {
    return this.allowInt64 ? BigInt(value) : String(value);
  }

  private value(field: FieldSchema, value: unknown): unknown {
    if (value === null || value === undefined) return null;
    switch (field.dataType) {
      case DataType.Int64: return this.int64(value as bigint | number | string);
      case DataType.Float: return float32Json(value as number);
      case DataType.FloatVector: return float32ArrayJson(value as ArrayLike<number>);
      case DataType.JSON: return JSON.stringify(value);
      default: return value;
    }
  }
}

/** A value read back from JSON storage (plain JSON, no bigints), written as it is. */
function jsonValue(value: unknown): RawJson {
  return new RawJson(JSON.stringify(value) ?? "null");
}
