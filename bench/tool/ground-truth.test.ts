// Ground truth from the worker pool matches a plain nested-loop scan worked out here, with and without a
// filter, and a second request is answered from the on-disk cache (same answer, no recomputation).

import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { testSeed } from "../../common/random.ts";
import { generateDataSet, tagFilterMask } from "./dataset.ts";
import { groundTruthFor } from "./ground-truth.ts";

const seed = testSeed();
console.log(`ground-truth.test seed ${seed} (VELA_SEED to replay)`);
const cacheDir = mkdtempSync(join(tmpdir(), "vela-bench-cache-"));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

/** The k nearest allowed rows by squared L2, ties by smaller row: the oracle. */
function nestedLoop(vectors: Float32Array, queries: Float32Array, dim: number, k: number, allowed?: Uint8Array): number[][] {
  const rows = vectors.length / dim;
  const answers: number[][] = [];
  for (let q = 0; q < queries.length / dim; q++) {
    const scored: Array<[number, number]> = [];
    for (let row = 0; row < rows; row++) {
      if (allowed !== undefined && allowed[row] === 0) continue;
      let sum = 0;
      for (let i = 0; i < dim; i++) sum += ((queries[q * dim + i] as number) - (vectors[row * dim + i] as number)) ** 2;
      scored.push([Math.fround(sum), row]);
    }
    scored.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    answers.push(scored.slice(0, k).map(([, row]) => row));
  }
  return answers;
}

describe("ground truth", () => {
  it("matches a nested-loop scan, then comes from the cache", async () => {
    const dataSet = generateDataSet({ rows: 700, dim: 12, clusters: 6, spread: 0.4, queries: 30, seed });
    const expected = nestedLoop(dataSet.vectors, dataSet.queries, 12, 5);
    const first = await groundTruthFor({ dataSet, metric: "L2", k: 5, cacheDir, workerCount: 2 });
    expect(first.cached).toBe(false);
    const rowsOf = (ids: Int32Array): number[][] => Array.from({ length: 30 }, (_, q) => Array.from(ids.subarray(q * 5, (q + 1) * 5)));
    expect(rowsOf(first.truth.ids)).toEqual(expected);

    const second = await groundTruthFor({ dataSet, metric: "L2", k: 5, cacheDir, workerCount: 2 });
    expect(second.cached).toBe(true);
    expect(second.path).toBe(first.path);
    expect(Array.from(second.truth.ids)).toEqual(Array.from(first.truth.ids));

    const { mask } = tagFilterMask(dataSet.rows, 10);
    const filtered = await groundTruthFor({ dataSet, metric: "L2", k: 5, cacheDir, workerCount: 2, filter: { name: "tag < 10", mask } });
    expect(filtered.cached).toBe(false);
    expect(rowsOf(filtered.truth.ids)).toEqual(nestedLoop(dataSet.vectors, dataSet.queries, 12, 5, mask));
    expect(readdirSync(cacheDir).filter((name) => name.endsWith(".ivecs"))).toHaveLength(2);
  });
});
