// The root coordinator (DESIGN §1, §3, §4): timestamps, IDs and DDL — databases, collections,
// partitions, aliases — and the pchannel table.
//
// Invariants:
//  - Metadata changes are single MetaStore transactions guarded by compares, so a name is never taken
//    twice and a failed call stores nothing.
//  - DDL is serialized (one definition at a time, bounded queue) and every collection or partition
//    change is also appended to the collection's pchannels at the same timestamp as its metadata, so
//    consumers see DDL in log order relative to the rows around it.
//  - The in-memory catalog is a cache of the MetaStore, rebuilt on open; a write goes to the MetaStore
//    first and to the cache only after the transaction succeeded.

import type { Clock } from "../common/clock.ts";
import { rootCoordDefaults, resolveLimits, type RootCoordLimits } from "../common/config.ts";
import { ErrorCode, VelaError, invalidArgument, limitExceeded } from "../common/errors.ts";
import { MsgType } from "../common/msg-type.ts";
import { Mutex } from "../common/mutex.ts";
import {
  ConsistencyLevel, isConsistencyLevel, normalizeSchema, validateName,
  type CollectionSchemaInput,
} from "../common/schema.ts";
import type { Timestamp } from "../common/timestamp.ts";
import { encodeCollectionDdlMsg, encodePartitionDdlMsg } from "../proto/codec.ts";
import type { Log, LogMessage } from "../storage/log/log.ts";
import { decodeValue, type MetaStore, type TxnOp } from "../storage/meta/meta-store.ts";
import { ChannelWriter } from "../timesync/channel-writer.ts";
import {
  DEFAULT_DATABASE, DEFAULT_PARTITION, decodeRecord, encodeRecord, keys,
  type AliasInfo, type CollectionInfo, type DatabaseInfo, type PartitionInfo,
} from "./catalog.ts";
import { IdAllocator } from "./id-allocator.ts";
import { TimestampOracle } from "./tso.ts";
import type { RootCoordApi } from "../types/root-coord.ts";
import { rangeAll } from "../storage/meta/range-all.ts";

export interface RootCoordOptions {
  metaStore: MetaStore;
  log: Log;
  clock: Clock;
  /** The timestamp oracle, when the caller opened it already (time sync shares it); else one is opened. */
  tso?: TimestampOracle;
  /** Names the pchannels `<pchannelPrefix>_<i>`. */
  pchannelPrefix?: string;
  limits?: Partial<RootCoordLimits>;
  /** Channel writer bounds (timeSyncDefaults). */
  writerLimits: { pendingWritesMax: number; appendBatchMessagesMax: number; appendBatchBytesMax: number };
  /**
   * Registers the root coordinator's channel writer with time sync (and creates its session); DDL
   * waits for it. Tests and standalone wire it to TimeSync.register.
   */
  registerWriter: (writer: ChannelWriter) => Promise<void>;
}

export interface CreateCollectionRequest {
  dbName?: string;
  schema: CollectionSchemaInput;
  shardsNum?: number;
  consistencyLevel?: string;
  properties?: Record<string, string>;
}

export interface CollectionDescription {
  info: CollectionInfo;
  partitions: PartitionInfo[];
  aliases: string[];
}

export class RootCoord implements RootCoordApi {
  readonly tso: TimestampOracle;
  readonly pchannels: readonly string[];
  private readonly limits: RootCoordLimits;
  private readonly ddlMutex = new Mutex();
  private ddlQueued = 0;
  private readonly databases = new Map<string, DatabaseInfo>();
  private readonly collections = new Map<bigint, CollectionInfo>();
  private readonly collectionIdByName = new Map<string, bigint>();
  private readonly partitions = new Map<bigint, Map<string, PartitionInfo>>();
  private readonly aliases = new Map<string, AliasInfo>();

  private constructor(
    private readonly options: RootCoordOptions,
    limits: RootCoordLimits,
    tso: TimestampOracle,
    private readonly ids: IdAllocator,
    private readonly writer: ChannelWriter,
  ) {
    this.limits = limits;
    this.tso = tso;
    this.pchannels = pchannelNames(options.pchannelPrefix ?? "vela-dml", limits.pchannelCount);
  }

  static async open(options: RootCoordOptions): Promise<RootCoord> {
    const limits = resolveLimits(rootCoordDefaults, options.limits, "root coordinator");
    const tso = options.tso ?? await TimestampOracle.open({ metaStore: options.metaStore, clock: options.clock, windowMs: limits.tsoWindowMs });
    const ids = await IdAllocator.open({ metaStore: options.metaStore, windowSize: limits.idWindowSize, countMax: limits.allocationCountMax });
    const pchannels = pchannelNames(options.pchannelPrefix ?? "vela-dml", limits.pchannelCount);
    await Promise.all(pchannels.map((channel) => options.log.ensureChannel(channel)));
    const writer = new ChannelWriter({ sourceId: "rootcoord", log: options.log, tso, pchannels, ...options.writerLimits });
    const coord = new RootCoord(options, limits, tso, ids, writer);
    await coord.loadCatalog();
    await options.registerWriter(writer);
    if (!coord.databases.has(DEFAULT_DATABASE)) await coord.createDatabase(DEFAULT_DATABASE);
    return coord;
  }

  get channelWriter(): ChannelWriter {
    return this.writer;
  }

  // ---- timestamps and ids ----

  /** `count` consecutive timestamps; returns the first. */
  allocTimestamp(count = 1): Promise<Timestamp> {
    return this.tso.allocate(count);
  }

  /** `count` consecutive unique ids; returns the first. */
  allocIds(count = 1): Promise<bigint> {
    return this.ids.allocate(count);
  }

  // ---- databases ----

  createDatabase(name: string, properties: Record<string, string> = {}): Promise<DatabaseInfo> {
    return this.ddl(async () => {
      validateName("database", name);
      validateProperties(properties);
      if (this.databases.has(name)) throw new VelaError(ErrorCode.AlreadyExists, `database "${name}" already exists`);
      if (this.databases.size >= this.limits.databasesMax) throw limitExceeded(`cannot create database "${name}": the limit of ${this.limits.databasesMax} databases is reached`);
      const id = await this.ids.allocate(1);
      const info: DatabaseInfo = { id, name, createdTs: await this.tso.allocate(1), properties };
      await this.commit([{ key: keys.database(name), target: "exists", exists: false }], [{ type: "put", key: keys.database(name), value: encodeRecord(info) }], `database "${name}" already exists`);
      this.databases.set(name, info);
      return info;
    });
  }

  dropDatabase(name: string): Promise<void> {
    return this.ddl(async () => {
      if (name === DEFAULT_DATABASE) throw invalidArgument(`the "${DEFAULT_DATABASE}" database cannot be dropped`);
      this.database(name);
      const remaining = this.listCollectionsNow(name);
      if (remaining.length > 0) {
        throw invalidArgument(`database "${name}" still has ${remaining.length} collection(s); drop them first`);
      }
      await this.commit([], [{ type: "delete", key: keys.database(name) }, { type: "deletePrefix", prefix: keys.aliasPrefix(name) }]);
      this.databases.delete(name);
    });
  }

  listDatabases(): DatabaseInfo[] {
    return [...this.databases.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  // ---- collections ----

  createCollection(request: CreateCollectionRequest): Promise<CollectionInfo> {
    return this.ddl(async () => {
      const dbName = request.dbName ?? DEFAULT_DATABASE;
      this.database(dbName);
      const schema = normalizeSchema(request.schema);
      const shardsNum = request.shardsNum ?? this.limits.shardsPerCollectionDefault;
      if (!Number.isInteger(shardsNum) || shardsNum < 1 || shardsNum > this.limits.shardsPerCollectionMax) {
        throw invalidArgument(`shards_num must be an integer in [1, ${this.limits.shardsPerCollectionMax}], got ${String(shardsNum)}`);
      }
      const consistencyLevel = request.consistencyLevel ?? ConsistencyLevel.Bounded;
      if (!isConsistencyLevel(consistencyLevel)) {
        throw invalidArgument(`consistency level "${consistencyLevel}" is not one of ${Object.keys(ConsistencyLevel).join(", ")}`);
      }
      const properties = request.properties ?? {};
      validateProperties(properties);
      this.assertNameFree(dbName, schema.name);
      if (this.collections.size >= this.limits.collectionsMax) {
        throw limitExceeded(`cannot create collection "${schema.name}": the limit of ${this.limits.collectionsMax} collections is reached`);
      }

      const collectionId = await this.ids.allocate(1);
      const partitionId = await this.ids.allocate(1);
      const pchannels = this.pickPchannels(shardsNum);
      const vchannels = pchannels.map((pchannel, shard) => `${pchannel}_${collectionId}v${shard}`);
      const reservation = await this.writer.reserve(pchannels);
      try {
        const info: CollectionInfo = {
          id: collectionId, dbName, name: schema.name, schema, shardsNum, vchannels, pchannels,
          consistencyLevel, properties, createdTs: reservation.ts,
        };
        const partition: PartitionInfo = { id: partitionId, collectionId, name: DEFAULT_PARTITION, createdTs: reservation.ts };
        await this.commit(
          [{ key: keys.collectionName(dbName, schema.name), target: "exists", exists: false }, { key: keys.alias(dbName, schema.name), target: "exists", exists: false }],
          [
            { type: "put", key: keys.collection(dbName, collectionId), value: encodeRecord(info) },
            { type: "put", key: keys.collectionName(dbName, schema.name), value: collectionId.toString() },
            { type: "put", key: keys.partition(collectionId, partitionId), value: encodeRecord(partition) },
          ],
          `collection "${schema.name}" already exists`,
        );
        this.collections.set(collectionId, info);
        this.collectionIdByName.set(`${dbName}/${schema.name}`, collectionId);
        this.partitions.set(collectionId, new Map([[DEFAULT_PARTITION, partition]]));
        await reservation.append(this.ddlMessages(info, MsgType.CreateCollection, reservation.ts, encodeCollectionDdlMsg({
          collectionId, dbName, collectionName: schema.name, collectionInfo: encodeRecord(info),
        })));
        return info;
      } finally {
        reservation.cancel();
      }
    });
  }

  dropCollection(dbName: string, name: string): Promise<void> {
    return this.ddl(async () => {
      const info = this.collectionByName(dbName, name, { allowAlias: false });
      const aliases = this.aliasesOf(info.id);
      if (aliases.length > 0) {
        throw invalidArgument(`collection "${name}" still has aliases (${aliases.join(", ")}); drop them first`);
      }
      const reservation = await this.writer.reserve(info.pchannels);
      try {
        await this.commit([], [
          { type: "delete", key: keys.collection(info.dbName, info.id) },
          { type: "delete", key: keys.collectionName(info.dbName, info.name) },
          { type: "deletePrefix", prefix: keys.partitionPrefix(info.id) },
        ]);
        this.collections.delete(info.id);
        this.collectionIdByName.delete(`${info.dbName}/${info.name}`);
        this.partitions.delete(info.id);
        await reservation.append(this.ddlMessages(info, MsgType.DropCollection, reservation.ts, encodeCollectionDdlMsg({
          collectionId: info.id, dbName: info.dbName, collectionName: info.name, collectionInfo: "",
        })));
      } finally {
        reservation.cancel();
      }
    });
  }

  hasCollection(dbName: string, name: string): boolean {
    this.database(dbName);
    return this.collectionIdByName.has(`${dbName}/${name}`);
  }

  /** Resolves a collection by name or alias. */
  describeCollection(dbName: string, nameOrAlias: string): CollectionDescription {
    const info = this.collectionByName(dbName, nameOrAlias, { allowAlias: true });
    return this.describe(info);
  }

  describeCollectionById(collectionId: bigint): CollectionDescription {
    const info = this.collections.get(collectionId);
    if (info === undefined) throw new VelaError(ErrorCode.CollectionNotFound, `collection ${collectionId} not found`);
    return this.describe(info);
  }

  listCollections(dbName: string): CollectionInfo[] {
    this.database(dbName);
    return this.listCollectionsNow(dbName);
  }

  renameCollection(dbName: string, oldName: string, newName: string, newDbName?: string): Promise<void> {
    return this.ddl(async () => {
      const info = this.collectionByName(dbName, oldName, { allowAlias: false });
      const targetDb = newDbName === undefined || newDbName === "" ? dbName : newDbName;
      this.database(targetDb);
      validateName("collection", newName);
      this.assertNameFree(targetDb, newName);
      if (targetDb !== dbName && this.aliasesOf(info.id).length > 0) {
        throw invalidArgument(`collection "${oldName}" has aliases; drop them before moving it to another database`);
      }
      const renamed: CollectionInfo = { ...info, dbName: targetDb, name: newName, schema: { ...info.schema, name: newName } };
      await this.commit(
        [{ key: keys.collectionName(targetDb, newName), target: "exists", exists: false }, { key: keys.alias(targetDb, newName), target: "exists", exists: false }],
        [
          // Within one database the record keeps its key and is overwritten in place.
          ...(targetDb === dbName ? [] : [{ type: "delete", key: keys.collection(dbName, info.id) } as TxnOp]),
          { type: "delete", key: keys.collectionName(dbName, oldName) },
          { type: "put", key: keys.collection(targetDb, info.id), value: encodeRecord(renamed) },
          { type: "put", key: keys.collectionName(targetDb, newName), value: info.id.toString() },
        ],
        `collection "${newName}" already exists`,
      );
      this.collections.set(info.id, renamed);
      this.collectionIdByName.delete(`${dbName}/${oldName}`);
      this.collectionIdByName.set(`${targetDb}/${newName}`, info.id);
    });
  }

  // ---- partitions ----

  createPartition(dbName: string, collectionName: string, partitionName: string): Promise<PartitionInfo> {
    return this.ddl(async () => {
      const info = this.collectionByName(dbName, collectionName, { allowAlias: true });
      validateName("partition", partitionName);
      const partitions = this.partitions.get(info.id) ?? new Map<string, PartitionInfo>();
      if (partitions.has(partitionName)) throw new VelaError(ErrorCode.AlreadyExists, `partition "${partitionName}" already exists in collection "${info.name}"`);
      if (partitions.size >= this.limits.partitionsPerCollectionMax) {
        throw limitExceeded(`collection "${info.name}" has reached the limit of ${this.limits.partitionsPerCollectionMax} partitions`);
      }
      const partitionId = await this.ids.allocate(1);
      const reservation = await this.writer.reserve(info.pchannels);
      try {
        const partition: PartitionInfo = { id: partitionId, collectionId: info.id, name: partitionName, createdTs: reservation.ts };
        await this.commit(
          [{ key: keys.collection(info.dbName, info.id), target: "exists", exists: true }],
          [{ type: "put", key: keys.partition(info.id, partitionId), value: encodeRecord(partition) }],
          `collection "${info.name}" was dropped concurrently`,
        );
        partitions.set(partitionName, partition);
        this.partitions.set(info.id, partitions);
        await reservation.append(this.ddlMessages(info, MsgType.CreatePartition, reservation.ts, encodePartitionDdlMsg({
          collectionId: info.id, partitionId, partitionName,
        })));
        return partition;
      } finally {
        reservation.cancel();
      }
    });
  }

  dropPartition(dbName: string, collectionName: string, partitionName: string): Promise<void> {
    return this.ddl(async () => {
      const info = this.collectionByName(dbName, collectionName, { allowAlias: true });
      if (partitionName === DEFAULT_PARTITION) throw invalidArgument(`the "${DEFAULT_PARTITION}" partition cannot be dropped`);
      const partition = this.partition(info, partitionName);
      const reservation = await this.writer.reserve(info.pchannels);
      try {
        await this.commit([], [{ type: "delete", key: keys.partition(info.id, partition.id) }]);
        this.partitions.get(info.id)?.delete(partitionName);
        await reservation.append(this.ddlMessages(info, MsgType.DropPartition, reservation.ts, encodePartitionDdlMsg({
          collectionId: info.id, partitionId: partition.id, partitionName,
        })));
      } finally {
        reservation.cancel();
      }
    });
  }

  listPartitions(dbName: string, collectionName: string): PartitionInfo[] {
    const info = this.collectionByName(dbName, collectionName, { allowAlias: true });
    return [...(this.partitions.get(info.id)?.values() ?? [])].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  hasPartition(dbName: string, collectionName: string, partitionName: string): boolean {
    const info = this.collectionByName(dbName, collectionName, { allowAlias: true });
    return this.partitions.get(info.id)?.has(partitionName) ?? false;
  }

  /** The partition of a collection (resolved by name), or a PartitionNotFound error. */
  partition(info: CollectionInfo, partitionName: string): PartitionInfo {
    const partition = this.partitions.get(info.id)?.get(partitionName);
    if (partition === undefined) throw new VelaError(ErrorCode.PartitionNotFound, `partition "${partitionName}" not found in collection "${info.name}"`);
    return partition;
  }

  // ---- aliases ----

  createAlias(dbName: string, alias: string, collectionName: string): Promise<void> {
    return this.ddl(async () => {
      validateName("alias", alias);
      const info = this.collectionByName(dbName, collectionName, { allowAlias: false });
      if (this.aliases.has(`${dbName}/${alias}`)) throw new VelaError(ErrorCode.AlreadyExists, `alias "${alias}" already exists`);
      if (this.collectionIdByName.has(`${dbName}/${alias}`)) throw invalidArgument(`alias "${alias}" is the name of an existing collection`);
      const record: AliasInfo = { dbName, alias, collectionId: info.id, createdTs: await this.tso.allocate(1) };
      await this.commit(
        [{ key: keys.alias(dbName, alias), target: "exists", exists: false }, { key: keys.collectionName(dbName, alias), target: "exists", exists: false }],
        [{ type: "put", key: keys.alias(dbName, alias), value: encodeRecord(record) }],
        `alias "${alias}" already exists`,
      );
      this.aliases.set(`${dbName}/${alias}`, record);
    });
  }

  alterAlias(dbName: string, alias: string, collectionName: string): Promise<void> {
    return this.ddl(async () => {
      const existing = this.aliases.get(`${dbName}/${alias}`);
      if (existing === undefined) throw new VelaError(ErrorCode.AliasNotFound, `alias "${alias}" not found in database "${dbName}"`);
      const info = this.collectionByName(dbName, collectionName, { allowAlias: false });
      const record: AliasInfo = { ...existing, collectionId: info.id, createdTs: await this.tso.allocate(1) };
      await this.commit([{ key: keys.alias(dbName, alias), target: "exists", exists: true }], [{ type: "put", key: keys.alias(dbName, alias), value: encodeRecord(record) }], `alias "${alias}" was dropped concurrently`);
      this.aliases.set(`${dbName}/${alias}`, record);
    });
  }

  dropAlias(dbName: string, alias: string): Promise<void> {
    return this.ddl(async () => {
      if (!this.aliases.has(`${dbName}/${alias}`)) throw new VelaError(ErrorCode.AliasNotFound, `alias "${alias}" not found in database "${dbName}"`);
      await this.commit([], [{ type: "delete", key: keys.alias(dbName, alias) }]);
      this.aliases.delete(`${dbName}/${alias}`);
    });
  }

  describeAlias(dbName: string, alias: string): { alias: string; dbName: string; collectionName: string } {
    const record = this.aliases.get(`${dbName}/${alias}`);
    if (record === undefined) throw new VelaError(ErrorCode.AliasNotFound, `alias "${alias}" not found in database "${dbName}"`);
    const info = this.collections.get(record.collectionId);
    return { alias, dbName, collectionName: info?.name ?? "" };
  }

  listAliases(dbName: string, collectionName?: string): string[] {
    this.database(dbName);
    if (collectionName !== undefined && collectionName !== "") {
      const info = this.collectionByName(dbName, collectionName, { allowAlias: false });
      return this.aliasesOf(info.id);
    }
    return [...this.aliases.values()].filter((record) => record.dbName === dbName).map((record) => record.alias).sort();
  }

  async close(): Promise<void> {
    await this.ddlMutex.run(() => undefined);
    await this.writer.close();
  }

  // ---- internals ----

  private async ddl<T>(operation: () => Promise<T>): Promise<T> {
    if (this.ddlQueued >= this.limits.ddlQueueDepthMax) {
      throw limitExceeded(`too many definition requests are queued (limit ddlQueueDepthMax = ${this.limits.ddlQueueDepthMax}); retry later`);
    }
    this.ddlQueued += 1;
    try {
      return await this.ddlMutex.run(operation);
    } finally {
      this.ddlQueued -= 1;
    }
  }

  private async commit(compare: Parameters<MetaStore["txn"]>[0]["compare"], success: TxnOp[], conflictMessage = "metadata changed concurrently"): Promise<void> {
    const result = await this.options.metaStore.txn({ compare, success });
    if (!result.succeeded) throw new VelaError(ErrorCode.AlreadyExists, conflictMessage);
  }

  private database(name: string): DatabaseInfo {
    const info = this.databases.get(name);
    if (info === undefined) throw new VelaError(ErrorCode.DatabaseNotFound, `database "${name}" not found`);
    return info;
  }

  private collectionByName(dbName: string, name: string, options: { allowAlias: boolean }): CollectionInfo {
    this.database(dbName);
    if (typeof name !== "string" || name === "") throw invalidArgument("collection name must be a non-empty string");
    let id = this.collectionIdByName.get(`${dbName}/${name}`);
    if (id === undefined && options.allowAlias) id = this.aliases.get(`${dbName}/${name}`)?.collectionId;
    const info = id === undefined ? undefined : this.collections.get(id);
    if (info === undefined) throw new VelaError(ErrorCode.CollectionNotFound, `collection "${name}" not found in database "${dbName}"`);
    return info;
  }

  private describe(info: CollectionInfo): CollectionDescription {
    return {
      info,
      partitions: [...(this.partitions.get(info.id)?.values() ?? [])].sort((a, b) => (a.id < b.id ? -1 : 1)),
      aliases: this.aliasesOf(info.id),
    };
  }

  private aliasesOf(collectionId: bigint): string[] {
    return [...this.aliases.values()].filter((record) => record.collectionId === collectionId).map((record) => record.alias).sort();
  }

  private listCollectionsNow(dbName: string): CollectionInfo[] {
    return [...this.collections.values()].filter((info) => info.dbName === dbName).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  private assertNameFree(dbName: string, name: string): void {
    if (this.collectionIdByName.has(`${dbName}/${name}`)) throw new VelaError(ErrorCode.AlreadyExists, `collection "${name}" already exists in database "${dbName}"`);
    if (this.aliases.has(`${dbName}/${name}`)) throw invalidArgument(`"${name}" is already an alias in database "${dbName}"`);
  }

  /** The least used pchannels (by collections' shards), ties broken by index: spreads load evenly. */
  private pickPchannels(count: number): string[] {
    const usage = new Map<string, number>(this.pchannels.map((channel) => [channel, 0]));
    for (const info of this.collections.values()) {
      for (const channel of info.pchannels) usage.set(channel, (usage.get(channel) ?? 0) + 1);
    }
    const ranked = [...this.pchannels].sort((a, b) => (usage.get(a) ?? 0) - (usage.get(b) ?? 0) || this.pchannels.indexOf(a) - this.pchannels.indexOf(b));
    return ranked.slice(0, count);
  }

  private ddlMessages(info: CollectionInfo, type: MsgType, ts: Timestamp, payload: Uint8Array): Map<string, LogMessage[]> {
    const messages = new Map<string, LogMessage[]>();
    info.vchannels.forEach((vchannel, shard) => {
      const pchannel = info.pchannels[shard] as string;
      const list = messages.get(pchannel) ?? [];
      list.push({ header: { type, collectionId: info.id, vchannel, beginTs: ts, endTs: ts }, payload });
      messages.set(pchannel, list);
    });
    return messages;
  }

  private async loadCatalog(): Promise<void> {
    const store = this.options.metaStore;
    for (const kv of await rangeAll(store, keys.databasePrefix())) {
      const info = decodeRecord<DatabaseInfo>(decodeValue(kv.value), kv.key);
      this.databases.set(info.name, info);
    }
    for (const kv of await rangeAll(store, keys.collectionPrefix())) {
      const info = decodeRecord<CollectionInfo>(decodeValue(kv.value), kv.key);
      this.collections.set(info.id, info);
      this.collectionIdByName.set(`${info.dbName}/${info.name}`, info.id);
    }
    for (const kv of await rangeAll(store, keys.partitionPrefix())) {
      const info = decodeRecord<PartitionInfo>(decodeValue(kv.value), kv.key);
      const partitions = this.partitions.get(info.collectionId) ?? new Map<string, PartitionInfo>();
      partitions.set(info.name, info);
      this.partitions.set(info.collectionId, partitions);
    }
    for (const kv of await rangeAll(store, keys.aliasPrefix())) {
      const info = decodeRecord<AliasInfo>(decodeValue(kv.value), kv.key);
      this.aliases.set(`${info.dbName}/${info.alias}`, info);
    }
  }
}

export function pchannelNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}_${index}`);
}

function validateProperties(properties: Record<string, string>): void {
  if (typeof properties !== "object" || properties === null) throw invalidArgument("properties must be an object of strings");
  for (const [key, value] of Object.entries(properties)) {
    if (typeof value !== "string") throw invalidArgument(`property "${key}" must be a string`);
  }
}
