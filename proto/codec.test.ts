import { describe, expect, it } from "vitest";
import type { Column } from "../common/columns.ts";
import { ErrorCode, VelaError } from "../common/errors.ts";
import { DataType } from "../common/schema.ts";
import {
  decodeCollectionDdlMsg, decodeDeleteMsg, decodeInsertMsg, decodePartitionDdlMsg,
  encodeCollectionDdlMsg, encodeDeleteMsg, encodeInsertMsg, encodePartitionDdlMsg,
} from "./codec.ts";

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

describe("log payload codec", () => {
  it("round-trips an InsertMsg with every column type, nulls and extreme values", () => {
    const columns: Column[] = [
      { fieldId: 100, type: DataType.Int64, values: BigInt64Array.from([-(2n ** 63n), 0n, 2n ** 63n - 1n]) },
      { fieldId: 101, type: DataType.Bool, values: Uint8Array.from([1, 0, 1]) },
      { fieldId: 102, type: DataType.Int8, values: Int8Array.from([-128, 0, 127]) },
      { fieldId: 103, type: DataType.Int16, values: Int16Array.from([-32768, 1, 32767]) },
      { fieldId: 104, type: DataType.Int32, values: Int32Array.from([-2147483648, 2, 2147483647]), valid: Uint8Array.from([1, 0, 1]) },
      { fieldId: 105, type: DataType.Float, values: Float32Array.from([1.5, -0, 3.4e38]) },
      { fieldId: 106, type: DataType.Double, values: Float64Array.from([Number.MIN_VALUE, -1e308, 0.1]) },
      { fieldId: 107, type: DataType.VarChar, values: ["", "héllo", "日本語"] },
      { fieldId: 108, type: DataType.JSON, values: [json({ a: 1 }), json([1, "x"]), json(null)] },
      { fieldId: 109, type: DataType.FloatVector, dim: 2, values: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    ];
    const msg = { collectionId: 2n ** 62n, partitionId: 7n, segmentId: 9007199254740993n, vchannel: "vela-dml_3_1001v0", rowCount: 3, columns };
    const decoded = decodeInsertMsg(encodeInsertMsg(msg));
    expect(decoded).toEqual(msg);
    expect(decoded.columns[9]?.values).toBeInstanceOf(Float32Array);
  });

  it("round-trips DeleteMsg and DDL messages", () => {
    const deleteMsg = { collectionId: 5n, partitionId: 0n, vchannel: "c_5v1", rowCount: 2, primaryKeys: { fieldId: 100, type: DataType.VarChar, values: ["a", "b"] } as Column };
    expect(decodeDeleteMsg(encodeDeleteMsg(deleteMsg))).toEqual(deleteMsg);
    const ddl = { collectionId: 5n, dbName: "default", collectionName: "books", collectionInfo: '{"x":1}' };
    expect(decodeCollectionDdlMsg(encodeCollectionDdlMsg(ddl))).toEqual(ddl);
    const partition = { collectionId: 5n, partitionId: 6n, partitionName: "p1" };
    expect(decodePartitionDdlMsg(encodePartitionDdlMsg(partition))).toEqual(partition);
  });

  it("rejects corrupted payloads with a Corrupted error", () => {
    const bytes = encodeInsertMsg({
      collectionId: 1n, partitionId: 2n, segmentId: 3n, vchannel: "v", rowCount: 2,
      columns: [{ fieldId: 100, type: DataType.Int64, values: BigInt64Array.from([1n, 2n]) }],
    });
    const truncated = bytes.subarray(0, bytes.length - 3);
    expect(() => decodeInsertMsg(truncated)).toThrow(VelaError);
    try {
      decodeInsertMsg(truncated);
    } catch (error) {
      expect((error as VelaError).code).toBe(ErrorCode.Corrupted);
    }
    // A row count that disagrees with the column is caught too.
    const lying = encodeInsertMsg({
      collectionId: 1n, partitionId: 2n, segmentId: 3n, vchannel: "v", rowCount: 3,
      columns: [{ fieldId: 100, type: DataType.Int64, values: BigInt64Array.from([1n, 2n]) }],
    });
    expect(() => decodeInsertMsg(lying)).toThrow(/holds 2 rows, the message says 3/);
  });
});
