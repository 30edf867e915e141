// A ColumnSource over plain row objects, for tests and benchmarks: builds each field's column view
// (typed arrays, string arrays, parsed JSON values, validity masks) the way GrowingSegment lays them
// out, so evaluate.ts can run over the same rows the oracle reads one by one.

import { ErrorCode, VelaError, assert } from "../../common/errors.ts";
import { DataType, type FieldSchema } from "../../common/schema.ts";
import type { ColumnSource, ScalarColumnView } from "../column-source.ts";
import type { Row } from "../oracle.ts";

export class RowColumnSource implements ColumnSource {
  private readonly views = new Map<number, ScalarColumnView>();

  constructor(private readonly rows: readonly Row[]) {}

  columnView(field: FieldSchema, rowCount: number): ScalarColumnView {
    assert(rowCount <= this.rows.length, `${rowCount} rows are available`);
    const cached = this.views.get(field.fieldId);
    if (cached !== undefined && cached.rowCount === rowCount) return cached;
    const view = buildView(field, this.rows.slice(0, rowCount));
    this.views.set(field.fieldId, view);
    return view;
  }
}

function buildView(field: FieldSchema, rows: readonly Row[]): ScalarColumnView {
  const count = rows.length;
  const valueAt = (row: number): unknown => {
    const value = (rows[row] as Row)[field.name];
    return value === undefined ? null : value;
  };
  const valid = field.nullable ? Uint8Array.from(rows, (_, row) => (valueAt(row) === null ? 0 : 1)) : undefined;
  const withValid = valid === undefined ? {} : { valid };
  switch (field.dataType) {
    case DataType.VarChar:
      return { kind: "strings", values: rows.map((_, row) => (valueAt(row) as string | null) ?? ""), rowCount: count, ...withValid };
    case DataType.JSON:
      return { kind: "json", values: rows.map((_, row) => valueAt(row)), rowCount: count, ...withValid };
    case DataType.Int64: {
      const values = new BigInt64Array(count);
      for (let row = 0; row < count; row++) values[row] = (valueAt(row) as bigint | null) ?? 0n;
      return { kind: "typed", values, rowCount: count, ...withValid };
    }
    default: {
      const values = typedArrayFor(field.dataType, count);
      for (let row = 0; row < count; row++) {
        const value = valueAt(row);
        values[row] = value === null ? 0 : typeof value === "boolean" ? (value ? 1 : 0) : (value as number);
      }
      return { kind: "typed", values, rowCount: count, ...withValid };
    }
  }
}

function typedArrayFor(dataType: DataType, count: number): Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array {
  switch (dataType) {
    case DataType.Bool:
      return new Uint8Array(count);
    case DataType.Int8:
      return new Int8Array(count);
    case DataType.Int16:
      return new Int16Array(count);
    case DataType.Int32:
      return new Int32Array(count);
    case DataType.Float:
      return new Float32Array(count);
    case DataType.Double:
      return new Float64Array(count);
    default:
      throw new VelaError(ErrorCode.Internal, `invariant broken: no typed column for data type ${dataType}`);
  }
}
