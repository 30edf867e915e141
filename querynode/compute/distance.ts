// Distance kernels for exact search: squared L2, inner product and cosine between query vectors and
// stored vectors, plus a plain reference implementation that tests use as the oracle.
//
// Layout: stored vectors are one Float32Array of rows × dim (row i at [i·dim, (i+1)·dim)), queries
// are nq × dim. Queries are widened once per request to a Float64Array, and every kernel accumulates
// in float64 (a product of two float32 values is exact in float64) in component order, so L2 and IP
// equal the reference bit for bit. The block kernels are unrolled into register tiles of two queries
// × four rows, never allocate, and are walked in cache-sized row blocks with every query applied to a
// block while it is hot (computeDistances here, the top-k scan in brute-force.ts).
//
// Cosine: dot / (|q|·|x|), 0 when either norm is 0. Row norms are rounded to float32 whether they are
// precomputed (vectorNorms) or computed per block, so both paths give bit-identical distances.

import { invalidArgument } from "../../common/errors.ts";
import { MetricType, checkMetricType } from "./metric.ts";

/** Bytes of stored vectors per cache block: a block stays in L2 while every query passes over it. */
const cacheBlockBytes = 128 * 1024;
/** Block rows are kept between these: at least one 4-row tile, at most what the distance scratch holds. */
const blockRowsMin = 4;
const blockRowsMax = 1024;

/** Rows per cache block for vectors of `dim` floats. */
export function rowsPerCacheBlock(dim: number): number {
  return Math.min(blockRowsMax, Math.max(blockRowsMin, Math.floor(cacheBlockBytes / (dim * Float32Array.BYTES_PER_ELEMENT))));
}

// Every distance below is a float64 sum over components 0, 1, ..., dim-1 in that order, whichever
// path computes it (a 2 × 4 tile, a 1 × 4 tile, a single pair, the reference). So a distance does
// not depend on which tile a row fell into, on the filter, on the block or on the worker that
// scanned it: equal vectors get bit-identical distances, and ties are decided by row index alone.
// Speed comes from register tiles (two queries × four rows: eight independent sums, each vector
// component loaded once for two queries, each query component once for four rows), not from
// reordering a sum.

/** Squared Euclidean distance between query[qOffset..+dim) and vectors[vOffset..+dim). */
export function squaredL2(query: Float64Array, qOffset: number, vectors: Float32Array, vOffset: number, dim: number): number {
  let sum = 0;
  for (let d = 0; d < dim; d++) {
    const diff = (query[qOffset + d] as number) - (vectors[vOffset + d] as number);
    sum += diff * diff;
  }
  return sum;
}

/** Inner product of query[qOffset..+dim) and vectors[vOffset..+dim). */
export function innerProduct(query: Float64Array, qOffset: number, vectors: Float32Array, vOffset: number, dim: number): number {
  let sum = 0;
  for (let d = 0; d < dim; d++) sum += (query[qOffset + d] as number) * (vectors[vOffset + d] as number);
  return sum;
}

/**
 * Squared L2 distances of queries [qFirst, qEnd) to the `count` rows listed in `rows`:
 * out[(q - qFirst) · count + j] = |query q − row rows[j]|². Row r's vector starts at
 * vectors[r · dim − vectorBase] (vectorBase lets `vectors` hold only part of a segment).
 */
export function squaredL2Block(
  queries: Float64Array,
  qFirst: number,
  qEnd: number,
  dim: number,
  vectors: Float32Array,
  vectorBase: number,
  rows: Int32Array,
  count: number,
  out: Float64Array,
): void {
  let q = qFirst;
  for (; q + 1 < qEnd; q += 2) {
    const qa = q * dim;
    const qb = qa + dim;
    const outA = (q - qFirst) * count;
    const outB = outA + count;
    let j = 0;
    for (; j + 3 < count; j += 4) {
      const v0 = (rows[j] as number) * dim - vectorBase;
      const v1 = (rows[j + 1] as number) * dim - vectorBase;
      const v2 = (rows[j + 2] as number) * dim - vectorBase;
      const v3 = (rows[j + 3] as number) * dim - vectorBase;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      for (let d = 0; d < dim; d++) {
        const ya = queries[qa + d] as number;
        const yb = queries[qb + d] as number;
        const x0 = vectors[v0 + d] as number;
        const x1 = vectors[v1 + d] as number;
        const x2 = vectors[v2 + d] as number;
        const x3 = vectors[v3 + d] as number;
        let e = ya - x0;
        a0 += e * e;
        e = ya - x1;
        a1 += e * e;
        e = ya - x2;
        a2 += e * e;
        e = ya - x3;
        a3 += e * e;
        e = yb - x0;
        b0 += e * e;
        e = yb - x1;
        b1 += e * e;
        e = yb - x2;
        b2 += e * e;
        e = yb - x3;
        b3 += e * e;
      }
      out[outA + j] = a0;
      out[outA + j + 1] = a1;
      out[outA + j + 2] = a2;
      out[outA + j + 3] = a3;
      out[outB + j] = b0;
      out[outB + j + 1] = b1;
      out[outB + j + 2] = b2;
      out[outB + j + 3] = b3;
    }
    for (; j < count; j++) {
      const v0 = (rows[j] as number) * dim - vectorBase;
      let a0 = 0;
      let b0 = 0;
      for (let d = 0; d < dim; d++) {
        const x0 = vectors[v0 + d] as number;
        let e = (queries[qa + d] as number) - x0;
        a0 += e * e;
        e = (queries[qb + d] as number) - x0;
        b0 += e * e;
      }
      out[outA + j] = a0;
      out[outB + j] = b0;
    }
  }
  if (q < qEnd) {
    const qa = q * dim;
    const outA = (q - qFirst) * count;
    let j = 0;
    for (; j + 3 < count; j += 4) {
      const v0 = (rows[j] as number) * dim - vectorBase;
      const v1 = (rows[j + 1] as number) * dim - vectorBase;
      const v2 = (rows[j + 2] as number) * dim - vectorBase;
      const v3 = (rows[j + 3] as number) * dim - vectorBase;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let d = 0; d < dim; d++) {
        const ya = queries[qa + d] as number;
        let e = ya - (vectors[v0 + d] as number);
        a0 += e * e;
        e = ya - (vectors[v1 + d] as number);
        a1 += e * e;
        e = ya - (vectors[v2 + d] as number);
        a2 += e * e;
        e = ya - (vectors[v3 + d] as number);
        a3 += e * e;
      }
      out[outA + j] = a0;
      out[outA + j + 1] = a1;
      out[outA + j + 2] = a2;
      out[outA + j + 3] = a3;
    }
    for (; j < count; j++) out[outA + j] = squaredL2(queries, qa, vectors, (rows[j] as number) * dim - vectorBase, dim);
  }
}

/** Inner products, in the layout of squaredL2Block (IP, and COSINE before dividing by the norms). */
export function innerProductBlock(
  queries: Float64Array,
  qFirst: number,
  qEnd: number,
  dim: number,
  vectors: Float32Array,
  vectorBase: number,
  rows: Int32Array,
  count: number,
  out: Float64Array,
): void {
  let q = qFirst;
  for (; q + 1 < qEnd; q += 2) {
    const qa = q * dim;
    const qb = qa + dim;
    const outA = (q - qFirst) * count;
    const outB = outA + count;
    let j = 0;
    for (; j + 3 < count; j += 4) {
      const v0 = (rows[j] as number) * dim - vectorBase;
      const v1 = (rows[j + 1] as number) * dim - vectorBase;
      const v2 = (rows[j + 2] as number) * dim - vectorBase;
      const v3 = (rows[j + 3] as number) * dim - vectorBase;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      for (let d = 0; d < dim; d++) {
        const ya = queries[qa + d] as number;
        const yb = queries[qb + d] as number;
        const x0 = vectors[v0 + d] as number;
        const x1 = vectors[v1 + d] as number;
        const x2 = vectors[v2 + d] as number;
        const x3 = vectors[v3 + d] as number;
        a0 += ya * x0;
        a1 += ya * x1;
        a2 += ya * x2;
        a3 += ya * x3;
        b0 += yb * x0;
        b1 += yb * x1;
        b2 += yb * x2;
        b3 += yb * x3;
      }
      out[outA + j] = a0;
      out[outA + j + 1] = a1;
      out[outA + j + 2] = a2;
      out[outA + j + 3] = a3;
      out[outB + j] = b0;
      out[outB + j + 1] = b1;
      out[outB + j + 2] = b2;
      out[outB + j + 3] = b3;
    }
    for (; j < count; j++) {
      const v0 = (rows[j] as number) * dim - vectorBase;
      let a0 = 0;
      let b0 = 0;
      for (let d = 0; d < dim; d++) {
        const x0 = vectors[v0 + d] as number;
        a0 += (queries[qa + d] as number) * x0;
        b0 += (queries[qb + d] as number) * x0;
      }
      out[outA + j] = a0;
      out[outB + j] = b0;
    }
  }
  if (q < qEnd) {
    const qa = q * dim;
    const outA = (q - qFirst) * count;
    let j = 0;
    for (; j + 3 < count; j += 4) {
      const v0 = (rows[j] as number) * dim - vectorBase;
      const v1 = (rows[j + 1] as number) * dim - vectorBase;
      const v2 = (rows[j + 2] as number) * dim - vectorBase;
      const v3 = (rows[j + 3] as number) * dim - vectorBase;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let d = 0; d < dim; d++) {
        const ya = queries[qa + d] as number;
        a0 += ya * (vectors[v0 + d] as number);
        a1 += ya * (vectors[v1 + d] as number);
        a2 += ya * (vectors[v2 + d] as number);
        a3 += ya * (vectors[v3 + d] as number);
      }
      out[outA + j] = a0;
      out[outA + j + 1] = a1;
      out[outA + j + 2] = a2;
      out[outA + j + 3] = a3;
    }
    for (; j < count; j++) out[outA + j] = innerProduct(queries, qa, vectors, (rows[j] as number) * dim - vectorBase, dim);
  }
}

/** Euclidean norm of one stored row, rounded to float32 (see the header). */
export function rowNorm(vectors: Float32Array, vOffset: number, dim: number): number {
  let sum = 0;
  for (let v = vOffset, end = vOffset + dim; v < end; v++) {
    const x = vectors[v] as number;
    sum += x * x;
  }
  return Math.fround(Math.sqrt(sum));
}

/**
 * Norms of every row, for COSINE. The query node computes these once per segment (as rows arrive, or
 * when a sealed segment loads) and passes them with each search, so searches skip the work.
 */
export function vectorNorms(vectors: Float32Array, dim: number, out?: Float32Array): Float32Array {
  checkDim(dim);
  if (vectors.length % dim !== 0) throw invalidArgument(`vectors have ${vectors.length} floats, not a multiple of dim ${dim}`);
  const rows = vectors.length / dim;
  const norms = out ?? new Float32Array(rows);
  if (norms.length !== rows) throw invalidArgument(`norms array has ${norms.length} entries for ${rows} rows`);
  for (let row = 0; row < rows; row++) norms[row] = rowNorm(vectors, row * dim, dim);
  return norms;
}

/** Queries widened to float64 once per request (the kernels' left operand). */
export function widenQueries(queries: Float32Array): Float64Array {
  return Float64Array.from(queries);
}

/** Norm of each widened query, in float64. */
export function queryNorms(queries: Float64Array, dim: number): Float64Array {
  const nq = queries.length / dim;
  const norms = new Float64Array(nq);
  for (let q = 0; q < nq; q++) {
    let sum = 0;
    for (let d = q * dim, end = d + dim; d < end; d++) sum += (queries[d] as number) * (queries[d] as number);
    norms[q] = Math.sqrt(sum);
  }
  return norms;
}

/** Cosine from a dot product and the two norms; 0 when either vector is zero (no direction). */
export function cosineFromDot(dot: number, queryNorm: number, rowNorm: number): number {
  const denominator = queryNorm * rowNorm;
  return denominator === 0 ? 0 : dot / denominator;
}

/** Queries handled per pass over a cache block: bounds the distance scratch to queryChunk × 1024 doubles. */
export const queryChunk = 16;

/**
 * The full nq × rows distance matrix: out[q·rows + r] is the distance of query q to row r under
 * `metric`, computed by the same tiles and in the same order as a search. For tests and benchmarks;
 * searches use the top-k scan in brute-force.ts, which never materializes the matrix.
 */
export function computeDistances(metric: MetricType, queries: Float32Array, vectors: Float32Array, dim: number, norms?: Float32Array): Float32Array {
  checkMetricType(metric);
  checkDim(dim);
  if (queries.length % dim !== 0) throw invalidArgument(`query vectors have ${queries.length} floats, not a multiple of dim ${dim}`);
  if (vectors.length % dim !== 0) throw invalidArgument(`vectors have ${vectors.length} floats, not a multiple of dim ${dim}`);
  const nq = queries.length / dim;
  const rows = vectors.length / dim;
  const out = new Float32Array(nq * rows);
  const wide = widenQueries(queries);
  const qNorms = metric === MetricType.COSINE ? queryNorms(wide, dim) : undefined;
  const rNorms = metric === MetricType.COSINE ? (norms ?? vectorNorms(vectors, dim)) : undefined;
  const blockRows = rowsPerCacheBlock(dim);
  const rowList = new Int32Array(blockRows);
  const scratch = new Float64Array(queryChunk * blockRows);
  for (let blockStart = 0; blockStart < rows; blockStart += blockRows) {
    const count = Math.min(rows, blockStart + blockRows) - blockStart;
    for (let j = 0; j < count; j++) rowList[j] = blockStart + j;
    for (let qFirst = 0; qFirst < nq; qFirst += queryChunk) {
      const qEnd = Math.min(nq, qFirst + queryChunk);
      if (metric === MetricType.L2) squaredL2Block(wide, qFirst, qEnd, dim, vectors, 0, rowList, count, scratch);
      else innerProductBlock(wide, qFirst, qEnd, dim, vectors, 0, rowList, count, scratch);
      for (let q = qFirst; q < qEnd; q++) {
        for (let j = 0; j < count; j++) {
          const value = scratch[(q - qFirst) * count + j] as number;
          out[q * rows + blockStart + j] =
            metric === MetricType.COSINE ? cosineFromDot(value, (qNorms as Float64Array)[q] as number, (rNorms as Float32Array)[blockStart + j] as number) : value;
        }
      }
    }
  }
  return out;
}

function checkDim(dim: number): void {
  if (!Number.isInteger(dim) || dim < 1) throw invalidArgument(`dim must be a positive integer, got ${dim}`);
}

// ---- Reference implementation (the oracle for tests and the baseline for benchmarks) ----

/** One distance, computed the obvious way in float64. */
export function naiveDistance(metric: MetricType, a: ArrayLike<number>, aOffset: number, b: ArrayLike<number>, bOffset: number, dim: number): number {
  if (metric === MetricType.L2) {
    let sum = 0;
    for (let d = 0; d < dim; d++) {
      const diff = (a[aOffset + d] as number) - (b[bOffset + d] as number);
      sum += diff * diff;
    }
    return sum;
  }
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let d = 0; d < dim; d++) {
    const x = a[aOffset + d] as number;
    const y = b[bOffset + d] as number;
    dot += x * y;
    aa += x * x;
    bb += y * y;
  }
  if (metric === MetricType.IP) return dot;
  return aa === 0 || bb === 0 ? 0 : dot / (Math.sqrt(aa) * Math.sqrt(bb));
}

/** The nq × rows matrix by naiveDistance, row by row, no blocking. */
export function naiveDistances(metric: MetricType, queries: ArrayLike<number>, vectors: ArrayLike<number>, dim: number): Float64Array {
  const nq = queries.length / dim;
  const rows = vectors.length / dim;
  const out = new Float64Array(nq * rows);
  for (let q = 0; q < nq; q++) {
    for (let r = 0; r < rows; r++) out[q * rows + r] = naiveDistance(metric, queries, q * dim, vectors, r * dim, dim);
  }
  return out;
}
