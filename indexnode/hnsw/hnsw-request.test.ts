// Validation of HNSW build and search requests (on the calling thread, before any worker) and the
// exact-search fallback rule for selective filters.

import { describe, expect, it } from "vitest";
import { hnswDefaults, queryNodeDefaults } from "../../common/config.ts";
import type { QueryNodeLimits } from "../../common/config.ts";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { Bitset } from "../../querynode/compute/bitset.ts";
import type { MetricType } from "../../querynode/compute/metric.ts";
import { hnswDefaultRandomSeed, resolveHnswLimits, shouldUseExactSearch, validateBuildRequest, validateSearchRequest } from "./hnsw-request.ts";
import type { HnswBuildRequest, HnswSearchRequest } from "./hnsw-request.ts";

const limits = resolveHnswLimits();
const queryLimits = { ...queryNodeDefaults } as QueryNodeLimits;
const dim = 4;
const vectors = new Float32Array(10 * dim);

function expectInvalid(action: () => unknown, fragment: string): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught, fragment).toBeInstanceOf(VelaError);
  expect((caught as VelaError).code).toBe(ErrorCode.InvalidArgument);
  expect((caught as VelaError).message).toContain(fragment);
}

describe("HNSW build request", () => {
  const base: HnswBuildRequest = { vectors, dim, metric: "L2" };

  it("resolves the named defaults", () => {
    const task = validateBuildRequest(base, limits);
    expect(task).toMatchObject({ rows: 10, dim, metric: "L2", M: hnswDefaults.hnswMDefault, efConstruction: hnswDefaults.hnswEfConstructionDefault, randomSeed: hnswDefaultRandomSeed });
  });

  it("refuses out-of-range parameters with a message naming the bound", () => {
    expectInvalid(() => validateBuildRequest({ ...base, M: 1 }, limits), `M must be an integer in [${hnswDefaults.hnswMMin}, ${hnswDefaults.hnswMMax}] (hnswMMin, hnswMMax), got 1`);
    expectInvalid(() => validateBuildRequest({ ...base, M: hnswDefaults.hnswMMax + 1 }, limits), "hnswMMax");
    expectInvalid(() => validateBuildRequest({ ...base, M: 8.5 }, limits), "M must be an integer");
    expectInvalid(() => validateBuildRequest({ ...base, efConstruction: 0 }, limits), "efConstruction must be an integer in [1, 65535]");
    expectInvalid(() => validateBuildRequest({ ...base, efConstruction: hnswDefaults.hnswEfConstructionMax + 1 }, limits), "hnswEfConstructionMax");
    expectInvalid(() => validateBuildRequest({ ...base, dim: 1 }, limits), "dim must be an integer in [2, 32768]");
    expectInvalid(() => validateBuildRequest({ ...base, dim: 3 }, limits), "not a multiple of dim 3");
    expectInvalid(() => validateBuildRequest({ ...base, vectors: new Float32Array(0) }, limits), "between 1 and");
    expectInvalid(() => validateBuildRequest({ ...base, vectors: [1, 2, 3, 4] as unknown as Float32Array }, limits), "must be a Float32Array");
    expectInvalid(() => validateBuildRequest({ ...base, metric: "HAMMING" as MetricType }, limits), "unknown metric type");
    expectInvalid(() => validateBuildRequest(base, { ...limits, hnswBuildRowsMax: 5 }), "hnswBuildRowsMax");
  });
});

describe("HNSW search request", () => {
  const index = { dim, rows: 10 };
  const base: HnswSearchRequest = { queries: new Float32Array(3 * dim), topk: 5 };

  it("defaults ef to max(hnswEfSearchDefault, topk) and returns nq", () => {
    expect(validateSearchRequest(index, base, limits, queryLimits)).toEqual({ nq: 3, ef: hnswDefaults.hnswEfSearchDefault });
    expect(validateSearchRequest(index, { ...base, topk: 100 }, limits, queryLimits).ef).toBe(100);
    expect(validateSearchRequest(index, { ...base, ef: 5 }, limits, queryLimits).ef).toBe(5);
  });

  it("refuses bad ef, topk, nq, dims and filters with clear messages", () => {
    expectInvalid(() => validateSearchRequest(index, { ...base, ef: 4 }, limits, queryLimits), "ef (4) must be at least topk (5)");
    expectInvalid(() => validateSearchRequest(index, { ...base, ef: hnswDefaults.hnswEfSearchMax + 1 }, limits, queryLimits), "hnswEfSearchMax");
    expectInvalid(() => validateSearchRequest(index, { ...base, topk: 0 }, limits, queryLimits), "topk must be an integer in [1,");
    expectInvalid(() => validateSearchRequest(index, { ...base, queries: new Float32Array(7) }, limits, queryLimits), "(dim mismatch)");
    expectInvalid(() => validateSearchRequest(index, { ...base, queries: new Float32Array(0) }, limits, queryLimits), "nq must be an integer in [1,");
    expectInvalid(() => validateSearchRequest(index, { ...base, nq: 2 }, limits, queryLimits), "nq is 2 but the query vectors hold 3");
    expectInvalid(() => validateSearchRequest(index, { ...base, allowed: new Bitset(9) }, limits, queryLimits), "covers 9 rows but the index has 10");
    expectInvalid(() => validateSearchRequest(index, { ...base, allowed: new Uint8Array(11) }, limits, queryLimits), "covers 11 rows");
    expectInvalid(() => validateSearchRequest(index, base, limits, { ...queryLimits, searchResultEntriesMax: 14 }), "searchResultEntriesMax");
  });
});

describe("shouldUseExactSearch", () => {
  it("switches to exact search below hnswExactSearchAllowedFractionMin of the rows", () => {
    const rows = 100_000;
    const threshold = rows * hnswDefaults.hnswExactSearchAllowedFractionMin;
    expect(shouldUseExactSearch(0, rows)).toBe(true);
    expect(shouldUseExactSearch(Math.ceil(threshold) - 1, rows)).toBe(true);
    expect(shouldUseExactSearch(Math.ceil(threshold), rows)).toBe(false);
    expect(shouldUseExactSearch(rows, rows)).toBe(false);
    expect(shouldUseExactSearch(500, 1000, { hnswExactSearchAllowedFractionMin: 0.6 })).toBe(true);
  });

  it("refuses counts that cannot be", () => {
    expectInvalid(() => shouldUseExactSearch(11, 10), "allowedCount must be an integer in [0, 10]");
    expectInvalid(() => shouldUseExactSearch(-1, 10), "allowedCount");
    expectInvalid(() => shouldUseExactSearch(1, 2.5), "rows must be an integer");
  });
});
