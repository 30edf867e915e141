// Top-k results of an exact search over one segment's rows, the bounded heaps that select them, and
// the merge of results computed over disjoint row ranges. Order everywhere: better distance first
// (metric.ts), equal distances by smaller row index. Invariant: a heap never holds more than k
// entries, and its root is its worst entry (largest key, then largest row), so a candidate enters only
// by evicting exactly that one.

import { assert } from "../../common/errors.ts";
import { MetricType, isBetterHit } from "./metric.ts";

export interface TopKResult {
  metric: MetricType;
  nq: number;
  topk: number;
  /** Hits found per query: topk, or fewer when fewer rows are allowed. */
  counts: Int32Array;
  /** nq × topk row indexes: query q's hits at [q·topk, q·topk + counts[q]), best first; -1 after. */
  rows: Int32Array;
  /** Distances in the same layout (float32, as Milvus reports them); NaN after the hits. */
  distances: Float32Array;
}

/** An empty result of nq queries: no hits yet, rows -1 and distances NaN. */
export function emptyTopKResult(metric: MetricType, nq: number, topk: number): TopKResult {
  return {
    metric,
    nq,
    topk,
    counts: new Int32Array(nq),
    rows: new Int32Array(nq * topk).fill(-1),
    distances: new Float32Array(nq * topk).fill(Number.NaN),
  };
}

/**
 * One bounded max-heap per query over (key, row), where a smaller key is better: the scan turns a
 * distance into a key (L2: the distance; IP, COSINE: its negation), rounded to float32 first so that
 * ties are judged on the values reported. All heaps live in two flat typed arrays.
 */
export class TopKHeaps {
  readonly nq: number;
  readonly k: number;
  readonly keys: Float64Array;
  readonly rows: Int32Array;
  readonly sizes: Int32Array;

  constructor(nq: number, k: number) {
    this.nq = nq;
    this.k = k;
    this.keys = new Float64Array(nq * k);
    this.rows = new Int32Array(nq * k);
    this.sizes = new Int32Array(nq);
  }

  /** The key a candidate must beat to enter query q's heap: +Infinity until the heap is full. */
  worstKey(q: number): number {
    return (this.sizes[q] as number) < this.k ? Number.POSITIVE_INFINITY : (this.keys[q * this.k] as number);
  }

  /**
   * Offers (key, row) to query q's heap. The scan visits rows in increasing order, so a candidate whose
   * key only equals the worst one loses the tie to the smaller row already held; callers may therefore
   * skip any key ≥ worstKey(q) without calling this.
   */
  offer(q: number, key: number, row: number): void {
    const base = q * this.k;
    const size = this.sizes[q] as number;
    const keys = this.keys;
    const rows = this.rows;
    if (size < this.k) {
      // Sift up from the new leaf.
      let child = size;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        const parentKey = keys[base + parent] as number;
        if (parentKey > key || (parentKey === key && (rows[base + parent] as number) > row)) break;
        keys[base + child] = parentKey;
        rows[base + child] = rows[base + parent] as number;
        child = parent;
      }
      keys[base + child] = key;
      rows[base + child] = row;
      this.sizes[q] = size + 1;
      return;
    }
    const rootKey = keys[base] as number;
    if (key > rootKey || (key === rootKey && row > (rows[base] as number))) return;
    siftDown(keys, rows, base, size, key, row);
  }

  /** Writes every heap, sorted best first, into `out` (which must be an empty result of the same shape). */
  drainInto(out: TopKResult): void {
    assert(out.nq === this.nq && out.topk === this.k, "top-k output shape matches the heaps");
    const negate = out.metric !== MetricType.L2;
    const keys = this.keys;
    const rows = this.rows;
    for (let q = 0; q < this.nq; q++) {
      const base = q * this.k;
      const count = this.sizes[q] as number;
      // Heap sort in place: the worst goes last each round, leaving ascending (best-first) order.
      for (let size = count; size > 1; size--) {
        const lastKey = keys[base + size - 1] as number;
        const lastRow = rows[base + size - 1] as number;
        keys[base + size - 1] = keys[base] as number;
        rows[base + size - 1] = rows[base] as number;
        siftDown(keys, rows, base, size - 1, lastKey, lastRow);
      }
      out.counts[q] = count;
      for (let i = 0; i < count; i++) {
        const key = keys[base + i] as number;
        out.rows[base + i] = rows[base + i] as number;
        out.distances[base + i] = negate ? -key : key;
      }
      this.sizes[q] = 0;
    }
  }
}

/** Places (key, row) at the root of a heap of `size` entries at `base` and sifts it down. */
function siftDown(keys: Float64Array, rows: Int32Array, base: number, size: number, key: number, row: number): void {
  let parent = 0;
  for (;;) {
    let child = 2 * parent + 1;
    if (child >= size) break;
    let childKey = keys[base + child] as number;
    let childRow = rows[base + child] as number;
    const right = child + 1;
    if (right < size) {
      const rightKey = keys[base + right] as number;
      const rightRow = rows[base + right] as number;
      if (rightKey > childKey || (rightKey === childKey && rightRow > childRow)) {
        child = right;
        childKey = rightKey;
        childRow = rightRow;
      }
    }
    if (childKey < key || (childKey === key && childRow < row)) break;
    keys[base + parent] = childKey;
    rows[base + parent] = childRow;
    parent = child;
  }
  keys[base + parent] = key;
  rows[base + parent] = row;
}

/**
 * Merges results of the same queries over disjoint row ranges (rows already absolute) into one
 * top-k per query. Each part is sorted best first, so this is a k-way merge of heads; parts are few
 * (one per worker), so the best head is found by a linear pass.
 */
export function mergeTopKParts(parts: readonly TopKResult[]): TopKResult {
  const first = parts[0];
  assert(first !== undefined, "at least one part to merge");
  const { metric, nq, topk } = first;
  for (const part of parts) assert(part.metric === metric && part.nq === nq && part.topk === topk, "merged parts share metric, nq and topk");
  if (parts.length === 1) return first;
  const out = emptyTopKResult(metric, nq, topk);
  const heads = new Int32Array(parts.length);
  for (let q = 0; q < nq; q++) {
    const base = q * topk;
    heads.fill(0);
    let count = 0;
    while (count < topk) {
      let best = -1;
      let bestDistance = 0;
      let bestRow = 0;
      for (let p = 0; p < parts.length; p++) {
        const part = parts[p] as TopKResult;
        const head = heads[p] as number;
        if (head >= (part.counts[q] as number)) continue;
        const distance = part.distances[base + head] as number;
        const row = part.rows[base + head] as number;
        if (best < 0 || isBetterHit(metric, distance, row, bestDistance, bestRow)) {
          best = p;
          bestDistance = distance;
          bestRow = row;
        }
      }
      if (best < 0) break;
      heads[best] = (heads[best] as number) + 1;
      out.rows[base + count] = bestRow;
      out.distances[base + count] = bestDistance;
      count += 1;
    }
    out.counts[q] = count;
  }
  return out;
}
