// Percentiles, recall@k and the error recorder against answers worked out by hand, and the generator's
// determinism per seed (the property that makes a cached ground truth and a recorded figure traceable).

import { describe, expect, it } from "vitest";
import { testSeed } from "../../common/random.ts";
import { dataSetFingerprint, generateDataSet } from "./dataset.ts";
import { ErrorRecorder, LatencyRecorder, percentileOfSorted, recallAtK, summarizeLatencies } from "./stats.ts";

const seed = testSeed();
console.log(`stats.test seed ${seed} (VELA_SEED to replay)`);

describe("percentiles", () => {
  it("takes the nearest rank: the smallest sample with at least p% at or below it", () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(percentileOfSorted(sorted, 50)).toBe(50);
    expect(percentileOfSorted(sorted, 95)).toBe(95);
    expect(percentileOfSorted(sorted, 99)).toBe(99);
    expect(percentileOfSorted(sorted, 100)).toBe(100);
    expect(percentileOfSorted(sorted, 0.1)).toBe(1);
    expect(percentileOfSorted([7, 9, 30], 50)).toBe(9);
    expect(percentileOfSorted([7, 9, 30], 99)).toBe(30);
    expect(percentileOfSorted([4], 99)).toBe(4);
    expect(percentileOfSorted([], 50)).toBeNaN();
    expect(() => percentileOfSorted([1], 0)).toThrow(RangeError);
  });

  it("summarizes unsorted samples recorded one by one", () => {
    const recorder = new LatencyRecorder();
    for (const ms of [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]) recorder.record(ms);
    for (let i = 0; i < 3000; i++) recorder.record(1); // grows past its first buffer
    const summary = recorder.summary();
    expect(summary.count).toBe(3010);
    expect(summary.maxMs).toBe(10);
    expect(summary.p50Ms).toBe(1);
    expect(summarizeLatencies(Float64Array.of(5, 1, 4, 2, 3))).toEqual({ count: 5, meanMs: 3, p50Ms: 3, p95Ms: 5, p99Ms: 5, maxMs: 5 });
  });
});

describe("recall@k", () => {
  // Two queries, ground truth 4 wide; k = 3 uses the first 3 of each row.
  const truth = Int32Array.of(
    10, 11, 12, 13,
    20, 21, 22, 23,
  );

  it("counts the true neighbours among the first k ids returned, order aside", () => {
    expect(recallAtK([[12, 10, 11], [22, 21, 20]], truth, 4, 3)).toBe(1);
    // Query 0 finds 2 of 3 (13 is the 4th neighbour, outside k = 3); query 1 finds 1 of 3: mean (2/3 + 1/3) / 2.
    expect(recallAtK([[10, 13, 11], [99, 20, 98]], truth, 4, 3)).toBeCloseTo(0.5, 12);
    // Ids past k are ignored, and an id returned twice counts once.
    expect(recallAtK([[10, 10, 99, 11, 12], [20, 21, 22]], truth, 4, 3)).toBeCloseTo((1 / 3 + 1) / 2, 12);
  });

  it("skips unanswered queries and handles rows with fewer true neighbours than k", () => {
    expect(recallAtK([undefined, [20, 21, 22]], truth, 4, 3)).toBe(1);
    expect(recallAtK([undefined, undefined], truth, 4, 3)).toBeNaN();
    // A filter left only two qualifying rows for this query: -1 pads the ground truth.
    expect(recallAtK([[5, 6, 7]], Int32Array.of(5, 6, -1), 3, 3)).toBe(1);
    expect(() => recallAtK([[1]], truth, 4, 5)).toThrow(RangeError);
  });
});

describe("errors", () => {
  it("counts every error and keeps the first few distinct messages", () => {
    const errors = new ErrorRecorder(2);
    errors.record(new Error("a"));
    errors.record(new Error("a"));
    errors.record(new Error("b"));
    errors.record(new Error("c"));
    expect(errors.summary()).toEqual({ count: 4, first: ["a", "b"] });
  });
});

describe("the clustered generator", () => {
  const shape = { rows: 300, dim: 8, clusters: 5, spread: 0.3, queries: 20 };

  it("gives the same vectors and queries for the same seed, bit for bit", () => {
    const first = generateDataSet({ ...shape, seed });
    const second = generateDataSet({ ...shape, seed });
    expect(Buffer.from(new Uint8Array(first.vectors.buffer)).equals(Buffer.from(new Uint8Array(second.vectors.buffer)))).toBe(true);
    expect(Array.from(first.queries)).toEqual(Array.from(second.queries));
    expect(dataSetFingerprint(first)).toBe(dataSetFingerprint(second));
    expect(first.vectors.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it("gives different vectors for different seeds", () => {
    const first = generateDataSet({ ...shape, seed });
    const other = generateDataSet({ ...shape, seed: (seed + 1) >>> 0 });
    expect(Array.from(other.vectors)).not.toEqual(Array.from(first.vectors));
    expect(dataSetFingerprint(other)).not.toBe(dataSetFingerprint(first));
  });

  it("draws rows around a few centres: rows are closer to their nearest row than to a random one", () => {
    const { vectors, dim, rows } = generateDataSet({ ...shape, seed });
    const distance = (a: number, b: number): number => {
      let sum = 0;
      for (let i = 0; i < dim; i++) sum += ((vectors[a * dim + i] as number) - (vectors[b * dim + i] as number)) ** 2;
      return sum;
    };
    let nearestSum = 0;
    let othersSum = 0;
    for (let row = 0; row < 20; row++) {
      let nearest = Number.POSITIVE_INFINITY;
      let total = 0;
      for (let other = 0; other < rows; other++) {
        if (other === row) continue;
        const d = distance(row, other);
        nearest = Math.min(nearest, d);
        total += d;
      }
      nearestSum += nearest;
      othersSum += total / (rows - 1);
    }
    // Spread 0.3 around centres of standard deviation 1: a cluster-mate is far closer than the average row.
    expect(nearestSum).toBeLessThan(othersSum / 4);
  });
});
