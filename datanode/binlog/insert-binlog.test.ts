// Insert binlogs: round trips of every data type through the LocalObjectStore, and an independent read
// of the written files with apache-arrow's own tableFromIPC (not Vela's reader) that must see exactly
// the values written; corrupt and truncated files are Corrupted naming the path; bad input is refused.
import { tableFromIPC } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Column } from "../../common/columns.ts";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { crc32 } from "../../common/crc32.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { DataType } from "../../common/schema.ts";
import { LocalObjectStore } from "../../storage/object/local-object-store.ts";
import { scratchDir } from "../../test/servers/ports.ts";
import { columnsOfEveryType, timestampsFor, visibleValues } from "./binlog-test-data.ts";
import { readInsertBinlog, writeInsertBinlog } from "./binlog-io.ts";
import { decodeInsertBinlog, encodeInsertBinlog } from "./insert-binlog.ts";
import type { InsertBinlogHeader } from "./insert-binlog.ts";

const seed = testSeed();
console.log(`insert-binlog.test seed=${seed} (replay with VELA_SEED=${seed})`);

let store: LocalObjectStore;
beforeAll(async () => {
  store = await LocalObjectStore.open({ dir: scratchDir("binlog-insert") });
});
afterAll(async () => {
  await store.close();
});

const ids = { collectionId: 441n, partitionId: 442n, segmentId: 443n, logId: 9_000_000_000_000n };
const header = (fieldId: number): InsertBinlogHeader => ({ ...ids, fieldId });

async function expectError(promise: Promise<unknown>, code: ErrorCode, message: RegExp | string): Promise<void> {
  const error: unknown = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(VelaError);
  expect((error as VelaError).code).toBe(code);
  expect((error as VelaError).message).toMatch(message);
}

function expectSameColumn(actual: Column, expected: Column): void {
  expect(actual.type).toBe(expected.type);
  expect(actual.fieldId).toBe(expected.fieldId);
  if (expected.type === DataType.FloatVector) expect((actual as { dim: number }).dim).toBe(expected.dim);
  expect(actual.valid === undefined).toBe(expected.valid === undefined);
  if (expected.valid !== undefined) expect(Array.from(actual.valid ?? [])).toEqual(Array.from(expected.valid));
  // Object.is equality: -0 stays -0 and NaN stays NaN.
  expect(visibleValues(actual)).toEqual(visibleValues(expected));
}

describe("insert binlog round trip", () => {
  const random = new SeededRandom(seed);
  const rows = 37;
  const columns = columnsOfEveryType(random, rows);
  const timestamps = timestampsFor(random, rows);
  const primaryKeys = (columns[0] as { values: BigInt64Array }).values;

  it("every data type, with nulls and extreme values, comes back equal from the store", async () => {
    for (const column of columns) {
      const written = await writeInsertBinlog(store, "files", header(column.fieldId), { timestamps, primaryKeys, column });
      expect(written.path).toBe(`files/insert_log/441/442/443/${column.fieldId}/9000000000000`);
      expect(written.rowCount).toBe(rows);
      expect((await store.head(written.path))?.sizeBytes).toBe(written.sizeBytes);
      const decoded = await readInsertBinlog(store, written.path);
      expect(decoded.rowCount).toBe(rows);
      expect(decoded.header).toEqual(header(column.fieldId));
      expect(Array.from(decoded.timestamps)).toEqual(Array.from(timestamps));
      expect(Array.from(decoded.primaryKeys as BigInt64Array)).toEqual(Array.from(primaryKeys));
      expectSameColumn(decoded.column, column);
    }
  });

  it("an independent reader (apache-arrow's tableFromIPC) sees exactly the values written", async () => {
    for (const column of columns) {
      const path = `files/insert_log/441/442/443/${column.fieldId}/9000000000000`;
      await writeInsertBinlog(store, "files", header(column.fieldId), { timestamps, primaryKeys, column });
      const table = tableFromIPC(await store.get(path));
      expect(table.numRows).toBe(rows);
      const metadata = table.schema.metadata;
      expect(metadata.get("vela.field_id")).toBe(String(column.fieldId));
      expect(metadata.get("vela.data_type")).toBe(String(column.type));
      expect(metadata.get("vela.segment_id")).toBe("443");
      expect(metadata.get("vela.row_count")).toBe(String(rows));
      expect(table.getChild("ts")?.toArray()).toEqual(timestamps);
      expect(Array.from(table.getChild("pk")?.toArray() as BigInt64Array)).toEqual(Array.from(primaryKeys));
      const valueField = table.schema.fields.find((field) => field.name === "value");
      expect(valueField?.nullable).toBe(column.valid !== undefined);
      const vector = table.getChild("value");
      expect(vector).not.toBeNull();
      const seen: unknown[] = [];
      for (let row = 0; row < rows; row++) {
        const value: unknown = vector?.get(row);
        if (value === null) seen.push(null);
        else if (column.type === DataType.FloatVector) seen.push(Array.from((value as { toArray(): Float32Array }).toArray()));
        else if (column.type === DataType.JSON) seen.push(Array.from(value as Uint8Array));
        else seen.push(value);
      }
      expect(seen).toEqual(visibleValues(column));
      if (column.type === DataType.FloatVector) expect(String(vector?.type)).toBe(`FixedSizeList[${column.dim}]<Float32>`);
    }
  });

  it("VarChar primary keys: Utf8 in the file, equal on both readers", async () => {
    const keys = ["", "k-ü", "日本", "🚀", "z".repeat(1000)];
    const ts = new BigUint64Array([1n, 2n, 3n, 4n, 5n]);
    const column: Column = { fieldId: 100, type: DataType.VarChar, values: keys };
    const written = await writeInsertBinlog(store, "", header(100), { timestamps: ts, primaryKeys: keys, column });
    expect(written.path).toBe("insert_log/441/442/443/100/9000000000000");
    const decoded = await readInsertBinlog(store, written.path);
    expect(decoded.primaryKeys).toEqual(keys);
    const table = tableFromIPC(await store.get(written.path));
    expect(table.getChild("pk")?.toArray()).toEqual(keys);
    expect(String(table.getChild("pk")?.type)).toBe("Utf8");
  });

  it("a batch with no rows round-trips", async () => {
    const column: Column = { fieldId: 106, type: DataType.FloatVector, dim: 4, values: new Float32Array(0) };
    const bytes = encodeInsertBinlog(header(106), { timestamps: new BigUint64Array(0), primaryKeys: new BigInt64Array(0), column });
    const decoded = decodeInsertBinlog("insert_log/441/442/443/106/9000000000000", bytes);
    expect(decoded.rowCount).toBe(0);
    expect(decoded.column).toMatchObject({ type: DataType.FloatVector, dim: 4 });
  });
});

describe("insert binlog damage and bad input", () => {
  const random = new SeededRandom(seed ^ 0x5151);
  const rows = 50;
  const timestamps = timestampsFor(random, rows);
  const primaryKeys = new BigInt64Array(rows).map((_, row) => BigInt(row));
  const column: Column = { fieldId: 101, type: DataType.FloatVector, dim: 8, values: new Float32Array(rows * 8).map(() => random.gaussian()) };
  const path = "damage/insert_log/441/442/443/101/9000000000000";

  it("a truncated file is Corrupted with the path in the message", async () => {
    const bytes = encodeInsertBinlog(header(101), { timestamps, primaryKeys, column });
    for (const length of [0, 7, Math.floor(bytes.length / 2), bytes.length - 1]) {
      await store.put(path, bytes.subarray(0, length));
      await expectError(readInsertBinlog(store, path), ErrorCode.Corrupted, path);
    }
  });

  it("a flipped bit anywhere in the data is Corrupted, never silently served", async () => {
    const bytes = encodeInsertBinlog(header(101), { timestamps, primaryKeys, column });
    const written = crc32(bytes);
    // Flip bytes across the whole file; each damaged copy must either be refused as Corrupted or (if
    // the byte was padding the format ignores) decode to exactly the original rows. Reads verify the
    // CRC recorded at write time first: apache-arrow can spin on damaged metadata.
    let refused = 0;
    for (let trial = 0; trial < 60; trial++) {
      const damaged = bytes.slice();
      const at = random.int(0, damaged.length - 1);
      damaged[at] = (damaged[at] as number) ^ (1 << random.int(0, 7));
      try {
        const decoded = decodeInsertBinlog(path, damaged, written);
        expect(Array.from(decoded.timestamps)).toEqual(Array.from(timestamps));
        expect(Array.from(decoded.primaryKeys as BigInt64Array)).toEqual(Array.from(primaryKeys));
        expect(Array.from(decoded.column.values as Float32Array)).toEqual(Array.from(column.values as Float32Array));
      } catch (error) {
        expect(error).toBeInstanceOf(VelaError);
        expect((error as VelaError).code).toBe(ErrorCode.Corrupted);
        expect((error as VelaError).message).toContain(path);
        refused += 1;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });

  it("a flipped bit in the vector data specifically fails its checksum", async () => {
    const bytes = encodeInsertBinlog(header(101), { timestamps, primaryKeys, column });
    // Find the first vector's bytes in the file and damage one of them.
    const needle = new Uint8Array(column.values.buffer, 0, 16);
    let at = -1;
    for (let i = 0; i + needle.length <= bytes.length && at < 0; i++) if (needle.every((byte, j) => bytes[i + j] === byte)) at = i;
    expect(at).toBeGreaterThan(0);
    const damaged = bytes.slice();
    damaged[at + 3] = (damaged[at + 3] as number) ^ 0x10;
    expect(() => decodeInsertBinlog(path, damaged)).toThrow(/checksum/);
  });

  it("a file read at another field's path is Corrupted", async () => {
    const bytes = encodeInsertBinlog(header(101), { timestamps, primaryKeys, column });
    const wrongPath = "damage/insert_log/441/442/443/102/9000000000000";
    await store.put(wrongPath, bytes);
    await expectError(readInsertBinlog(store, wrongPath), ErrorCode.Corrupted, /vela.field_id=101 does not match the path/);
  });

  it("row count mismatch between timestamps, keys and values is InvalidArgument, and nothing is written", async () => {
    const shortPath = "bad/insert_log/441/442/443/101/9000000000000";
    await expectError(writeInsertBinlog(store, "bad", header(101), { timestamps: timestamps.subarray(1), primaryKeys, column }), ErrorCode.InvalidArgument, /same row count/);
    await expectError(writeInsertBinlog(store, "bad", header(101), { timestamps, primaryKeys: primaryKeys.subarray(2), column }), ErrorCode.InvalidArgument, /same row count/);
    const partialVector: Column = { ...column, values: new Float32Array(rows * 8 - 3) } as Column;
    await expectError(writeInsertBinlog(store, "bad", header(101), { timestamps, primaryKeys, column: partialVector }), ErrorCode.InvalidArgument, /same row count|whole number/);
    const badValid: Column = { fieldId: 101, type: DataType.Int32, values: new Int32Array(rows), valid: new Uint8Array(rows - 1) };
    await expectError(writeInsertBinlog(store, "bad", header(101), { timestamps, primaryKeys, column: badValid }), ErrorCode.InvalidArgument, /valid has 49 rows/);
    expect(await store.head(shortPath)).toBeUndefined();
  });

  it("an unknown data type, a mistyped array or a lone surrogate is InvalidArgument", async () => {
    const unknown = { fieldId: 101, type: 999, values: new Int32Array(rows) } as unknown as Column;
    await expectError(writeInsertBinlog(store, "bad", header(101), { timestamps, primaryKeys, column: unknown }), ErrorCode.InvalidArgument, /unknown data type 999/);
    const mistyped = { fieldId: 101, type: DataType.Int16, values: new Int32Array(rows) } as unknown as Column;
    await expectError(writeInsertBinlog(store, "bad", header(101), { timestamps, primaryKeys, column: mistyped }), ErrorCode.InvalidArgument, /Int16Array/);
    const strings: Column = { fieldId: 101, type: DataType.VarChar, values: Array.from({ length: rows }, (_, row) => (row === 3 ? "bad \ud800 half" : "ok")) };
    await expectError(writeInsertBinlog(store, "bad", header(101), { timestamps, primaryKeys, column: strings }), ErrorCode.InvalidArgument, /surrogate/);
    await expectError(writeInsertBinlog(store, "bad", header(101), { timestamps: Array.from(timestamps) as unknown as BigUint64Array, primaryKeys, column }), ErrorCode.InvalidArgument, /BigUint64Array/);
  });

  it("strings beyond variableColumnBytesMax are LimitExceeded", async () => {
    const strings: Column = { fieldId: 101, type: DataType.VarChar, values: Array.from({ length: rows }, () => "0123456789") };
    await expectError(
      writeInsertBinlog(store, "bad", header(101), { timestamps, primaryKeys, column: strings }, { limits: { variableColumnBytesMax: 100 } }),
      ErrorCode.LimitExceeded,
      /variableColumnBytesMax/,
    );
  });
});
