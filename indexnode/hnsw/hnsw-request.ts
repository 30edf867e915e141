// The requests of the HNSW library and their validation, on the calling thread, before any task
// reaches a worker: build (vectors, dim, metric, M, efConstruction), search (queries, topk, ef, the
// allowed rows), and the rule for when a filtered search should go exact instead. Also the task
// payloads as the worker receives them. Invariant: a task sent to a worker is already in range, so the
// worker only has to check what costs a pass over the data (NaN and infinite components, the CRC).

import { hnswDefaults, queryNodeDefaults, resolveLimits, schemaLimits } from "../../common/config.ts";
import type { HnswLimits, QueryNodeLimits } from "../../common/config.ts";
import { invalidArgument } from "../../common/errors.ts";
import { Bitset } from "../../querynode/compute/bitset.ts";
import { checkMetricType } from "../../querynode/compute/metric.ts";
import type { MetricType } from "../../querynode/compute/metric.ts";
import type { TopKResult } from "../../querynode/compute/topk.ts";
import type { SerializedError } from "../../common/worker-pool.ts";

/** hnswlib's default level generator seed: the same seed and insertion order give the same graph. */
export const hnswDefaultRandomSeed = 100;

export interface HnswBuildRequest {
  /** The segment's vectors, rows × dim, row-major; row r gets label r. SharedArrayBuffer-backed is not copied. */
  vectors: Float32Array;
  dim: number;
  metric: MetricType;
  /** Links per node and layer; hnswMDefault when absent. */
  M?: number;
  /** Candidate list length while inserting; hnswEfConstructionDefault when absent. */
  efConstruction?: number;
  /** Seed of the level generator (hnswDefaultRandomSeed when absent). */
  randomSeed?: number;
}

/** The `build` task: a build request with every parameter resolved and checked. */
export interface HnswBuildTask {
  vectors: Float32Array;
  dim: number;
  rows: number;
  metric: MetricType;
  M: number;
  efConstruction: number;
  randomSeed: number;
}

export interface HnswSearchRequest {
  /** nq query vectors, nq × dim. */
  queries: Float32Array;
  /** Optional: when given, must equal queries.length / dim. */
  nq?: number;
  topk: number;
  /** Candidate list length; max(hnswEfSearchDefault, topk) when absent; at least topk when given. */
  ef?: number;
  /** Rows that may be returned (filter ∧ MVCC visibility): a Bitset or a byte-per-row mask; all when absent. */
  allowed?: Bitset | Uint8Array;
}

/** The `load` task: index bytes to verify and keep resident under `handleId`. */
export interface HnswLoadTask {
  handleId: number;
  bytes: Uint8Array;
}

/** The `search` task, run by a worker that holds `handleId`. */
export interface HnswSearchTask {
  handleId: number;
  queries: Float32Array;
  dim: number;
  topk: number;
  ef: number;
  allowed?: { kind: "bits" | "mask"; values: Uint8Array };
}

/** The `searchBatch` task: searches of resident indexes, run one after another, each with its own outcome. */
export interface HnswSearchBatchTask {
  searches: HnswSearchTask[];
}

/** The outcome of one search of a batch: its result, or its error (serialized as worker-pool.ts does). */
export type HnswSearchOutcome = { ok: true; result: TopKResult } | { ok: false; error: SerializedError };

/** The `release` task. */
export interface HnswReleaseTask {
  handleId: number;
}

export function resolveHnswLimits(overrides?: Partial<HnswLimits>): HnswLimits {
  return resolveLimits(hnswDefaults as HnswLimits, overrides, "hnsw");
}

/** The defaults, resolved once: shouldUseExactSearch runs per segment per search. */
const defaultHnswLimits: Readonly<HnswLimits> = Object.freeze(resolveHnswLimits());

function checkIntegerIn(what: string, value: unknown, min: number, max: number, boundNames: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${what} must be an integer in [${min}, ${max}] (${boundNames}), got ${String(value)}`);
  }
  return value;
}

/** Checks a build request and resolves its defaults. Values (NaN, infinities) are checked by the worker. */
export function validateBuildRequest(request: HnswBuildRequest, limits: HnswLimits): HnswBuildTask {
  const metric = checkMetricType(request.metric);
  const dim = checkIntegerIn("HNSW build: dim", request.dim, schemaLimits.vectorDimMin, schemaLimits.vectorDimMax, "vectorDimMin, vectorDimMax");
  const { vectors } = request;
  if (!(vectors instanceof Float32Array)) throw invalidArgument("HNSW build: vectors must be a Float32Array (rows × dim)");
  if (vectors.length % dim !== 0) throw invalidArgument(`HNSW build: vectors hold ${vectors.length} floats, not a multiple of dim ${dim}`);
  const rows = vectors.length / dim;
  if (rows < 1 || rows > limits.hnswBuildRowsMax) {
    throw invalidArgument(`HNSW build: the segment must have between 1 and ${limits.hnswBuildRowsMax} rows (hnswBuildRowsMax), got ${rows}`);
  }
  const M = checkIntegerIn("HNSW build: M", request.M ?? limits.hnswMDefault, limits.hnswMMin, limits.hnswMMax, "hnswMMin, hnswMMax");
  const efConstruction = checkIntegerIn(
    "HNSW build: efConstruction",
    request.efConstruction ?? limits.hnswEfConstructionDefault,
    limits.hnswEfConstructionMin,
    limits.hnswEfConstructionMax,
    "hnswEfConstructionMin, hnswEfConstructionMax",
  );
  const randomSeed = checkIntegerIn("HNSW build: randomSeed", request.randomSeed ?? hnswDefaultRandomSeed, 0, 0xffffffff, "32-bit unsigned");
  return { vectors, dim, rows, metric, M, efConstruction, randomSeed };
}

/** What a search needs to know about the loaded index it targets. */
export interface HnswIndexShape {
  dim: number;
  rows: number;
}

/**
 * Checks a search request against the index it targets. Returns nq and the resolved ef. Query values
 * are checked by the worker, which reports the query and component of a NaN or infinite one.
 */
export function validateSearchRequest(index: HnswIndexShape, request: HnswSearchRequest, limits: HnswLimits, queryLimits: QueryNodeLimits): { nq: number; ef: number } {
  const { queries, topk, allowed } = request;
  if (!(queries instanceof Float32Array)) throw invalidArgument("HNSW search: query vectors must be a Float32Array (nq × dim)");
  if (queries.length % index.dim !== 0) {
    throw invalidArgument(`HNSW search: query vectors hold ${queries.length} floats, not a multiple of the index's dim ${index.dim} (dim mismatch)`);
  }
  const nq = queries.length / index.dim;
  if (request.nq !== undefined && request.nq !== nq) {
    throw invalidArgument(`HNSW search: nq is ${String(request.nq)} but the query vectors hold ${nq} vectors of dim ${index.dim}`);
  }
  checkIntegerIn("HNSW search: nq", nq, 1, queryLimits.searchQueryCountMax, "searchQueryCountMax");
  checkIntegerIn("HNSW search: topk", topk, 1, queryLimits.searchTopKMax, "searchTopKMax");
  if (nq * topk > queryLimits.searchResultEntriesMax) {
    throw invalidArgument(`HNSW search: nq × topk = ${nq} × ${topk} exceeds ${queryLimits.searchResultEntriesMax} result entries (searchResultEntriesMax)`);
  }
  let ef: number;
  if (request.ef === undefined) {
    ef = Math.max(limits.hnswEfSearchDefault, topk);
  } else {
    ef = checkIntegerIn("HNSW search: ef", request.ef, 1, limits.hnswEfSearchMax, "hnswEfSearchMax");
    if (ef < topk) throw invalidArgument(`HNSW search: ef (${ef}) must be at least topk (${topk})`);
  }
  if (allowed !== undefined) {
    if (!(allowed instanceof Bitset) && !(allowed instanceof Uint8Array)) throw invalidArgument("HNSW search: allowed rows must be a Bitset or a Uint8Array mask");
    if (allowed.length !== index.rows) throw invalidArgument(`HNSW search: the allowed-rows filter covers ${allowed.length} rows but the index has ${index.rows}`);
  }
  return { nq, ef };
}

/** The default query limits, for callers that give none. */
export function resolveQueryLimits(overrides?: Partial<QueryNodeLimits>): QueryNodeLimits {
  return resolveLimits(queryNodeDefaults as QueryNodeLimits, overrides, "query node");
}

/**
 * True when a filtered search over a segment of `rows` rows that keeps `allowedCount` of them should
 * run exact (brute force) rather than walk the graph: below hnswExactSearchAllowedFractionMin of the
 * rows, the walk visits most nodes only to reject them, which costs more than scanning the allowed rows.
 */
export function shouldUseExactSearch(allowedCount: number, rows: number, overrides?: Partial<HnswLimits>): boolean {
  const limits = overrides === undefined ? defaultHnswLimits : resolveHnswLimits(overrides);
  checkIntegerIn("shouldUseExactSearch: rows", rows, 0, Number.MAX_SAFE_INTEGER, "non-negative");
  checkIntegerIn("shouldUseExactSearch: allowedCount", allowedCount, 0, rows, "at most rows");
  return allowedCount < rows * limits.hnswExactSearchAllowedFractionMin;
}
