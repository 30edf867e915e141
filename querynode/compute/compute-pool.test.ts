import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import type { WorkerPool } from "../../common/worker-pool.ts";
import { createComputePool, reduceInPool } from "./compute-pool.ts";
import { MetricType } from "./metric.ts";
import { reduceSearchHits } from "./reduce.ts";
import type { PrimaryKey, SearchHits } from "./reduce.ts";

const seed = testSeed();
console.log(`compute pool tests seed ${seed} (replay with VELA_SEED=${seed})`);

function randomSegmentHits(random: SeededRandom, nq: number): SearchHits {
  const topks: number[] = [];
  const keys: PrimaryKey[] = [];
  const distances: number[] = [];
  for (let q = 0; q < nq; q++) {
    const count = random.int(0, 20);
    const hits = Array.from({ length: count }, () => random.int(0, 50));
    const unique = [...new Set(hits)];
    const values = unique.map(() => random.int(0, 30) / 8).sort((a, b) => a - b);
    topks.push(unique.length);
    unique.forEach((key, i) => {
      keys.push(BigInt(key));
      distances.push(values[i] as number);
    });
  }
  return { nq, topks, primaryKeys: keys, distances: Float32Array.from(distances) };
}

describe("reduceInPool", () => {
  let pool: WorkerPool;

  beforeAll(() => {
    pool = createComputePool({ workerCount: 1 });
  });

  afterAll(async () => {
    await pool.close();
  });

  it("returns what reduceSearchHits returns, whether reduced inline or in a worker", async () => {
    const random = new SeededRandom(seed);
    for (let round = 0; round < 10; round++) {
      const nq = random.int(1, 4);
      const results = Array.from({ length: random.int(1, 6) }, () => randomSegmentHits(random, nq));
      const options = { metric: MetricType.L2, nq, topk: random.int(1, 15), offset: random.int(0, 4) };
      const expected = reduceSearchHits(results, options);
      expect(await reduceInPool(pool, results, options)).toEqual(expected);
      expect(await reduceInPool(pool, results, options, { searchInlineMergeEntriesMax: 0 })).toEqual(expected);
    }
  });

  it("rejects bad options with InvalidArgument from the worker too", async () => {
    const results = [randomSegmentHits(new SeededRandom(seed ^ 1), 2)];
    let caught: unknown;
    try {
      await reduceInPool(pool, results, { metric: MetricType.IP, nq: 3, topk: 5 }, { searchInlineMergeEntriesMax: 0 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(VelaError);
    expect((caught as VelaError).code).toBe(ErrorCode.InvalidArgument);
    expect((caught as VelaError).message).toContain("answers 2 queries");
  });
});
