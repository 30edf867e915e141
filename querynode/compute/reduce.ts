// Reduce: merging several top-k answers to the same nq queries into one. The query node reduces its
// per-segment results of a shard (offset 0, topk = limit + offset); the proxy reduces the shards'
// answers and applies the offset. Both call reduceSearchHits on Milvus's SearchResultData layout
// (flat primary keys and distances with a hit count per query).
//
// Order: better distance first (metric.ts); equal distances by smaller input index, then by position
// within that input, so the answer depends only on the order of the inputs, never on timing.
// Dedupe: a primary key is kept once, with its best distance. The merge walks hits best first, so the
// best is also the first seen, which is what Milvus keeps; saying "best" states the intent, since a
// key can appear twice only while a handoff briefly serves it from both a growing and a sealed
// segment, where the exact distance (brute force) and the index's approximate one may differ.
// Invariant: every query's output is sorted, holds no key twice, and has min(topk, unique - offset) hits.

import { invalidArgument } from "../../common/errors.ts";
import { queryNodeDefaults, resolveLimits } from "../../common/config.ts";
import type { QueryNodeLimits } from "../../common/config.ts";
import { checkMetricType, isBetterHit } from "./metric.ts";
import type { MetricType } from "./metric.ts";
import type { TopKResult } from "./topk.ts";

export type PrimaryKey = bigint | string;

/** Hits of nq queries: query q's topks[q] hits follow query q-1's in the flat arrays, best first. */
export interface SearchHits {
  nq: number;
  topks: ArrayLike<number>;
  primaryKeys: ArrayLike<PrimaryKey>;
  distances: ArrayLike<number>;
}

export interface ReducedHits {
  nq: number;
  topks: Int32Array;
  primaryKeys: PrimaryKey[];
  distances: Float32Array;
  /** For each output hit, the input it came from and its flat index there (to gather output fields). */
  resultIndexes: Int32Array;
  hitIndexes: Int32Array;
}

export interface ReduceOptions {
  metric: MetricType;
  nq: number;
  /** Hits to return per query after the offset. */
  topk: number;
  /** Unique hits to skip per query first (the proxy's offset; 0 on the query node). */
  offset?: number;
}

/** No hits for nq queries (a shard or node that holds no segment). */
export function emptyHits(nq: number): SearchHits {
  return { nq, topks: new Int32Array(nq), primaryKeys: [], distances: new Float32Array(0) };
}

/**
 * A segment's top-k as hits: row indexes replaced by that segment's primary keys, padding dropped.
 * `rows` keeps each hit's row index, aligned with the hits, for gathering output fields.
 */
export function hitsFromTopK(result: TopKResult, primaryKeys: ArrayLike<PrimaryKey>): SearchHits & { rows: Int32Array } {
  let total = 0;
  for (let q = 0; q < result.nq; q++) total += result.counts[q] as number;
  const keys: PrimaryKey[] = new Array<PrimaryKey>(total);
  const distances = new Float32Array(total);
  const rows = new Int32Array(total);
  let out = 0;
  for (let q = 0; q < result.nq; q++) {
    const base = q * result.topk;
    for (let i = 0; i < (result.counts[q] as number); i++, out++) {
      const row = result.rows[base + i] as number;
      const key = primaryKeys[row];
      if (key === undefined) throw invalidArgument(`search: row ${row} has no primary key (the segment has ${primaryKeys.length})`);
      keys[out] = key;
      distances[out] = result.distances[base + i] as number;
      rows[out] = row;
    }
  }
  return { nq: result.nq, topks: Int32Array.from(result.counts), primaryKeys: keys, distances, rows };
}

/** Prefix sums of an input's topks: query q's hits are at [starts[q], starts[q + 1]). */
function checkedStarts(hits: SearchHits, index: number, metric: MetricType, nq: number): Int32Array {
  if (hits.nq !== nq || hits.topks.length !== nq) {
    throw invalidArgument(`search result ${index} answers ${hits.nq} queries (${hits.topks.length} counts), expected ${nq}`);
  }
  const starts = new Int32Array(nq + 1);
  for (let q = 0; q < nq; q++) {
    const count = hits.topks[q] as number;
    if (!Number.isInteger(count) || count < 0) throw invalidArgument(`search result ${index}: query ${q} has a hit count of ${count}`);
    starts[q + 1] = (starts[q] as number) + count;
  }
  const total = starts[nq] as number;
  if (hits.primaryKeys.length !== total || hits.distances.length !== total) {
    throw invalidArgument(`search result ${index}: ${hits.primaryKeys.length} keys and ${hits.distances.length} distances for ${total} hits`);
  }
  for (let q = 0; q < nq; q++) {
    for (let i = starts[q] as number; i < (starts[q + 1] as number); i++) {
      const distance = hits.distances[i] as number;
      if (Number.isNaN(distance)) throw invalidArgument(`search result ${index}: query ${q} has a NaN distance`);
      if (i > (starts[q] as number) && isBetterHit(metric, distance, 0, hits.distances[i - 1] as number, 0)) {
        throw invalidArgument(`search result ${index}: query ${q}'s hits are not sorted best first`);
      }
    }
  }
  return starts;
}

/** The default bounds, resolved once: every search reduces on the query node and on the proxy. */
const defaultLimits: Readonly<QueryNodeLimits> = Object.freeze(resolveLimits(queryNodeDefaults as QueryNodeLimits, undefined, "query node"));

/** The query node bounds with `overrides` applied (the resolved defaults, shared, when there are none). */
export function resolveReduceLimits(overrides: Partial<QueryNodeLimits> | undefined): Readonly<QueryNodeLimits> {
  return overrides === undefined ? defaultLimits : resolveLimits(queryNodeDefaults as QueryNodeLimits, overrides, "query node");
}

/** Merges `results` into one top-k per query (k-way merge, dedupe by primary key, offset). Pure. */
export function reduceSearchHits(results: readonly SearchHits[], options: ReduceOptions, limitOverrides?: Partial<QueryNodeLimits>): ReducedHits {
  return reduceWithLimits(results, options, resolveReduceLimits(limitOverrides));
}

/** reduceSearchHits with its bounds already resolved. */
export function reduceWithLimits(results: readonly SearchHits[], options: ReduceOptions, limits: Readonly<QueryNodeLimits>): ReducedHits {
  const metric = checkMetricType(options.metric);
  const { nq, topk } = options;
  const offset = options.offset ?? 0;
  if (!Number.isInteger(nq) || nq < 1 || nq > limits.searchQueryCountMax) {
    throw invalidArgument(`search: nq must be in [1, ${limits.searchQueryCountMax}] (searchQueryCountMax), got ${nq}`);
  }
  if (!Number.isInteger(topk) || topk < 1) throw invalidArgument(`search: topk must be a positive integer, got ${topk}`);
  if (!Number.isInteger(offset) || offset < 0) throw invalidArgument(`search: offset must be a non-negative integer, got ${offset}`);
  if (topk + offset > limits.searchTopKMax) {
    throw invalidArgument(`search: topk + offset must be at most ${limits.searchTopKMax} (searchTopKMax), got ${topk} + ${offset}`);
  }
  if (nq * (topk + offset) > limits.searchResultEntriesMax) {
    throw invalidArgument(`search: nq × (topk + offset) = ${nq} × ${topk + offset} exceeds ${limits.searchResultEntriesMax} result entries (searchResultEntriesMax)`);
  }
  const starts = results.map((hits, index) => checkedStarts(hits, index, metric, nq));

  const topks = new Int32Array(nq);
  const keys: PrimaryKey[] = [];
  const distances: number[] = [];
  const resultIndexes: number[] = [];
  const hitIndexes: number[] = [];
  const merge: MergeState = { metric, results, heads: new Int32Array(results.length), heap: new Int32Array(results.length) };
  const { heads, heap } = merge;

  for (let q = 0; q < nq; q++) {
    let size = 0;
    for (let input = 0; input < results.length; input++) {
      const inputStarts = starts[input] as Int32Array;
      heads[input] = inputStarts[q] as number;
      if ((inputStarts[q] as number) < (inputStarts[q + 1] as number)) {
        // Sift up.
        let child = size++;
        while (child > 0) {
          const parent = (child - 1) >> 1;
          if (!headBefore(merge, input, heap[parent] as number)) break;
          heap[child] = heap[parent] as number;
          child = parent;
        }
        heap[child] = input;
      }
    }
    const seen = new Set<PrimaryKey>();
    let skipped = 0;
    let taken = 0;
    while (size > 0 && taken < topk) {
      const input = heap[0] as number;
      const hits = results[input] as SearchHits;
      const position = heads[input] as number;
      const key = hits.primaryKeys[position] as PrimaryKey;
      const distance = hits.distances[position] as number;
      heads[input] = position + 1;
      if (position + 1 >= ((starts[input] as Int32Array)[q + 1] as number)) {
        size -= 1;
        heap[0] = heap[size] as number;
      }
      if (size > 0) siftDown(merge, size);
      if (seen.has(key)) continue;
      seen.add(key);
      if (skipped < offset) {
        skipped += 1;
        continue;
      }
      keys.push(key);
      distances.push(distance);
      resultIndexes.push(input);
      hitIndexes.push(position);
      taken += 1;
    }
    topks[q] = taken;
  }
  return {
    nq,
    topks,
    primaryKeys: keys,
    distances: Float32Array.from(distances),
    resultIndexes: Int32Array.from(resultIndexes),
    hitIndexes: Int32Array.from(hitIndexes),
  };
}

/**
 * The k-way merge's state: `heap` is a binary min-heap of input indexes ordered by their head hits
 * (best first), `heads[i]` the position of input i's head. Helpers live at module level rather than
 * as closures inside the reduce, which runs twice per search.
 */
interface MergeState {
  metric: MetricType;
  results: readonly SearchHits[];
  heads: Int32Array;
  heap: Int32Array;
}

/** True when input a's head hit ranks before input b's (ties: the smaller input index). */
function headBefore(merge: MergeState, a: number, b: number): boolean {
  const distanceA = (merge.results[a] as SearchHits).distances[merge.heads[a] as number] as number;
  const distanceB = (merge.results[b] as SearchHits).distances[merge.heads[b] as number] as number;
  return isBetterHit(merge.metric, distanceA, a, distanceB, b);
}

function siftDown(merge: MergeState, size: number): void {
  const heap = merge.heap;
  let parent = 0;
  const item = heap[0] as number;
  for (;;) {
    let child = 2 * parent + 1;
    if (child >= size) break;
    if (child + 1 < size && headBefore(merge, heap[child + 1] as number, heap[child] as number)) child += 1;
    if (!headBefore(merge, heap[child] as number, item)) break;
    heap[parent] = heap[child] as number;
    parent = child;
  }
  heap[parent] = item;
}
