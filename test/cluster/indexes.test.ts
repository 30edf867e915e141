// HNSW indexes end to end on a standalone Vela (issue #8): flushed segments are indexed by the index
// node, query nodes hand them off with their index and search them through it; recall@10 against the
// exact answer (the same data in a FLAT collection) is at least 0.95 for each metric at the default
// ef; filtered search falls back to exact when the filter keeps few rows; a restart loads the stored
// indexes without rebuilding them; a load past the query node's memory budget is refused.

import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../common/errors.ts";
import { DataType } from "../../common/schema.ts";
import { testSeed } from "../../common/random.ts";
import { Standalone, type StandaloneOptions } from "../../cluster/standalone.ts";
import { clusteredDataSet } from "../../indexnode/hnsw/clustered-vectors.ts";
import { scratchDir } from "../servers/ports.ts";

const running: Standalone[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()?.close();
});

const DIM = 16;
const ROWS = 3_000;
const options: Partial<StandaloneOptions> = {
  fsync: false,
  rootCoordLimits: { pchannelCount: 2 },
  computePoolLimits: { workerCount: 1 },
  timeSyncLimits: { tickIntervalMs: 20 },
  dataCoordLimits: { sealCheckIntervalMs: 20, segmentAllocationExpiryMs: 250, segmentRowCountMax: 1_000 },
  dataNodeLimits: { checkpointIntervalMs: 30 },
  indexCoordLimits: { indexScheduleIntervalMs: 50 },
};

async function start(dataDir: string, extra: Partial<StandaloneOptions> = {}): Promise<Standalone> {
  const node = await Standalone.start({ dataDir, ...options, onBackgroundError: (error) => console.log("background error", error), ...extra });
  running.push(node);
  return node;
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function collectionWith(vela: Standalone, name: string, metric: string, indexType: "HNSW" | "FLAT", vectors: Float32Array): Promise<bigint> {
  const info = await vela.rootCoord.createCollection({
    schema: { name, fields: [{ name: "id", dataType: DataType.Int64, isPrimaryKey: true }, { name: "v", dataType: DataType.FloatVector, dim: DIM }, { name: "n", dataType: DataType.Int32 }] },
    shardsNum: 1,
  });
  await vela.indexCoord.createIndex({ collection: info, fieldName: "v", params: { index_type: indexType, metric_type: metric, ...(indexType === "HNSW" ? { M: "16", efConstruction: "100" } : {}) } });
  for (let start = 0; start < ROWS; start += 500) {
    const rows = Array.from({ length: 500 }, (_, i) => start + i);
    await vela.proxy.insert({
      collectionName: name,
      columns: { id: rows.map((row) => BigInt(row)), n: rows.map((row) => row % 100), v: rows.map((row) => Array.from(vectors.subarray(row * DIM, (row + 1) * DIM))) },
    });
  }
  await vela.queryCoord.loadCollection("default", name);
  const { segmentIds } = await vela.dataCoord.flush(info.id);
  await until(`flush of ${name}`, () => vela.dataCoord.flushState(segmentIds));
  return info.id;
}

function indexedAll(vela: Standalone, collectionId: bigint): boolean {
  const flushed = vela.dataCoord.listSegments(collectionId).filter((segment) => segment.state === "flushed").map((segment) => segment.id);
  const sealed = new Set(vela.queryNode.sealedSegments(collectionId));
  return flushed.length > 0 && flushed.every((id) => sealed.has(id) && vela.indexCoord.segmentIndex(id, 101) !== undefined);
}

async function searchIds(vela: Standalone, collectionName: string, metric: string, queries: Float32Array, extra: { filter?: string } = {}): Promise<string[][]> {
  const info = vela.rootCoord.describeCollection("default", collectionName).info;
  const filter = extra.filter === undefined ? {} : { filter: (await import("../../proxy/api/expression-filter.ts")).expressionFilter(info, extra.filter, {}).expression };
  const result = await vela.reader.search({ collectionName, consistencyLevel: "Strong", annsField: "v", metricType: metric, vectors: queries, topk: 10, ...filter });
  return result.results.map((hits) => hits.map((hit) => String(hit.primaryKey)));
}

function recall(found: string[][], exact: string[][]): number {
  let hits = 0;
  let total = 0;
  for (const [q, truth] of exact.entries()) {
    const got = new Set(found[q]);
    for (const id of truth) if (got.has(id)) hits += 1;
    total += truth.length;
  }
  return hits / total;
}

describe("HNSW indexes", () => {
  for (const metric of ["L2", "IP", "COSINE"]) {
    it(`${metric}: recall@10 at the default ef is at least 0.95 against the exact answer, through the index`, async () => {
      const seed = testSeed();
      const { vectors, queries } = clusteredDataSet(seed, { rows: ROWS, dim: DIM, clusters: 20, spread: 0.3, queries: 50 });
      const vela = await start(scratchDir(`index-${metric}`));
      const indexed = await collectionWith(vela, "indexed", metric, "HNSW", vectors);
      await collectionWith(vela, "exact", metric, "FLAT", vectors);
      await until("index builds and handoff", () => indexedAll(vela, indexed));
      const before = { ...vela.queryNode.searchCounts };
      const found = await searchIds(vela, "indexed", metric, queries);
      expect(vela.queryNode.searchCounts.indexed).toBeGreaterThan(before.indexed);
      const exact = await searchIds(vela, "exact", metric, queries);
      const r = recall(found, exact);
      console.log(`${metric}: recall@10 ${r.toFixed(4)} through HNSW (seed ${seed})`);
      expect(r).toBeGreaterThanOrEqual(0.95);

      // Filtered: half the rows pass (HNSW with the filter callback); 1% pass (exact fallback, so equal).
      const half = await searchIds(vela, "indexed", metric, queries, { filter: "n < 50" });
      const halfExact = await searchIds(vela, "exact", metric, queries, { filter: "n < 50" });
      expect(recall(half, halfExact)).toBeGreaterThanOrEqual(0.95);
      const exactBefore = vela.queryNode.searchCounts.exact;
      const rare = await searchIds(vela, "indexed", metric, queries, { filter: "n == 7" });
      expect(vela.queryNode.searchCounts.exact).toBeGreaterThan(exactBefore);
      expect(rare).toEqual(await searchIds(vela, "exact", metric, queries, { filter: "n == 7" }));
    });
  }

  it("a restart loads the stored indexes without rebuilding them", async () => {
    const seed = testSeed();
    const { vectors, queries } = clusteredDataSet(seed, { rows: ROWS, dim: DIM, clusters: 20, spread: 0.3, queries: 20 });
    const dataDir = scratchDir("index-restart");
    let vela = await start(dataDir);
    const collectionId = await collectionWith(vela, "indexed", "L2", "HNSW", vectors);
    await until("index builds and handoff", () => indexedAll(vela, collectionId));
    const built = vela.indexNode.stats().buildsStarted;
    expect(built).toBeGreaterThan(0);
    const answer = await searchIds(vela, "indexed", "L2", queries);
    running.splice(running.indexOf(vela), 1);
    await vela.close();
    vela = await start(dataDir);
    await until("reload", () => vela.queryCoord.loadState(collectionId) === "Loaded" && indexedAll(vela, collectionId));
    expect(await searchIds(vela, "indexed", "L2", queries)).toEqual(answer);
    expect(vela.indexNode.stats().buildsStarted).toBe(0);
  });

  it("refuses a load past the query node's memory budget, and loads nothing", async () => {
    const seed = testSeed();
    const { vectors } = clusteredDataSet(seed, { rows: ROWS, dim: DIM, clusters: 20, spread: 0.3, queries: 1 });
    const vela = await start(scratchDir("index-memory"), { queryNodeLoadLimits: { memoryBytesMax: 100_000 } });
    // Loaded while empty, it then grew by ingest; once released, its flushed data no longer fits.
    const collectionId = await collectionWith(vela, "big", "L2", "FLAT", vectors);
    await vela.queryCoord.releaseCollection("default", "big");
    let refused: unknown;
    try {
      await vela.queryCoord.loadCollection("default", "big");
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ code: ErrorCode.LimitExceeded });
    expect(String((refused as Error).message)).toMatch(/memoryBytesMax/);
    expect(vela.queryCoord.loadState(collectionId)).toBe("NotLoad");
    expect(vela.queryNode.isLoaded(collectionId)).toBe(false);
  });
});
