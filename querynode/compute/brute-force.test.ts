import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import type { WorkerPool } from "../../common/worker-pool.ts";
import { Bitset } from "./bitset.ts";
import { bruteForceTopK, searchBruteForce } from "./brute-force.ts";
import type { BruteForceRequest } from "./brute-force.ts";
import { createComputePool } from "./compute-pool.ts";
import { computeDistances, naiveDistances, rowsPerCacheBlock, vectorNorms } from "./distance.ts";
import { MetricType, isBetterHit } from "./metric.ts";
import type { TopKResult } from "./topk.ts";

const seed = testSeed();
console.log(`brute-force search tests seed ${seed} (replay with VELA_SEED=${seed})`);

const metrics = [MetricType.L2, MetricType.IP, MetricType.COSINE];

/** Small integers: every L2 and IP sum is exact, and repeated values give many exact ties. */
function smallIntegers(random: SeededRandom, count: number, shared: boolean): Float32Array {
  const values = new Float32Array(shared ? new SharedArrayBuffer(count * 4) : new ArrayBuffer(count * 4));
  for (let i = 0; i < count; i++) values[i] = random.int(-2, 2);
  return values;
}

function gaussian(random: SeededRandom, count: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = random.gaussian();
  return values;
}

function randomFilter(random: SeededRandom, rows: number): Bitset | Uint8Array | undefined {
  const density = random.pick([0, 0.05, 0.5, 0.95, 1]);
  const kind = random.int(0, 2);
  if (kind === 0) return undefined;
  const mask = new Uint8Array(rows);
  // Runs of allowed and filtered rows, so whole clear bytes and block edges both occur.
  for (let row = 0; row < rows; ) {
    const run = random.int(1, 40);
    const allowed = random.bool(density) ? 1 : 0;
    for (let end = Math.min(rows, row + run); row < end; row++) mask[row] = allowed;
  }
  return kind === 1 ? mask : Bitset.fromMask(mask, { shared: random.bool() });
}

function isAllowed(filter: Bitset | Uint8Array | undefined, row: number): boolean {
  if (filter === undefined) return true;
  return filter instanceof Bitset ? filter.has(row) : filter[row] !== 0;
}

/** Sort every allowed row (better distance, then smaller row) and keep the first topk. */
function sortEverything(metric: MetricType, distances: ArrayLike<number>, rows: number, nq: number, topk: number, filter: Bitset | Uint8Array | undefined): { rows: number[]; distances: number[] }[] {
  const answers = [];
  for (let q = 0; q < nq; q++) {
    const candidates: number[] = [];
    for (let row = 0; row < rows; row++) if (isAllowed(filter, row)) candidates.push(row);
    const distanceOf = (row: number): number => distances[q * rows + row] as number;
    candidates.sort((a, b) => (isBetterHit(metric, distanceOf(a), a, distanceOf(b), b) ? -1 : 1));
    const best = candidates.slice(0, topk);
    answers.push({ rows: best, distances: best.map(distanceOf) });
  }
  return answers;
}

function hitsOf(result: TopKResult, q: number): { rows: number[]; distances: number[] } {
  const count = result.counts[q] as number;
  const base = q * result.topk;
  return { rows: Array.from(result.rows.subarray(base, base + count)), distances: Array.from(result.distances.subarray(base, base + count)) };
}

function expectPadding(result: TopKResult): void {
  for (let q = 0; q < result.nq; q++) {
    for (let i = result.counts[q] as number; i < result.topk; i++) {
      expect(result.rows[q * result.topk + i]).toBe(-1);
      expect(result.distances[q * result.topk + i]).toBeNaN();
    }
  }
}

interface Case {
  request: BruteForceRequest;
  rows: number;
  nq: number;
}

function randomCase(random: SeededRandom, metric: MetricType, dim: number, rows: number, values: "integers" | "gaussian"): Case {
  const nq = random.int(1, 4);
  const shared = random.bool();
  const vectors = values === "integers" ? smallIntegers(random, rows * dim, shared) : gaussian(random, rows * dim);
  const queries = values === "integers" ? smallIntegers(random, nq * dim, false) : gaussian(random, nq * dim);
  const topk = random.pick([1, 3, 10, rows, rows + 7]) || 1;
  const allowed = randomFilter(random, rows);
  const request: BruteForceRequest = { metric, dim, vectors, queries, topk, ...(allowed === undefined ? {} : { allowed }) };
  if (metric === MetricType.COSINE && random.bool()) request.norms = vectorNorms(vectors, dim);
  return { request, rows, nq };
}

describe("bruteForceTopK", () => {
  it("returns exactly what sorting every row returns, ties by smaller row, for every metric and filter", () => {
    const random = new SeededRandom(seed);
    for (let round = 0; round < 60; round++) {
      const metric = metrics[round % 3] as MetricType;
      const dim = random.pick([2, 3, 8, 127, 129]);
      // Enough rows at dim 129 to span several cache blocks.
      const rows = random.int(0, dim === 129 ? rowsPerCacheBlock(dim) * 3 : 300);
      const { request, nq } = randomCase(random, metric, dim, rows, "integers");
      const result = bruteForceTopK(request);
      // The kernels' own matrix (checked against the reference in distance.test.ts) decides ties exactly.
      const matrix = computeDistances(metric, request.queries, request.vectors, dim);
      const oracle = sortEverything(metric, matrix, rows, nq, request.topk, request.allowed);
      const context = `round ${round}: ${metric} dim ${dim} rows ${rows} nq ${nq} topk ${request.topk}`;
      expect(result.nq, context).toBe(nq);
      for (let q = 0; q < nq; q++) expect(hitsOf(result, q), `${context} query ${q}`).toEqual(oracle[q]);
      expectPadding(result);
      if (metric !== MetricType.COSINE) {
        // On small integers L2 and IP are exact: the plain reference gives the very same answer.
        const reference = sortEverything(metric, Float32Array.from(naiveDistances(metric, request.queries, request.vectors, dim)), rows, nq, request.topk, request.allowed);
        for (let q = 0; q < nq; q++) expect(hitsOf(result, q), `${context} query ${q} vs reference`).toEqual(reference[q]);
      }
    }
  });

  it("agrees with the plain reference on gaussian data: exactly for L2 and IP, within float tolerance for COSINE", () => {
    const random = new SeededRandom(seed ^ 0x9a55);
    for (let round = 0; round < 30; round++) {
      const metric = metrics[round % 3] as MetricType;
      const dim = random.pick([3, 16, 127, 129]);
      const rows = random.int(1, 400);
      const { request, nq } = randomCase(random, metric, dim, rows, "gaussian");
      const result = bruteForceTopK(request);
      const reference = naiveDistances(metric, request.queries, request.vectors, dim);
      const oracle = sortEverything(metric, reference, rows, nq, request.topk, request.allowed);
      const exactOracle = metric === MetricType.COSINE ? undefined : sortEverything(metric, Float32Array.from(reference), rows, nq, request.topk, request.allowed);
      for (let q = 0; q < nq; q++) {
        const hits = hitsOf(result, q);
        const expected = oracle[q] as { rows: number[]; distances: number[] };
        if (metric !== MetricType.COSINE) {
          // Ranked on the float32 values reported, as the search ranks them.
          expect(hits).toEqual(exactOracle?.[q]);
          continue;
        }
        expect(hits.rows.length).toBe(expected.rows.length);
        expect(new Set(hits.rows).size).toBe(hits.rows.length);
        for (let i = 0; i < hits.rows.length; i++) {
          const tolerance = 2e-6 * Math.max(1, Math.abs(expected.distances[i] as number));
          const row = hits.rows[i] as number;
          // Rank by rank the distances agree, and each reported distance is its row's true distance.
          expect(Math.abs((hits.distances[i] as number) - (expected.distances[i] as number))).toBeLessThanOrEqual(tolerance);
          expect(Math.abs((hits.distances[i] as number) - (reference[q * rows + row] as number))).toBeLessThanOrEqual(tolerance);
          expect(isAllowed(request.allowed, row)).toBe(true);
        }
      }
    }
  });

  it("finds every allowed row when topk exceeds them, and nothing when none is allowed", () => {
    const dim = 4;
    const vectors = new Float32Array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    const queries = new Float32Array([0, 0, 0, 0, 3, 3, 3, 3]);
    const allowed = new Bitset(4);
    allowed.add(1);
    allowed.add(3);
    const result = bruteForceTopK({ metric: MetricType.L2, dim, vectors, queries, topk: 5, allowed });
    expect(Array.from(result.counts)).toEqual([2, 2]);
    expect(hitsOf(result, 0)).toEqual({ rows: [1, 3], distances: [4, 36] });
    expect(hitsOf(result, 1)).toEqual({ rows: [3, 1], distances: [0, 16] });
    const none = bruteForceTopK({ metric: MetricType.IP, dim, vectors, queries, topk: 3, allowed: new Uint8Array(4) });
    expect(Array.from(none.counts)).toEqual([0, 0]);
    expectPadding(none);
    const empty = bruteForceTopK({ metric: MetricType.COSINE, dim, vectors: new Float32Array(0), queries, topk: 3 });
    expect(Array.from(empty.counts)).toEqual([0, 0]);
  });

  it("orders IP and COSINE descending and breaks ties by the smaller row", () => {
    const vectors = new Float32Array([1, 0, 2, 0, 1, 0, 0, 1, 2, 0]);
    const queries = new Float32Array([1, 0]);
    expect(hitsOf(bruteForceTopK({ metric: MetricType.IP, dim: 2, vectors, queries, topk: 5 }), 0)).toEqual({ rows: [1, 4, 0, 2, 3], distances: [2, 2, 1, 1, 0] });
    expect(hitsOf(bruteForceTopK({ metric: MetricType.COSINE, dim: 2, vectors, queries, topk: 5 }), 0)).toEqual({ rows: [0, 1, 2, 4, 3], distances: [1, 1, 1, 1, 0] });
    expect(hitsOf(bruteForceTopK({ metric: MetricType.L2, dim: 2, vectors, queries, topk: 3 }), 0)).toEqual({ rows: [0, 2, 1], distances: [0, 0, 1] });
  });
});

async function rejection(promise: Promise<unknown>): Promise<VelaError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(VelaError);
    return error as VelaError;
  }
  throw new Error("expected the promise to reject");
}

describe("searchBruteForce in the worker pool", () => {
  let single: WorkerPool;
  let several: WorkerPool;

  beforeAll(async () => {
    single = createComputePool({ workerCount: 1 });
    several = createComputePool({ workerCount: 3 });
    // Wait for every worker to load, so that the tests below measure nothing but behaviour.
    const probe: BruteForceRequest = { metric: MetricType.L2, dim: 2, vectors: new Float32Array(2), queries: new Float32Array(2), topk: 1 };
    await Promise.all([searchBruteForce(single, probe), ...[0, 1, 2].map(() => searchBruteForce(several, probe))]);
  });

  afterAll(async () => {
    await Promise.all([single.close(), several.close()]);
  });

  it("gives identical results on one worker, on several with split row ranges, and on the calling thread", async () => {
    const random = new SeededRandom(seed ^ 0x7001);
    for (let round = 0; round < 24; round++) {
      const metric = metrics[round % 3] as MetricType;
      const dim = random.pick([3, 17, 128]);
      const rows = random.int(0, 700);
      const { request } = randomCase(random, metric, dim, rows, random.bool() ? "integers" : "gaussian");
      const splitLimits = { searchSplitRowsMin: random.int(1, 100), searchInlineMergeEntriesMax: random.pick([0, 1_000_000]) };
      const local = bruteForceTopK(request);
      const [one, split] = await Promise.all([searchBruteForce(single, request), searchBruteForce(several, request, splitLimits)]);
      const context = `round ${round}: ${metric} dim ${dim} rows ${rows} ${JSON.stringify(splitLimits)}`;
      for (const result of [one, split]) {
        expect(result.counts, context).toEqual(local.counts);
        expect(result.rows, context).toEqual(local.rows);
        expect(result.distances, context).toEqual(local.distances);
      }
    }
  });

  it("leaves the caller's vectors intact whether shared or copied", async () => {
    const random = new SeededRandom(seed ^ 0xc0b1);
    const dim = 8;
    for (const shared of [true, false]) {
      const vectors = smallIntegers(random, 200 * dim, shared);
      const before = Float32Array.from(vectors);
      const queries = smallIntegers(random, dim, false);
      await searchBruteForce(several, { metric: MetricType.L2, dim, vectors, queries, topk: 5 }, { searchSplitRowsMin: 10 });
      expect(vectors.length).toBe(200 * dim);
      expect(vectors).toEqual(before);
      expect(queries.length).toBe(dim);
    }
  });

  it("rejects a NaN or infinite query component with InvalidArgument from the worker", async () => {
    const vectors = new Float32Array(64 * 4);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const queries = new Float32Array([0, 0, 0, 0, 1, 2, bad, 3]);
      const error = await rejection(searchBruteForce(several, { metric: MetricType.IP, dim: 4, vectors, queries, topk: 3 }, { searchSplitRowsMin: 8 }));
      expect(error.code).toBe(ErrorCode.InvalidArgument);
      expect(error.message).toContain(`query vector 1 holds ${bad} at component 2`);
    }
  });

  it("rejects bad requests with InvalidArgument and a message naming the problem", async () => {
    const dim = 4;
    const vectors = new Float32Array(10 * dim);
    const queries = new Float32Array(2 * dim);
    const base: BruteForceRequest = { metric: MetricType.L2, dim, vectors, queries, topk: 3 };
    const cases: [Partial<BruteForceRequest>, RegExp][] = [
      [{ queries: new Float32Array(dim + 1) }, /query vectors hold 5 floats, not a multiple of the field's dim 4 \(dim mismatch\)/],
      [{ vectors: new Float32Array(41) }, /vectors hold 41 floats, not a multiple of dim 4/],
      [{ queries: new Float32Array(0) }, /nq must be in \[1, 16384\]/],
      [{ topk: 0 }, /topk must be an integer in \[1, 16384\] \(searchTopKMax\), got 0/],
      [{ topk: -2 }, /topk must be an integer in \[1, 16384\]/],
      [{ topk: 16_385 }, /topk must be an integer in \[1, 16384\] \(searchTopKMax\), got 16385/],
      [{ topk: 2.5 }, /topk must be an integer/],
      [{ metric: "HAMMING" as MetricType }, /unknown metric type "HAMMING"; expected one of L2, IP, COSINE/],
      [{ dim: 0 }, /dim must be an integer in \[2, 32768\]/],
      [{ allowed: new Uint8Array(9) }, /filter covers 9 rows but the segment has 10/],
      [{ allowed: new Bitset(11) }, /filter covers 11 rows but the segment has 10/],
      [{ metric: MetricType.COSINE, norms: new Float32Array(3) }, /3 norms given for 10 rows/],
      [{ vectors: [1, 2, 3, 4] as unknown as Float32Array }, /vectors must be a Float32Array/],
    ];
    for (const [change, message] of cases) {
      const request = { ...base, ...change };
      expect(() => bruteForceTopK(request), message.source).toThrow(message);
      const error = await rejection(searchBruteForce(single, request));
      expect(error.code, message.source).toBe(ErrorCode.InvalidArgument);
      expect(error.message).toMatch(message);
    }
    const tooMany = await rejection(searchBruteForce(single, base, { searchQueryCountMax: 1 }));
    expect(tooMany.message).toMatch(/nq must be in \[1, 1\] \(searchQueryCountMax\), got 2/);
    const tooLarge = await rejection(searchBruteForce(single, { ...base, topk: 4 }, { searchResultEntriesMax: 7 }));
    expect(tooLarge.message).toMatch(/nq × topk = 2 × 4 exceeds 7 result entries \(searchResultEntriesMax\)/);
  });

  it("rejects with Closed once the pool is closed", async () => {
    const pool = createComputePool({ workerCount: 1 });
    await pool.close();
    const error = await rejection(searchBruteForce(pool, { metric: MetricType.L2, dim: 2, vectors: new Float32Array(2), queries: new Float32Array(2), topk: 1 }));
    expect(error.code).toBe(ErrorCode.Closed);
  });
});
