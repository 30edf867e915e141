import { describe, expect, it } from "vitest";
import { proxyDefaults } from "../common/config.ts";
import { ErrorCode, VelaError } from "../common/errors.ts";
import { DataType, normalizeSchema } from "../common/schema.ts";
import { validatePrimaryKeys, validateRows, type ColumnInput } from "./validate-insert.ts";

const schema = normalizeSchema({
  name: "items",
  enableDynamicField: true,
  fields: [
    { name: "id", dataType: DataType.Int64, isPrimaryKey: true },
    { name: "vector", dataType: DataType.FloatVector, dim: 3 },
    { name: "flag", dataType: DataType.Bool },
    { name: "small", dataType: DataType.Int8 },
    { name: "count", dataType: DataType.Int32, nullable: true },
    { name: "price", dataType: DataType.Float },
    { name: "title", dataType: DataType.VarChar, maxLength: 5 },
    { name: "info", dataType: DataType.JSON },
  ],
});
const strict = normalizeSchema({ name: "strict", fields: [{ name: "id", dataType: DataType.Int64, isPrimaryKey: true }, { name: "v", dataType: DataType.FloatVector, dim: 2 }] });
const limits = { ...proxyDefaults };

function good(): Record<string, ColumnInput> {
  return {
    id: [1, "2"],
    vector: [[1, 2, 3], [4, 5, 6]],
    flag: [true, false],
    small: [-128, 127],
    count: [null, 5],
    price: [1.5, 2],
    title: ["abc", "héé"],
    info: [{ a: 1 }, [1, 2]],
    color: ["red", "blue"],
  };
}

function expectError(run: () => unknown, code: string, message: RegExp): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(VelaError);
    expect((error as VelaError).code).toBe(code);
    expect((error as VelaError).message).toMatch(message);
    return;
  }
  throw new Error("expected an error");
}

describe("insert validation", () => {
  it("accepts good rows and keeps extra keys in $meta", () => {
    const rows = validateRows(schema, good(), limits, { requirePrimaryKey: true });
    expect(rows.rowCount).toBe(2);
    expect(rows.columns[0]?.values).toEqual(BigInt64Array.from([1n, 2n]));
    expect(rows.columns[4]?.valid).toEqual(Uint8Array.from([0, 1]));
    const meta = rows.columns[rows.columns.length - 1];
    expect(meta?.type).toBe(DataType.JSON);
    expect(JSON.parse(new TextDecoder().decode((meta?.values as Uint8Array[])[1]))).toEqual({ color: "blue" });
  });

  it("rejects a wrong dimension", () => {
    expectError(() => validateRows(schema, { ...good(), vector: [[1, 2, 3], [1, 2]] }, limits, { requirePrimaryKey: true }),
      ErrorCode.InvalidArgument, /field "vector" \(FloatVector\), row 1: vector has 2 dimensions, the field's dim is 3/);
    expectError(() => validateRows(schema, { ...good(), vector: new Float32Array(5) }, limits, { requirePrimaryKey: true }),
      ErrorCode.InvalidArgument, /not a multiple of dim 3/);
  });

  it("rejects NaN and infinities in vectors and scalars", () => {
    expectError(() => validateRows(schema, { ...good(), vector: [[1, Number.NaN, 3], [4, 5, 6]] }, limits, { requirePrimaryKey: true }),
      ErrorCode.InvalidArgument, /row 0: element 1 is NaN; NaN and infinity are not allowed/);
    expectError(() => validateRows(schema, { ...good(), vector: Float32Array.from([1, 2, 3, 4, Infinity, 6]) }, limits, { requirePrimaryKey: true }),
      ErrorCode.InvalidArgument, /row 1: element 1 is Infinity/);
    expectError(() => validateRows(schema, { ...good(), price: [1, Number.POSITIVE_INFINITY] }, limits, { requirePrimaryKey: true }),
      ErrorCode.InvalidArgument, /"price".*row 1: expected a finite number/);
  });

  it("rejects wrong types and out-of-range integers", () => {
    expectError(() => validateRows(schema, { ...good(), flag: [1, 0] }, limits, { requirePrimaryKey: true }), ErrorCode.InvalidArgument, /"flag".*expected a boolean/);
    expectError(() => validateRows(schema, { ...good(), small: [1, 128] }, limits, { requirePrimaryKey: true }), ErrorCode.InvalidArgument, /"small".*\[-128, 127\]/);
    expectError(() => validateRows(schema, { ...good(), id: [1, 1.5] }, limits, { requirePrimaryKey: true }), ErrorCode.InvalidArgument, /"id".*64-bit integer/);
    expectError(() => validateRows(schema, { ...good(), id: [1, "99999999999999999999"] }, limits, { requirePrimaryKey: true }), ErrorCode.InvalidArgument, /out of the Int64 range/);
    expectError(() => validateRows(schema, { ...good(), title: [1, "a"] }, limits, { requirePrimaryKey: true }), ErrorCode.InvalidArgument, /"title".*expected a string/);
  });

  it("rejects varchar over max_length in UTF-8 bytes", () => {
    expectError(() => validateRows(schema, { ...good(), title: ["abc", "héééé"] }, limits, { requirePrimaryKey: true }),
      ErrorCode.InvalidArgument, /string of 9 bytes exceeds max_length 5/);
  });

  it("rejects missing fields, nulls in non-nullable fields, mismatched lengths and unknown fields", () => {
    const missing = good();
    delete missing.price;
    expectError(() => validateRows(schema, missing, limits, { requirePrimaryKey: true }), ErrorCode.InvalidArgument, /field "price" is missing/);
    expectError(() => validateRows(schema, { ...good(), price: [1, null] }, limits, { requirePrimaryKey: true }), ErrorCode.InvalidArgument, /null is not allowed/);
    expectError(() => validateRows(schema, { ...good(), price: [1] }, limits, { requirePrimaryKey: true }), ErrorCode.InvalidArgument, /has 1 values but the request has 2 rows/);
    expectError(() => validateRows(strict, { id: [1], v: [[1, 2]], extra: [1] }, limits, { requirePrimaryKey: true }),
      ErrorCode.InvalidArgument, /field "extra" is not in the schema of collection "strict" and the collection has no dynamic field/);
  });

  it("rejects oversized JSON and batches beyond the named bounds", () => {
    expectError(() => validateRows(schema, { ...good(), info: [{ a: "x".repeat(100) }, {}] }, { ...limits, jsonBytesMax: 50 }, { requirePrimaryKey: true }),
      ErrorCode.InvalidArgument, /exceeds the limit of 50 bytes \(jsonBytesMax\)/);
    expectError(() => validateRows(schema, good(), { ...limits, insertBatchRowsMax: 1 }, { requirePrimaryKey: true }),
      ErrorCode.LimitExceeded, /2 rows exceed the limit of 1 rows per request \(insertBatchRowsMax\)/);
    expectError(() => validateRows(schema, good(), { ...limits, insertBatchBytesMax: 10 }, { requirePrimaryKey: true }),
      ErrorCode.LimitExceeded, /insertBatchBytesMax/);
  });

  it("refuses a primary key on an auto-ID collection and empty requests", () => {
    const autoSchema = normalizeSchema({ name: "auto", autoId: true, fields: [{ name: "id", dataType: DataType.Int64, isPrimaryKey: true }, { name: "v", dataType: DataType.FloatVector, dim: 2 }] });
    const withIds = validateRows(autoSchema, { v: [[1, 2], [3, 4]] }, limits, { requirePrimaryKey: true, autoIds: BigInt64Array.from([7n, 8n]) });
    expect(withIds.columns[0]?.values).toEqual(BigInt64Array.from([7n, 8n]));
    expectError(() => validateRows(autoSchema, { id: [1, 2], v: [[1, 2], [3, 4]] }, limits, { requirePrimaryKey: true, autoIds: BigInt64Array.from([1n, 2n]) }),
      ErrorCode.InvalidArgument, /auto-generated; do not provide it/);
    expectError(() => validateRows(schema, {}, limits, { requirePrimaryKey: true }), ErrorCode.InvalidArgument, /no rows/);
  });

  it("checks delete keys against the key type and bound", () => {
    const pk = schema.fields[0]!;
    expect(validatePrimaryKeys(pk, [1, 2n, "3"], limits).values).toEqual(BigInt64Array.from([1n, 2n, 3n]));
    expectError(() => validatePrimaryKeys(pk, ["x"], limits), ErrorCode.InvalidArgument, /64-bit integer/);
    expectError(() => validatePrimaryKeys(pk, [], limits), ErrorCode.InvalidArgument, /no primary keys/);
    expectError(() => validatePrimaryKeys(pk, [1, 2], { ...limits, deleteBatchKeysMax: 1 }), ErrorCode.LimitExceeded, /deleteBatchKeysMax/);
  });
});
