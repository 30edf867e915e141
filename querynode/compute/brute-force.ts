// Exact (brute-force) top-k search over one segment's vectors: how growing segments are searched, and
// the oracle for index search. Two faces:
//  - bruteForceTopK / scanTopK: pure and synchronous; scanTopK is what a worker runs.
//  - searchBruteForce: the main-thread API. It validates the request, splits large segments across
//    the worker pool by row ranges, runs the `search` tasks there and merges their results, so the
//    event loop never runs a kernel.
// Invariants: a row is a candidate iff it lies in the scanned range and its filter bit is set; each
// query gets the best min(topk, candidates) rows, best first, equal distances by smaller row index,
// whatever the number of workers (split parts are disjoint and merged in the same order).
//
// Memory: the query node should keep vector storage (and COSINE norms and filter bitsets) in
// SharedArrayBuffer, so every worker reads the segment in place. A plain ArrayBuffer-backed array is
// copied once per request (only the rows each part scans), which costs the event loop a memcpy.

import type { Transferable } from "node:worker_threads";
import { invalidArgument } from "../../common/errors.ts";
import { queryNodeDefaults, resolveLimits, schemaLimits } from "../../common/config.ts";
import type { QueryNodeLimits } from "../../common/config.ts";
import type { WorkerPool } from "../../common/worker-pool.ts";
import { Bitset } from "./bitset.ts";
import { cosineFromDot, innerProductBlock, queryChunk, queryNorms, rowNorm, rowsPerCacheBlock, squaredL2Block, widenQueries } from "./distance.ts";
import { MetricType, checkMetricType } from "./metric.ts";
import { TopKHeaps, emptyTopKResult, mergeTopKParts } from "./topk.ts";
import type { TopKResult } from "./topk.ts";

export interface BruteForceRequest {
  metric: MetricType;
  dim: number;
  /** The segment's vectors, rows × dim, row-major. Prefer SharedArrayBuffer-backed (see the header). */
  vectors: Float32Array;
  /** nq query vectors, nq × dim. */
  queries: Float32Array;
  topk: number;
  /**
   * Rows that may be returned (the filter combined with MVCC visibility): a Bitset, or a mask with one
   * byte per row (non-zero = allowed). Every row when absent.
   */
  allowed?: Bitset | Uint8Array;
  /** COSINE only, optional: each row's norm as computed by vectorNorms(), to skip recomputing them. */
  norms?: Float32Array;
}

/** One `search` task as sent to a worker. Arrays may cover only part of the segment (see *FirstRow). */
export interface SearchTask {
  metric: MetricType;
  dim: number;
  topk: number;
  queries: Float32Array;
  /** Scan rows [rowStart, rowEnd) of the segment (absolute row indexes). */
  rowStart: number;
  rowEnd: number;
  /** Holds rows [vectorsFirstRow, vectorsFirstRow + vectors.length / dim). */
  vectors: Float32Array;
  vectorsFirstRow: number;
  norms?: { values: Float32Array; firstRow: number };
  /** Packed bits (firstRow is a multiple of 8) or a byte mask, covering at least [rowStart, rowEnd). */
  allowed?: { kind: "bits" | "mask"; values: Uint8Array; firstRow: number };
}

/** Checks a request's shape and bounds (not the query values: scanTopK checks those). Returns nq and rows. */
export function validateBruteForceRequest(request: BruteForceRequest, limits: QueryNodeLimits): { nq: number; rows: number } {
  checkMetricType(request.metric);
  const { dim, topk, vectors, queries, allowed, norms } = request;
  if (!Number.isInteger(dim) || dim < schemaLimits.vectorDimMin || dim > schemaLimits.vectorDimMax) {
    throw invalidArgument(`search: dim must be an integer in [${schemaLimits.vectorDimMin}, ${schemaLimits.vectorDimMax}], got ${dim}`);
  }
  if (!(vectors instanceof Float32Array)) throw invalidArgument("search: vectors must be a Float32Array (rows × dim)");
  if (!(queries instanceof Float32Array)) throw invalidArgument("search: query vectors must be a Float32Array (nq × dim)");
  if (vectors.length % dim !== 0) throw invalidArgument(`search: the segment's vectors hold ${vectors.length} floats, not a multiple of dim ${dim}`);
  if (queries.length % dim !== 0) {
    throw invalidArgument(`search: query vectors hold ${queries.length} floats, not a multiple of the field's dim ${dim} (dim mismatch)`);
  }
  const nq = queries.length / dim;
  if (nq < 1 || nq > limits.searchQueryCountMax) {
    throw invalidArgument(`search: nq must be in [1, ${limits.searchQueryCountMax}] (searchQueryCountMax), got ${nq}`);
  }
  if (!Number.isInteger(topk) || topk < 1 || topk > limits.searchTopKMax) {
    throw invalidArgument(`search: topk must be an integer in [1, ${limits.searchTopKMax}] (searchTopKMax), got ${topk}`);
  }
  if (nq * topk > limits.searchResultEntriesMax) {
    throw invalidArgument(`search: nq × topk = ${nq} × ${topk} exceeds ${limits.searchResultEntriesMax} result entries (searchResultEntriesMax)`);
  }
  const rows = vectors.length / dim;
  if (allowed !== undefined) {
    if (!(allowed instanceof Bitset) && !(allowed instanceof Uint8Array)) throw invalidArgument("search: allowed rows must be a Bitset or a Uint8Array mask");
    if (allowed.length !== rows) throw invalidArgument(`search: the allowed-rows filter covers ${allowed.length} rows but the segment has ${rows}`);
  }
  if (norms !== undefined) {
    if (!(norms instanceof Float32Array)) throw invalidArgument("search: norms must be a Float32Array");
    if (norms.length !== rows) throw invalidArgument(`search: ${norms.length} norms given for ${rows} rows`);
  }
  return { nq, rows };
}

/** Searches the whole segment on the calling thread (tests, tools; the query node uses searchBruteForce). */
export function bruteForceTopK(request: BruteForceRequest, limitOverrides?: Partial<QueryNodeLimits>): TopKResult {
  const limits = resolveLimits(queryNodeDefaults as QueryNodeLimits, limitOverrides, "query node");
  const { rows } = validateBruteForceRequest(request, limits);
  return scanTopK(planTask(request, 0, rows, false).task);
}

/**
 * Searches the segment in the pool: one `search` task per row range (as many ranges as workers,
 * each of at least searchSplitRowsMin rows), merged into one top-k per query. Rejects with
 * InvalidArgument on a bad request, LimitExceeded when the pool's queue is full, Closed once the pool
 * is closed.
 */
export async function searchBruteForce(pool: WorkerPool, request: BruteForceRequest, limitOverrides?: Partial<QueryNodeLimits>): Promise<TopKResult> {
  const limits = resolveLimits(queryNodeDefaults as QueryNodeLimits, limitOverrides, "query node");
  const { nq, rows } = validateBruteForceRequest(request, limits);
  const partCount = Math.max(1, Math.min(pool.workerCount, Math.floor(rows / Math.max(1, limits.searchSplitRowsMin))));
  const runs: Promise<TopKResult>[] = [];
  for (let part = 0; part < partCount; part++) {
    // Boundaries on multiples of 8 rows, so a part's slice of a packed bitset starts on a byte.
    const rowStart = part === 0 ? 0 : Math.floor((part * rows) / partCount / 8) * 8;
    const rowEnd = part === partCount - 1 ? rows : Math.floor(((part + 1) * rows) / partCount / 8) * 8;
    const { task, transfer } = planTask(request, rowStart, rowEnd, true);
    runs.push(pool.run<TopKResult>("search", task, transfer));
  }
  const parts = await Promise.all(runs);
  if (parts.length === 1) return parts[0] as TopKResult;
  if (nq * request.topk * parts.length <= limits.searchInlineMergeEntriesMax) return mergeTopKParts(parts);
  const transfer: Transferable[] = [];
  for (const part of parts) transfer.push(part.counts.buffer as ArrayBuffer, part.rows.buffer as ArrayBuffer, part.distances.buffer as ArrayBuffer);
  return pool.run<TopKResult>("mergeTopK", parts, transfer);
}

function isShared(array: ArrayBufferView): boolean {
  return typeof SharedArrayBuffer !== "undefined" && array.buffer instanceof SharedArrayBuffer;
}

/**
 * The task for rows [rowStart, rowEnd). For a worker (`forWorker`), shared arrays go whole (workers
 * read them in place) and others are copied to exactly the rows needed and moved, never cloned whole
 * (a structured clone copies a view's entire underlying buffer). On the calling thread nothing is copied.
 */
function planTask(request: BruteForceRequest, rowStart: number, rowEnd: number, forWorker: boolean): { task: SearchTask; transfer: Transferable[] } {
  const { dim } = request;
  const transfer: Transferable[] = [];
  const share = <T extends Float32Array | Uint8Array>(array: T, start: number, end: number): { values: T; offset: number } => {
    if (!forWorker || isShared(array)) return { values: array, offset: 0 };
    const copy = array.slice(start, end) as T;
    transfer.push(copy.buffer as ArrayBuffer);
    return { values: copy, offset: start };
  };
  const queries = share(request.queries, 0, request.queries.length).values;
  const vectors = share(request.vectors, rowStart * dim, rowEnd * dim);
  const task: SearchTask = {
    metric: request.metric,
    dim,
    topk: request.topk,
    queries,
    rowStart,
    rowEnd,
    vectors: vectors.values,
    vectorsFirstRow: vectors.offset / dim,
  };
  if (request.norms !== undefined && request.metric === MetricType.COSINE) {
    const norms = share(request.norms, rowStart, rowEnd);
    task.norms = { values: norms.values, firstRow: norms.offset };
  }
  const allowed = request.allowed;
  if (allowed instanceof Bitset) {
    const firstByte = rowStart >>> 3;
    const bits = share(allowed.bytes, firstByte, (rowEnd + 7) >>> 3);
    task.allowed = { kind: "bits", values: bits.values, firstRow: bits.offset * 8 };
  } else if (allowed !== undefined) {
    const mask = share(allowed, rowStart, rowEnd);
    task.allowed = { kind: "mask", values: mask.values, firstRow: mask.offset };
  }
  return { task, transfer };
}

/** Throws InvalidArgument when a query holds NaN or ±Infinity. */
function checkQueriesFinite(queries: Float32Array, dim: number): void {
  for (let i = 0; i < queries.length; i++) {
    const value = queries[i] as number;
    if (!Number.isFinite(value)) {
      throw invalidArgument(`search: query vector ${Math.floor(i / dim)} holds ${value} at component ${i % dim}; vectors must be finite`);
    }
  }
}

/** Runs one task: the exact top-k of its rows. This is the CPU work; it runs in a worker. */
export function scanTopK(task: SearchTask): TopKResult {
  const { metric, dim, topk, queries, rowStart, rowEnd } = task;
  checkQueriesFinite(queries, dim);
  const nq = queries.length / dim;
  const heaps = new TopKHeaps(nq, topk);
  const scan: BlockScan = {
    task,
    heaps,
    queries: widenQueries(queries),
    queryNorms: new Float64Array(0),
    vectorBase: task.vectorsFirstRow * dim,
    rows: new Int32Array(rowsPerCacheBlock(dim)),
    rowNorms: new Float64Array(metric === MetricType.COSINE ? rowsPerCacheBlock(dim) : 0),
    distances: new Float64Array(queryChunk * rowsPerCacheBlock(dim)),
  };
  if (metric === MetricType.COSINE) scan.queryNorms = queryNorms(scan.queries, dim);
  const blockRowsMax = scan.rows.length;
  const blockRows = scan.rows;
  const allowed = task.allowed;
  let next = rowStart;
  while (next < rowEnd) {
    // Gather the next block of allowed rows: blocks stay full however sparse the filter is.
    let count = 0;
    if (allowed === undefined) {
      for (; next < rowEnd && count < blockRowsMax; next++) blockRows[count++] = next;
    } else if (allowed.kind === "bits") {
      const bits = allowed.values;
      const first = allowed.firstRow;
      while (next < rowEnd && count < blockRowsMax) {
        const bit = next - first;
        const byte = bits[bit >>> 3] as number;
        if (byte === 0 && (bit & 7) === 0) {
          next += 8; // a whole clear byte: eight filtered-out rows
          continue;
        }
        if (((byte >>> (bit & 7)) & 1) === 1) blockRows[count++] = next;
        next += 1;
      }
      if (next > rowEnd) next = rowEnd;
    } else {
      const mask = allowed.values;
      const first = allowed.firstRow;
      for (; next < rowEnd && count < blockRowsMax; next++) if (mask[next - first] !== 0) blockRows[count++] = next;
    }
    if (count === 0) break;
    scanBlock(scan, count);
  }
  const result = emptyTopKResult(metric, nq, topk);
  heaps.drainInto(result);
  return result;
}

/** The state of one scan: its heaps, widened queries and the per-block scratch (allocated once). */
interface BlockScan {
  task: SearchTask;
  heaps: TopKHeaps;
  queries: Float64Array;
  queryNorms: Float64Array;
  vectorBase: number;
  /** The block's gathered row indexes. */
  rows: Int32Array;
  /** COSINE: the block's row norms. */
  rowNorms: Float64Array;
  /** Distances of up to queryChunk queries to the block's rows. */
  distances: Float64Array;
}

/** Every query against one gathered block, queryChunk queries per kernel call; then heap selection. */
function scanBlock(scan: BlockScan, count: number): void {
  const { task, heaps, queries, rows, distances } = scan;
  const { metric, dim, vectors } = task;
  const nq = heaps.nq;
  if (metric === MetricType.COSINE) {
    const norms = task.norms;
    for (let j = 0; j < count; j++) {
      const row = rows[j] as number;
      scan.rowNorms[j] = norms === undefined ? rowNorm(vectors, row * dim - scan.vectorBase, dim) : (norms.values[row - norms.firstRow] as number);
    }
  }
  for (let qFirst = 0; qFirst < nq; qFirst += queryChunk) {
    const qEnd = Math.min(nq, qFirst + queryChunk);
    if (metric === MetricType.L2) squaredL2Block(queries, qFirst, qEnd, dim, vectors, scan.vectorBase, rows, count, distances);
    else innerProductBlock(queries, qFirst, qEnd, dim, vectors, scan.vectorBase, rows, count, distances);
    for (let q = qFirst; q < qEnd; q++) {
      const base = (q - qFirst) * count;
      let worst = heaps.worstKey(q);
      if (metric === MetricType.L2) {
        for (let j = 0; j < count; j++) {
          const key = Math.fround(distances[base + j] as number);
          if (key < worst) {
            heaps.offer(q, key, rows[j] as number);
            worst = heaps.worstKey(q);
          }
        }
      } else if (metric === MetricType.IP) {
        for (let j = 0; j < count; j++) {
          const key = -Math.fround(distances[base + j] as number);
          if (key < worst) {
            heaps.offer(q, key, rows[j] as number);
            worst = heaps.worstKey(q);
          }
        }
      } else {
        const queryNorm = scan.queryNorms[q] as number;
        const rowNorms = scan.rowNorms;
        for (let j = 0; j < count; j++) {
          const key = -Math.fround(cosineFromDot(distances[base + j] as number, queryNorm, rowNorms[j] as number));
          if (key < worst) {
            heaps.offer(q, key, rows[j] as number);
            worst = heaps.worstKey(q);
          }
        }
      }
    }
  }
}
