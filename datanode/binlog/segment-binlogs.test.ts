// A segment's binlogs end to end against a LocalObjectStore: every field, the stats log and the delta
// log written and read back equal (inline and through the binlog worker pool), delta logs read by
// apache-arrow itself, several flushes of one segment concatenated, and disagreeing or damaged files
// refused as Corrupted naming the file; bad input refused before anything is written.
import { tableFromIPC } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Column } from "../../common/columns.ts";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { DataType } from "../../common/schema.ts";
import type { WorkerPool } from "../../common/worker-pool.ts";
import { LocalObjectStore } from "../../storage/object/local-object-store.ts";
import { listAll } from "../../storage/object/object-store.ts";
import { scratchDir } from "../../test/servers/ports.ts";
import { columnsOfEveryType, timestampsFor, visibleValues } from "./binlog-test-data.ts";
import { readDeltaLog, writeInsertBinlog } from "./binlog-io.ts";
import { createBinlogPool } from "./binlog-pool.ts";
import { binlogPaths, readSegmentBinlogs, writeSegmentBinlogs } from "./segment-binlogs.ts";
import type { SegmentBinlogMeta } from "./segment-binlogs.ts";

const seed = testSeed();
console.log(`segment-binlogs.test seed=${seed} (replay with VELA_SEED=${seed})`);

let store: LocalObjectStore;
let pool: WorkerPool;
beforeAll(async () => {
  store = await LocalObjectStore.open({ dir: scratchDir("binlog-segment") });
  pool = createBinlogPool({ workerCount: 2 });
});
afterAll(async () => {
  await pool.close();
  await store.close();
});

const meta = (segmentId: bigint, logId: bigint): SegmentBinlogMeta => ({ root: "vela", collectionId: 7n, partitionId: 8n, segmentId, primaryKeyFieldId: 100, logId });

async function expectError(promise: Promise<unknown>, code: ErrorCode, message: RegExp | string): Promise<void> {
  const error: unknown = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(VelaError);
  expect((error as VelaError).code).toBe(code);
  expect((error as VelaError).message).toMatch(message);
}

function expectColumnsEqual(actual: readonly Column[], expected: readonly Column[]): void {
  expect(actual.map((column) => column.fieldId)).toEqual(expected.map((column) => column.fieldId));
  expected.forEach((column, index) => {
    const got = actual[index] as Column;
    expect(got.type).toBe(column.type);
    expect(got.valid === undefined).toBe(column.valid === undefined);
    expect(visibleValues(got)).toEqual(visibleValues(column));
  });
}

describe("segment binlogs", () => {
  it("writes every field, stats and tombstones at DESIGN §7 paths and reads them back equal — inline and in the worker pool", async () => {
    const random = new SeededRandom(seed);
    const rows = 300;
    const columns = columnsOfEveryType(random, rows);
    const timestamps = timestampsFor(random, rows);
    const keys = (columns[0] as { values: BigInt64Array }).values;
    const tombstones = { primaryKeys: new BigInt64Array([keys[3] as bigint, 123n]), timestamps: new BigUint64Array([10n, 11n]) };
    for (const [segmentId, options] of [[1n, {}], [2n, { pool, limits: { inlineCodecBytesMax: 1024 } }]] as const) {
      const written = await writeSegmentBinlogs(store, meta(segmentId, 500n), columns, timestamps, { ...options, tombstones });
      expect(written.rowCount).toBe(rows);
      expect(written.insertLogs.map((file) => file.path)).toEqual(columns.map((column) => `vela/insert_log/7/8/${segmentId}/${column.fieldId}/500`));
      expect(written.statsLogs.map((file) => file.path)).toEqual([`vela/stats_log/7/8/${segmentId}/100/500`]);
      expect(written.deltaLogs.map((file) => file.path)).toEqual([`vela/delta_log/7/8/${segmentId}/500`]);
      const stored = new Map<string, number>();
      for await (const info of listAll(store, `vela/`)) stored.set(info.key, info.sizeBytes);
      for (const file of [...written.insertLogs, ...written.statsLogs, ...written.deltaLogs]) expect(stored.get(file.path)).toBe(file.sizeBytes);

      const read = await readSegmentBinlogs(store, binlogPaths(written), options);
      expect(read.rowCount).toBe(rows);
      expect(Array.from(read.timestamps)).toEqual(Array.from(timestamps));
      expect(Array.from(read.primaryKeys as BigInt64Array)).toEqual(Array.from(keys));
      expectColumnsEqual(read.columns, columns);
      expect(Array.from(read.tombstones.primaryKeys as BigInt64Array)).toEqual(Array.from(tombstones.primaryKeys));
      expect(Array.from(read.tombstones.timestamps)).toEqual([10n, 11n]);
      expect(read.stats).toHaveLength(1);
      const stats = read.stats[0];
      for (const key of keys) expect(stats?.bloom.mightContain(key)).toBe(true);
      expect(stats?.minPk).toBe(-(1n << 63n));
      expect(stats?.maxPk).toBe((1n << 63n) - 1n);
    }
  });

  it("a delta log read by apache-arrow itself holds the tombstones written", async () => {
    const primaryKeys = ["a", "", "ü🚀"];
    const timestamps = new BigUint64Array([3n, 1n, (1n << 64n) - 1n]);
    const columns: Column[] = [
      { fieldId: 100, type: DataType.VarChar, values: ["x", "y"] },
      { fieldId: 101, type: DataType.FloatVector, dim: 2, values: new Float32Array([1, 2, 3, 4]) },
    ];
    const written = await writeSegmentBinlogs(store, meta(3n, 600n), columns, new BigUint64Array([5n, 6n]), { tombstones: { primaryKeys, timestamps } });
    const deltaPath = written.deltaLogs[0]?.path as string;
    const table = tableFromIPC(await store.get(deltaPath));
    expect(table.getChild("pk")?.toArray()).toEqual(primaryKeys);
    expect(table.getChild("ts")?.toArray()).toEqual(timestamps);
    expect(table.schema.metadata.get("vela.binlog")).toBe("delta_log");
    const decoded = await readDeltaLog(store, deltaPath);
    expect(decoded.primaryKeys).toEqual(primaryKeys);
    expect(decoded.timestampMin).toBe(1n);
  });

  it("several flushes of one segment are read back in log-id order", async () => {
    const random = new SeededRandom(seed ^ 0xf1);
    const batches = [40, 25].map((rows, index) => ({
      logId: BigInt(700 + index),
      timestamps: timestampsFor(random, rows),
      columns: [
        { fieldId: 100, type: DataType.Int64, values: new BigInt64Array(rows).map((_, row) => BigInt(index * 1000 + row)) },
        { fieldId: 101, type: DataType.Double, values: new Float64Array(rows).map(() => random.gaussian()), valid: new Uint8Array(rows).map(() => (random.bool() ? 1 : 0)) },
      ] as Column[],
    }));
    const paths: string[] = [];
    for (const batch of [...batches].reverse()) paths.push(...binlogPaths(await writeSegmentBinlogs(store, meta(4n, batch.logId), batch.columns, batch.timestamps)));
    const read = await readSegmentBinlogs(store, paths);
    expect(read.rowCount).toBe(65);
    expect(Array.from(read.primaryKeys as BigInt64Array)).toEqual([...Array.from(batches[0]?.columns[0]?.values as BigInt64Array), ...Array.from(batches[1]?.columns[0]?.values as BigInt64Array)]);
    expect(visibleValues(read.columns[1] as Column)).toEqual([...visibleValues(batches[0]?.columns[1] as Column), ...visibleValues(batches[1]?.columns[1] as Column)]);
    expect(read.stats).toHaveLength(2);
  });

  it("fields of one flush that disagree on row count or keys are Corrupted naming the file", async () => {
    const timestamps = new BigUint64Array([1n, 2n, 3n]);
    const keys = new BigInt64Array([1n, 2n, 3n]);
    const columns: Column[] = [
      { fieldId: 100, type: DataType.Int64, values: keys },
      { fieldId: 101, type: DataType.Int32, values: new Int32Array([7, 8, 9]) },
    ];
    const written = await writeSegmentBinlogs(store, meta(5n, 800n), columns, timestamps);
    // Replace field 101's file with a well-formed one of another row count.
    const shortPath = "vela/insert_log/7/8/5/101/800";
    await writeInsertBinlog(store, "vela", { collectionId: 7n, partitionId: 8n, segmentId: 5n, fieldId: 101, logId: 800n }, { timestamps: timestamps.subarray(0, 2), primaryKeys: keys.subarray(0, 2), column: { fieldId: 101, type: DataType.Int32, values: new Int32Array([7, 8]) } });
    await expectError(readSegmentBinlogs(store, binlogPaths(written)), ErrorCode.Corrupted, new RegExp(`${shortPath}.*2 rows`));
    await writeInsertBinlog(store, "vela", { collectionId: 7n, partitionId: 8n, segmentId: 5n, fieldId: 101, logId: 800n }, { timestamps, primaryKeys: new BigInt64Array([1n, 2n, 4n]), column: { fieldId: 101, type: DataType.Int32, values: new Int32Array([7, 8, 9]) } });
    await expectError(readSegmentBinlogs(store, binlogPaths(written)), ErrorCode.Corrupted, new RegExp(`${shortPath}.*primary keys differ`));
    // A truncated file.
    const bytes = await store.get("vela/insert_log/7/8/5/100/800");
    await store.put("vela/insert_log/7/8/5/100/800", bytes.subarray(0, bytes.length - 9));
    await expectError(readSegmentBinlogs(store, binlogPaths(written)), ErrorCode.Corrupted, "vela/insert_log/7/8/5/100/800");
    await expectError(readSegmentBinlogs(store, ["vela/insert_log/7/8/5/100/800", "vela/insert_log/7/8/6/100/800"]), ErrorCode.InvalidArgument, /another segment/);
    await expectError(readSegmentBinlogs(store, ["vela/not-a-binlog"]), ErrorCode.InvalidArgument, /not a binlog path/);
  });

  it("bad input is InvalidArgument and writes nothing", async () => {
    const timestamps = new BigUint64Array([1n, 2n, 3n]);
    const good: Column = { fieldId: 100, type: DataType.Int64, values: new BigInt64Array([1n, 2n, 3n]) };
    const cases: [Column[], RegExp][] = [
      [[good, { fieldId: 101, type: DataType.Int32, values: new Int32Array(2) }], /same row count/],
      [[good, { fieldId: 101, type: 77, values: new Int32Array(3) } as unknown as Column], /unknown data type 77/],
      [[{ fieldId: 101, type: DataType.Int32, values: new Int32Array(3) }], /no column for the primary key/],
      [[{ fieldId: 100, type: DataType.Double, values: new Float64Array(3) }], /must be Int64 or VarChar/],
      [[good, good], /appears twice/],
    ];
    for (const [columns, message] of cases) await expectError(writeSegmentBinlogs(store, meta(9n, 900n), columns, timestamps), ErrorCode.InvalidArgument, message);
    await expectError(
      writeSegmentBinlogs(store, meta(9n, 900n), [good], timestamps, { tombstones: { primaryKeys: ["a"], timestamps: new BigUint64Array([1n]) } }),
      ErrorCode.InvalidArgument,
      /different types/,
    );
    const written: string[] = [];
    for await (const info of listAll(store, "vela/insert_log/7/8/9/")) written.push(info.key);
    expect(written).toEqual([]);
  });
});
