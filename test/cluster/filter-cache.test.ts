// A segment keeps the rows a filter matched (querynode/query-node.ts filterMatches) while its row count
// stays the same. These tests check it against an in-memory oracle of every row and delete: counts,
// queries and filtered searches stay exact through deletes (the kept result is intersected with the
// visibility of each read), inserts into a growing segment (its row count changes, so it evaluates
// again), and the least-recently-used bound; and they check that a repeated filter is not evaluated
// again where nothing changed.

import { afterEach, describe, expect, it } from "vitest";
import { Standalone } from "../../cluster/standalone.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { DataType } from "../../common/schema.ts";
import { expressionFilter } from "../../proxy/api/expression-filter.ts";
import { scratchDir } from "../servers/ports.ts";

const running: Standalone[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()?.close();
});

const DIM = 8;
const NAME = "filtered";

interface OracleRow {
  n: number;
  vector: number[];
  deleted: boolean;
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("kept filter results", () => {
  it("answer as the oracle through deletes, growing inserts and eviction, and skip evaluations where nothing changed", async () => {
    const seed = testSeed();
    console.log(`filter cache test seed ${seed} (VELA_SEED to replay)`);
    const random = new SeededRandom(seed);
    const vela = await Standalone.start({
      dataDir: scratchDir("filter-cache"), fsync: false,
      rootCoordLimits: { pchannelCount: 1 }, computePoolLimits: { workerCount: 1 }, timeSyncLimits: { tickIntervalMs: 20 },
      dataCoordLimits: { sealCheckIntervalMs: 20, segmentAllocationExpiryMs: 250, segmentRowCountMax: 1_000 },
      dataNodeLimits: { checkpointIntervalMs: 30 }, readLimits: { filterCacheEntriesMax: 4 },
    });
    running.push(vela);
    const info = await vela.rootCoord.createCollection({
      schema: { name: NAME, fields: [{ name: "id", dataType: DataType.Int64, isPrimaryKey: true }, { name: "v", dataType: DataType.FloatVector, dim: DIM }, { name: "n", dataType: DataType.Int32 }] },
      shardsNum: 1,
    });
    const oracle = new Map<number, OracleRow>();
    let nextId = 0;
    const insert = async (count: number): Promise<void> => {
      const ids = Array.from({ length: count }, () => nextId++);
      const rows = ids.map((): OracleRow => ({ n: random.int(0, 99), vector: Array.from({ length: DIM }, () => random.gaussian()), deleted: false }));
      await vela.proxy.insert({ collectionName: NAME, columns: { id: ids.map(BigInt), n: rows.map((row) => row.n), v: rows.map((row) => row.vector) } });
      for (const [index, id] of ids.entries()) oracle.set(id, rows[index] as OracleRow);
    };
    await vela.queryCoord.loadCollection("default", NAME);
    await insert(2_000);
    const { segmentIds } = await vela.dataCoord.flush(info.id);
    await until("the flush", () => vela.dataCoord.flushState(segmentIds));
    await until("the handoff of the flushed segments", () => vela.queryNode.sealedSegments(info.id).length >= 2);
    await insert(400); // a growing segment beside the sealed ones

    const filters: Array<{ text: string; matches: (n: number) => boolean }> = [
      { text: "n < 30", matches: (n) => n < 30 },
      { text: "n in [1, 2, 3, 50]", matches: (n) => [1, 2, 3, 50].includes(n) },
      { text: "n >= 40 and n < 60", matches: (n) => n >= 40 && n < 60 },
      { text: "not (n < 90)", matches: (n) => !(n < 90) },
      { text: "n == 7 or n == 8", matches: (n) => n === 7 || n === 8 },
      { text: "n != 0", matches: (n) => n !== 0 },
    ];
    const expected = (matches: (n: number) => boolean): number[] => [...oracle].filter(([, row]) => !row.deleted && matches(row.n)).map(([id]) => id).sort((a, b) => a - b);
    const check = async (filter: { text: string; matches: (n: number) => boolean }): Promise<void> => {
      const want = expected(filter.matches);
      const expression = expressionFilter(vela.rootCoord.describeCollection("default", NAME).info, filter.text, {}).expression;
      const counted = await vela.reader.count({ collectionName: NAME, consistencyLevel: "Strong", filter: expression });
      expect(counted.count, filter.text).toBe(want.length);
      const queried = await vela.reader.query({ collectionName: NAME, consistencyLevel: "Strong", filter: expression, limit: 16_384 });
      expect(queried.rows.map((row) => Number(row.id)).sort((a, b) => a - b), filter.text).toEqual(want);
      // A filtered search: exact here (no index), so its ten hits are the oracle's ten nearest matching rows.
      const query = Array.from({ length: DIM }, () => random.gaussian());
      const distance = (vector: number[]): number => vector.reduce((sum, value, i) => sum + (value - (query[i] as number)) ** 2, 0);
      const nearest = want.map((id) => ({ id, d: distance((oracle.get(id) as OracleRow).vector) })).sort((a, b) => a.d - b.d).slice(0, 10).map((hit) => hit.id);
      const searched = await vela.reader.search({ collectionName: NAME, consistencyLevel: "Strong", annsField: "v", metricType: "L2", vectors: [query], topk: 10, filter: expression });
      expect((searched.results[0] ?? []).map((hit) => Number(hit.primaryKey)), filter.text).toEqual(nearest);
    };

    // First reads evaluate; the same reads again (nothing changed) evaluate nothing.
    for (const filter of filters.slice(0, 4)) await check(filter);
    const afterFirst = vela.queryNode.filterEvaluations;
    expect(afterFirst).toBeGreaterThan(0);
    for (const filter of filters.slice(0, 4)) await check(filter);
    expect(vela.queryNode.filterEvaluations).toBe(afterFirst);

    // Deletes change the visibility, not the kept results: still no evaluation, and exact answers.
    const victims = [...oracle.keys()].filter(() => random.next() < 0.15);
    await vela.proxy.delete({ collectionName: NAME, primaryKeys: victims.map(BigInt) });
    for (const id of victims) (oracle.get(id) as OracleRow).deleted = true;
    for (const filter of filters.slice(0, 4)) await check(filter);
    expect(vela.queryNode.filterEvaluations).toBe(afterFirst);

    // Inserts grow the growing segment: it evaluates again, the sealed ones do not.
    await insert(150);
    const beforeGrowth = vela.queryNode.filterEvaluations;
    for (const filter of filters.slice(0, 4)) await check(filter);
    const segmentsNow = vela.queryNode.memoryUsage().segments;
    const sealedNow = vela.queryNode.sealedSegments(info.id).length;
    expect(vela.queryNode.filterEvaluations - beforeGrowth).toBeGreaterThanOrEqual(4);
    expect(vela.queryNode.filterEvaluations - beforeGrowth).toBeLessThanOrEqual(4 * (segmentsNow - sealedNow));

    // Two more filters push the two least recently used out of a bound of four: they evaluate again.
    for (const filter of filters.slice(4)) await check(filter);
    const beforeEvicted = vela.queryNode.filterEvaluations;
    await check(filters[0] as (typeof filters)[number]);
    expect(vela.queryNode.filterEvaluations - beforeEvicted).toBeGreaterThanOrEqual(sealedNow);
    const beforeKept = vela.queryNode.filterEvaluations;
    await check(filters[5] as (typeof filters)[number]);
    expect(vela.queryNode.filterEvaluations).toBe(beforeKept);
  }, 120_000);
});
