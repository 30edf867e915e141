import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../common/clock.ts";
import { timeSyncDefaults } from "../common/config.ts";
import { ErrorCode } from "../common/errors.ts";
import { MsgType } from "../common/msg-type.ts";
import { DataType } from "../common/schema.ts";
import { RootCoord } from "../coord/root-coord.ts";
import { DataCoord } from "../coord/data-coord.ts";
import { LocalObjectStore } from "../storage/object/local-object-store.ts";
import { decodeDeleteMsg, decodeInsertMsg } from "../proto/codec.ts";
import { EmbeddedMetaStore } from "../storage/meta/embedded-meta-store.ts";
import { ChannelWriter } from "../timesync/channel-writer.ts";
import { MemoryLog } from "../test/sim/memory-log.ts";
import { scratchDir } from "../test/servers/ports.ts";
import { shardOfKey } from "./hash.ts";
import { Proxy } from "./proxy.ts";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

const writerLimits = {
  pendingWritesMax: timeSyncDefaults.pendingWritesMax,
  appendBatchMessagesMax: timeSyncDefaults.appendBatchMessagesMax,
  appendBatchBytesMax: timeSyncDefaults.appendBatchBytesMax,
};

async function setup(): Promise<{ proxy: Proxy; rootCoord: RootCoord; log: MemoryLog; segments: DataCoord }> {
  const clock = new ManualClock();
  const store = await EmbeddedMetaStore.open({ dir: scratchDir("proxy"), clock });
  const log = new MemoryLog();
  const rootCoord = await RootCoord.open({ metaStore: store, log, clock, writerLimits, registerWriter: async () => {}, limits: { pchannelCount: 4 } });
  const objectStore = await LocalObjectStore.open({ dir: scratchDir("proxy-objects") });
  const segments = await DataCoord.open({
    metaStore: store, clock, log, objectStore, allocateId: () => rootCoord.allocIds(1), allocTimestamp: () => rootCoord.allocTimestamp(),
    collectionExists: async () => true, limits: { segmentRowCountMax: 7 },
  });
  const writer = new ChannelWriter({ sourceId: "proxy-1", log, tso: rootCoord.tso, pchannels: rootCoord.pchannels, ...writerLimits });
  const proxy = new Proxy({ rootCoord, segmentAllocator: segments, writer });
  closers.push(async () => {
    await writer.close();
    await rootCoord.close();
    await store.close();
  });
  await rootCoord.createCollection({
    schema: {
      name: "docs",
      enableDynamicField: true,
      fields: [
        { name: "id", dataType: DataType.Int64, isPrimaryKey: true },
        { name: "vec", dataType: DataType.FloatVector, dim: 2 },
        { name: "tag", dataType: DataType.VarChar, maxLength: 10 },
      ],
    },
    shardsNum: 3,
  });
  await rootCoord.createCollection({
    schema: { name: "auto", autoId: true, fields: [{ name: "id", dataType: DataType.Int64, isPrimaryKey: true }, { name: "vec", dataType: DataType.FloatVector, dim: 2 }] },
  });
  return { proxy, rootCoord, log, segments };
}

function dataRecords(log: MemoryLog): Array<{ channel: string; type: number; ts: bigint; vchannel: string; payload: Uint8Array }> {
  return log.channelNames().flatMap((channel) => log.records(channel)
    .filter((record) => record.header.type === MsgType.Insert || record.header.type === MsgType.Delete)
    .map((record) => ({ channel, type: record.header.type, ts: record.header.beginTs, vchannel: record.header.vchannel, payload: record.payload })));
}

describe("proxy write path", () => {
  it("hashes rows to shards, splits them over segment quotas, and stamps one timestamp", async () => {
    const { proxy, rootCoord, log } = await setup();
    const ids = Array.from({ length: 20 }, (_, i) => i + 1);
    const result = await proxy.insert({
      collectionName: "docs",
      columns: { id: ids, vec: ids.map((i) => [i, -i]), tag: ids.map((i) => `t${i}`), color: ids.map((i) => (i % 2 === 0 ? "red" : "blue")) },
    });
    expect(result.count).toBe(20);
    const info = rootCoord.describeCollection("default", "docs").info;
    const records = dataRecords(log);
    expect(new Set(records.map((record) => record.ts))).toEqual(new Set([result.timestamp]));
    const seen: bigint[] = [];
    const segmentRows = new Map<bigint, number>();
    for (const record of records) {
      const msg = decodeInsertMsg(record.payload);
      const shard = info.vchannels.indexOf(record.vchannel);
      expect(record.channel).toBe(info.pchannels[shard]);
      segmentRows.set(msg.segmentId, (segmentRows.get(msg.segmentId) ?? 0) + msg.rowCount);
      const keys = msg.columns[0]!.values as BigInt64Array;
      for (const key of keys) {
        expect(shardOfKey(key, 3)).toBe(shard);
        seen.push(key);
      }
      const meta = msg.columns[3]!.values as Uint8Array[];
      expect(JSON.parse(new TextDecoder().decode(meta[0]))).toHaveProperty("color");
    }
    expect(seen.sort((a, b) => Number(a - b))).toEqual(ids.map(BigInt));
    for (const rows of segmentRows.values()) expect(rows).toBeLessThanOrEqual(7);
  });

  it("assigns auto IDs and returns them", async () => {
    const { proxy, log } = await setup();
    const result = await proxy.insert({ collectionName: "auto", columns: { vec: [[1, 2], [3, 4], [5, 6]] } });
    const keys = result.primaryKeys as BigInt64Array;
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(3);
    const msg = decodeInsertMsg(dataRecords(log)[0]!.payload);
    expect(msg.columns[0]!.values).toEqual(keys);
  });

  it("upserts as deletes then inserts at one timestamp, and deletes by key", async () => {
    const { proxy, log } = await setup();
    const upsert = await proxy.upsert({ collectionName: "docs", columns: { id: [5, 6], vec: [[1, 1], [2, 2]], tag: ["a", "b"] } });
    const records = dataRecords(log);
    for (const channel of new Set(records.map((record) => record.channel))) {
      const types = records.filter((record) => record.channel === channel).map((record) => record.type);
      expect(types[0]).toBe(MsgType.Delete);
      expect(types).toContain(MsgType.Insert);
    }
    expect(new Set(records.map((record) => record.ts))).toEqual(new Set([upsert.timestamp]));
    const deleted = await proxy.delete({ collectionName: "docs", primaryKeys: [5, 99] });
    expect(deleted.timestamp > upsert.timestamp).toBe(true);
    const deletes = dataRecords(log).filter((record) => record.ts === deleted.timestamp);
    const keys = deletes.flatMap((record) => [...(decodeDeleteMsg(record.payload).primaryKeys.values as BigInt64Array)]);
    expect(keys.sort()).toEqual([5n, 99n]);
    await expect(proxy.upsert({ collectionName: "docs", columns: { id: [1, 1], vec: [[1, 1], [2, 2]], tag: ["a", "b"] } }))
      .rejects.toMatchObject({ code: ErrorCode.InvalidArgument, message: expect.stringMatching(/appears twice/) });
  });

  it("publishes nothing when a request is invalid", async () => {
    const { proxy, log } = await setup();
    const before = dataRecords(log).length;
    const cases: Array<[Promise<unknown>, string, RegExp]> = [
      [proxy.insert({ collectionName: "docs", columns: { id: [1], vec: [[1, 2, 3]], tag: ["a"] } }), ErrorCode.InvalidArgument, /dim is 2/],
      [proxy.insert({ collectionName: "docs", columns: { id: [1], vec: [[1, Number.NaN]], tag: ["a"] } }), ErrorCode.InvalidArgument, /NaN/],
      [proxy.insert({ collectionName: "docs", columns: { id: [1], vec: [[1, 2]], tag: ["this is too long"] } }), ErrorCode.InvalidArgument, /max_length/],
      [proxy.insert({ collectionName: "nope", columns: { id: [1] } }), ErrorCode.CollectionNotFound, /not found/],
      [proxy.insert({ collectionName: "docs", partitionName: "nope", columns: { id: [1], vec: [[1, 2]], tag: ["a"] } }), ErrorCode.PartitionNotFound, /partition "nope"/],
      [proxy.insert({ collectionName: "auto", columns: { id: [1], vec: [[1, 2]] } }), ErrorCode.InvalidArgument, /auto-generated/],
      [proxy.delete({ collectionName: "docs", primaryKeys: ["x"] }), ErrorCode.InvalidArgument, /64-bit integer/],
      [proxy.insert({ collectionName: "", columns: {} }), ErrorCode.InvalidArgument, /non-empty/],
    ];
    for (const [promise, code, message] of cases) await expect(promise).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    expect(dataRecords(log).length).toBe(before);
  });
});
