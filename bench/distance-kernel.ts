// Benchmark of exact (brute-force) search: 100k × 128 float vectors, k = 10, nq 1 and 10, per metric.
// Compares, in one run on the same data: the blocked, unrolled kernel on one thread
// (bruteForceTopK), the plain reference loop on one thread (naiveDistance + the same heaps), and the
// query node's compute pool with every worker (searchBruteForce on SharedArrayBuffer vectors, one
// request in flight per worker). Prints figures only; nothing here is asserted.
//
// COSINE searches get the rows' norms precomputed (vectorNorms), as the query node keeps them per
// segment; the naive loop recomputes both norms for every distance, as the textbook formula does.
//
//   npx tsx bench/distance-kernel.ts     (VELA_BENCH_SECONDS per measurement, default 1; VELA_BENCH_ROUNDS, default 3)

import { availableParallelism, cpus, loadavg } from "node:os";
import { SeededRandom } from "../common/random.ts";
import { bruteForceTopK, searchBruteForce } from "../querynode/compute/brute-force.ts";
import type { BruteForceRequest } from "../querynode/compute/brute-force.ts";
import { createComputePool } from "../querynode/compute/compute-pool.ts";
import { naiveDistance, vectorNorms } from "../querynode/compute/distance.ts";
import { MetricType } from "../querynode/compute/metric.ts";
import { TopKHeaps, emptyTopKResult } from "../querynode/compute/topk.ts";
import type { TopKResult } from "../querynode/compute/topk.ts";

const rows = 100_000;
const dim = 128;
const topk = 10;
const secondsPerCell = Number(process.env.VELA_BENCH_SECONDS ?? "1");
const rounds = Number(process.env.VELA_BENCH_ROUNDS ?? "3");

/** The reference loop: one distance at a time, no unrolling, no blocking; the same top-k selection. */
function naiveTopK(request: BruteForceRequest): TopKResult {
  const nq = request.queries.length / dim;
  const heaps = new TopKHeaps(nq, topk);
  const sign = request.metric === MetricType.L2 ? 1 : -1;
  for (let q = 0; q < nq; q++) {
    for (let row = 0; row < rows; row++) {
      const key = sign * Math.fround(naiveDistance(request.metric, request.queries, q * dim, request.vectors, row * dim, dim));
      if (key < heaps.worstKey(q)) heaps.offer(q, key, row);
    }
  }
  const result = emptyTopKResult(request.metric, nq, topk);
  heaps.drainInto(result);
  return result;
}

/** Runs `search` (nq queries each) until the time budget is spent; returns queries per second. */
async function measure(nq: number, search: () => Promise<unknown> | unknown, concurrency = 1): Promise<number> {
  await search(); // warm-up: compile, and load the workers' code
  let searches = 0;
  const started = performance.now();
  const deadline = started + secondsPerCell * 1000;
  const loop = async (): Promise<void> => {
    do {
      await search();
      searches += 1;
    } while (performance.now() < deadline || searches < 2);
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  return (searches * nq) / seconds;
}

function gflops(queriesPerSecond: number): number {
  // Two floating-point operations (a multiply and an add) per component per distance, for every metric.
  return (queriesPerSecond * rows * dim * 2) / 1e9;
}

async function main(): Promise<void> {
  const random = new SeededRandom(Number(process.env.VELA_SEED ?? "1"));
  const vectors = new Float32Array(new SharedArrayBuffer(rows * dim * 4));
  for (let i = 0; i < vectors.length; i++) vectors[i] = random.gaussian();
  const norms = new Float32Array(new SharedArrayBuffer(rows * 4));
  vectorNorms(vectors, dim, norms);
  const workers = availableParallelism();
  const pool = createComputePool();
  const load = (): string => loadavg().map((value) => value.toFixed(2)).join(" ");
  console.log(`exact search, ${rows} × ${dim} float32 vectors, k = ${topk}; node ${process.version}; ${workers} cores (${cpus()[0]?.model ?? "unknown CPU"}); pool of ${pool.workerCount} workers`);
  console.log(`GFLOP/s counts 2 × dim operations per distance for every metric; best of ${rounds} rounds of ${secondsPerCell} s per cell; load average before: ${load()}\n`);
  const header = ["metric", "nq", "kernel q/s", "GFLOP/s", "naive q/s", "GFLOP/s", "pool q/s", "GFLOP/s", "kernel/naive", "pool/kernel"];
  const lines: string[][] = [];
  try {
    for (const metric of [MetricType.L2, MetricType.IP, MetricType.COSINE]) {
      for (const nq of [1, 10]) {
        const queries = new Float32Array(nq * dim);
        for (let i = 0; i < queries.length; i++) queries[i] = random.gaussian();
        const request: BruteForceRequest = { metric, dim, vectors, queries, topk, ...(metric === MetricType.COSINE ? { norms } : {}) };
        // Rounds interleave the three ways and each keeps its best round: the machine is shared, and the
        // best round is the one least disturbed by other work.
        let kernel = 0;
        let naive = 0;
        let pooled = 0;
        for (let round = 0; round < rounds; round++) {
          kernel = Math.max(kernel, await measure(nq, () => bruteForceTopK(request)));
          naive = Math.max(naive, await measure(nq, () => naiveTopK(request)));
          pooled = Math.max(pooled, await measure(nq, () => searchBruteForce(pool, request), pool.workerCount));
        }
        lines.push([
          metric,
          String(nq),
          kernel.toFixed(1),
          gflops(kernel).toFixed(2),
          naive.toFixed(1),
          gflops(naive).toFixed(2),
          pooled.toFixed(1),
          gflops(pooled).toFixed(2),
          `${(kernel / naive).toFixed(2)}×`,
          `${(pooled / kernel).toFixed(2)}×`,
        ]);
        process.stderr.write(".");
      }
    }
  } finally {
    await pool.close();
  }
  process.stderr.write("\n");
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] as string).length)));
  const format = (cells: string[]): string => `| ${cells.map((cell, column) => cell.padStart(widths[column] as number)).join(" | ")} |`;
  console.log(format(header));
  console.log(`|${widths.map((width) => "-".repeat(width + 1) + ":").join("|")}|`);
  for (const line of lines) console.log(format(line));
  console.log(`\nload average after: ${load()}`);
}

await main();
