// Columnar row data as it moves through Vela: one typed array per scalar field, one contiguous
// Float32Array per vector field. Rows are addressed by index; every column of a batch has the same
// row count (checked by validate functions, asserted here).

import { invalidArgument } from "./errors.ts";
import { DataType } from "./schema.ts";

export type ColumnValues =
  | { type: typeof DataType.Bool; values: Uint8Array }
  | { type: typeof DataType.Int8; values: Int8Array }
  | { type: typeof DataType.Int16; values: Int16Array }
  | { type: typeof DataType.Int32; values: Int32Array }
  | { type: typeof DataType.Int64; values: BigInt64Array }
  | { type: typeof DataType.Float; values: Float32Array }
  | { type: typeof DataType.Double; values: Float64Array }
  | { type: typeof DataType.VarChar; values: string[] }
  | { type: typeof DataType.JSON; values: Uint8Array[] }
  | { type: typeof DataType.FloatVector; dim: number; values: Float32Array };

export type Column = ColumnValues & {
  fieldId: number;
  /** Nullable fields: 1 = present, 0 = null, one byte per row. Undefined: every row present. */
  valid?: Uint8Array;
};

export function columnRowCount(column: ColumnValues): number {
  if (column.type === DataType.FloatVector) return column.values.length / column.dim;
  return column.values.length;
}

/** Approximate bytes the column occupies in memory (for budgets and batch limits). */
export function columnByteSize(column: Column): number {
  let bytes = column.valid?.byteLength ?? 0;
  switch (column.type) {
    case DataType.VarChar:
      for (const value of column.values) bytes += 16 + value.length * 2;
      return bytes;
    case DataType.JSON:
      for (const value of column.values) bytes += 16 + value.byteLength;
      return bytes;
    default:
      return bytes + column.values.byteLength;
  }
}

/** A new column holding the rows at `rowIndexes`, in that order. */
export function gatherColumn(column: Column, rowIndexes: ArrayLike<number>): Column {
  const count = rowIndexes.length;
  const valid = column.valid === undefined ? undefined : gatherTyped(new Uint8Array(count), column.valid, rowIndexes);
  const base = { fieldId: column.fieldId, ...(valid === undefined ? {} : { valid }) };
  switch (column.type) {
    case DataType.Bool:
      return { ...base, type: column.type, values: gatherTyped(new Uint8Array(count), column.values, rowIndexes) };
    case DataType.Int8:
      return { ...base, type: column.type, values: gatherTyped(new Int8Array(count), column.values, rowIndexes) };
    case DataType.Int16:
      return { ...base, type: column.type, values: gatherTyped(new Int16Array(count), column.values, rowIndexes) };
    case DataType.Int32:
      return { ...base, type: column.type, values: gatherTyped(new Int32Array(count), column.values, rowIndexes) };
    case DataType.Int64: {
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) out[i] = column.values[rowIndexes[i] as number] as bigint;
      return { ...base, type: column.type, values: out };
    }
    case DataType.Float:
      return { ...base, type: column.type, values: gatherTyped(new Float32Array(count), column.values, rowIndexes) };
    case DataType.Double:
      return { ...base, type: column.type, values: gatherTyped(new Float64Array(count), column.values, rowIndexes) };
    case DataType.VarChar:
      return { ...base, type: column.type, values: Array.from({ length: count }, (_, i) => column.values[rowIndexes[i] as number] as string) };
    case DataType.JSON:
      return { ...base, type: column.type, values: Array.from({ length: count }, (_, i) => column.values[rowIndexes[i] as number] as Uint8Array) };
    case DataType.FloatVector: {
      const dim = column.dim;
      const out = new Float32Array(count * dim);
      for (let i = 0; i < count; i++) {
        const source = (rowIndexes[i] as number) * dim;
        out.set(column.values.subarray(source, source + dim), i * dim);
      }
      return { ...base, type: column.type, dim, values: out };
    }
  }
}

function gatherTyped<T extends { [index: number]: number; length: number }>(out: T, source: { [index: number]: number }, rowIndexes: ArrayLike<number>): T {
  for (let i = 0; i < out.length; i++) out[i] = source[rowIndexes[i] as number] as number;
  return out;
}

type Typed = Uint8Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array;

/** The batches of one field, end to end; validity is kept if any batch has it. InvalidArgument when they disagree on type or dim. */
export function concatColumns(parts: readonly Column[]): Column {
  const first = parts[0];
  if (first === undefined) throw invalidArgument("concatColumns: no batches");
  if (parts.length === 1) return first;
  const rows = parts.map((part) => columnRowCount(part));
  const total = rows.reduce((sum, count) => sum + count, 0);
  for (const part of parts) {
    if (part.type !== first.type || (part.type === DataType.FloatVector && first.type === DataType.FloatVector && part.dim !== first.dim)) {
      throw invalidArgument(`field ${first.fieldId} changes type or dim between batches`);
    }
  }
  let valid: Uint8Array | undefined;
  if (parts.some((part) => part.valid !== undefined)) {
    valid = new Uint8Array(total);
    let at = 0;
    parts.forEach((part, index) => {
      if (part.valid === undefined) valid?.fill(1, at, at + (rows[index] as number));
      else valid?.set(part.valid, at);
      at += rows[index] as number;
    });
  }
  const base = { fieldId: first.fieldId, ...(valid === undefined ? {} : { valid }) };
  if (first.type === DataType.VarChar || first.type === DataType.JSON) {
    return { ...base, type: first.type, values: parts.flatMap((part) => part.values as unknown[]) } as Column;
  }
  const values = first.values as Typed;
  const Constructor = values.constructor as new (length: number) => Typed;
  const out = new Constructor(values.length === 0 ? 0 : parts.reduce((sum, part) => sum + (part.values as Typed).length, 0));
  let at = 0;
  for (const part of parts) {
    (out as Float32Array).set(part.values as Float32Array, at);
    at += (part.values as Typed).length;
  }
  return { ...base, type: first.type, ...(first.type === DataType.FloatVector ? { dim: first.dim } : {}), values: out } as Column;
}
