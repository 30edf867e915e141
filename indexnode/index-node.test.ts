// The index node on its own: a build from binlogs written by writeSegmentBinlogs gives the same graph
// the HNSW library builds from the same rows in the same order; at most buildSlots builds run, the
// rest wait in a bounded queue; createJob is idempotent per build; dropped builds never start or are
// abandoned; damaged or inconsistent binlogs fail the build with a reason; bad tasks are refused
// before anything runs; a stopped node (closed, or its session lost) accepts nothing.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../common/clock.ts";
import { ErrorCode, VelaError } from "../common/errors.ts";
import { testSeed } from "../common/random.ts";
import type { WorkerPool } from "../common/worker-pool.ts";
import { Session } from "../cluster/session.ts";
import { createBinlogPool } from "../datanode/binlog/binlog-pool.ts";
import { EmbeddedMetaStore } from "../storage/meta/embedded-meta-store.ts";
import { LocalObjectStore } from "../storage/object/local-object-store.ts";
import { FaultyObjectStore } from "../test/faults/faulty-object-store.ts";
import { writeVectorSegment } from "../test/fakes/fake-data-coord.ts";
import { scratchDir } from "../test/servers/ports.ts";
import type { SegmentInfo } from "../types/data-coord.ts";
import { INDEX_NODE_ROLE, type IndexBuildTask } from "../types/index-node.ts";
import { clusteredDataSet } from "./hnsw/clustered-vectors.ts";
import { buildHnsw, createHnswPool, type HnswPool } from "./hnsw/hnsw-pool.ts";
import { IndexNode, type IndexNodeSession } from "./index-node.ts";

const seed = testSeed();
console.log(`index-node tests seed ${seed} (replay with VELA_SEED=${seed})`);

const dim = 16;
let hnswPool: HnswPool;
let binlogPool: WorkerPool;
let metaStore: EmbeddedMetaStore;
let local: LocalObjectStore;
let store: FaultyObjectStore;
const nodes: IndexNode[] = [];

beforeAll(async () => {
  hnswPool = createHnswPool({ workerCount: 2, name: "index node test HNSW pool" });
  binlogPool = createBinlogPool({ workerCount: 1 });
});
afterAll(async () => {
  await hnswPool.close();
  await binlogPool.close();
});
beforeEach(async () => {
  const dir = scratchDir("index-node");
  metaStore = await EmbeddedMetaStore.open({ dir: `${dir}/meta`, fsync: false });
  local = await LocalObjectStore.open({ dir: `${dir}/objects` });
  store = new FaultyObjectStore(local);
});
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.close();
  await metaStore.close();
  await local.close();
});

async function startNode(nodeId: string, buildConcurrency = 2, limits: { indexBuildQueueDepthMax?: number } = {}): Promise<IndexNode> {
  const session = await Session.create({ metaStore, clock: systemClock, role: INDEX_NODE_ROLE, nodeId, ttlSeconds: 30, fenceFraction: 2 / 3 });
  const node = new IndexNode({ nodeId, session, objectStore: store, hnswPool, binlogPool, limits: { indexBuildConcurrency: buildConcurrency, ...limits } });
  nodes.push(node);
  return node;
}

async function segment(segmentId: bigint, rows: number, flushRows: number[]): Promise<{ info: SegmentInfo; vectors: Float32Array }> {
  const { vectors } = clusteredDataSet(seed + Number(segmentId), { rows, dim, clusters: 5, spread: 0.5, queries: 1 });
  const info = await writeVectorSegment(local, { collectionId: 1n, partitionId: 2n, segmentId, primaryKeyFieldId: 100, vectorFieldId: 101, dim, vectors, flushRows, firstLogId: 10n, firstKey: 0n });
  return { info, vectors };
}

function taskFor(info: SegmentInfo, buildId: bigint, overrides: Partial<IndexBuildTask> = {}): IndexBuildTask {
  return {
    buildId, attempt: 1, indexId: 5n, collectionId: info.collectionId, partitionId: info.partitionId, segmentId: info.id, fieldId: 101,
    indexType: "HNSW", metricType: "L2", dim, M: 8, efConstruction: 40,
    insertLogs: info.insertLogs.filter((log) => log.fieldId === 101), rowCount: info.numRows, ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<VelaError> {
  const error: unknown = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(VelaError);
  return error as VelaError;
}

describe("index node", () => {
  it("builds from binlogs exactly the index the library builds from the same rows, and writes it with its params", async () => {
    const node = await startNode("n1");
    const { info, vectors } = await segment(7n, 500, [120, 300, 80]);
    await node.createJob(taskFor(info, 70n));
    await node.whenIdle();
    const [report] = await node.queryJobs([70n]);
    expect(report).toMatchObject({ buildId: 70n, attempt: 1, state: "Finished", rowCount: 500 });
    expect(report!.files!.map((file) => file.path)).toEqual(["index_files/70/hnsw", "index_files/70/params.json"]);
    const stored = await local.get("index_files/70/hnsw");
    expect(report!.files![0]!.sizeBytes).toBe(stored.byteLength);
    const direct = await buildHnsw(hnswPool, { vectors, dim, metric: "L2", M: 8, efConstruction: 40 });
    expect(Buffer.from(stored).equals(Buffer.from(direct))).toBe(true);
    // Only the vector field's insert logs are read, each once.
    expect(store.gets.sort()).toEqual(info.insertLogs.filter((log) => log.fieldId === 101).map((log) => log.path).sort());
  });

  it("runs at most buildSlots builds at once and holds the rest in a bounded queue; createJob is idempotent per build", async () => {
    const release = store.holdGets(() => true);
    const node = await startNode("n1", 2, { indexBuildQueueDepthMax: 2 });
    const { info } = await segment(8n, 100, [100]);
    for (const buildId of [1n, 2n, 3n, 4n]) await node.createJob(taskFor(info, buildId));
    await node.createJob(taskFor(info, 1n, { attempt: 2 }));
    expect(node.stats()).toMatchObject({ buildSlots: 2, running: 2, queued: 2 });
    const full = await rejection(node.createJob(taskFor(info, 5n)));
    expect(full.code).toBe(ErrorCode.LimitExceeded);
    expect(full.message).toContain("indexBuildQueueDepthMax");
    await node.dropJobs([4n]);
    expect(node.stats()).toMatchObject({ running: 2, queued: 1 });
    release();
    await node.whenIdle();
    const reports = await node.queryJobs([1n, 2n, 3n, 4n]);
    expect(reports.map((report) => [report.state, report.attempt])).toEqual([["Finished", 2], ["Finished", 1], ["Finished", 1], ["None", 0]]);
    expect(node.stats()).toMatchObject({ buildsStarted: 3, buildsFinished: 3 });
    await node.dropJobs([1n, 2n, 3n]);
    expect((await node.queryJobs([1n])).map((report) => report.state)).toEqual(["None"]);
  });

  it("fails a build on damaged or inconsistent binlogs, naming the file", async () => {
    const node = await startNode("n1");
    const { info } = await segment(9n, 200, [100, 100]);
    const logs = info.insertLogs.filter((log) => log.fieldId === 101);
    const damaged = logs.map((log, index) => (index === 0 ? { ...log, crc32: (log.crc32 ^ 1) >>> 0 } : log));
    await node.createJob(taskFor(info, 1n, { insertLogs: damaged }));
    await node.createJob(taskFor(info, 2n, { rowCount: 250 }));
    await node.createJob(taskFor(info, 3n, { dim: 8 }));
    await node.whenIdle();
    const [crc, rows, dims] = await node.queryJobs([1n, 2n, 3n]);
    expect(crc).toMatchObject({ state: "Failed" });
    expect(crc!.error).toMatch(new RegExp(`${logs[0]!.path}.*CRC`, "i"));
    expect(rows!.error).toBe("segment 9 field 101: its insert logs hold 200 rows, the segment record says 250");
    expect(dims!.error).toMatch(/holds vectors of dim 16, the index is for dim 8/);
    expect(store.puts).toEqual([]);
  });

  it("refuses bad tasks before running them, and accepts nothing once closed or once its session is lost", async () => {
    const node = await startNode("n1");
    const { info } = await segment(10n, 50, [50]);
    const other = await segment(11n, 50, [50]);
    const cases: Array<[Partial<IndexBuildTask>, RegExp]> = [
      [{ indexType: "FLAT" as "HNSW" }, /index nodes build HNSW only/],
      [{ insertLogs: [] }, /has no insert logs for field 101/],
      [{ insertLogs: other.info.insertLogs.filter((log) => log.fieldId === 101) }, /is not an insert log of segment 10 field 101/],
      [{ insertLogs: info.insertLogs.filter((log) => log.fieldId === 100) }, /is not an insert log of segment 10 field 101/],
      [{ rowCount: 0 }, /rowCount must be a positive integer/],
    ];
    for (const [overrides, message] of cases) {
      const error = await rejection(node.createJob(taskFor(info, 1n, overrides)));
      expect(error.code).toBe(ErrorCode.InvalidArgument);
      expect(error.message).toMatch(message);
    }
    expect(node.stats().buildsStarted).toBe(0);

    await node.close();
    expect((await rejection(node.createJob(taskFor(info, 1n)))).code).toBe(ErrorCode.Closed);
    expect(await metaStore.get(`session/${INDEX_NODE_ROLE}/n1`)).toBeUndefined();

    let lose!: (error: VelaError) => void;
    const session: IndexNodeSession = { key: `session/${INDEX_NODE_ROLE}/n2`, lost: new Promise((resolve) => (lose = resolve)), close: async () => undefined };
    const release = store.holdGets(() => true);
    const fenced = new IndexNode({ nodeId: "n2", session, objectStore: store, hnswPool, binlogPool });
    nodes.push(fenced);
    await fenced.createJob(taskFor(info, 2n));
    lose(new VelaError(ErrorCode.LeaseNotFound, "lease expired"));
    await new Promise((resolve) => setImmediate(resolve));
    const lost = await rejection(fenced.createJob(taskFor(info, 3n)));
    expect(lost.message).toMatch(/index node n2 lost its session: lease expired/);
    release();
    await fenced.whenIdle();
    expect(store.puts).toEqual([]);
    expect(() => new IndexNode({ nodeId: "n3", session, objectStore: store })).toThrow(/session key must be session\/indexnode\/n3/);
  });
});
