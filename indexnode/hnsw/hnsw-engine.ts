// The synchronous HNSW work, on top of hnswlib-node: build a graph from a segment's vectors and
// serialise it, load one from its stored bytes, and search it. hnswlib is synchronous and CPU-bound,
// so this module must only ever run inside a worker thread (hnsw-worker.ts); nothing on the main
// thread imports it.
//
// Invariants kept here:
//  - labels are row indexes: row r of the segment is label r, so hits are rows, as in brute force;
//  - distances leave in Milvus's conventions (L2: squared distance, IP: dot product, COSINE: cosine
//    similarity), rounded to float32 and ordered best first, equal distances by smaller row
//    (hnswlib's 'ip' and 'cosine' spaces report 1 - dot and 1 - cos, smaller first);
//  - hnswlib never reads a payload whose header and CRC-32 have not been checked (hnsw-format.ts).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hnswlib from "hnswlib-node";
import type { HierarchicalNSW, SpaceName } from "hnswlib-node";
import { ErrorCode, VelaError, errorMessage, invalidArgument } from "../../common/errors.ts";
import { MetricType, isBetterHit } from "../../querynode/compute/metric.ts";
import { emptyTopKResult } from "../../querynode/compute/topk.ts";
import type { TopKResult } from "../../querynode/compute/topk.ts";
import { encodeHnswIndex, verifyHnswIndex } from "./hnsw-format.ts";
import type { HnswIndexHeader } from "./hnsw-format.ts";
import type { HnswBuildTask, HnswSearchTask } from "./hnsw-request.ts";

/** The hnswlib space of each metric. 'cosine' normalises vectors on insert and on search. */
export function hnswSpaceName(metric: MetricType): SpaceName {
  switch (metric) {
    case MetricType.L2:
      return "l2";
    case MetricType.IP:
      return "ip";
    case MetricType.COSINE:
      return "cosine";
  }
}

/**
 * hnswlib's distance turned into Milvus's: 'l2' is already the squared distance; 'ip' is 1 - dot and
 * 'cosine' is 1 - cos (of the normalised vectors), so the similarity is 1 - d. A zero vector has cos 0
 * in both (hnswlib leaves it unnormalised, so its dot with anything is 0).
 */
export function milvusDistance(metric: MetricType, hnswDistance: number): number {
  return Math.fround(metric === MetricType.L2 ? hnswDistance : 1 - hnswDistance);
}

/** Throws InvalidArgument naming the first NaN or infinite component of `vectors` (rows × dim). */
export function checkFiniteVectors(vectors: Float32Array, dim: number, what: string): void {
  for (let i = 0; i < vectors.length; i++) {
    const value = vectors[i] as number;
    if (!Number.isFinite(value)) {
      throw invalidArgument(`${what} ${Math.floor(i / dim)} component ${i % dim} is ${value}; every component must be a finite number`);
    }
  }
}

/** Runs `use` with a path inside a fresh private temp directory, removed afterwards whatever happens. */
function withTempFile<T>(use: (path: string) => T): T {
  const directory = mkdtempSync(join(tmpdir(), "vela-hnsw-"));
  try {
    return use(join(directory, "index.bin"));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Builds the graph of a checked build task (rows in order, row r as label r). */
export function buildHnswGraph(task: HnswBuildTask): HierarchicalNSW {
  const { vectors, dim, rows, metric, M, efConstruction, randomSeed } = task;
  checkFiniteVectors(vectors, dim, "HNSW build: row");
  const index = new hnswlib.HierarchicalNSW(hnswSpaceName(metric), dim);
  index.initIndex({ maxElements: rows, m: M, efConstruction, randomSeed });
  // hnswlib copies each point into its own storage, so one scratch array serves every row.
  const point = new Array<number>(dim);
  for (let row = 0; row < rows; row++) {
    const base = row * dim;
    for (let i = 0; i < dim; i++) point[i] = vectors[base + i] as number;
    index.addPoint(point, row);
  }
  return index;
}

/** hnswlib's own serialisation of a graph (it writes only to a file path: a temp file, read back). */
export function serializeHnswGraph(index: HierarchicalNSW): Uint8Array {
  return withTempFile((path) => {
    index.writeIndexSync(path);
    return readFileSync(path);
  });
}

/** Builds and serialises: header + payload in one fresh buffer. */
export function buildHnswIndexBytes(task: HnswBuildTask): Uint8Array {
  const index = buildHnswGraph(task);
  const payload = serializeHnswGraph(index);
  freeHnswGraph(index);
  return encodeHnswIndex({ metric: task.metric, dim: task.dim, M: task.M, efConstruction: task.efConstruction, rows: task.rows }, payload);
}

/**
 * Frees a graph's native memory now. hnswlib-node frees it only when the wrapper is garbage collected,
 * which native memory alone does not trigger; re-initialising to one element deletes the old graph
 * at once. The wrapper must not be searched afterwards.
 */
export function freeHnswGraph(index: HierarchicalNSW): void {
  index.initIndex({ maxElements: 1, m: 2, efConstruction: 1 });
}

/** A graph loaded from stored bytes, with what its header says about it. */
export interface LoadedHnsw {
  index: HierarchicalNSW;
  header: HnswIndexHeader;
}

/** Verifies the bytes (header, CRC-32) and loads the graph. Damage of any kind is Corrupted. */
export function loadHnswIndexBytes(bytes: Uint8Array): LoadedHnsw {
  const { header, payload } = verifyHnswIndex(bytes);
  const index = new hnswlib.HierarchicalNSW(hnswSpaceName(header.metric), header.dim);
  withTempFile((path) => {
    writeFileSync(path, payload);
    try {
      index.readIndexSync(path);
    } catch (error) {
      throw new VelaError(ErrorCode.Corrupted, `HNSW index bytes: hnswlib could not read the payload: ${errorMessage(error)}`);
    }
  });
  const count = index.getCurrentCount();
  if (count !== header.rows || index.getNumDimensions() !== header.dim) {
    throw new VelaError(ErrorCode.Corrupted, `HNSW index bytes: the header says ${header.rows} rows of dim ${header.dim}, the payload holds ${count} of dim ${index.getNumDimensions()}`);
  }
  return { index, header };
}

/** A filter callback over the allowed rows: set bit (or non-zero byte) = the row may be returned. */
function allowedFilter(allowed: NonNullable<HnswSearchTask["allowed"]>): (label: number) => boolean {
  const values = allowed.values;
  if (allowed.kind === "mask") return (label) => values[label] !== 0;
  return (label) => ((((values[label >>> 3] as number) >>> (label & 7)) & 1) === 1);
}

/** Searches a loaded graph: per query the best min(topk, allowed rows) hits the walk finds, best first. */
export function searchLoadedHnsw(loaded: LoadedHnsw, task: HnswSearchTask): TopKResult {
  const { index, header } = loaded;
  const { queries, dim, topk, ef } = task;
  checkFiniteVectors(queries, dim, "HNSW search: query");
  const nq = queries.length / dim;
  const metric = header.metric;
  const result = emptyTopKResult(metric, nq, topk);
  const k = Math.min(topk, header.rows); // hnswlib refuses k above its capacity
  const filter = task.allowed === undefined ? undefined : allowedFilter(task.allowed);
  index.setEf(ef);
  const point = new Array<number>(dim);
  const order: number[] = [];
  const rows: number[] = [];
  const distances: number[] = [];
  for (let q = 0; q < nq; q++) {
    const base = q * dim;
    for (let i = 0; i < dim; i++) point[i] = queries[base + i] as number;
    const found = filter === undefined ? index.searchKnn(point, k) : index.searchKnn(point, k, filter);
    const count = found.neighbors.length;
    order.length = 0;
    rows.length = 0;
    distances.length = 0;
    for (let i = 0; i < count; i++) {
      order.push(i);
      rows.push(found.neighbors[i] as number);
      distances.push(milvusDistance(metric, found.distances[i] as number));
    }
    // hnswlib orders by its float32 distance with ties in heap order; re-rank on the converted values
    // so the one hit order of metric.ts holds (better first, then the smaller row).
    order.sort((a, b) => (a === b ? 0 : isBetterHit(metric, distances[a] as number, rows[a] as number, distances[b] as number, rows[b] as number) ? -1 : 1));
    const out = q * topk;
    for (let i = 0; i < count; i++) {
      const from = order[i] as number;
      result.rows[out + i] = rows[from] as number;
      result.distances[out + i] = distances[from] as number;
    }
    result.counts[q] = count;
  }
  return result;
}
