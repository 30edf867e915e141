// The HNSW library end to end, against exact brute force as the oracle: recall@10 at the default ef
// for every metric on a seeded clustered data set, hit distances equal to the exact ones in Milvus's
// conventions, stored → loaded indexes answering exactly as the built graph, filtered search, damaged
// bytes, bad parameters, and the resident-memory accounting of loaded handles.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hnswDefaults } from "../../common/config.ts";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { Bitset } from "../../querynode/compute/bitset.ts";
import { bruteForceTopK } from "../../querynode/compute/brute-force.ts";
import { naiveDistance } from "../../querynode/compute/distance.ts";
import type { MetricType } from "../../querynode/compute/metric.ts";
import type { TopKResult } from "../../querynode/compute/topk.ts";
import { clusteredDataSet } from "./clustered-vectors.ts";
import { buildHnswGraph, buildHnswIndexBytes, loadHnswIndexBytes, searchLoadedHnsw } from "./hnsw-engine.ts";
import { hnswHeaderBytes } from "./hnsw-format.ts";
import { buildHnsw, createHnswPool, loadHnsw, releaseHnsw, searchHnsw } from "./hnsw-pool.ts";
import type { HnswHandle, HnswPool } from "./hnsw-pool.ts";
import { validateBuildRequest } from "./hnsw-request.ts";

const seed = testSeed();
console.log(`hnsw tests seed ${seed} (replay with VELA_SEED=${seed})`);

const rows = 5_000;
const dim = 32;
const nq = 100;
const topk = 10;
const metrics: readonly MetricType[] = ["L2", "IP", "COSINE"];
const { vectors, queries } = clusteredDataSet(seed, { rows, dim, clusters: 40, spread: 0.5, queries: nq, shared: true });

async function rejection(promise: Promise<unknown>): Promise<VelaError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(VelaError);
    return error as VelaError;
  }
  throw new Error("expected a rejection");
}

async function expectRejected(promise: Promise<unknown>, code: ErrorCode, fragment: string): Promise<void> {
  const error = await rejection(promise);
  expect(error.code, error.message).toBe(code);
  expect(error.message).toContain(fragment);
}

function recallAt(result: TopKResult, exact: TopKResult): number {
  let found = 0;
  let wanted = 0;
  for (let q = 0; q < result.nq; q++) {
    const truth = new Set(exact.rows.subarray(q * exact.topk, q * exact.topk + (exact.counts[q] as number)));
    wanted += truth.size;
    for (let i = 0; i < (result.counts[q] as number); i++) if (truth.has(result.rows[q * result.topk + i] as number)) found += 1;
  }
  return found / wanted;
}

function hitsOf(result: TopKResult): { rows: number[][]; distances: number[][] } {
  const out = { rows: [] as number[][], distances: [] as number[][] };
  for (let q = 0; q < result.nq; q++) {
    const from = q * result.topk;
    const to = from + (result.counts[q] as number);
    out.rows.push(Array.from(result.rows.subarray(from, to)));
    out.distances.push(Array.from(result.distances.subarray(from, to)));
  }
  return out;
}

let pool: HnswPool;
const stored = new Map<MetricType, Uint8Array>();
const handles = new Map<MetricType, HnswHandle>();

beforeAll(async () => {
  pool = createHnswPool({ workerCount: 2, name: "test HNSW pool" });
  const built = await Promise.all(metrics.map((metric) => buildHnsw(pool, { vectors, dim, metric, M: 16, efConstruction: 200 })));
  for (const [index, metric] of metrics.entries()) {
    const bytes = built[index] as Uint8Array;
    stored.set(metric, bytes);
    handles.set(metric, await loadHnsw(pool, bytes));
  }
});

afterAll(async () => {
  await pool.close();
});

describe.each(metrics)("HNSW %s", (metric) => {
  it("recall@10 at the default ef is at least 0.95 against brute force", async () => {
    const handle = handles.get(metric) as HnswHandle;
    const result = await searchHnsw(pool, handle, { queries, nq, topk });
    const exact = bruteForceTopK({ metric, dim, vectors, queries, topk });
    const recall = recallAt(result, exact);
    console.log(`HNSW ${metric}: recall@${topk} ${recall.toFixed(4)} at ef ${hnswDefaults.hnswEfSearchDefault} (seed ${seed})`);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    expect(Array.from(result.counts)).toEqual(new Array(nq).fill(topk));
  });

  it("reports each hit's exact distance in Milvus's convention, best first", async () => {
    const handle = handles.get(metric) as HnswHandle;
    const result = await searchHnsw(pool, handle, { queries, topk, ef: 32 });
    for (let q = 0; q < nq; q++) {
      for (let i = 0; i < topk; i++) {
        const row = result.rows[q * topk + i] as number;
        const distance = result.distances[q * topk + i] as number;
        const exact = Math.fround(naiveDistance(metric, queries, q * dim, vectors, row * dim, dim));
        expect(Math.abs(distance - exact), `query ${q} hit ${i} row ${row}: ${distance} vs exact ${exact}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(exact)));
        if (i > 0) {
          const previous = result.distances[q * topk + i - 1] as number;
          if (metric === "L2") expect(distance).toBeGreaterThanOrEqual(previous);
          else expect(distance).toBeLessThanOrEqual(previous);
        }
      }
    }
    if (metric === "COSINE") for (const value of result.distances) expect(Math.abs(value)).toBeLessThanOrEqual(1 + 1e-6);
  });

  it("answers from stored bytes exactly as the graph it was built as", async () => {
    const handle = handles.get(metric) as HnswHandle;
    const ef = 48;
    // The same build task in this thread: same seed and insertion order give the same graph.
    const task = validateBuildRequest({ vectors, dim, metric, M: 16, efConstruction: 200 }, pool.limits);
    const graph = buildHnswGraph(task);
    const header = { formatVersion: 1, metric, dim, M: 16, efConstruction: 200, rows, payloadBytes: 0, payloadCrc32: 0 };
    const fromGraph = searchLoadedHnsw({ index: graph, header }, { handleId: 0, queries, dim, topk, ef });
    const fromPool = await searchHnsw(pool, handle, { queries, topk, ef });
    expect(hitsOf(fromPool)).toEqual(hitsOf(fromGraph));
    // And the bytes of a build in this thread load to the same answers too.
    const reloaded = loadHnswIndexBytes(buildHnswIndexBytes(task));
    expect(hitsOf(searchLoadedHnsw(reloaded, { handleId: 0, queries, dim, topk, ef }))).toEqual(hitsOf(fromGraph));
    expect(handle).toMatchObject({ metric, dim, rows, M: 16, efConstruction: 200 });
  });

  it("returns only allowed rows under a filter, with near-exact recall", async () => {
    const handle = handles.get(metric) as HnswHandle;
    const random = new SeededRandom(seed ^ 0x5eed);
    const allowed = new Bitset(rows, { shared: true });
    for (let row = 0; row < rows; row++) if (random.bool(0.3)) allowed.add(row);
    const result = await searchHnsw(pool, handle, { queries, topk, allowed });
    for (let q = 0; q < nq; q++) {
      expect(result.counts[q]).toBe(topk);
      for (let i = 0; i < topk; i++) expect(allowed.has(result.rows[q * topk + i] as number)).toBe(true);
    }
    const exact = bruteForceTopK({ metric, dim, vectors, queries, topk, allowed });
    expect(recallAt(result, exact)).toBeGreaterThanOrEqual(0.95);
    // A byte mask keeping only three rows: exactly those come back, and no more than exist.
    const mask = new Uint8Array(rows);
    for (const row of [7, 1234, 4999]) mask[row] = 1;
    const few = await searchHnsw(pool, handle, { queries: queries.subarray(0, 5 * dim), topk, allowed: mask });
    for (let q = 0; q < 5; q++) {
      expect(few.counts[q]).toBe(3);
      expect(Array.from(few.rows.subarray(q * topk, q * topk + 3)).sort((a, b) => a - b)).toEqual([7, 1234, 4999]);
      expect(few.rows[q * topk + 3]).toBe(-1);
      expect(Number.isNaN(few.distances[q * topk + 3])).toBe(true);
    }
  });

  it("answers a filter that allows every row exactly as no filter, and one cleared row is never returned", async () => {
    const handle = handles.get(metric) as HnswHandle;
    const everyRow = new Bitset(rows, { shared: true });
    everyRow.fill();
    const unfiltered = await searchHnsw(pool, handle, { queries, topk, ef: 40 });
    expect(hitsOf(await searchHnsw(pool, handle, { queries, topk, ef: 40, allowed: everyRow }))).toEqual(hitsOf(unfiltered));
    expect(hitsOf(await searchHnsw(pool, handle, { queries, topk, ef: 40, allowed: everyRow.freeze() }))).toEqual(hitsOf(unfiltered));
    const best = unfiltered.rows[0] as number;
    const allButBest = new Bitset(rows, { shared: true });
    allButBest.fill();
    allButBest.delete(best);
    const filtered = await searchHnsw(pool, handle, { queries: queries.subarray(0, dim), topk, ef: 40, allowed: allButBest });
    expect(Array.from(filtered.rows)).not.toContain(best);
  });
});

describe("HNSW stored bytes", () => {
  it("refuses damaged bytes with Corrupted, in the header or deep in the payload", async () => {
    const bytes = stored.get("L2") as Uint8Array;
    const random = new SeededRandom(seed ^ 0xbad);
    const payloadFlip = bytes.slice();
    const position = random.int(hnswHeaderBytes, bytes.length - 1);
    payloadFlip[position] = (payloadFlip[position] as number) ^ 0x01;
    await expectRejected(loadHnsw(pool, payloadFlip), ErrorCode.Corrupted, "payload CRC-32 mismatch");
    const headerFlip = bytes.slice();
    headerFlip[8] = (headerFlip[8] as number) ^ 0x01;
    await expectRejected(loadHnsw(pool, headerFlip), ErrorCode.Corrupted, "header CRC-32 mismatch");
    await expectRejected(loadHnsw(pool, bytes.subarray(0, bytes.length - 100)), ErrorCode.Corrupted, "truncated");
    expect(pool.stats().handles).toBe(metrics.length);
  });
});

describe("HNSW bad requests", () => {
  it("refuses bad build parameters and non-finite vectors with InvalidArgument", async () => {
    await expectRejected(buildHnsw(pool, { vectors, dim, metric: "L2", M: 1 }), ErrorCode.InvalidArgument, "M must be an integer in [2, 2048]");
    await expectRejected(buildHnsw(pool, { vectors, dim, metric: "L2", efConstruction: 0 }), ErrorCode.InvalidArgument, "efConstruction must be an integer");
    await expectRejected(buildHnsw(pool, { vectors, dim: 33, metric: "L2" }), ErrorCode.InvalidArgument, "not a multiple of dim 33");
    const withNaN = new Float32Array(20 * 4);
    withNaN[4 * 6 + 2] = Number.NaN;
    await expectRejected(buildHnsw(pool, { vectors: withNaN, dim: 4, metric: "IP" }), ErrorCode.InvalidArgument, "row 6 component 2 is NaN");
  });

  it("refuses bad search parameters and non-finite queries with InvalidArgument", async () => {
    const handle = handles.get("IP") as HnswHandle;
    await expectRejected(searchHnsw(pool, handle, { queries, topk, ef: 5 }), ErrorCode.InvalidArgument, "ef (5) must be at least topk (10)");
    await expectRejected(searchHnsw(pool, handle, { queries, topk, ef: 40_000 }), ErrorCode.InvalidArgument, "hnswEfSearchMax");
    await expectRejected(searchHnsw(pool, handle, { queries: new Float32Array(dim + 1), topk }), ErrorCode.InvalidArgument, "dim mismatch");
    await expectRejected(searchHnsw(pool, handle, { queries, topk, allowed: new Bitset(rows - 1) }), ErrorCode.InvalidArgument, "covers 4999 rows");
    const bad = queries.slice(0, 3 * dim);
    bad[2 * dim + 5] = Number.POSITIVE_INFINITY;
    await expectRejected(searchHnsw(pool, handle, { queries: bad, topk }), ErrorCode.InvalidArgument, "query 2 component 5 is Infinity");
    await expectRejected(loadHnsw(pool, stored.get("IP") as Uint8Array, { replicas: 3 }), ErrorCode.InvalidArgument, "replicas must be an integer in [1, 2]");
  });
});

describe("HNSW resident indexes", () => {
  it("accounts each copy, spreads replicas over workers, and refuses a released handle", async () => {
    const before = pool.residentBytes();
    const bytes = stored.get("COSINE") as Uint8Array;
    const handle = await loadHnsw(pool, bytes, { replicas: 2 });
    expect(handle.lanes).toEqual([0, 1]);
    const perCopy = bytes.length - hnswHeaderBytes + rows * hnswDefaults.hnswResidentOverheadBytesPerRow;
    expect(handle.residentBytesPerCopy).toBe(perCopy);
    expect(pool.residentBytes()).toBe(before + 2 * perCopy);
    // Concurrent searches land on both copies and agree with the single copy.
    const single = hitsOf(await searchHnsw(pool, handles.get("COSINE") as HnswHandle, { queries, topk }));
    const answers = await Promise.all([0, 1, 2, 3].map(() => searchHnsw(pool, handle, { queries, topk })));
    for (const answer of answers) expect(hitsOf(answer)).toEqual(single);
    await releaseHnsw(pool, handle);
    await releaseHnsw(pool, handle);
    expect(pool.residentBytes()).toBe(before);
    await expectRejected(searchHnsw(pool, handle, { queries, topk }), ErrorCode.NotFound, "not loaded in this pool");
  });

  it("sends searches that wait for a busy worker together, each with its own parameters, answer and error", async () => {
    const handle = handles.get("L2") as HnswHandle;
    const count = 3 * hnswDefaults.hnswSearchBatchMax;
    const single = (q: number): Float32Array => queries.slice((q % nq) * dim, (q % nq + 1) * dim);
    const params = (q: number): { topk: number; ef: number } => ({ topk: 1 + (q % 10), ef: 16 + (q % 7) * 16 });
    // The oracle: the same searches one at a time (each alone in its message).
    const expected = [];
    for (let q = 0; q < count; q++) expected.push(hitsOf(await searchHnsw(pool, handle, { queries: single(q), ...params(q) })));
    const before = pool.stats();
    const poisoned = new Set([5, 77, count - 1]);
    const outcomes = await Promise.allSettled(Array.from({ length: count }, (_, q) => {
      const query = single(q);
      if (poisoned.has(q)) query[3] = Number.NaN;
      return searchHnsw(pool, handle, { queries: query, ...params(q) });
    }));
    const after = pool.stats();
    expect(after.searches - before.searches).toBe(count);
    // Batched: fewer messages than searches, none larger than hnswSearchBatchMax.
    expect(after.searchMessages - before.searchMessages).toBeLessThan(count / 2);
    expect(after.searchMessages - before.searchMessages).toBeGreaterThanOrEqual(count / hnswDefaults.hnswSearchBatchMax);
    for (const [q, outcome] of outcomes.entries()) {
      if (poisoned.has(q)) {
        expect(outcome.status).toBe("rejected");
        const error = (outcome as PromiseRejectedResult).reason as VelaError;
        expect(error.code).toBe(ErrorCode.InvalidArgument);
        expect(error.message).toContain("component 3 is NaN");
      } else {
        expect(outcome.status, `search ${q}`).toBe("fulfilled");
        expect(hitsOf((outcome as PromiseFulfilledResult<TopKResult>).value), `search ${q}`).toEqual(expected[q]);
      }
    }
  });

  it("lets the searches accepted before a release finish on the index, and refuses later ones", async () => {
    const handle = await loadHnsw(pool, stored.get("IP") as Uint8Array, { replicas: 2 });
    const expected = hitsOf(await searchHnsw(pool, handles.get("IP") as HnswHandle, { queries, topk }));
    const searches = Array.from({ length: 40 }, () => searchHnsw(pool, handle, { queries, topk }));
    const released = releaseHnsw(pool, handle);
    await expectRejected(searchHnsw(pool, handle, { queries, topk }), ErrorCode.NotFound, "not loaded in this pool");
    for (const answer of await Promise.all(searches)) expect(hitsOf(answer)).toEqual(expected);
    await released;
    expect(pool.stats().lanes.every((lane) => lane.queued === 0)).toBe(true);
  });

  it("refuses a load past hnswResidentBytesMax with LimitExceeded", async () => {
    const small = createHnswPool({ workerCount: 1, name: "small HNSW pool", limits: { hnswResidentBytesMax: 1024 } });
    try {
      await expectRejected(loadHnsw(small, stored.get("L2") as Uint8Array), ErrorCode.LimitExceeded, "hnswResidentBytesMax");
      expect(small.residentBytes()).toBe(0);
    } finally {
      await small.close();
    }
    await expectRejected(searchHnsw(small, handles.get("L2") as HnswHandle, { queries, topk }), ErrorCode.Closed, "small HNSW pool is closed");
  });
});
