// Ground truth for recall: the exact k nearest rows of every query by brute force, computed in worker
// threads (the query node's compute pool and kernel, querynode/compute/) so the tool's event loop keeps
// drawing progress, and cached on disk as an .ivecs file keyed by a hash of (vectors, queries, metric,
// k, filter). Invariant: a cache entry is only ever read for exactly the inputs it was computed from,
// and it appears atomically (temp file + rename), so an interrupted run leaves no half-written entry.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { benchDefaults } from "../../common/config.ts";
import type { WorkerPool } from "../../common/worker-pool.ts";
import { createComputePool } from "../../querynode/compute/compute-pool.ts";
import { searchBruteForce } from "../../querynode/compute/brute-force.ts";
import type { MetricType } from "../../querynode/compute/metric.ts";
import type { DataSet } from "./dataset.ts";
import { dataSetFingerprint } from "./dataset.ts";
import type { Progress } from "./progress.ts";
import { encodeVecs, parseVecs } from "./vector-files.ts";

export interface GroundTruth {
  /** Neighbour ids (rows) per query: queryCount × width, best first; -1 where fewer rows qualify. */
  ids: Int32Array;
  width: number;
}

export interface GroundTruthRequest {
  dataSet: DataSet;
  metric: MetricType;
  k: number;
  /** Rows allowed (one byte per row, non-zero = allowed) and a name for it in the cache key. */
  filter?: { name: string; mask: Uint8Array };
  cacheDir: string;
  progress?: Progress;
  /** Worker threads; 0 = one per core. */
  workerCount?: number;
}

export interface GroundTruthOutcome {
  truth: GroundTruth;
  cached: boolean;
  path: string;
  computeMs: number;
}

/** The cache key of a request: a hash of everything the answer depends on. */
export function groundTruthKey(fingerprint: string, metric: MetricType, k: number, filterName: string | undefined): string {
  return createHash("sha256").update(`${fingerprint}\n${metric}\n${k}\n${filterName ?? "no filter"}\n`).digest("hex").slice(0, 32);
}

/** Reads the cached ground truth of a request, or computes it in workers and caches it. */
export async function groundTruthFor(request: GroundTruthRequest): Promise<GroundTruthOutcome> {
  const { dataSet, metric, k, filter } = request;
  const key = groundTruthKey(dataSetFingerprint(dataSet), metric, k, filter?.name);
  const path = join(request.cacheDir, `ground-truth-${key}.ivecs`);
  if (existsSync(path)) {
    const matrix = parseVecs(readFileSync(path), "ivecs", { what: path });
    if (matrix.rows === dataSet.queryCount && matrix.dim === k) return { truth: { ids: matrix.values as Int32Array, width: k }, cached: true, path, computeMs: 0 };
  }
  const started = performance.now();
  const pool = createComputePool({ workerCount: request.workerCount ?? 0 });
  try {
    const ids = await computeGroundTruth(pool, request);
    mkdirSync(request.cacheDir, { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, encodeVecs({ rows: dataSet.queryCount, dim: k, values: ids }, "ivecs"));
    renameSync(temporary, path);
    return { truth: { ids, width: k }, cached: false, path, computeMs: performance.now() - started };
  } finally {
    await pool.close();
  }
}

/** Brute force over every query, a few tasks per worker in flight; rows are the ids. */
async function computeGroundTruth(pool: WorkerPool, request: GroundTruthRequest): Promise<Int32Array> {
  const { dataSet, metric, k, filter, progress } = request;
  const { dim, queryCount } = dataSet;
  const ids = new Int32Array(queryCount * k).fill(-1);
  const perTask = benchDefaults.groundTruthQueriesPerTask;
  const inFlightMax = pool.workerCount * 2;
  let nextQuery = 0;
  let doneQueries = 0;
  progress?.start(`ground truth (${metric}, k ${k}${filter === undefined ? "" : `, ${filter.name}`})`, queryCount, "queries");
  const worker = async (): Promise<void> => {
    while (nextQuery < queryCount) {
      const first = nextQuery;
      const count = Math.min(perTask, queryCount - first);
      nextQuery += count;
      const result = await searchBruteForce(pool, {
        metric, dim, topk: k, vectors: dataSet.vectors,
        queries: dataSet.queries.subarray(first * dim, (first + count) * dim),
        ...(filter === undefined ? {} : { allowed: filter.mask }),
      });
      for (let q = 0; q < count; q++) {
        const hits = result.counts[q] as number;
        for (let i = 0; i < hits; i++) ids[(first + q) * k + i] = result.rows[q * k + i] as number;
      }
      doneQueries += count;
      progress?.update(doneQueries);
    }
  };
  await Promise.all(Array.from({ length: inFlightMax }, () => worker()));
  progress?.finish();
  return ids;
}
