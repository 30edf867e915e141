// The index coordinator with real index nodes, against a fake data coordinator whose flushed segments
// have real binlogs in a LocalObjectStore: definitions and their validation; the whole pipeline
// (flushed segments → build tasks → index files → loaded with loadHnsw and checked for recall@10
// against brute force, for L2, IP and COSINE); progress before and after; a coordinator restarted
// mid-build (the build is neither lost nor run twice); a failed read retried after its delay and given
// up after the last attempt; a dead node's build re-issued to another node; drop index, drop
// collection, dropped and compacted segments, and orphaned files. Scheduling is driven by explicit
// rounds and a manual clock, so nothing here depends on timing.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../common/clock.ts";
import { sessionDefaults } from "../common/config.ts";
import { ErrorCode, VelaError } from "../common/errors.ts";
import { testSeed } from "../common/random.ts";
import { DataType, type CollectionSchema } from "../common/schema.ts";
import type { WorkerPool } from "../common/worker-pool.ts";
import { Session } from "../cluster/session.ts";
import { createBinlogPool } from "../datanode/binlog/binlog-pool.ts";
import { clusteredDataSet } from "../indexnode/hnsw/clustered-vectors.ts";
import { createHnswPool, loadHnsw, releaseHnsw, searchHnsw, type HnswPool } from "../indexnode/hnsw/hnsw-pool.ts";
import type { IndexParamsFile } from "../indexnode/index-files.ts";
import { IndexNode } from "../indexnode/index-node.ts";
import { bruteForceTopK } from "../querynode/compute/brute-force.ts";
import type { MetricType } from "../querynode/compute/metric.ts";
import type { TopKResult } from "../querynode/compute/topk.ts";
import { EmbeddedMetaStore } from "../storage/meta/embedded-meta-store.ts";
import { rangeAll } from "../storage/meta/range-all.ts";
import { LocalObjectStore } from "../storage/object/local-object-store.ts";
import { listAll, type ObjectStore } from "../storage/object/object-store.ts";
import { FaultyObjectStore } from "../test/faults/faulty-object-store.ts";
import { FakeDataCoord, writeVectorSegment } from "../test/fakes/fake-data-coord.ts";
import { scratchDir } from "../test/servers/ports.ts";
import type { SegmentInfo } from "../types/data-coord.ts";
import type { SegmentIndexInfo } from "../types/index-coord.ts";
import { INDEX_NODE_ROLE } from "../types/index-node.ts";
import type { CollectionInfo } from "./catalog.ts";
import { IndexCoord } from "./index-coord.ts";

const seed = testSeed();
console.log(`index-coord tests seed ${seed} (replay with VELA_SEED=${seed})`);

const PK_FIELD = 100;
const VECTOR_FIELD = 101;

function collectionInfo(id: bigint, dim: number): CollectionInfo {
  const schema: CollectionSchema = {
    name: `c${id}`, description: "", enableDynamicField: false,
    fields: [
      { fieldId: PK_FIELD, name: "id", description: "", dataType: DataType.Int64, isPrimaryKey: true, autoId: false, nullable: false, isDynamic: false },
      { fieldId: VECTOR_FIELD, name: "v", description: "", dataType: DataType.FloatVector, isPrimaryKey: false, autoId: false, dim, nullable: false, isDynamic: false },
      { fieldId: 102, name: "price", description: "", dataType: DataType.Double, isPrimaryKey: false, autoId: false, nullable: false, isDynamic: false },
    ],
  };
  return { id, dbName: "default", name: `c${id}`, schema, shardsNum: 1, vchannels: ["v0"], pchannels: ["p0"], consistencyLevel: "Bounded", properties: {}, createdTs: 1n };
}

let hnswPool: HnswPool;
let binlogPool: WorkerPool;
beforeAll(() => {
  hnswPool = createHnswPool({ workerCount: 2, name: "index test HNSW pool" });
  binlogPool = createBinlogPool({ workerCount: 1 });
});
afterAll(async () => {
  await hnswPool.close();
  await binlogPool.close();
});

/** One test's world: stores, a fake data coordinator, index nodes, a coordinator (re-openable). */
class World {
  readonly clock = new ManualClock();
  readonly dataCoord = new FakeDataCoord();
  readonly nodes = new Map<string, IndexNode>();
  readonly loaded = new Set<bigint>();
  readonly built: SegmentIndexInfo[] = [];
  readonly backgroundErrors: unknown[] = [];
  coord!: IndexCoord;
  private nextId = 10_000n;

  private constructor(readonly metaStore: EmbeddedMetaStore, readonly store: LocalObjectStore) {}

  static async open(label: string): Promise<World> {
    const dir = scratchDir(label);
    const world = new World(await EmbeddedMetaStore.open({ dir: `${dir}/meta`, fsync: false }), await LocalObjectStore.open({ dir: `${dir}/objects` }));
    await world.openCoord();
    return world;
  }

  async openCoord(): Promise<IndexCoord> {
    this.coord = await IndexCoord.open({
      metaStore: this.metaStore, objectStore: this.store, dataCoord: this.dataCoord, clock: this.clock,
      connectNode: (nodeId) => this.nodes.get(nodeId),
      allocId: async () => this.nextId++, allocTimestamp: async () => this.nextId++,
      isLoaded: (collectionId) => this.loaded.has(collectionId),
      onBackgroundError: (error) => this.backgroundErrors.push(error),
    });
    this.coord.onIndexBuilt((info) => this.built.push(info));
    return this.coord;
  }

  async startNode(nodeId: string, store: ObjectStore = this.store, buildConcurrency = 2): Promise<IndexNode> {
    const session = await Session.create({
      metaStore: this.metaStore, clock: systemClock, role: INDEX_NODE_ROLE, nodeId, ttlSeconds: sessionDefaults.sessionTtlSeconds,
      fenceFraction: sessionDefaults.sessionFenceFraction,
    });
    const node = new IndexNode({ nodeId, session, objectStore: store, hnswPool, binlogPool, limits: { indexBuildConcurrency: buildConcurrency } });
    this.nodes.set(nodeId, node);
    return node;
  }

  /** Rounds until no build is waiting or running (or only retries later than now wait), at most 50. */
  async settle(): Promise<void> {
    for (let round = 0; round < 50; round++) {
      await this.coord.scheduleNow();
      await Promise.all([...this.nodes.values()].map((node) => node.whenIdle()));
      const open = this.coord.buildTasks().filter((task) => task.segmentDroppedAtMs === undefined
        && (task.state === "InProgress" || (task.state === "Unissued" && (task.retryAfterMs ?? 0) <= this.clock.nowMs())));
      if (open.length === 0) return;
    }
    throw new Error("builds did not settle in 50 rounds");
  }

  async keys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const object of listAll(this.store, prefix)) keys.push(object.key);
    return keys;
  }

  async close(): Promise<void> {
    await this.coord.close();
    for (const node of this.nodes.values()) await node.close();
    await this.metaStore.close();
    await this.store.close();
    expect(this.backgroundErrors).toEqual([]);
  }
}

let world: World;
afterEach(async () => {
  await world.close();
});

/** A flushed segment of `rows` random vectors written in `flushes` flushes. */
async function flushedSegment(collectionId: bigint, segmentId: bigint, vectors: Float32Array, dim: number, flushRows: number[], store: ObjectStore = world.store): Promise<SegmentInfo> {
  return writeVectorSegment(store, {
    collectionId, partitionId: collectionId + 1n, segmentId, primaryKeyFieldId: PK_FIELD, vectorFieldId: VECTOR_FIELD, dim, vectors,
    flushRows, firstLogId: segmentId * 10n, firstKey: segmentId * 100_000n,
  });
}

function smallVectors(rows: number, dim: number, salt: number): Float32Array {
  return clusteredDataSet(seed + salt, { rows, dim, clusters: 4, spread: 0.5, queries: 1 }).vectors;
}

function recallAt(result: TopKResult, exact: TopKResult): number {
  let found = 0;
  let wanted = 0;
  for (let q = 0; q < exact.nq; q++) {
    const truth = new Set(exact.rows.subarray(q * exact.topk, q * exact.topk + (exact.counts[q] as number)));
    wanted += truth.size;
    for (let i = 0; i < (result.counts[q] as number); i++) if (truth.has(result.rows[q * result.topk + i] as number)) found += 1;
  }
  return found / wanted;
}

async function rejection(promise: Promise<unknown>): Promise<VelaError> {
  const error: unknown = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(VelaError);
  return error as VelaError;
}

describe("index definitions", () => {
  beforeEach(async () => {
    world = await World.open("index-defs");
  });

  it("persists HNSW, FLAT and AUTOINDEX definitions across a restart; the same request again is a no-op", async () => {
    const a = collectionInfo(1n, 8);
    const b = collectionInfo(2n, 8);
    const c = collectionInfo(3n, 8);
    const hnsw = await world.coord.createIndex({ collection: a, fieldName: "v", params: { index_type: "HNSW", metric_type: "L2", M: "8", efConstruction: "64" } });
    await world.coord.createIndex({ collection: b, fieldName: "v", indexName: "flat_v", params: { index_type: "FLAT", metric_type: "IP" } });
    await world.coord.createIndex({ collection: c, fieldName: "v", params: { index_type: "AUTOINDEX", metric_type: "COSINE" } });
    expect(await world.coord.createIndex({ collection: a, fieldName: "v", params: { index_type: "HNSW", metric_type: "l2", M: "8", efConstruction: "64" } })).toEqual(hnsw);
    await world.coord.close();
    await world.openCoord();
    expect(world.coord.describe(a)).toEqual([hnsw]);
    expect(world.coord.describe(a, "v")[0]).toMatchObject({ indexType: "HNSW", build: { M: 8, efConstruction: 64 }, dim: 8 });
    expect(world.coord.describe(b, "flat_v")[0]).toMatchObject({ indexType: "FLAT", requestedType: "FLAT", metricType: "IP" });
    expect(world.coord.describe(c)[0]).toMatchObject({ indexType: "HNSW", requestedType: "AUTOINDEX", build: { M: 16, efConstruction: 200 } });
    expect((await rangeAll(world.metaStore, "index/")).map((kv) => kv.key).sort()).toEqual([...world.coord.describe(a), ...world.coord.describe(b), ...world.coord.describe(c)].map((d) => `index/${d.collectionId}/${d.indexId}`).sort());
  });

  it("refuses bad requests and changes nothing: other params on an indexed field, a taken name, a scalar field, bad parameters, an unknown field, a loaded collection's drop", async () => {
    const a = collectionInfo(1n, 8);
    const created = await world.coord.createIndex({ collection: a, fieldName: "v", params: { index_type: "HNSW", metric_type: "L2" } });
    const before = await rangeAll(world.metaStore, "index/");
    const cases: Array<[Record<string, string>, string, string | undefined, RegExp]> = [
      [{ index_type: "HNSW", metric_type: "L2", M: "32" }, "v", undefined, /field "v" already has index "v" \(HNSW, L2, M 16, efConstruction 200\); drop it first/],
      [{ index_type: "HNSW", metric_type: "IP" }, "v", undefined, /already has index/],
      [{ index_type: "FLAT", metric_type: "L2" }, "v", undefined, /already has index/],
      [{ index_type: "HNSW", metric_type: "L2" }, "v", "other_name", /already has index "v"/],
      [{ index_type: "STL_SORT" }, "price", "v", /field "price" is not a vector field/],
      [{ index_type: "IVF_PQ" }, "v", undefined, /index type IVF_PQ is not supported/],
      [{ index_type: "HNSW", M: "4096" }, "v", undefined, /M must be in \[2, 2048\]/],
      [{ index_type: "HNSW", efConstruction: "ten" }, "v", undefined, /efConstruction must be an integer/],
      [{ index_type: "HNSW", metric_type: "JACCARD" }, "v", undefined, /metric type "JACCARD" is not one of L2, IP, COSINE/],
      [{ index_type: "HNSW" }, "nope", undefined, /field "nope" is not in collection "c1"/],
    ];
    for (const [params, fieldName, indexName, message] of cases) {
      const error = await rejection(world.coord.createIndex({ collection: a, fieldName, ...(indexName === undefined ? {} : { indexName }), params }));
      expect(error.code).toBe(ErrorCode.InvalidArgument);
      expect(error.message).toMatch(message);
    }
    world.loaded.add(a.id);
    expect((await rejection(world.coord.dropIndex(a, "v"))).message).toMatch(/cannot be dropped while it is loaded; release it first/);
    expect((await rejection(world.coord.dropIndex(a, "missing"))).code).toBe(ErrorCode.IndexNotFound);
    expect(await rangeAll(world.metaStore, "index/")).toEqual(before);
    expect(world.coord.describe(a)).toEqual([created]);
  });
});

describe("index building", () => {
  const dim = 32;
  const rowsPerSegment = 1_200;
  const flushRows = [400, 500, 300];
  const queriesCount = 50;

  beforeEach(async () => {
    world = await World.open("index-build");
  });

  it("builds every flushed segment of HNSW-indexed fields into index files that load and reach recall@10 ≥ 0.95 for L2, IP and COSINE", async () => {
    const node = await world.startNode("n1");
    const metrics: MetricType[] = ["L2", "IP", "COSINE"];
    const expected = new Map<bigint, { vectors: Float32Array; queries: Float32Array; metric: MetricType; collection: CollectionInfo }>();
    for (const [index, metric] of metrics.entries()) {
      const collection = collectionInfo(BigInt(index + 1), dim);
      const { vectors, queries } = clusteredDataSet(seed + index, { rows: 2 * rowsPerSegment, dim, clusters: 24, spread: 0.5, queries: queriesCount });
      const segmentIds = [BigInt(100 + 10 * index), BigInt(101 + 10 * index)];
      // L2's segments are flushed before its index exists, the others' after: both paths create tasks.
      const flushAll = async (): Promise<void> => {
        for (const [s, segmentId] of segmentIds.entries()) {
          const segmentVectors = vectors.slice(s * rowsPerSegment * dim, (s + 1) * rowsPerSegment * dim);
          world.dataCoord.flush(await flushedSegment(collection.id, segmentId, segmentVectors, dim, flushRows));
          expected.set(segmentId, { vectors: segmentVectors, queries, metric, collection });
        }
      };
      if (metric === "L2") await flushAll();
      const params: Record<string, string> = metric === "COSINE" ? { index_type: "AUTOINDEX", metric_type: metric } : { index_type: "HNSW", metric_type: metric, M: "16", efConstruction: "200" };
      await world.coord.createIndex({ collection, fieldName: "v", params });
      if (metric !== "L2") await flushAll();
    }
    await world.coord.scheduleNow(); // the flush events' tasks exist after this round at the latest
    for (const index of [1n, 2n, 3n]) {
      const [definition] = world.coord.describe(collectionInfo(index, dim));
      const progress = world.coord.progress(definition!);
      expect(progress.totalRows).toBe(2 * rowsPerSegment);
      expect(progress.indexedRows + progress.pendingRows).toBe(2 * rowsPerSegment);
    }

    await world.settle();
    expect(node.stats()).toMatchObject({ buildsStarted: 6, buildsFinished: 6, buildsFailed: 0 });
    expect(world.built.map((info) => info.segmentId).sort()).toEqual([...expected.keys()].sort());
    for (const index of [1n, 2n, 3n]) {
      const [definition] = world.coord.describe(collectionInfo(index, dim));
      expect(world.coord.progress(definition!)).toEqual({ state: "Finished", failReason: "", totalRows: 2 * rowsPerSegment, indexedRows: 2 * rowsPerSegment, pendingRows: 0 });
    }
    const tasks = world.coord.buildTasks();
    expect(tasks).toHaveLength(6);
    expect((await rangeAll(world.metaStore, "segment-index/")).map((kv) => kv.key).sort()).toEqual(tasks.map((task) => `segment-index/${task.segmentId}/${task.buildId}`).sort());

    for (const [segmentId, { vectors, queries, metric, collection }] of expected) {
      const info = world.coord.segmentIndex(segmentId, VECTOR_FIELD);
      expect(info).toMatchObject({ segmentId, collectionId: collection.id, fieldId: VECTOR_FIELD, metricType: metric, rowCount: rowsPerSegment, params: { dim, M: 16, efConstruction: 200 } });
      expect(info!.indexFilePath).toBe(`index_files/${info!.buildId}/hnsw`);
      expect(await world.keys(`index_files/${info!.buildId}/`)).toEqual([`index_files/${info!.buildId}/hnsw`, `index_files/${info!.buildId}/params.json`]);
      const params = JSON.parse(new TextDecoder().decode(await world.store.get(`index_files/${info!.buildId}/params.json`))) as IndexParamsFile;
      expect(params).toMatchObject({ format: 1, buildId: String(info!.buildId), segmentId: String(segmentId), metricType: metric, dim, M: 16, efConstruction: 200, rowCount: rowsPerSegment });
      expect(params.insertLogs).toEqual(flushRows.map((_, flush) => `insert_log/${collection.id}/${collection.id + 1n}/${segmentId}/${VECTOR_FIELD}/${segmentId * 10n + BigInt(flush)}`));

      const bytes = await world.store.get(info!.indexFilePath);
      expect(bytes.byteLength).toBe(info!.indexFileBytes);
      const handle = await loadHnsw(hnswPool, bytes);
      expect(handle).toMatchObject({ rows: rowsPerSegment, dim, metric, M: 16, efConstruction: 200 });
      const found = await searchHnsw(hnswPool, handle, { queries, topk: 10 });
      const exact = bruteForceTopK({ metric, dim, vectors, queries, topk: 10 });
      // Labels are rows in insert-log order: recall against brute force over the same rows checks that too.
      const recall = recallAt(found, exact);
      expect(recall, `segment ${segmentId} ${metric}`).toBeGreaterThanOrEqual(0.95);
      await releaseHnsw(hnswPool, handle);
    }
  });

  it("counts a FLAT index's flushed rows as indexed at once and builds nothing for it", async () => {
    await world.startNode("n1");
    const collection = collectionInfo(1n, 8);
    world.dataCoord.flush(await flushedSegment(collection.id, 100n, smallVectors(300, 8, 1), 8, [300]));
    world.dataCoord.put({ ...(await flushedSegment(collection.id, 101n, smallVectors(50, 8, 2), 8, [50])), state: "growing" });
    const flat = await world.coord.createIndex({ collection, fieldName: "v", params: { index_type: "FLAT", metric_type: "L2" } });
    await world.settle();
    expect(world.coord.buildTasks()).toEqual([]);
    expect(world.coord.segmentIndex(100n, VECTOR_FIELD)).toBeUndefined();
    expect(world.coord.progress(flat)).toEqual({ state: "Finished", failReason: "", totalRows: 300, indexedRows: 300, pendingRows: 0 });
  });

  it("resumes after a coordinator restart mid-build: the build is neither lost nor run twice", async () => {
    const store = new FaultyObjectStore(world.store);
    const release = store.holdGets((key) => key.startsWith("insert_log/"));
    const node = await world.startNode("n1", store);
    const collection = collectionInfo(1n, 8);
    world.dataCoord.flush(await flushedSegment(collection.id, 100n, smallVectors(300, 8, 3), 8, [200, 100]));
    const definition = await world.coord.createIndex({ collection, fieldName: "v", params: { index_type: "HNSW", metric_type: "L2", M: "8", efConstruction: "32" } });
    await world.coord.scheduleNow();
    expect(world.coord.buildTasks()).toMatchObject([{ segmentId: 100n, state: "InProgress", nodeId: "n1", attempts: 1 }]);
    expect(world.coord.progress(definition)).toEqual({ state: "InProgress", failReason: "", totalRows: 300, indexedRows: 0, pendingRows: 300 });

    await world.coord.close();
    await world.openCoord();
    await world.coord.scheduleNow();
    expect(world.coord.buildTasks()).toMatchObject([{ segmentId: 100n, state: "InProgress", nodeId: "n1", attempts: 1 }]);
    release();
    await world.settle();
    expect(world.coord.buildTasks()).toMatchObject([{ segmentId: 100n, state: "Finished", nodeId: "n1", attempts: 1 }]);
    expect(node.stats()).toMatchObject({ buildsStarted: 1, buildsFinished: 1 });
    expect(world.coord.progress(definition)).toMatchObject({ state: "Finished", indexedRows: 300, pendingRows: 0 });
    expect(world.built.map((info) => info.segmentId)).toEqual([100n]);
  });

  it("retries a build whose read failed after the retry delay, and gives up after the last attempt with the reason", async () => {
    const store = new FaultyObjectStore(world.store);
    const node = await world.startNode("n1", store);
    const collection = collectionInfo(1n, 8);
    const retried = await flushedSegment(collection.id, 100n, smallVectors(300, 8, 4), 8, [300]);
    const doomed = await flushedSegment(collection.id, 101n, smallVectors(200, 8, 5), 8, [200]);
    store.failGets((key) => key.includes("/100/101/"), 1);
    store.failGets((key) => key.includes("/101/101/"), 1_000);
    world.dataCoord.flush(retried);
    world.dataCoord.flush(doomed);
    const definition = await world.coord.createIndex({ collection, fieldName: "v", params: { index_type: "HNSW", metric_type: "IP", M: "8" } });

    await world.settle();
    const first = world.coord.buildTasks().sort((a, b) => Number(a.segmentId - b.segmentId));
    expect(first).toMatchObject([{ segmentId: 100n, state: "Unissued", attempts: 1 }, { segmentId: 101n, state: "Unissued", attempts: 1 }]);
    expect(first[0]!.lastError).toMatch(/^attempt 1 on index node n1: injected fault: get insert_log\/1\/2\/100\/101\/1000 failed$/);
    expect(first[0]!.retryAfterMs).toBe(world.clock.nowMs() + 1_000);
    await world.coord.scheduleNow(); // before the delay: nothing is issued
    expect(world.coord.buildTasks().every((task) => task.state === "Unissued")).toBe(true);
    expect(world.coord.progress(definition)).toMatchObject({ state: "InProgress", indexedRows: 0, pendingRows: 500 });

    world.clock.advance(1_000);
    await world.settle();
    const second = world.coord.buildTasks().sort((a, b) => Number(a.segmentId - b.segmentId));
    expect(second).toMatchObject([{ segmentId: 100n, state: "Finished", attempts: 2 }, { segmentId: 101n, state: "Unissued", attempts: 2 }]);
    world.clock.advance(2_000);
    await world.settle();
    const failed = world.coord.buildTasks().find((task) => task.segmentId === 101n);
    expect(failed).toMatchObject({ state: "Failed", attempts: 3 });
    world.clock.advance(60_000);
    await world.settle();
    expect(world.coord.buildTasks().find((task) => task.segmentId === 101n)).toMatchObject({ state: "Failed", attempts: 3 });
    expect(node.stats()).toMatchObject({ buildsStarted: 5, buildsFinished: 1, buildsFailed: 4 });
    const progress = world.coord.progress(definition);
    expect(progress).toMatchObject({ state: "Failed", totalRows: 500, indexedRows: 300, pendingRows: 200 });
    expect(progress.failReason).toBe("segment 101: attempt 3 on index node n1: injected fault: get insert_log/1/2/101/101/1010 failed");
  });

  it("re-issues the build of a node whose session ended to another node; the dead node writes nothing", async () => {
    const deadStore = new FaultyObjectStore(world.store);
    const release = deadStore.holdGets((key) => key.startsWith("insert_log/"));
    const doomedNode = await world.startNode("n1", deadStore);
    const collection = collectionInfo(1n, 8);
    world.dataCoord.flush(await flushedSegment(collection.id, 100n, smallVectors(300, 8, 6), 8, [300]));
    const definition = await world.coord.createIndex({ collection, fieldName: "v", params: { index_type: "HNSW", metric_type: "COSINE", M: "8" } });
    await world.coord.scheduleNow();
    expect(world.coord.buildTasks()).toMatchObject([{ state: "InProgress", nodeId: "n1", attempts: 1 }]);

    const survivor = await world.startNode("n2");
    await doomedNode.close();
    world.nodes.delete("n1");
    await world.settle();
    const [task] = world.coord.buildTasks();
    expect(task).toMatchObject({ state: "Finished", nodeId: "n2", attempts: 2 });
    expect(survivor.stats()).toMatchObject({ buildsStarted: 1, buildsFinished: 1 });
    expect(world.coord.progress(definition)).toMatchObject({ state: "Finished", indexedRows: 300 });
    release();
    await doomedNode.whenIdle();
    expect(deadStore.puts).toEqual([]);
    expect(doomedNode.stats()).toMatchObject({ buildsFinished: 0 });
  });

  it("drop index and drop collection delete their build records and index files; other indexes keep theirs", async () => {
    await world.startNode("n1");
    const a = collectionInfo(1n, 8);
    const b = collectionInfo(2n, 8);
    world.dataCoord.flush(await flushedSegment(a.id, 100n, smallVectors(200, 8, 7), 8, [200]));
    world.dataCoord.flush(await flushedSegment(a.id, 101n, smallVectors(200, 8, 8), 8, [100, 100]));
    world.dataCoord.flush(await flushedSegment(b.id, 200n, smallVectors(200, 8, 9), 8, [200]));
    await world.coord.createIndex({ collection: a, fieldName: "v", params: { index_type: "HNSW", metric_type: "L2", M: "8" } });
    await world.coord.createIndex({ collection: b, fieldName: "v", params: { index_type: "HNSW", metric_type: "L2", M: "8" } });
    await world.settle();
    expect(await world.keys("index_files/")).toHaveLength(6);
    const builtB = world.coord.segmentIndex(200n, VECTOR_FIELD)!;

    await world.coord.dropIndex(a, "v");
    expect(await world.keys("index_files/")).toEqual([`index_files/${builtB.buildId}/hnsw`, `index_files/${builtB.buildId}/params.json`]);
    expect((await rangeAll(world.metaStore, "segment-index/")).map((kv) => kv.key)).toEqual([`segment-index/200/${builtB.buildId}`]);
    expect(world.coord.segmentIndex(100n, VECTOR_FIELD)).toBeUndefined();
    expect((await rejection(Promise.resolve().then(() => world.coord.describe(a)))).code).toBe(ErrorCode.IndexNotFound);

    await world.coord.forgetCollection(b.id);
    expect(await world.keys("index_files/")).toEqual([]);
    expect(await rangeAll(world.metaStore, "segment-index/")).toEqual([]);
    expect(await rangeAll(world.metaStore, "index/")).toEqual([]);
    await world.coord.close();
    await world.openCoord();
    expect(world.coord.buildTasks()).toEqual([]);
  });

  it("keeps a dropped segment's index until the retention ends, builds the segment that compaction made, and sweeps orphaned files", async () => {
    await world.startNode("n1");
    const collection = collectionInfo(1n, 8);
    const vectors = smallVectors(400, 8, 10);
    const first = await flushedSegment(collection.id, 100n, vectors.slice(0, 200 * 8), 8, [200]);
    const second = await flushedSegment(collection.id, 101n, vectors.slice(200 * 8), 8, [200]);
    world.dataCoord.flush(first);
    world.dataCoord.flush(second);
    const definition = await world.coord.createIndex({ collection, fieldName: "v", params: { index_type: "HNSW", metric_type: "L2", M: "8" } });
    await world.settle();
    const oldBuilds = [world.coord.segmentIndex(100n, VECTOR_FIELD)!, world.coord.segmentIndex(101n, VECTOR_FIELD)!];

    const compacted = await flushedSegment(collection.id, 102n, vectors, 8, [400]);
    world.dataCoord.flush({ ...compacted, compactedFrom: [100n, 101n] });
    world.dataCoord.drop(100n, world.clock.nowMs());
    world.dataCoord.drop(101n, world.clock.nowMs());
    await world.settle();
    expect(world.coord.segmentIndex(102n, VECTOR_FIELD)).toMatchObject({ rowCount: 400 });
    expect(world.coord.progress(definition)).toEqual({ state: "Finished", failReason: "", totalRows: 400, indexedRows: 400, pendingRows: 0 });
    // Query nodes may still serve the dropped segments during handoff: their files stay for now.
    expect(world.coord.segmentIndex(100n, VECTOR_FIELD)?.buildId).toBe(oldBuilds[0]!.buildId);
    for (const build of oldBuilds) expect(await world.keys(`index_files/${build.buildId}/`)).toHaveLength(2);

    world.clock.advance(world.coord.limits.droppedSegmentIndexRetentionMs);
    await world.coord.scheduleNow();
    expect(world.coord.segmentIndex(100n, VECTOR_FIELD)).toBeUndefined();
    for (const build of oldBuilds) expect(await world.keys(`index_files/${build.buildId}/`)).toEqual([]);
    expect(world.coord.buildTasks().map((task) => task.segmentId)).toEqual([102n]);

    await world.store.put("index_files/424242/hnsw", new Uint8Array([1, 2, 3]));
    await world.store.put("index_files/424242/params.json", new Uint8Array([4]));
    expect(await world.coord.sweepOrphanFiles()).toBe(1);
    const live = world.coord.segmentIndex(102n, VECTOR_FIELD)!;
    expect(await world.keys("index_files/")).toEqual([`index_files/${live.buildId}/hnsw`, `index_files/${live.buildId}/params.json`]);
  });
});
