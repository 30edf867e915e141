import { describe, expect, it } from "vitest";
import { SeededRandom, testSeed } from "../../common/random.ts";
import {
  computeDistances,
  cosineFromDot,
  innerProduct,
  innerProductBlock,
  naiveDistance,
  naiveDistances,
  rowsPerCacheBlock,
  squaredL2,
  squaredL2Block,
  vectorNorms,
  widenQueries,
} from "./distance.ts";
import { MetricType } from "./metric.ts";

const seed = testSeed();
console.log(`distance kernel tests seed ${seed} (replay with VELA_SEED=${seed})`);

function gaussian(random: SeededRandom, count: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = random.gaussian();
  return values;
}

/** Float32 output and a different summation order: equal within a few float32 ulps of the magnitude. */
function expectClose(actual: number, expected: number, context: string): void {
  const tolerance = 2e-6 * Math.max(1, Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`${context}: got ${actual}, reference ${expected} (tolerance ${tolerance})`);
  }
}

const metrics = [MetricType.L2, MetricType.IP, MetricType.COSINE];

describe("distance kernels", () => {
  it("compute the textbook values", () => {
    const query = widenQueries(new Float32Array([1, 2, 3]));
    const vector = new Float32Array([4, 6, 8]);
    expect(squaredL2(query, 0, vector, 0, 3)).toBe(50);
    expect(innerProduct(query, 0, vector, 0, 3)).toBe(40);
    const cosine = computeDistances(MetricType.COSINE, new Float32Array([1, 0, 0, 1]), new Float32Array([2, 0, 0, 5, 0, 0, 1, 1]), 2);
    expect(Array.from(cosine)).toEqual([1, 0, 0, Math.fround(Math.SQRT1_2), 0, 1, 0, Math.fround(Math.SQRT1_2)]);
  });

  it("match the reference for every metric and dims with and without a 4-wide tail", () => {
    const random = new SeededRandom(seed);
    for (const dim of [1, 2, 3, 4, 5, 7, 8, 16, 127, 128, 129, 257]) {
      const rows = random.int(1, 40);
      const nq = random.int(1, 4);
      const vectors = gaussian(random, rows * dim);
      const queries = gaussian(random, nq * dim);
      for (const metric of metrics) {
        const fast = computeDistances(metric, queries, vectors, dim);
        const reference = naiveDistances(metric, queries, vectors, dim);
        expect(fast.length).toBe(nq * rows);
        for (let i = 0; i < fast.length; i++) {
          // L2 and IP sum in the reference's order: equal bit for bit once rounded to float32.
          if (metric === MetricType.COSINE) expectClose(fast[i] as number, reference[i] as number, `${metric} dim ${dim} entry ${i}`);
          else expect(fast[i], `${metric} dim ${dim} entry ${i}`).toBe(Math.fround(reference[i] as number));
        }
      }
    }
  });

  it("compute block tiles over gathered rows, partial vectors and odd query ranges exactly", () => {
    const random = new SeededRandom(seed ^ 0x711e);
    for (let round = 0; round < 40; round++) {
      const dim = random.pick([2, 3, 5, 16, 33]);
      const rows = random.int(1, 60);
      const firstRow = random.int(0, rows - 1); // `vectors` holds rows [firstRow, rows) only
      const all = gaussian(random, rows * dim);
      const vectors = all.slice(firstRow * dim);
      const nq = random.int(1, 7);
      const queries = widenQueries(gaussian(random, nq * dim));
      const qFirst = random.int(0, nq - 1);
      const qEnd = random.int(qFirst + 1, nq);
      const count = random.int(0, 11);
      const list = Int32Array.from({ length: count }, () => random.int(firstRow, rows - 1));
      for (const metric of [MetricType.L2, MetricType.IP]) {
        const out = new Float64Array((qEnd - qFirst) * count);
        const block = metric === MetricType.L2 ? squaredL2Block : innerProductBlock;
        block(queries, qFirst, qEnd, dim, vectors, firstRow * dim, list, count, out);
        for (let q = qFirst; q < qEnd; q++) {
          for (let j = 0; j < count; j++) {
            const expected = naiveDistance(metric, queries, q * dim, all, (list[j] as number) * dim, dim);
            expect(out[(q - qFirst) * count + j], `round ${round} ${metric} query ${q} row ${list[j]}`).toBe(expected);
          }
        }
      }
    }
  });

  it("use the offsets they are given", () => {
    const random = new SeededRandom(seed ^ 0x5eed);
    for (const dim of [3, 6, 9, 13]) {
      const a = gaussian(random, dim * 5);
      const b = gaussian(random, dim * 7);
      const wide = widenQueries(a);
      for (let i = 0; i < 5; i++) {
        for (let j = 0; j < 7; j++) {
          expectClose(squaredL2(wide, i * dim, b, j * dim, dim), naiveDistance(MetricType.L2, a, i * dim, b, j * dim, dim), `L2 ${i},${j}`);
          expectClose(innerProduct(wide, i * dim, b, j * dim, dim), naiveDistance(MetricType.IP, a, i * dim, b, j * dim, dim), `IP ${i},${j}`);
        }
      }
    }
  });

  it("span several cache blocks without losing rows", () => {
    const random = new SeededRandom(seed ^ 0xb10c);
    const dim = 129;
    const rows = rowsPerCacheBlock(dim) * 2 + 3;
    const vectors = gaussian(random, rows * dim);
    const queries = gaussian(random, 2 * dim);
    const fast = computeDistances(MetricType.L2, queries, vectors, dim);
    const reference = naiveDistances(MetricType.L2, queries, vectors, dim);
    for (let i = 0; i < fast.length; i++) expectClose(fast[i] as number, reference[i] as number, `entry ${i}`);
  });

  it("give precomputed and computed norms bit-identical cosines", () => {
    const random = new SeededRandom(seed ^ 0xc05);
    const dim = 31;
    const vectors = gaussian(random, 50 * dim);
    const queries = gaussian(random, 3 * dim);
    const norms = vectorNorms(vectors, dim);
    for (let row = 0; row < 50; row++) expectClose(norms[row] as number, Math.sqrt(naiveDistance(MetricType.IP, vectors, row * dim, vectors, row * dim, dim)), `norm ${row}`);
    expect(computeDistances(MetricType.COSINE, queries, vectors, dim, norms)).toEqual(computeDistances(MetricType.COSINE, queries, vectors, dim));
  });

  it("define the cosine of a zero vector as 0", () => {
    expect(cosineFromDot(0, 0, 3)).toBe(0);
    expect(cosineFromDot(0, 2, 0)).toBe(0);
    expect(naiveDistance(MetricType.COSINE, [0, 0], 0, [1, 1], 0, 2)).toBe(0);
    expect(Array.from(computeDistances(MetricType.COSINE, new Float32Array([0, 0]), new Float32Array([1, 1]), 2))).toEqual([0]);
  });

  it("reject shapes that do not fit the dim and unknown metrics", () => {
    expect(() => computeDistances(MetricType.L2, new Float32Array(5), new Float32Array(8), 4)).toThrow(/not a multiple of dim 4/);
    expect(() => computeDistances(MetricType.L2, new Float32Array(4), new Float32Array(9), 4)).toThrow(/not a multiple of dim 4/);
    expect(() => computeDistances("HAMMING" as MetricType, new Float32Array(4), new Float32Array(8), 4)).toThrow(/unknown metric type "HAMMING"/);
    expect(() => vectorNorms(new Float32Array(8), 0)).toThrow(/dim must be a positive integer/);
  });
});
