import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../common/clock.ts";
import { timeSyncDefaults } from "../common/config.ts";
import { ErrorCode, VelaError } from "../common/errors.ts";
import { MsgType } from "../common/msg-type.ts";
import { DataType, type CollectionSchemaInput } from "../common/schema.ts";
import { decodeCollectionDdlMsg, decodePartitionDdlMsg } from "../proto/codec.ts";
import { EmbeddedMetaStore } from "../storage/meta/embedded-meta-store.ts";
import { MemoryLog } from "../test/sim/memory-log.ts";
import { scratchDir } from "../test/servers/ports.ts";
import { RootCoord } from "./root-coord.ts";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

const writerLimits = {
  pendingWritesMax: timeSyncDefaults.pendingWritesMax,
  appendBatchMessagesMax: timeSyncDefaults.appendBatchMessagesMax,
  appendBatchBytesMax: timeSyncDefaults.appendBatchBytesMax,
};

async function open(dir = scratchDir("rootcoord"), log = new MemoryLog()): Promise<{ coord: RootCoord; store: EmbeddedMetaStore; log: MemoryLog; dir: string }> {
  const clock = new ManualClock();
  const store = await EmbeddedMetaStore.open({ dir, clock });
  const coord = await RootCoord.open({ metaStore: store, log, clock, writerLimits, registerWriter: async () => {}, limits: { pchannelCount: 4 } });
  closers.push(async () => {
    await coord.close();
    await store.close();
  });
  return { coord, store, log, dir };
}

const schema = (name = "books"): CollectionSchemaInput => ({
  name,
  fields: [
    { name: "id", dataType: DataType.Int64, isPrimaryKey: true },
    { name: "embedding", dataType: DataType.FloatVector, dim: 4 },
    { name: "title", dataType: DataType.VarChar, maxLength: 100 },
  ],
});

async function expectCode(promise: Promise<unknown> | (() => unknown), code: string, message?: RegExp): Promise<void> {
  let error: unknown;
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (caught) {
    error = caught;
  }
  expect(error, "expected an error").toBeInstanceOf(VelaError);
  expect((error as VelaError).code).toBe(code);
  if (message !== undefined) expect((error as VelaError).message).toMatch(message);
}

describe("root coordinator DDL", () => {
  it("creates collections with vchannels on the pchannel pool and announces them in the log", async () => {
    const { coord, log } = await open();
    const info = await coord.createCollection({ schema: schema(), shardsNum: 2, consistencyLevel: "Strong" });
    expect(info.vchannels).toHaveLength(2);
    expect(info.pchannels).toEqual(["vela-dml_0", "vela-dml_1"]);
    expect(info.vchannels[0]).toBe(`vela-dml_0_${info.id}v0`);
    expect(info.consistencyLevel).toBe("Strong");
    // The next collection goes to the least used pchannels.
    const second = await coord.createCollection({ schema: schema("films") });
    expect(second.pchannels).toEqual(["vela-dml_2"]);
    for (const [shard, pchannel] of info.pchannels.entries()) {
      const ddl = log.records(pchannel).filter((record) => record.header.type === MsgType.CreateCollection);
      expect(ddl).toHaveLength(1);
      expect(ddl[0]!.header.vchannel).toBe(info.vchannels[shard]);
      expect(ddl[0]!.header.beginTs).toBe(info.createdTs);
      expect(decodeCollectionDdlMsg(ddl[0]!.payload).collectionName).toBe("books");
    }
    const description = coord.describeCollection("default", "books");
    expect(description.partitions.map((partition) => partition.name)).toEqual(["_default"]);
    expect(coord.listCollections("default").map((collection) => collection.name)).toEqual(["books", "films"]);
    expect(coord.hasCollection("default", "books")).toBe(true);
  });

  it("rejects bad requests and stores nothing", async () => {
    const { coord, store, log } = await open();
    const revision = await store.revision();
    const before = log.channelNames().map((channel) => log.records(channel).length);
    await expectCode(coord.createCollection({ schema: { ...schema(), name: "9bad" } }), ErrorCode.InvalidArgument, /invalid/);
    await expectCode(coord.createCollection({ schema: schema(), shardsNum: 17 }), ErrorCode.InvalidArgument, /shards_num/);
    await expectCode(coord.createCollection({ schema: schema(), consistencyLevel: "Sometimes" }), ErrorCode.InvalidArgument, /consistency level/);
    await expectCode(coord.createCollection({ dbName: "nope", schema: schema() }), ErrorCode.DatabaseNotFound, /database "nope" not found/);
    const badDim = schema();
    badDim.fields[1] = { name: "embedding", dataType: DataType.FloatVector, dim: 1 };
    await expectCode(coord.createCollection({ schema: badDim }), ErrorCode.InvalidArgument, /dim/);
    expect(await store.revision()).toBe(revision);
    expect(log.channelNames().map((channel) => log.records(channel).length)).toEqual(before);
    await coord.createCollection({ schema: schema() });
    await expectCode(coord.createCollection({ schema: schema() }), ErrorCode.AlreadyExists, /already exists/);
    await expectCode(() => coord.describeCollection("default", "missing"), ErrorCode.CollectionNotFound, /collection "missing" not found/);
  });

  it("manages partitions, aliases, renames and drops", async () => {
    const { coord, log } = await open();
    const info = await coord.createCollection({ schema: schema() });
    const partition = await coord.createPartition("default", "books", "p2024");
    expect(coord.listPartitions("default", "books").map((p) => p.name)).toEqual(["_default", "p2024"]);
    expect(coord.hasPartition("default", "books", "p2024")).toBe(true);
    const created = log.records(info.pchannels[0]!).filter((record) => record.header.type === MsgType.CreatePartition);
    expect(decodePartitionDdlMsg(created[0]!.payload)).toEqual({ collectionId: info.id, partitionId: partition.id, partitionName: "p2024" });
    await expectCode(coord.createPartition("default", "books", "p2024"), ErrorCode.AlreadyExists);
    await expectCode(coord.dropPartition("default", "books", "_default"), ErrorCode.InvalidArgument, /cannot be dropped/);
    await coord.dropPartition("default", "books", "p2024");
    expect(coord.hasPartition("default", "books", "p2024")).toBe(false);

    await coord.createCollection({ schema: schema("films") });
    await coord.createAlias("default", "library", "books");
    expect(coord.describeCollection("default", "library").info.id).toBe(info.id);
    expect(coord.describeAlias("default", "library")).toEqual({ alias: "library", dbName: "default", collectionName: "books" });
    await expectCode(coord.createAlias("default", "films", "books"), ErrorCode.InvalidArgument, /name of an existing collection/);
    await expectCode(coord.createAlias("default", "library", "films"), ErrorCode.AlreadyExists);
    await coord.alterAlias("default", "library", "films");
    expect(coord.describeCollection("default", "library").info.name).toBe("films");
    expect(coord.listAliases("default")).toEqual(["library"]);
    await expectCode(coord.dropCollection("default", "films"), ErrorCode.InvalidArgument, /still has aliases/);
    await coord.dropAlias("default", "library");
    await expectCode(coord.dropAlias("default", "library"), ErrorCode.AliasNotFound);

    await coord.renameCollection("default", "books", "novels");
    expect(coord.hasCollection("default", "books")).toBe(false);
    expect(coord.describeCollection("default", "novels").info.id).toBe(info.id);
    await coord.dropCollection("default", "novels");
    expect(coord.hasCollection("default", "novels")).toBe(false);
    expect(log.records(info.pchannels[0]!).some((record) => record.header.type === MsgType.DropCollection)).toBe(true);
  });

  it("manages databases: default always exists, non-empty ones cannot be dropped", async () => {
    const { coord } = await open();
    expect(coord.listDatabases().map((db) => db.name)).toEqual(["default"]);
    await coord.createDatabase("analytics");
    await coord.createCollection({ dbName: "analytics", schema: schema() });
    await coord.createCollection({ schema: schema() }); // same name, other database
    await expectCode(coord.dropDatabase("analytics"), ErrorCode.InvalidArgument, /still has 1 collection/);
    await expectCode(coord.dropDatabase("default"), ErrorCode.InvalidArgument, /cannot be dropped/);
    await expectCode(coord.createDatabase("analytics"), ErrorCode.AlreadyExists);
    await coord.dropCollection("analytics", "books");
    await coord.dropDatabase("analytics");
    expect(coord.listDatabases().map((db) => db.name)).toEqual(["default"]);
  });

  it("recovers a catalog larger than one range of the MetaStore", async () => {
    const dir = scratchDir("rootcoord-paged");
    const openSmall = async (): Promise<{ coord: RootCoord; store: EmbeddedMetaStore }> => {
      const clock = new ManualClock();
      const store = await EmbeddedMetaStore.open({ dir, clock, limits: { rangeKeysMax: 3 } });
      const coord = await RootCoord.open({ metaStore: store, log: new MemoryLog(), clock, writerLimits, registerWriter: async () => {}, limits: { pchannelCount: 4 } });
      closers.push(async () => {
        await coord.close();
        await store.close();
      });
      return { coord, store };
    };
    const first = await openSmall();
    for (let i = 0; i < 7; i++) await first.coord.createCollection({ schema: schema(`c${i}`) });
    for (let i = 0; i < 4; i++) await first.coord.createPartition("default", "c0", `p${i}`);
    await closers.pop()?.();
    const second = await openSmall();
    expect(second.coord.listCollections("default").map((info) => info.name)).toEqual(["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
    expect(second.coord.listPartitions("default", "c0").map((partition) => partition.name)).toEqual(["_default", "p0", "p1", "p2", "p3"]);
  });

  it("recovers the whole catalog from the MetaStore after a restart", async () => {
    const dir = scratchDir("rootcoord-restart");
    const first = await open(dir);
    await first.coord.createDatabase("db2");
    const info = await first.coord.createCollection({ dbName: "db2", schema: { ...schema(), enableDynamicField: true }, shardsNum: 3 });
    await first.coord.createPartition("db2", "books", "p1");
    await first.coord.createAlias("db2", "b", "books");
    const lastTs = await first.coord.allocTimestamp();
    await closers.pop()?.();

    const second = await open(dir);
    const description = second.coord.describeCollection("db2", "b");
    expect(description.info).toEqual(info);
    expect(description.partitions.map((partition) => partition.name)).toEqual(["_default", "p1"]);
    expect(description.aliases).toEqual(["b"]);
    expect((await second.coord.allocTimestamp()) > lastTs).toBe(true);
    const nextId = await second.coord.allocIds();
    expect(nextId > info.id).toBe(true);
  });
});
