import { describe, expect, it } from "vitest";
import { ErrorCode, isVelaError } from "../../common/errors.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { MetricType, isBetterHit } from "./metric.ts";
import { emptyHits, hitsFromTopK, reduceSearchHits } from "./reduce.ts";
import type { PrimaryKey, ReduceOptions, SearchHits } from "./reduce.ts";
import { emptyTopKResult } from "./topk.ts";

const seed = testSeed();
console.log(`reduce tests seed ${seed} (replay with VELA_SEED=${seed})`);

const metrics = [MetricType.L2, MetricType.IP, MetricType.COSINE];

/** Random per-input answers with repeated keys across inputs and many equal distances. */
function randomHits(random: SeededRandom, metric: MetricType, nq: number, keyKind: "int" | "string"): SearchHits {
  const topks: number[] = [];
  const keys: PrimaryKey[] = [];
  const distances: number[] = [];
  for (let q = 0; q < nq; q++) {
    const count = random.int(0, 12);
    const used = new Set<number>();
    const hits: { key: number; distance: number }[] = [];
    while (hits.length < count) {
      const key = random.int(0, 30);
      if (used.has(key)) continue; // one input (a segment) never returns a key twice
      used.add(key);
      hits.push({ key, distance: random.int(0, 12) / 4 });
    }
    hits.sort((a, b) => (metric === MetricType.L2 ? a.distance - b.distance : b.distance - a.distance));
    topks.push(count);
    for (const hit of hits) {
      keys.push(keyKind === "int" ? BigInt(hit.key) : `pk-${hit.key}`);
      distances.push(hit.distance);
    }
  }
  return { nq, topks, primaryKeys: keys, distances: Float32Array.from(distances) };
}

/** Concatenate everything, sort (better distance, input, position), keep each key's first, slice. */
function concatenateSortDedupe(results: SearchHits[], options: ReduceOptions): { keys: PrimaryKey[]; distances: number[]; sources: [number, number][] }[] {
  const answers = [];
  const offset = options.offset ?? 0;
  for (let q = 0; q < options.nq; q++) {
    const all: { key: PrimaryKey; distance: number; input: number; position: number }[] = [];
    results.forEach((hits, input) => {
      let start = 0;
      for (let before = 0; before < q; before++) start += hits.topks[before] as number;
      for (let position = start; position < start + (hits.topks[q] as number); position++) {
        all.push({ key: hits.primaryKeys[position] as PrimaryKey, distance: hits.distances[position] as number, input, position });
      }
    });
    all.sort((a, b) => {
      if (a.distance !== b.distance) return isBetterHit(options.metric, a.distance, 0, b.distance, 1) ? -1 : 1;
      return a.input - b.input || a.position - b.position;
    });
    const seen = new Set<PrimaryKey>();
    const unique = all.filter((hit) => (seen.has(hit.key) ? false : (seen.add(hit.key), true)));
    const kept = unique.slice(offset, offset + options.topk);
    answers.push({ keys: kept.map((hit) => hit.key), distances: kept.map((hit) => hit.distance), sources: kept.map((hit): [number, number] => [hit.input, hit.position]) });
  }
  return answers;
}

function perQuery(reduced: ReturnType<typeof reduceSearchHits>): { keys: PrimaryKey[]; distances: number[]; sources: [number, number][] }[] {
  const answers = [];
  let start = 0;
  for (let q = 0; q < reduced.nq; q++) {
    const end = start + (reduced.topks[q] as number);
    const sources: [number, number][] = [];
    for (let i = start; i < end; i++) sources.push([reduced.resultIndexes[i] as number, reduced.hitIndexes[i] as number]);
    answers.push({ keys: reduced.primaryKeys.slice(start, end), distances: Array.from(reduced.distances.subarray(start, end)), sources });
    start = end;
  }
  return answers;
}

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("reduceSearchHits", () => {
  it("equals concatenate, sort, dedupe by key and slice for random inputs, offsets and metrics", () => {
    const random = new SeededRandom(seed);
    for (let round = 0; round < 300; round++) {
      const metric = metrics[round % 3] as MetricType;
      const nq = random.int(1, 4);
      const keyKind = random.bool() ? "int" : "string";
      const results = Array.from({ length: random.int(0, 7) }, () => randomHits(random, metric, nq, keyKind));
      const options: ReduceOptions = { metric, nq, topk: random.int(1, 20), offset: random.pick([0, 0, 1, 3, 10]) };
      const reduced = reduceSearchHits(results, options);
      expect(perQuery(reduced), `round ${round}: ${JSON.stringify(options)}`).toEqual(concatenateSortDedupe(results, options));
    }
  });

  it("gives the same answer reduced per shard and then across shards as in one step", () => {
    const random = new SeededRandom(seed ^ 0x5a4d);
    for (let round = 0; round < 100; round++) {
      const metric = metrics[round % 3] as MetricType;
      const nq = random.int(1, 3);
      const segments = Array.from({ length: random.int(1, 8) }, () => randomHits(random, metric, nq, "int"));
      const topk = random.int(1, 10);
      const offset = random.int(0, 5);
      // Query nodes reduce their segments with offset 0 and topk + offset; the proxy applies the offset.
      const shards: SearchHits[] = [];
      for (let start = 0; start < segments.length; ) {
        const end = Math.min(segments.length, start + random.int(1, 3));
        shards.push(reduceSearchHits(segments.slice(start, end), { metric, nq, topk: topk + offset }));
        start = end;
      }
      const twoStep = reduceSearchHits(shards, { metric, nq, topk, offset });
      const oneStep = reduceSearchHits(segments, { metric, nq, topk, offset });
      expect(Array.from(twoStep.topks)).toEqual(Array.from(oneStep.topks));
      expect(twoStep.primaryKeys).toEqual(oneStep.primaryKeys);
      expect(twoStep.distances).toEqual(oneStep.distances);
    }
  });

  it("keeps a duplicated key once, with its best distance", () => {
    const growing: SearchHits = { nq: 1, topks: [3], primaryKeys: [7n, 8n, 9n], distances: new Float32Array([0.5, 0.6, 0.9]) };
    const sealed: SearchHits = { nq: 1, topks: [2], primaryKeys: [7n, 9n], distances: new Float32Array([0.25, 0.75]) };
    const reduced = reduceSearchHits([growing, sealed], { metric: MetricType.L2, nq: 1, topk: 10 });
    expect(reduced.primaryKeys).toEqual([7n, 8n, 9n]);
    expect(Array.from(reduced.distances)).toEqual([0.25, 0.6000000238418579, 0.75]);
    expect(Array.from(reduced.resultIndexes)).toEqual([1, 0, 1]);
    const growingIp: SearchHits = { nq: 1, topks: [3], primaryKeys: [9n, 8n, 7n], distances: new Float32Array([0.9, 0.6, 0.5]) };
    const sealedIp: SearchHits = { nq: 1, topks: [2], primaryKeys: [9n, 7n], distances: new Float32Array([0.75, 0.25]) };
    const similarity = reduceSearchHits([growingIp, sealedIp], { metric: MetricType.IP, nq: 1, topk: 10 });
    expect(similarity.primaryKeys).toEqual([9n, 8n, 7n]);
    expect(Array.from(similarity.distances)).toEqual([0.8999999761581421, 0.6000000238418579, 0.5]);
  });

  it("answers every query even when no input has hits", () => {
    const reduced = reduceSearchHits([emptyHits(3)], { metric: MetricType.COSINE, nq: 3, topk: 5 });
    expect(Array.from(reduced.topks)).toEqual([0, 0, 0]);
    expect(reduceSearchHits([], { metric: MetricType.IP, nq: 2, topk: 1 }).topks).toEqual(new Int32Array(2));
  });

  it("rejects inconsistent inputs and bounds with InvalidArgument", () => {
    const good: SearchHits = { nq: 1, topks: [2], primaryKeys: [1n, 2n], distances: new Float32Array([1, 2]) };
    const options: ReduceOptions = { metric: MetricType.L2, nq: 1, topk: 5 };
    const cases: [() => unknown, RegExp][] = [
      [() => reduceSearchHits([good], { ...options, nq: 2 }), /search result 0 answers 1 queries \(1 counts\), expected 2/],
      [() => reduceSearchHits([good], { ...options, metric: MetricType.IP }), /search result 0: query 0's hits are not sorted best first/],
      [() => reduceSearchHits([{ ...good, distances: new Float32Array([1, Number.NaN]) }], options), /NaN distance/],
      [() => reduceSearchHits([{ ...good, topks: [3] }], options), /2 keys and 2 distances for 3 hits/],
      [() => reduceSearchHits([good], { ...options, topk: 0 }), /topk must be a positive integer/],
      [() => reduceSearchHits([good], { ...options, offset: -1 }), /offset must be a non-negative integer/],
      [() => reduceSearchHits([good], { ...options, topk: 16_000, offset: 385 }), /topk \+ offset must be at most 16384 \(searchTopKMax\), got 16000 \+ 385/],
      [() => reduceSearchHits([good], { ...options, metric: "JACCARD" as MetricType }), /unknown metric type "JACCARD"/],
      [() => reduceSearchHits([good], { ...options, nq: 0 }), /nq must be in \[1, 16384\]/],
      [() => reduceSearchHits([good], { ...options, topk: 3, offset: 1 }, { searchResultEntriesMax: 3 }), /nq × \(topk \+ offset\) = 1 × 4 exceeds 3 result entries/],
    ];
    for (const [action, message] of cases) {
      const error = thrownBy(action);
      expect(isVelaError(error, ErrorCode.InvalidArgument), message.source).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe("hitsFromTopK", () => {
  it("maps rows to primary keys and drops the padding", () => {
    const result = emptyTopKResult(MetricType.L2, 2, 3);
    result.counts.set([2, 1]);
    result.rows.set([4, 0, -1, 2, -1, -1]);
    result.distances.set([0.5, 1, Number.NaN, 3, Number.NaN, Number.NaN]);
    const hits = hitsFromTopK(result, ["a", "b", "c", "d", "e"]);
    expect(Array.from(hits.topks)).toEqual([2, 1]);
    expect(hits.primaryKeys).toEqual(["e", "a", "c"]);
    expect(Array.from(hits.distances)).toEqual([0.5, 1, 3]);
    expect(Array.from(hits.rows)).toEqual([4, 0, 2]);
    expect(isVelaError(thrownBy(() => hitsFromTopK(result, ["a"])), ErrorCode.InvalidArgument)).toBe(true);
  });
});
