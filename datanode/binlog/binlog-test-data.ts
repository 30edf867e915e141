// Shared fixtures of the binlog tests: one column of every data type with the awkward values (nulls,
// Int64 extremes, -0, NaN, unicode and empty strings, empty JSON objects, dim 2 and 768 vectors),
// generated from a seeded random source so a failure replays from its printed seed.

import type { Column } from "../../common/columns.ts";
import { DataType } from "../../common/schema.ts";
import type { SeededRandom } from "../../common/random.ts";

const encoder = new TextEncoder();
const awkwardStrings = ["", "a", "héllo wörld", "日本語のテキスト", "emoji 🚀🧪", "\u0000nul inside", "x".repeat(300)];
const awkwardJson = ["{}", "[]", "null", '{"a":1,"b":[true,null,"ü"]}', '"just a string"', "1e308"];

export function validMask(random: SeededRandom, rows: number): Uint8Array {
  const valid = new Uint8Array(rows);
  for (let row = 0; row < rows; row++) valid[row] = random.bool(0.7) ? 1 : 0;
  return valid;
}

/** One column per data type (field ids from 100), `rows` rows; every other type nullable. */
export function columnsOfEveryType(random: SeededRandom, rows: number): Column[] {
  const int64 = new BigInt64Array(rows);
  const extremes = [-(1n << 63n), (1n << 63n) - 1n, 0n, -1n];
  for (let row = 0; row < rows; row++) int64[row] = row < extremes.length ? (extremes[row] as bigint) : BigInt.asIntN(64, (BigInt(random.nextUint32()) << 32n) | BigInt(random.nextUint32()));
  const doubles = new Float64Array(rows);
  const doubleExtremes = [-0, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE];
  for (let row = 0; row < rows; row++) doubles[row] = row < doubleExtremes.length ? (doubleExtremes[row] as number) : random.gaussian() * 1e6;
  const floats = new Float32Array(rows);
  const floatExtremes = [-0, NaN, 3.4028234663852886e38, 1.401298464324817e-45];
  for (let row = 0; row < rows; row++) floats[row] = row < floatExtremes.length ? (floatExtremes[row] as number) : random.gaussian();
  const vector = (dim: number): Float32Array => {
    const values = new Float32Array(rows * dim);
    for (let i = 0; i < values.length; i++) values[i] = random.gaussian();
    if (values.length > 1) values[1] = -0;
    return values;
  };
  const ints = <T extends Int8Array | Int16Array | Int32Array>(make: (n: number) => T, min: number, max: number): T => {
    const out = make(rows);
    for (let row = 0; row < rows; row++) out[row] = row === 0 ? min : row === 1 ? max : random.int(min, max);
    return out;
  };
  const bools = new Uint8Array(rows);
  for (let row = 0; row < rows; row++) bools[row] = random.bool() ? 1 : 0;
  const columns: Column[] = [
    { fieldId: 100, type: DataType.Int64, values: int64 },
    { fieldId: 101, type: DataType.Bool, values: bools, valid: validMask(random, rows) },
    { fieldId: 102, type: DataType.Int8, values: ints((n) => new Int8Array(n), -128, 127) },
    { fieldId: 103, type: DataType.Int16, values: ints((n) => new Int16Array(n), -32768, 32767), valid: validMask(random, rows) },
    { fieldId: 104, type: DataType.Int32, values: ints((n) => new Int32Array(n), -2147483648, 2147483647) },
    { fieldId: 105, type: DataType.Int64, values: int64.slice().reverse(), valid: validMask(random, rows) },
    { fieldId: 106, type: DataType.Float, values: floats },
    { fieldId: 107, type: DataType.Double, values: doubles, valid: validMask(random, rows) },
    { fieldId: 108, type: DataType.VarChar, values: Array.from({ length: rows }, (_, row) => (row < awkwardStrings.length ? (awkwardStrings[row] as string) : `s${random.nextUint32()}`)) },
    { fieldId: 109, type: DataType.JSON, values: Array.from({ length: rows }, (_, row) => encoder.encode(row < awkwardJson.length ? (awkwardJson[row] as string) : JSON.stringify({ k: random.nextUint32() }))), valid: validMask(random, rows) },
    { fieldId: 110, type: DataType.FloatVector, dim: 2, values: vector(2) },
    { fieldId: 111, type: DataType.FloatVector, dim: 768, values: vector(768) },
    { fieldId: 112, type: DataType.VarChar, values: Array.from({ length: rows }, (_, row) => (row % 3 === 0 ? "" : `ü${row}`)), valid: validMask(random, rows) },
  ];
  return columns;
}

export function timestampsFor(random: SeededRandom, rows: number): BigUint64Array {
  const out = new BigUint64Array(rows);
  const base = 450_000_000_000n << 18n;
  for (let row = 0; row < rows; row++) out[row] = base + BigInt(random.int(0, 1_000_000));
  if (rows > 0) out[0] = (1n << 64n) - 1n;
  return out;
}

/** Values at valid rows only (what a null hides is not part of the data). */
export function visibleValues(column: Column): unknown[] {
  const out: unknown[] = [];
  const rows = column.type === DataType.FloatVector ? column.values.length / column.dim : column.values.length;
  for (let row = 0; row < rows; row++) {
    if (column.valid !== undefined && column.valid[row] === 0) {
      out.push(null);
      continue;
    }
    if (column.type === DataType.FloatVector) out.push(Array.from(column.values.subarray(row * column.dim, (row + 1) * column.dim)));
    else if (column.type === DataType.JSON) out.push(Array.from(column.values[row] as Uint8Array));
    else if (column.type === DataType.Bool) out.push(column.values[row] !== 0);
    else out.push(column.values[row]);
  }
  return out;
}
