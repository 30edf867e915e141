// Persistence end to end on a standalone Vela (issue #7): the data node writes binlogs that
// apache-arrow reads back, query nodes load them and replay only the log after the checkpoint, a
// data node that loses its buffers (a crash) loses nothing acknowledged, the growing → flushed handoff
// never hides or doubles a row under concurrent reads, GC removes what is dead and keeps what is live,
// and the log is truncated below every checkpoint.

import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { afterEach, describe, expect, it } from "vitest";
import { DataType } from "../../common/schema.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { Standalone, type StandaloneOptions } from "../../cluster/standalone.ts";
import { DataNode } from "../../datanode/data-node.ts";
import { EmbeddedLog } from "../../storage/log/embedded-log.ts";
import type { SegmentInfo } from "../../types/data-coord.ts";
import { scratchDir } from "../servers/ports.ts";

const running: Standalone[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()?.close();
});

const DIM = 4;
const fastLimits: Partial<StandaloneOptions> = {
  fsync: false,
  rootCoordLimits: { pchannelCount: 2 },
  computePoolLimits: { workerCount: 1 },
  timeSyncLimits: { tickIntervalMs: 20 },
  // Compaction would rewrite segments under the row-count checks; the compaction test runs it explicitly.
  dataCoordLimits: { sealCheckIntervalMs: 20, segmentAllocationExpiryMs: 250, segmentRowCountMax: 120, logRetentionIntervalMs: 50, compactionIntervalMs: 3_600_000 },
  dataNodeLimits: { checkpointIntervalMs: 30, bufferBytesMax: 8 * 1024 },
};

async function start(dataDir: string, options: Partial<StandaloneOptions> = {}): Promise<Standalone> {
  const node = await Standalone.start({ dataDir, ...fastLimits, onBackgroundError: (error) => console.log("background error", error), ...options });
  running.push(node);
  return node;
}

async function stop(node: Standalone): Promise<void> {
  running.splice(running.indexOf(node), 1);
  await node.close();
}

async function createCollection(vela: Standalone, name = "c", shardsNum = 2): Promise<bigint> {
  const info = await vela.rootCoord.createCollection({
    schema: {
      name,
      fields: [
        { name: "id", dataType: DataType.Int64, isPrimaryKey: true },
        { name: "v", dataType: DataType.FloatVector, dim: DIM },
        { name: "n", dataType: DataType.Int32 },
        { name: "s", dataType: DataType.VarChar, maxLength: 16 },
      ],
    },
    shardsNum,
  });
  return info.id;
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The oracle: the newest acknowledged version of each live key, and every version ever written. */
class Model {
  readonly live = new Map<bigint, { n: number; s: string; v: number[] }>();
  readonly versions: Array<{ id: bigint; ts: bigint; n: number }> = [];
  readonly deletes: Array<{ id: bigint; ts: bigint }> = [];
}

function shuffle<T>(random: SeededRandom, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function writeRandom(vela: Standalone, model: Model, random: SeededRandom, collectionName: string, batches: number): Promise<void> {
  let next = BigInt(model.versions.length + 1) * 1000n;
  for (let batch = 0; batch < batches; batch++) {
    const action = random.next();
    const liveKeys = [...model.live.keys()];
    if (action < 0.2 && liveKeys.length > 0) {
      const keys = shuffle(random, liveKeys).slice(0, random.int(1, 5));
      const result = await vela.proxy.delete({ collectionName, primaryKeys: keys });
      for (const id of keys) {
        model.live.delete(id);
        model.deletes.push({ id, ts: result.timestamp });
      }
      continue;
    }
    const upsert = action < 0.35 && liveKeys.length > 0;
    const ids = upsert ? shuffle(random, liveKeys).slice(0, random.int(1, 8)) : Array.from({ length: random.int(1, 30) }, () => next++);
    const rows = ids.map((id) => ({ id, n: random.int(0, 999), s: `s${random.int(0, 99)}`, v: Array.from({ length: DIM }, () => random.next()) }));
    const columns = { id: rows.map((row) => row.id), v: rows.map((row) => row.v), n: rows.map((row) => row.n), s: rows.map((row) => row.s) };
    const result = upsert ? await vela.proxy.upsert({ collectionName, columns }) : await vela.proxy.insert({ collectionName, columns });
    for (const row of rows) {
      model.live.set(row.id, { n: row.n, s: row.s, v: row.v });
      model.versions.push({ id: row.id, ts: result.timestamp, n: row.n });
    }
  }
}

async function expectServes(vela: Standalone, model: Model, collectionName = "c"): Promise<void> {
  const count = await vela.reader.count({ collectionName, consistencyLevel: "Strong" });
  if (count.count !== model.live.size && process.env.VELA_DEBUG) {
    const rows = await vela.reader.query({ collectionName, consistencyLevel: "Strong", outputFields: ["n"], limit: 16_384, filterKeys: [...model.live.keys()] });
    const got = new Set(rows.rows.map((row) => row.id as bigint));
    const missing = [...model.live.keys()].filter((id) => !got.has(id));
    const info = vela.rootCoord.describeCollection("default", collectionName).info;
    console.log("MISSING", missing.length, missing.slice(0, 10), "versions", model.versions.filter((v) => missing.includes(v.id)).slice(0, 5));
    for (const segment of vela.dataCoord.listSegments(info.id)) {
      const keys = new Set<bigint>();
      for (const log of segment.insertLogs.filter((entry) => entry.fieldId === 100)) {
        const table = tableFromIPC(await vela.objectStore.get(log.path));
        for (const id of table.getChild("pk")?.toArray() as BigInt64Array) keys.add(id);
      }
      console.log("SEGMENT", segment.id, segment.state, segment.numRows, segment.syncedOffset, segment.rowsAllocated, "missing here:", missing.filter((id) => keys.has(id)).length);
    }
    console.log("CHECKPOINTS", info.vchannels.map((v) => vela.dataCoord.checkpoint(v)), "sealed", vela.queryNode.sealedSegments(info.id));
  }
  expect(count.count).toBe(model.live.size);
  const rows = await vela.reader.query({ collectionName, consistencyLevel: "Strong", outputFields: ["n", "s"], limit: 16_384, filterKeys: [...model.live.keys()] });
  const got = new Map(rows.rows.map((row) => [row.id as bigint, { n: row.n as number, s: row.s as string }]));
  expect(got.size).toBe(model.live.size);
  for (const [id, row] of model.live) expect(got.get(id), `key ${id}`).toEqual({ n: row.n, s: row.s });
}

async function flushAll(vela: Standalone, collectionId: bigint): Promise<void> {
  const { segmentIds } = await vela.dataCoord.flush(collectionId);
  await until("flush", () => vela.dataCoord.flushState(segmentIds));
}

function segmentsOf(vela: Standalone, collectionId: bigint, state: SegmentInfo["state"]): SegmentInfo[] {
  return vela.dataCoord.listSegments(collectionId).filter((segment) => segment.state === state);
}

/**
 * Reads count, search (top `topk`) and query at Eventually in a loop while something changes the
 * segments underneath (a handoff, a compaction), with no writes meanwhile: every answer must show the
 * model's live rows exactly, none hidden, doubled or deleted. `stop` ends the loop and gives what failed.
 */
function readWhileChanging(vela: Standalone, model: Model, topk: number): { reads: () => number; failed: () => boolean; stop: () => Promise<string[]> } {
  let stopReading = false;
  let reads = 0;
  const failures: string[] = [];
  const keys = [...model.live.keys()];
  const query = new Float32Array(DIM).fill(0.5);
  const loop = (async () => {
    while (!stopReading) {
      let answers;
      try {
        answers = await Promise.all([
          vela.reader.count({ collectionName: "c", consistencyLevel: "Eventually" }),
          vela.reader.search({ collectionName: "c", consistencyLevel: "Eventually", annsField: "v", metricType: "L2", vectors: query, topk }),
          vela.reader.query({ collectionName: "c", consistencyLevel: "Eventually", outputFields: ["n"], limit: 16_384, filterKeys: keys }),
        ]);
      } catch (error) {
        failures.push(String(error));
        return;
      }
      const [count, search, rows] = answers;
      reads += 1;
      if (count.count !== model.live.size) failures.push(`count ${count.count} != ${model.live.size}`);
      const ids = (search.results[0] ?? []).map((hit) => hit.primaryKey);
      if (new Set(ids).size !== ids.length) failures.push("a search returned a key twice");
      if (ids.length !== Math.min(topk, model.live.size)) failures.push(`search returned ${ids.length} hits of ${Math.min(topk, model.live.size)}`);
      if (ids.some((id) => !model.live.has(id as bigint))) failures.push("a search returned a deleted key");
      if (rows.rows.length !== model.live.size) failures.push(`query returned ${rows.rows.length} of ${model.live.size} rows`);
    }
  })();
  return {
    reads: () => reads,
    failed: () => failures.length > 0,
    stop: async () => {
      stopReading = true;
      await loop;
      return failures;
    },
  };
}

describe("persistence", () => {
  it("flushed binlogs read back with apache-arrow hold every acknowledged version and tombstone; a restart serves them", async () => {
    const seed = testSeed();
    console.log(`persistence seed ${seed}`);
    const random = new SeededRandom(seed);
    const dataDir = scratchDir("persist-flush");
    let vela = await start(dataDir);
    const collectionId = await createCollection(vela);
    const model = new Model();
    await writeRandom(vela, model, random, "c", 40);
    await flushAll(vela, collectionId);

    // Every version ever acknowledged is in exactly one insert binlog row, with its timestamp.
    const flushed = segmentsOf(vela, collectionId, "flushed");
    expect(flushed.length).toBeGreaterThan(1);
    const seen = new Map<string, number>();
    const tombstones = new Set<string>();
    for (const segment of flushed) {
      expect(new Set(segment.insertLogs.map((log) => log.fieldId))).toEqual(new Set([100, 101, 102, 103].filter((id) => segment.insertLogs.some((log) => log.fieldId === id))));
      for (const log of segment.insertLogs.filter((entry) => entry.fieldId === 102)) {
        const table = tableFromIPC(await vela.objectStore.get(log.path));
        const pk = table.getChild("pk")?.toArray() as BigInt64Array;
        const ts = table.getChild("ts")?.toArray() as BigUint64Array;
        const value = table.getChild("value")?.toArray() as Int32Array;
        expect(table.numRows).toBe(log.rowCount);
        for (let row = 0; row < table.numRows; row++) {
          const key = `${pk[row]}@${ts[row]}=${value[row]}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
      }
      for (const log of segment.deltaLogs) {
        const table = tableFromIPC(await vela.objectStore.get(log.path));
        const pk = table.getChild("pk")?.toArray() as BigInt64Array;
        const ts = table.getChild("ts")?.toArray() as BigUint64Array;
        for (let row = 0; row < table.numRows; row++) tombstones.add(`${pk[row]}@${ts[row]}`);
      }
    }
    const expected = new Map<string, number>();
    for (const version of model.versions) expected.set(`${version.id}@${version.ts}=${version.n}`, 1);
    expect(seen).toEqual(expected);
    // Every delete of a key that had an older version is a tombstone in some delta log.
    for (const del of model.deletes) expect(tombstones.has(`${del.id}@${del.ts}`), `tombstone ${del.id}@${del.ts}`).toBe(true);

    await vela.queryCoord.loadCollection("default", "c");
    await expectServes(vela, model);
    await stop(vela);
    vela = await start(dataDir);
    await until("load", () => vela.queryCoord.loadState(collectionId) === "Loaded");
    await expectServes(vela, model);
    // Loaded from binlogs: the query node serves flushed segments as sealed copies.
    expect(vela.queryNode.sealedSegments(collectionId).length).toBe(segmentsOf(vela, collectionId, "flushed").length);
  });

  it("a data node that loses its buffers (a crash) loses nothing acknowledged: replay resumes at the checkpoint", async () => {
    const seed = testSeed();
    console.log(`persistence crash seed ${seed}`);
    const random = new SeededRandom(seed);
    const dataDir = scratchDir("persist-crash");
    for (let round = 0; round < 3; round++) {
      const model = new Model();
      let vela = await start(dataDir);
      const name = `c${round}`;
      const collectionId = await createCollection(vela, name);
      await vela.queryCoord.loadCollection("default", name);
      await writeRandom(vela, model, random, name, 30);
      // Some of it synced (small buffer budget, small segments), some only in buffers and the log.
      await until("a sync", () => vela.dataCoord.listSegments(collectionId).some((segment) => segment.insertLogs.length > 0));
      await writeRandom(vela, model, random, name, 10);
      await vela.dataNode.close({ flush: false }); // the buffers are gone, as in a crash
      await stop(vela);
      vela = await start(dataDir);
      await until("load", () => vela.queryCoord.loadState(collectionId) === "Loaded");
      await expectServes(vela, model, name);
      // The restarted data node picks up where the checkpoint says; a flush then completes.
      await writeRandom(vela, model, random, name, 5);
      await flushAll(vela, collectionId);
      await expectServes(vela, model, name);
      const rows = vela.dataCoord.listSegments(collectionId).filter((segment) => segment.state === "flushed").reduce((sum, segment) => sum + segment.numRows, 0);
      if (rows !== model.versions.length && process.env.VELA_DEBUG) {
        for (const segment of vela.dataCoord.listSegments(collectionId)) console.log("SEGMENT", segment.id, segment.vchannel, segment.state, "rows", segment.numRows, "synced", segment.syncedOffset, "alloc", segment.rowsAllocated, "expire", segment.lastExpireTs, "flushTs", segment.flushTs, "logs", segment.insertLogs.length);
        const info = (await vela.rootCoord.describeCollectionById(collectionId)).info;
        console.log("CHECKPOINTS", info.vchannels.map((v) => vela.dataCoord.checkpoint(v)), "sealed on query node", vela.queryNode.sealedSegments(collectionId));
      }
      expect(rows).toBe(model.versions.length);
      await stop(vela);
    }
  });

  it("hands growing segments off to their flushed copies without hiding or doubling a row under concurrent reads", async () => {
    const seed = testSeed();
    console.log(`handoff seed ${seed}`);
    const random = new SeededRandom(seed);
    const vela = await start(scratchDir("persist-handoff"), { dataCoordLimits: { ...fastLimits.dataCoordLimits, segmentRowCountMax: 100_000 }, dataNodeLimits: { checkpointIntervalMs: 30 } });
    const collectionId = await createCollection(vela);
    await vela.queryCoord.loadCollection("default", "c");
    const model = new Model();
    await writeRandom(vela, model, random, "c", 30);
    expect(vela.queryNode.sealedSegments(collectionId)).toEqual([]);
    // The readers below read at Eventually: the node must have applied every write first.
    expect((await vela.reader.count({ collectionName: "c", consistencyLevel: "Strong" })).count).toBe(model.live.size);

    const reader = readWhileChanging(vela, model, 1000);
    await until("reads before the flush", () => reader.reads() >= 3 || reader.failed());
    await flushAll(vela, collectionId);
    const flushedIds = segmentsOf(vela, collectionId, "flushed").map((segment) => segment.id).sort();
    expect(flushedIds.length).toBeGreaterThan(0);
    const sealedNow = (): string => vela.queryNode.sealedSegments(collectionId).sort().join(",");
    await until("handoff", () => sealedNow() === flushedIds.join(","));
    const readsAtHandoff = reader.reads();
    await until("reads after the handoff", () => reader.reads() >= readsAtHandoff + 3 || reader.failed());
    expect(await reader.stop()).toEqual([]);

    // Deletes and upserts after the handoff reach the sealed copies.
    await writeRandom(vela, model, random, "c", 20);
    await expectServes(vela, model);
  });

  it("garbage collection removes dropped collections' files and unreferenced binlogs, and keeps live ones", async () => {
    const vela = await start(scratchDir("persist-gc"), { dataCoordLimits: { ...fastLimits.dataCoordLimits, gcDroppedRetentionMs: 0, gcOrphanMinAgeMs: 0, gcIntervalMs: 3_600_000 } });
    const random = new SeededRandom(testSeed());
    const keptId = await createCollection(vela, "kept");
    const droppedId = await createCollection(vela, "dropped");
    const kept = new Model();
    await writeRandom(vela, kept, random, "kept", 10);
    await writeRandom(vela, new Model(), random, "dropped", 10);
    await flushAll(vela, keptId);
    await flushAll(vela, droppedId);
    const filesOf = async (collectionId: bigint): Promise<string[]> => {
      const out: string[] = [];
      for (const kind of ["insert_log", "delta_log", "stats_log"]) {
        for (let page = await vela.objectStore.list(`${kind}/${collectionId}/`); ; ) {
          out.push(...page.objects.map((object) => object.key));
          if (page.nextToken === undefined) break;
          page = await vela.objectStore.list(`${kind}/${collectionId}/`, { continuationToken: page.nextToken });
        }
      }
      return out.sort();
    };
    const keptFiles = await filesOf(keptId);
    expect(keptFiles.length).toBeGreaterThan(0);
    expect((await filesOf(droppedId)).length).toBeGreaterThan(0);
    // A crash between writing files and committing them leaves files no segment names.
    const orphan = `insert_log/${keptId}/0/424242/100/1`;
    await vela.objectStore.put(orphan, new Uint8Array([1, 2, 3]));

    await vela.rootCoord.dropCollection("default", "dropped");
    const deleted = await vela.dataCoord.gcPass();
    expect(deleted).toBeGreaterThan(0);
    expect(await filesOf(droppedId)).toEqual([]);
    expect(await filesOf(keptId)).toEqual(keptFiles);
    expect(vela.dataCoord.listSegments(droppedId)).toEqual([]);
    await vela.queryCoord.loadCollection("default", "kept");
    await expectServes(vela, kept, "kept");
  });

  it("truncates the log below every checkpoint, so disk use stays bounded under steady ingest", async () => {
    const dataDir = scratchDir("persist-retention");
    const open = (): Promise<EmbeddedLog> => EmbeddedLog.open({ dir: join(dataDir, "log"), fsync: false, limits: { embeddedSegmentBytesMax: 16 * 1024 } });
    let log = await open();
    let vela = await start(dataDir, { log });
    const collectionId = await createCollection(vela, "c", 1);
    await vela.queryCoord.loadCollection("default", "c");
    const random = new SeededRandom(testSeed());
    const model = new Model();
    const logBytes = (): number => {
      let total = 0;
      const walk = (dir: string): void => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) walk(path);
          else total += statSync(path).size;
        }
      };
      walk(join(dataDir, "log"));
      return total;
    };
    const sizes: number[] = [];
    for (let round = 0; round < 6; round++) {
      await writeRandom(vela, model, random, "c", 15);
      await flushAll(vela, collectionId);
      const pchannel = (await vela.rootCoord.describeCollectionById(collectionId)).info.pchannels[0] as string;
      const target = await vela.log.latestOffset(pchannel);
      // Retention follows the checkpoint (which moves with ticks once nothing is buffered).
      await until("truncation", async () => {
        await vela.dataCoord.retentionPass();
        return (await vela.log.earliestOffset(pchannel)) > 0 && (await vela.log.committed("vela-retention", pchannel) ?? 0) >= target - 50;
      });
      sizes.push(logBytes());
    }
    // Six rounds of ingest, yet the log holds about as much as after the first.
    expect(Math.max(...sizes.slice(1))).toBeLessThan(4 * (sizes[0] as number) + 64 * 1024);
    await stop(vela);
    await log.close();
    log = await open();
    vela = await start(dataDir, { log });
    try {
      await until("load", () => vela.queryCoord.loadState(collectionId) === "Loaded");
      await expectServes(vela, model);
    } finally {
      await stop(vela);
      await log.close();
    }
  });
});

describe("data node failover", () => {
  it("moves a dead data node's vchannels to a live one, which resumes from the checkpoint without losing a row", async () => {
    const seed = testSeed();
    console.log(`failover seed ${seed}`);
    const random = new SeededRandom(seed);
    const vela = await start(scratchDir("persist-failover"));
    const collectionId = await createCollection(vela);
    await vela.queryCoord.loadCollection("default", "c");
    const model = new Model();
    await writeRandom(vela, model, random, "c", 20);
    const first = vela.dataNode;
    const vchannels = first.watched();
    expect(vchannels.length).toBe(2);

    // A second data node joins; the first dies (its buffers are lost and its session ends).
    const second = new DataNode({
      nodeId: "second", sessionKey: "session/datanode/second", log: vela.log, objectStore: vela.objectStore, clock: vela.clock,
      dataCoord: vela.dataCoord, describeCollection: async (id) => (await vela.rootCoord.describeCollectionById(id)).info,
      allocIds: (count) => vela.rootCoord.allocIds(count), limits: fastLimits.dataNodeLimits ?? {},
    });
    await vela.metaStore.put("session/datanode/second", "alive");
    await vela.dataCoord.registerDataNode(second);
    expect(second.watched()).toEqual([]);
    await first.close({ flush: false });
    await vela.metaStore.delete(first.sessionKey);
    await vela.dataCoord.runPass();
    expect(second.watched().sort()).toEqual(vchannels.sort());
    for (const vchannel of vchannels) expect(vela.dataCoord.channelWatch(vchannel)?.nodeId).toBe("second");

    await writeRandom(vela, model, random, "c", 10);
    await flushAll(vela, collectionId);
    const rows = vela.dataCoord.listSegments(collectionId).filter((segment) => segment.state === "flushed").reduce((sum, segment) => sum + segment.numRows, 0);
    expect(rows).toBe(model.versions.length);
    await expectServes(vela, model);
    await second.close({ flush: false });
  });
});

describe("compaction", () => {
  it("merges small segments and drops deleted rows, with HNSW indexes rebuilt, without hiding or doubling a row under concurrent reads", async () => {
    const seed = testSeed();
    console.log(`compaction seed ${seed}`);
    const random = new SeededRandom(seed);
    const dataDir = scratchDir("persist-compaction");
    let vela = await start(dataDir, {
      dataCoordLimits: { ...fastLimits.dataCoordLimits, compactionIntervalMs: 3_600_000, compactionDeletedFractionMin: 0.1 },
      indexCoordLimits: { indexScheduleIntervalMs: 50 },
      // Tombstones on flushed segments reach their delta logs within a sync period; short here.
      dataNodeLimits: { ...fastLimits.dataNodeLimits, syncPeriodMs: 100 },
    });
    const collectionId = await createCollection(vela, "c", 1);
    const info = (await vela.rootCoord.describeCollectionById(collectionId)).info;
    await vela.indexCoord.createIndex({ collection: info, fieldName: "v", params: { index_type: "HNSW", metric_type: "L2", M: "8", efConstruction: "40" } });
    await vela.queryCoord.loadCollection("default", "c");
    const model = new Model();
    for (let round = 0; round < 3; round++) {
      await writeRandom(vela, model, random, "c", 8);
      await flushAll(vela, collectionId);
    }
    // Deletes spread over the flushed segments.
    const doomed = shuffle(random, [...model.live.keys()]).slice(0, Math.floor(model.live.size / 4));
    const deleted = await vela.proxy.delete({ collectionName: "c", primaryKeys: doomed });
    for (const id of doomed) {
      model.live.delete(id);
      model.deletes.push({ id, ts: deleted.timestamp });
    }
    await until("tombstones in delta logs", () => segmentsOf(vela, collectionId, "flushed").some((segment) => segment.deltaLogs.length > 0));
    const flushedBefore = segmentsOf(vela, collectionId, "flushed");
    expect(flushedBefore.length).toBeGreaterThan(1);
    const indexedAll = (): boolean => {
      const flushed = segmentsOf(vela, collectionId, "flushed").map((segment) => segment.id).sort();
      return flushed.every((id) => vela.indexCoord.segmentIndex(id, 101) !== undefined) && vela.queryNode.sealedSegments(collectionId).sort().join(",") === flushed.join(",");
    };
    await until("indexes and handoff", indexedAll, 60_000);
    expect((await vela.reader.count({ collectionName: "c", consistencyLevel: "Strong" })).count).toBe(model.live.size);

    const reader = readWhileChanging(vela, model, 10);
    await until("reads before compaction", () => reader.reads() >= 3 || reader.failed());
    const plans = vela.dataCoord.compactionPass();
    expect(plans.length).toBeGreaterThan(0);
    const sources = plans.flat();
    await until("compaction, index and handoff", () => {
      const done = sources.every((id) => vela.dataCoord.segment(id)?.state === "dropped");
      return done && indexedAll() && sources.every((id) => !vela.queryNode.sealedSegments(collectionId).includes(id));
    }, 60_000);
    const readsAt = reader.reads();
    await until("reads after compaction", () => reader.reads() >= readsAt + 3 || reader.failed());
    expect(await reader.stop()).toEqual([]);

    // The compacted segments hold exactly the surviving rows: every live version, no deleted one.
    const compacted = segmentsOf(vela, collectionId, "flushed").filter((segment) => segment.compactedFrom !== undefined);
    expect(compacted.length).toBeGreaterThan(0);
    for (const segment of compacted) {
      for (const log of segment.insertLogs.filter((entry) => entry.fieldId === 100)) {
        const table = tableFromIPC(await vela.objectStore.get(log.path));
        const pk = table.getChild("pk")?.toArray() as BigInt64Array;
        for (const id of pk) expect(doomed.includes(id), `deleted key ${id} in a compacted segment`).toBe(false);
      }
    }
    const liveRows = segmentsOf(vela, collectionId, "flushed").reduce((sum, segment) => sum + segment.numRows, 0);
    expect(liveRows).toBeLessThan(flushedBefore.reduce((sum, segment) => sum + segment.numRows, 0));
    await expectServes(vela, model);
    await stop(vela);
    vela = await start(dataDir);
    await until("reload", () => vela.queryCoord.loadState(collectionId) === "Loaded");
    await expectServes(vela, model);
  });
});
