// The proxy's write path (DESIGN §5): validate → auto IDs → hash primary keys to shards → segment
// quotas from the data coordinator → one timestamp for the whole request → InsertMsg / DeleteMsg per
// shard and segment → append through the channel writer → acknowledge once durable.
//
// Invariants: a request that fails validation publishes nothing; every message of one request carries
// the same timestamp (an upsert's deletes and inserts too, deletes first); the acknowledgement comes
// only after every message is durable in the log.

import { proxyDefaults, resolveLimits, type ProxyLimits } from "../common/config.ts";
import { gatherColumn, type Column } from "../common/columns.ts";
import { ErrorCode, VelaError, invalidArgument } from "../common/errors.ts";
import { MsgType } from "../common/msg-type.ts";
import { DataType, primaryKeyField, type CollectionSchema } from "../common/schema.ts";
import type { Timestamp } from "../common/timestamp.ts";
import { DEFAULT_DATABASE, DEFAULT_PARTITION, type CollectionInfo } from "../coord/catalog.ts";
import type { SegmentAllocatorApi } from "../coord/data-coord.ts";
import { encodeDeleteMsg, encodeInsertMsg } from "../proto/codec.ts";
import type { LogMessage } from "../storage/log/log.ts";
import type { ChannelWriter } from "../timesync/channel-writer.ts";
import type { RootCoordApi } from "../types/root-coord.ts";
import { shardOfKey } from "./hash.ts";
import { validatePrimaryKeys, validateRows, type ColumnInput } from "./validate-insert.ts";

export interface ProxyOptions {
  rootCoord: RootCoordApi;
  segmentAllocator: SegmentAllocatorApi;
  writer: ChannelWriter;
  limits?: Partial<ProxyLimits>;
}

export interface InsertRequest {
  dbName?: string;
  collectionName: string;
  partitionName?: string;
  /** Field name → one value per row (see validate-insert.ts for accepted shapes). */
  columns: Record<string, ColumnInput>;
}

export interface DeleteRequest {
  dbName?: string;
  collectionName: string;
  partitionName?: string;
  primaryKeys: ArrayLike<unknown>;
}

export interface MutationResult {
  /** Primary keys written or deleted, in request order. */
  primaryKeys: BigInt64Array | string[];
  count: number;
  /** The timestamp every message of the request carries (the client's session timestamp). */
  timestamp: Timestamp;
}

export class Proxy {
  readonly limits: ProxyLimits;

  constructor(private readonly options: ProxyOptions) {
    this.limits = resolveLimits(proxyDefaults, options.limits, "proxy");
  }

  insert(request: InsertRequest): Promise<MutationResult> {
    return this.write(request, "insert");
  }

  /** Replaces rows by primary key: tombstones and new rows at one timestamp. */
  upsert(request: InsertRequest): Promise<MutationResult> {
    return this.write(request, "upsert");
  }

  async delete(request: DeleteRequest): Promise<MutationResult> {
    const { info, partitionId } = await this.resolve(request.dbName, request.collectionName, request.partitionName, true);
    const pkField = primaryKeyField(info.schema);
    const keys = validatePrimaryKeys(pkField, request.primaryKeys, this.limits);
    const perShard = splitByShard(keys, info.shardsNum);
    const messages = new Map<string, LogMessage[]>();
    for (const [shard, rows] of perShard) {
      const vchannel = info.vchannels[shard] as string;
      const payload = encodeDeleteMsg({ collectionId: info.id, partitionId: partitionId ?? 0n, vchannel, rowCount: rows.length, primaryKeys: gatherColumn(keys, rows) });
      pushMessage(messages, info.pchannels[shard] as string, { type: MsgType.Delete, collectionId: info.id, vchannel }, payload);
    }
    const timestamp = await this.publish(messages);
    return { primaryKeys: keyValues(keys), count: rowsOf(keys), timestamp };
  }

  private async write(request: InsertRequest, mode: "insert" | "upsert"): Promise<MutationResult> {
    const { info, partitionId } = await this.resolve(request.dbName, request.collectionName, request.partitionName, false);
    const schema = info.schema;
    const pkField = primaryKeyField(schema);
    const rowCountHint = countRows(schema, request.columns);
    // Upserts name the rows they replace, so they always carry their primary keys.
    const useAutoIds = pkField.autoId && mode === "insert";
    const autoIds = useAutoIds && rowCountHint > 0 && rowCountHint <= this.limits.insertBatchRowsMax
      ? await this.allocateAutoIds(rowCountHint)
      : undefined;
    const rows = validateRows(schema, request.columns, this.limits, { ...(autoIds === undefined ? {} : { autoIds }), requirePrimaryKey: true });
    const pkIndex = schema.fields.indexOf(pkField);
    const pkColumn = rows.columns[pkIndex] as Column;
    if (mode === "upsert") assertUniqueKeys(pkColumn);

    const perShard = splitByShard(pkColumn, info.shardsNum);
    // A grant is valid until its expireTs; in the rare case that stamping comes later (a stalled
    // process), the rows go to fresh grants: a sealed segment may be flushing already.
    for (let attempt = 1; ; attempt++) {
      const { messages, expireTs } = await this.buildInsertMessages(info, partitionId, mode, rows.columns, pkColumn, perShard);
      const timestamp = await this.publish(messages, expireTs);
      if (timestamp !== undefined) return { primaryKeys: keyValues(pkColumn), count: rows.rowCount, timestamp };
      if (attempt >= 3) throw new VelaError(ErrorCode.Unavailable, "segment quotas expired before the rows could be stamped, three times; the system is overloaded, retry later");
    }
  }

  private async buildInsertMessages(info: CollectionInfo, partitionId: bigint, mode: "insert" | "upsert", columns: readonly Column[], pkColumn: Column, perShard: Map<number, number[]>): Promise<{ messages: Map<string, LogMessage[]>; expireTs: Timestamp }> {
    const schema = info.schema;
    const messages = new Map<string, LogMessage[]>();
    let expireTs: Timestamp | undefined;
    for (const [shard, shardRows] of perShard) {
      const vchannel = info.vchannels[shard] as string;
      const pchannel = info.pchannels[shard] as string;
      if (mode === "upsert") {
        // Deletes every older version of these keys in every partition, then inserts the new rows.
        const payload = encodeDeleteMsg({ collectionId: info.id, partitionId: 0n, vchannel, rowCount: shardRows.length, primaryKeys: gatherColumn(pkColumn, shardRows) });
        pushMessage(messages, pchannel, { type: MsgType.Delete, collectionId: info.id, vchannel }, payload);
      }
      const assignments = await this.options.segmentAllocator.assignSegments({
        collectionId: info.id, partitionId, vchannel, pchannel, schema, rowCount: shardRows.length,
      });
      let cursor = 0;
      for (const assignment of assignments) {
        const segmentRows = shardRows.slice(cursor, cursor + assignment.rowCount);
        cursor += assignment.rowCount;
        if (expireTs === undefined || assignment.expireTs < expireTs) expireTs = assignment.expireTs;
        const payload = encodeInsertMsg({
          collectionId: info.id, partitionId, segmentId: assignment.segmentId, vchannel, rowCount: segmentRows.length,
          columns: columns.map((column) => gatherColumn(column, segmentRows)),
        });
        pushMessage(messages, pchannel, { type: MsgType.Insert, collectionId: info.id, vchannel }, payload);
      }
    }
    return { messages, expireTs: expireTs ?? 0n };
  }

  /**
   * Stamps every message with one timestamp and appends; resolves once all are durable. With
   * `expireTs`, appends only when the timestamp is below it (undefined otherwise: nothing was written).
   */
  private async publish(messages: Map<string, LogMessage[]>): Promise<Timestamp>;
  private async publish(messages: Map<string, LogMessage[]>, expireTs: Timestamp): Promise<Timestamp | undefined>;
  private async publish(messages: Map<string, LogMessage[]>, expireTs?: Timestamp): Promise<Timestamp | undefined> {
    const reservation = await this.options.writer.reserve([...messages.keys()]);
    try {
      if (expireTs !== undefined && reservation.ts >= expireTs) return undefined;
      for (const list of messages.values()) {
        for (const message of list) {
          message.header.beginTs = reservation.ts;
          message.header.endTs = reservation.ts;
        }
      }
      await reservation.append(messages);
      return reservation.ts;
    } finally {
      reservation.cancel();
    }
  }

  private async resolve(dbName: string | undefined, collectionName: string, partitionName: string | undefined, allowAllPartitions: boolean): Promise<{ info: CollectionInfo; partitionId: bigint }> {
    if (typeof collectionName !== "string" || collectionName === "") throw invalidArgument("collection name must be a non-empty string");
    const description = await this.options.rootCoord.describeCollection(dbName ?? DEFAULT_DATABASE, collectionName);
    const wanted = partitionName === undefined || partitionName === "" ? (allowAllPartitions ? undefined : DEFAULT_PARTITION) : partitionName;
    if (wanted === undefined) return { info: description.info, partitionId: 0n };
    const partition = description.partitions.find((candidate) => candidate.name === wanted);
    if (partition === undefined) throw new VelaError(ErrorCode.PartitionNotFound, `partition "${wanted}" not found in collection "${collectionName}"`);
    return { info: description.info, partitionId: partition.id };
  }

  private async allocateAutoIds(count: number): Promise<BigInt64Array> {
    const first = await this.options.rootCoord.allocIds(count);
    const ids = new BigInt64Array(count);
    for (let i = 0; i < count; i++) ids[i] = first + BigInt(i);
    return ids;
  }
}

function countRows(schema: CollectionSchema, columns: Record<string, ColumnInput>): number {
  if (typeof columns !== "object" || columns === null) return 0;
  for (const field of schema.fields) {
    const input = columns[field.name];
    if (input === undefined || input === null || typeof input.length !== "number") continue;
    if (field.dataType === DataType.FloatVector && input instanceof Float32Array) return Math.floor(input.length / (field.dim as number));
    return input.length;
  }
  return 0;
}

function splitByShard(keys: Column, shardsNum: number): Map<number, number[]> {
  const perShard = new Map<number, number[]>();
  const rows = rowsOf(keys);
  for (let row = 0; row < rows; row++) {
    const key = keys.type === DataType.Int64 ? (keys.values[row] as bigint) : ((keys.values as string[])[row] as string);
    const shard = shardsNum === 1 ? 0 : shardOfKey(key, shardsNum);
    let list = perShard.get(shard);
    if (list === undefined) perShard.set(shard, (list = []));
    list.push(row);
  }
  return perShard;
}

function rowsOf(column: Column): number {
  return column.type === DataType.FloatVector ? column.values.length / column.dim : column.values.length;
}

function keyValues(column: Column): BigInt64Array | string[] {
  if (column.type === DataType.Int64) return column.values;
  if (column.type === DataType.VarChar) return column.values;
  throw invalidArgument("primary keys must be Int64 or VarChar");
}

function assertUniqueKeys(keys: Column): void {
  const seen = new Set<bigint | string>();
  const values = keyValues(keys);
  for (let i = 0; i < values.length; i++) {
    const key = values[i] as bigint | string;
    if (seen.has(key)) throw invalidArgument(`primary key ${String(key)} appears twice in one upsert`);
    seen.add(key);
  }
}

function pushMessage(messages: Map<string, LogMessage[]>, pchannel: string, header: { type: MsgType; collectionId: bigint; vchannel: string }, payload: Uint8Array): void {
  let list = messages.get(pchannel);
  if (list === undefined) messages.set(pchannel, (list = []));
  // Timestamps are filled in when the request is stamped (publish).
  list.push({ header: { ...header, beginTs: 0n, endTs: 0n }, payload });
}
