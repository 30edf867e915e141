// Benchmark (a script, not a test): how fast binlogs are written. Batches of 10,000 rows of 128-dim
// float vectors (with Int64 primary keys and row timestamps) are encoded as Arrow IPC insert binlogs,
// first encode-only, then encode + put into a LocalObjectStore (fsynced atomic puts), on the calling
// thread. Prints MB/s of encoded file bytes and rows/s, medians over rounds.
//
//   npx tsx bench/binlog-write.ts
//   BENCH_BATCHES=50 BENCH_ROUNDS=5 npx tsx bench/binlog-write.ts
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Column } from "../common/columns.ts";
import { SeededRandom } from "../common/random.ts";
import { DataType } from "../common/schema.ts";
import { LocalObjectStore } from "../storage/object/local-object-store.ts";
import { writeInsertBinlog } from "../datanode/binlog/binlog-io.ts";
import { encodeInsertBinlog } from "../datanode/binlog/insert-binlog.ts";

const rowsPerBatch = 10_000;
const dim = 128;
const batchesPerRound = Number(process.env.BENCH_BATCHES ?? "20");
const rounds = Number(process.env.BENCH_ROUNDS ?? "3");
const dir = join(import.meta.dirname, "..", ".bench-cache", `binlog-write-${process.pid}`);

const random = new SeededRandom(42);
const vectors = new Float32Array(rowsPerBatch * dim);
for (let i = 0; i < vectors.length; i++) vectors[i] = random.gaussian();
const column: Column = { fieldId: 101, type: DataType.FloatVector, dim, values: vectors };
const primaryKeys = new BigInt64Array(rowsPerBatch).map((_, row) => BigInt(row));
const timestamps = new BigUint64Array(rowsPerBatch).map((_, row) => (450_000_000_000n << 18n) + BigInt(row));
const batch = { timestamps, primaryKeys, column };
const header = (logId: number): { collectionId: bigint; partitionId: bigint; segmentId: bigint; fieldId: number; logId: bigint } => ({ collectionId: 1n, partitionId: 2n, segmentId: 3n, fieldId: 101, logId: BigInt(logId) });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function report(label: string, bytesPerSecond: number[], rowsPerSecond: number[]): void {
  console.log(`${label.padEnd(18)} ${(median(bytesPerSecond) / 1e6).toFixed(1).padStart(8)} MB/s ${Math.round(median(rowsPerSecond)).toLocaleString("en-US").padStart(12)} rows/s`);
}

async function main(): Promise<void> {
  const store = await LocalObjectStore.open({ dir });
  try {
    const fileBytes = encodeInsertBinlog(header(0), batch).byteLength;
    console.log(`batch: ${rowsPerBatch} rows x ${dim} dims, ${(fileBytes / 1e6).toFixed(2)} MB per file; ${batchesPerRound} batches per round, ${rounds} rounds`);
    const encodeRates: number[] = [];
    const encodeRows: number[] = [];
    const storeRates: number[] = [];
    const storeRows: number[] = [];
    let logId = 1;
    for (let round = 0; round < rounds; round++) {
      let bytes = 0;
      let start = performance.now();
      for (let i = 0; i < batchesPerRound; i++) bytes += encodeInsertBinlog(header(logId++), batch).byteLength;
      let seconds = (performance.now() - start) / 1000;
      encodeRates.push(bytes / seconds);
      encodeRows.push((rowsPerBatch * batchesPerRound) / seconds);
      bytes = 0;
      start = performance.now();
      for (let i = 0; i < batchesPerRound; i++) bytes += (await writeInsertBinlog(store, "bench", header(logId++), batch)).sizeBytes;
      seconds = (performance.now() - start) / 1000;
      storeRates.push(bytes / seconds);
      storeRows.push((rowsPerBatch * batchesPerRound) / seconds);
    }
    report("encode only", encodeRates, encodeRows);
    report("encode + store", storeRates, storeRows);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
