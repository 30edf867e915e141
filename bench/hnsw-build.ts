// Benchmark of the HNSW library (indexnode/hnsw/) against raw hnswlib-node on the same vectors in the
// same run: index build time (one pool worker vs raw on the main thread), load time of the stored
// bytes vs build time, search throughput at ef 64, k 10 (one worker vs raw), and recall@10 against
// exact brute force. Clustered Gaussian vectors, M 16, efConstruction 200. Phases run one after
// another, never side by side, so they do not compete for cores. Prints figures only; nothing here is
// asserted.
//
//   npx tsx bench/hnsw-build.ts      (VELA_BENCH_ROWS, default 100000; VELA_BENCH_QUERIES, default 1000;
//                                     VELA_SEED to fix the data set)

import { cpus, loadavg } from "node:os";
import hnswlib from "hnswlib-node";
import { testSeed } from "../common/random.ts";
import { clusteredDataSet } from "../indexnode/hnsw/clustered-vectors.ts";
import { hnswSpaceName } from "../indexnode/hnsw/hnsw-engine.ts";
import { buildHnsw, createHnswPool, loadHnsw, releaseHnsw, searchHnsw } from "../indexnode/hnsw/hnsw-pool.ts";
import { bruteForceTopK } from "../querynode/compute/brute-force.ts";
import type { MetricType } from "../querynode/compute/metric.ts";
import type { TopKResult } from "../querynode/compute/topk.ts";

const rows = Number(process.env.VELA_BENCH_ROWS ?? "100000");
const queryCount = Number(process.env.VELA_BENCH_QUERIES ?? "1000");
const recallQueries = Math.min(queryCount, 200);
const dim = 128;
const M = 16;
const efConstruction = 200;
const ef = 64;
const topk = 10;
const metric: MetricType = "L2";
const seed = testSeed();

function ms(start: number): number {
  return performance.now() - start;
}

function recallAt(rowsFound: (q: number) => number[], exact: TopKResult): number {
  let found = 0;
  for (let q = 0; q < exact.nq; q++) {
    const truth = new Set(exact.rows.subarray(q * topk, (q + 1) * topk));
    for (const row of rowsFound(q)) if (truth.has(row)) found += 1;
  }
  return found / (exact.nq * topk);
}

async function main(): Promise<void> {
  console.log(`HNSW benchmark: ${rows} × ${dim} clustered vectors, ${metric}, M ${M}, efConstruction ${efConstruction}; search ef ${ef}, k ${topk}, ${queryCount} queries`);
  console.log(`seed ${seed} (VELA_SEED to replay); ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  const { vectors, queries } = clusteredDataSet(seed, { rows, dim, clusters: 100, spread: 0.5, queries: queryCount, shared: true });

  const pool = createHnswPool({ workerCount: 1, name: "bench HNSW pool" });
  try {
    // Warm-up: the worker loads its module (tsx, hnswlib) before any timed task.
    await buildHnsw(pool, { vectors: vectors.subarray(0, 100 * dim), dim, metric, M, efConstruction });

    let start = performance.now();
    const bytes = await buildHnsw(pool, { vectors, dim, metric, M, efConstruction });
    const poolBuildMs = ms(start);
    console.log(`build, pool (1 worker):          ${(poolBuildMs / 1000).toFixed(2)} s  (${(rows / (poolBuildMs / 1000)).toFixed(0)} rows/s, includes serialising to ${(bytes.length / 1024 / 1024).toFixed(1)} MiB)`);

    start = performance.now();
    const raw = new hnswlib.HierarchicalNSW(hnswSpaceName(metric), dim);
    raw.initIndex({ maxElements: rows, m: M, efConstruction, randomSeed: 100 });
    for (let row = 0; row < rows; row++) raw.addPoint(Array.from(vectors.subarray(row * dim, (row + 1) * dim)), row);
    const rawBuildMs = ms(start);
    console.log(`build, raw hnswlib (main thread): ${(rawBuildMs / 1000).toFixed(2)} s  (${(rows / (rawBuildMs / 1000)).toFixed(0)} rows/s, blocks the event loop throughout)`);

    start = performance.now();
    const handle = await loadHnsw(pool, bytes);
    const loadMs = ms(start);
    console.log(`load from bytes (verify CRC + readIndex): ${loadMs.toFixed(0)} ms  (${((loadMs / poolBuildMs) * 100).toFixed(1)}% of build time; resident ${(handle.residentBytesPerCopy / 1024 / 1024).toFixed(1)} MiB)`);

    start = performance.now();
    const batch = await searchHnsw(pool, handle, { queries, topk, ef });
    const batchMs = ms(start);
    const singleCount = Math.min(queryCount, 500);
    start = performance.now();
    for (let q = 0; q < singleCount; q++) await searchHnsw(pool, handle, { queries: queries.subarray(q * dim, (q + 1) * dim), topk, ef });
    const singleMs = ms(start);
    console.log(`search, pool (1 worker): ${(queryCount / (batchMs / 1000)).toFixed(0)} queries/s in one nq=${queryCount} request; ${(singleCount / (singleMs / 1000)).toFixed(0)} requests/s one query at a time`);

    raw.setEf(ef);
    const rawHits: number[][] = [];
    start = performance.now();
    for (let q = 0; q < queryCount; q++) {
      const found = raw.searchKnn(Array.from(queries.subarray(q * dim, (q + 1) * dim)), topk);
      if (q < recallQueries) rawHits.push(found.neighbors);
    }
    const rawSearchMs = ms(start);
    console.log(`search, raw hnswlib (main thread): ${(queryCount / (rawSearchMs / 1000)).toFixed(0)} queries/s`);

    start = performance.now();
    const exact = bruteForceTopK({ metric, dim, vectors, queries: queries.subarray(0, recallQueries * dim), topk });
    const exactMs = ms(start);
    const poolRecall = recallAt((q) => Array.from(batch.rows.subarray(q * topk, q * topk + (batch.counts[q] as number))), exact);
    const rawRecall = recallAt((q) => rawHits[q] ?? [], exact);
    console.log(`recall@${topk} over ${recallQueries} queries: pool ${poolRecall.toFixed(4)}, raw ${rawRecall.toFixed(4)} (brute force oracle took ${exactMs.toFixed(0)} ms)`);
    await releaseHnsw(pool, handle);
  } finally {
    await pool.close();
  }
}

await main();
