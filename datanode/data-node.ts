// The data node (DESIGN §1, §6, §7, §10): consumes the vchannels the data coordinator gave it, buffers
// their rows and tombstones per segment, and writes them to object storage as binlogs.
//
// Each vchannel is read from its checkpoint. Records are buffered until the next time tick of the
// pchannel, sorted by timestamp (as query nodes do) and applied:
// - an insert goes to its segment's buffer, unless the segment is flushed or dropped, or the record
//   lies before the segment's `syncedOffset` (its rows are in binlogs already: a replay after a crash);
// - a delete (pk, ts) becomes a tombstone of every segment of the vchannel that may hold an older
//   version of pk: exactly for buffered rows, by bloom filter for rows already in binlogs (a false
//   positive costs one harmless tombstone).
// After the tick, segments are synced: sealed segments whose grants have all expired (final flush),
// the largest buffers while the node is over bufferBytesMax, and anything buffered for longer than
// syncPeriodMs. A sync writes insert binlogs (one per field), a stats log and a delta log per segment,
// then commits the paths, each segment's new syncedOffset and the vchannel checkpoint in one MetaStore
// transaction. The checkpoint is the offset of the earliest tick batch that still holds buffered data
// (or the current position when nothing is buffered), so a restart re-reads exactly what is not in
// binlogs. A crash between writing files and committing leaves unreferenced files for GC.
//
// Invariants: nothing is dropped from a buffer before the commit naming its binlogs succeeded; the
// committed checkpoint never passes a record whose data is only in a buffer; a consumer that lost its
// watch cannot commit (the data coordinator fences commits by the watch record).

import type { Clock } from "../common/clock.ts";
import { columnByteSize, concatColumns, gatherColumn, type Column } from "../common/columns.ts";
import { dataNodeDefaults, resolveLimits, type DataNodeLimits } from "../common/config.ts";
import { ErrorCode, errorMessage, isVelaError } from "../common/errors.ts";
import { MsgType } from "../common/msg-type.ts";
import { primaryKeyField } from "../common/schema.ts";
import type { Timestamp } from "../common/timestamp.ts";
import type { WorkerPool } from "../common/worker-pool.ts";
import type { CollectionInfo } from "../coord/catalog.ts";
import type { ChannelWatch, DataCoord, DataNodeHandle, SegmentSync } from "../coord/data-coord.ts";
import { decodeDeleteMsg, decodeInsertMsg, decodePartitionDdlMsg } from "../proto/codec.ts";
import type { Log, LogReader, LogRecord } from "../storage/log/log.ts";
import type { ObjectStore } from "../storage/object/object-store.ts";
import type { BinlogRef, FieldBinlogRef, SegmentInfo } from "../types/data-coord.ts";
import type { PrimaryKeys } from "./binlog/arrow-columns.ts";
import { readStatsLog, writeDeltaLog } from "./binlog/binlog-io.ts";
import type { BloomFilter } from "./binlog/bloom-filter.ts";
import { readSegmentBinlogs, writeSegmentBinlogs, type SegmentBinlogs } from "./binlog/segment-binlogs.ts";
import { buildPrimaryKeyStats } from "./binlog/stats-log.ts";

type PrimaryKey = bigint | string;

/** The data coordinator calls a data node makes. */
export type DataCoordForNode = Pick<DataCoord, "segment" | "listSegments" | "checkpoint" | "flushableSegments" | "markFlushing" | "commitSync" | "commitCompaction" | "compactionAbandoned">;

export interface DataNodeOptions {
  nodeId: string;
  /** MetaStore key of the node's session (the data coordinator checks it for liveness). */
  sessionKey: string;
  log: Log;
  objectStore: ObjectStore;
  clock: Clock;
  dataCoord: DataCoordForNode;
  describeCollection: (collectionId: bigint) => Promise<CollectionInfo>;
  /** `count` consecutive unique ids (log ids of binlogs); returns the first. */
  allocIds: (count: number) => Promise<bigint>;
  /** Key prefix of binlogs ("" for none). */
  binlogRoot?: string;
  /** Worker pool for binlog encoding (large batches never encode on the event loop). */
  pool?: WorkerPool;
  limits?: Partial<DataNodeLimits>;
  /** A sync or replay that failed (it is retried; replay failures stop the vchannel). */
  onError?: (error: unknown) => void;
}

interface Batch {
  columns: Column[];
  rowCount: number;
  ts: Timestamp;
}

/** What a data node holds of one segment: unsynced rows and tombstones, and filters of its synced keys. */
class SegmentBuffer {
  batches: Batch[] = [];
  rows = 0;
  bytes = 0;
  /** pk → smallest insert ts among the unsynced rows. */
  keys = new Map<PrimaryKey, Timestamp>();
  tombstoneKeys: PrimaryKey[] = [];
  tombstoneTs: Timestamp[] = [];
  /** Bloom filters of the keys already in binlogs. */
  blooms: BloomFilter[] = [];
  /** Offset and tick of the batch that added the first unsynced item; undefined when nothing is pending. */
  firstPending: { offset: number; ts: Timestamp; atMs: number } | undefined;

  constructor(readonly segmentId: bigint, readonly partitionId: bigint) {}

  get pending(): boolean {
    return this.rows > 0 || this.tombstoneKeys.length > 0;
  }

  markPending(offset: number, ts: Timestamp, atMs: number): void {
    this.firstPending ??= { offset, ts, atMs };
  }

  mayHold(key: PrimaryKey, deleteTs: Timestamp): boolean {
    const buffered = this.keys.get(key);
    if (buffered !== undefined && buffered < deleteTs) return true;
    return this.blooms.some((bloom) => bloom.mightContain(key));
  }
}

class ChannelConsumer {
  private readonly buffers = new Map<bigint, SegmentBuffer>();
  private pending: LogRecord[] = [];
  private reader: LogReader | undefined;
  private pump: Promise<void> | undefined;
  private stopped = false;
  /** Offset after the last processed tick, and that tick. */
  private position = 0;
  private positionTs: Timestamp = 0n;
  private committedOffset = -1;
  private lastCheckpointMs = 0;
  private info!: CollectionInfo;
  /** Compactions queued by the data coordinator; run between two ticks. */
  private readonly compactions: bigint[][] = [];

  constructor(private readonly node: DataNode, readonly watch: ChannelWatch) {}

  get bufferedBytes(): number {
    let bytes = 0;
    for (const buffer of this.buffers.values()) bytes += buffer.bytes + buffer.tombstoneKeys.length * 24;
    return bytes;
  }

  bufferedRows(segmentId: bigint): number {
    return this.buffers.get(segmentId)?.rows ?? 0;
  }

  async start(): Promise<void> {
    const { options } = this.node;
    this.info = await options.describeCollection(this.watch.collectionId);
    const checkpoint = options.dataCoord.checkpoint(this.watch.vchannel);
    if (checkpoint !== undefined) {
      this.position = checkpoint.offset;
      this.positionTs = checkpoint.ts;
      this.committedOffset = checkpoint.offset;
    }
    // Keys already in binlogs, so that deletes replayed or arriving from now on reach their segments.
    for (const segment of options.dataCoord.listSegments(this.watch.collectionId)) {
      if (segment.vchannel !== this.watch.vchannel || segment.state === "dropped") continue;
      const buffer = this.bufferOf(segment);
      for (const stats of segment.statsLogs) buffer.blooms.push((await readStatsLog(options.objectStore, stats.path)).bloom);
    }
    this.lastCheckpointMs = options.clock.nowMs();
    this.reader = await options.log.read(this.watch.pchannel, checkpoint === undefined ? { kind: "earliest" } : { kind: "offset", offset: checkpoint.offset });
    const reader = this.reader;
    this.pump = (async () => {
      try {
        for await (const record of reader) {
          if (this.stopped) break;
          await this.onRecord(record);
        }
      } catch (error) {
        if (!this.stopped) options.onError?.(error);
      }
    })();
  }

  /** Stops reading; with `flush`, writes out everything buffered and commits the checkpoint first. */
  async stop(flush: boolean): Promise<void> {
    this.stopped = true;
    await this.reader?.close();
    await this.pump;
    if (flush) await this.syncWithRetry([...this.buffers.values()].filter((buffer) => buffer.pending).map((buffer) => buffer.segmentId), new Set(), 1);
  }

  private bufferOf(segment: { id: bigint; partitionId: bigint }): SegmentBuffer {
    let buffer = this.buffers.get(segment.id);
    if (buffer === undefined) this.buffers.set(segment.id, (buffer = new SegmentBuffer(segment.id, segment.partitionId)));
    return buffer;
  }

  private async onRecord(record: LogRecord): Promise<void> {
    const header = record.header;
    if (header.type === MsgType.TimeTick) {
      await this.processTick(record);
      return;
    }
    if (header.vchannel !== this.watch.vchannel) return;
    this.pending.push(record);
  }

  private async processTick(tick: LogRecord): Promise<void> {
    const batchStart = { offset: this.position, ts: this.positionTs, atMs: this.node.options.clock.nowMs() };
    if (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      batch.sort((a, b) => (a.header.beginTs < b.header.beginTs ? -1 : a.header.beginTs > b.header.beginTs ? 1 : 0));
      for (const record of batch) this.apply(record, batchStart);
    }
    this.position = tick.offset + 1;
    if (tick.header.endTs > this.positionTs) this.positionTs = tick.header.endTs;
    await this.afterTick();
  }

  private apply(record: LogRecord, batchStart: { offset: number; ts: Timestamp; atMs: number }): void {
    const { dataCoord } = this.node.options;
    const ts = record.header.beginTs;
    switch (record.header.type) {
      case MsgType.Insert: {
        const msg = decodeInsertMsg(record.payload);
        const segment = dataCoord.segment(msg.segmentId);
        // Unknown: collected after a drop. Flushed, dropped, or before syncedOffset: in binlogs already.
        if (segment === undefined || segment.state === "flushed" || segment.state === "dropped" || record.offset < segment.syncedOffset) return;
        const buffer = this.bufferOf(segment);
        buffer.batches.push({ columns: msg.columns, rowCount: msg.rowCount, ts });
        buffer.rows += msg.rowCount;
        let bytes = 8 * msg.rowCount;
        for (const column of msg.columns) bytes += columnByteSize(column);
        buffer.bytes += bytes;
        this.node.bufferedBytes += bytes;
        const pk = msg.columns.find((column) => column.fieldId === primaryKeyField(this.info.schema).fieldId);
        const keys = (pk?.values ?? []) as ArrayLike<PrimaryKey>;
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i] as PrimaryKey;
          if (!buffer.keys.has(key)) buffer.keys.set(key, ts);
        }
        buffer.markPending(batchStart.offset, batchStart.ts, batchStart.atMs);
        return;
      }
      case MsgType.Delete: {
        const msg = decodeDeleteMsg(record.payload);
        const keys = msg.primaryKeys.values as ArrayLike<PrimaryKey>;
        for (const buffer of this.buffers.values()) {
          if (msg.partitionId !== 0n && buffer.partitionId !== msg.partitionId) continue;
          const state = dataCoord.segment(buffer.segmentId)?.state;
          if (state === undefined || state === "dropped") continue;
          let hit = false;
          for (let i = 0; i < keys.length; i++) {
            const key = keys[i] as PrimaryKey;
            if (!buffer.mayHold(key, ts)) continue;
            buffer.tombstoneKeys.push(key);
            buffer.tombstoneTs.push(ts);
            hit = true;
          }
          if (hit) {
            this.node.bufferedBytes += 24;
            buffer.markPending(batchStart.offset, batchStart.ts, batchStart.atMs);
          }
        }
        return;
      }
      case MsgType.DropPartition: {
        const msg = decodePartitionDdlMsg(record.payload);
        for (const [id, buffer] of this.buffers) {
          if (buffer.partitionId !== msg.partitionId) continue;
          this.node.bufferedBytes -= buffer.bytes;
          this.buffers.delete(id);
        }
        return;
      }
      default:
        return;
    }
  }

  enqueueCompaction(segmentIds: readonly bigint[]): void {
    this.compactions.push([...segmentIds]);
  }

  private async afterTick(): Promise<void> {
    await this.syncAfterTick();
    while (this.compactions.length > 0 && !this.stopped) {
      const plan = this.compactions.shift() as bigint[];
      try {
        await this.compact(plan);
      } catch (error) {
        this.node.options.onError?.(error);
        this.node.options.dataCoord.compactionAbandoned(plan);
      }
    }
  }

  /**
   * Merges flushed segments into one without their deleted rows (DESIGN §6). Runs between two ticks,
   * so no record of the vchannel is applied meanwhile: tombstones still buffered for the sources are
   * synced first, then the sources are read with all their delta logs, the surviving rows are written
   * in timestamp order as a new segment, and the data coordinator swaps the records in one transaction.
   */
  private async compact(plan: readonly bigint[]): Promise<void> {
    const { options } = this.node;
    const pending = plan.filter((id) => this.buffers.get(id)?.pending === true);
    if (pending.length > 0) await this.sync(pending, new Set());
    const sources = plan.map((id) => options.dataCoord.segment(id));
    if (sources.some((segment) => segment === undefined || segment.state !== "flushed")) {
      options.dataCoord.compactionAbandoned(plan);
      return;
    }
    const segments = sources as SegmentInfo[];
    const first = segments[0] as SegmentInfo;
    const binlogOptions = options.pool === undefined ? {} : { pool: options.pool };
    const parts: SegmentBinlogs[] = [];
    for (const segment of segments) parts.push(await readSegmentBinlogs(options.objectStore, [...segment.insertLogs, ...segment.deltaLogs], binlogOptions));
    // Surviving rows: no tombstone (pk, d) of the segment with insert ts < d.
    const kept: Array<{ part: number; row: number; ts: bigint }> = [];
    const offsets: number[] = [];
    let offset = 0;
    for (const [index, part] of parts.entries()) {
      offsets.push(offset);
      offset += part.rowCount;
      const latestDelete = new Map<PrimaryKey, bigint>();
      for (let i = 0; i < part.tombstones.primaryKeys.length; i++) {
        const key = part.tombstones.primaryKeys[i] as PrimaryKey;
        const ts = part.tombstones.timestamps[i] as bigint;
        if ((latestDelete.get(key) ?? 0n) < ts) latestDelete.set(key, ts);
      }
      for (let row = 0; row < part.rowCount; row++) {
        const ts = part.timestamps[row] as bigint;
        const deletedAt = latestDelete.get(part.primaryKeys[row] as PrimaryKey);
        if (deletedAt === undefined || ts >= deletedAt) kept.push({ part: index, row, ts });
      }
    }
    // Timestamp order (stable: part, then row), as every segment keeps its rows.
    kept.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    const segmentId = await options.allocIds(1);
    const nowMs = options.clock.nowMs();
    const pkField = primaryKeyField(this.info.schema);
    let insertLogs: FieldBinlogRef[] = [];
    let statsLogs: FieldBinlogRef[] = [];
    let keys: PrimaryKeys | undefined;
    if (kept.length > 0) {
      const order = kept.map((entry) => (offsets[entry.part] as number) + entry.row);
      const columns = this.info.schema.fields.map((field) => gatherColumn(concatColumns(parts.map((part) => {
        const column = part.columns.find((candidate) => candidate.fieldId === field.fieldId);
        if (column === undefined) throw new Error(`segment binlogs lack field ${field.name}`);
        return column;
      })), order));
      const timestamps = BigUint64Array.from(kept.map((entry) => entry.ts));
      const written = await writeSegmentBinlogs(options.objectStore, {
        root: options.binlogRoot ?? "", collectionId: first.collectionId, partitionId: first.partitionId, segmentId, primaryKeyFieldId: pkField.fieldId, logId: await options.allocIds(1),
      }, columns, timestamps, binlogOptions);
      insertLogs = written.insertLogs;
      statsLogs = written.statsLogs;
      keys = columns.find((column) => column.fieldId === pkField.fieldId)?.values as PrimaryKeys;
    }
    await options.dataCoord.commitCompaction(this.watch.nodeId, this.watch.vchannel, plan, {
      id: segmentId, collectionId: first.collectionId, partitionId: first.partitionId, vchannel: this.watch.vchannel,
      rowCountMax: first.rowCountMax, rowsAllocated: kept.length, createdMs: nowMs, lastAllocationMs: nowMs, lastExpireTs: 0n,
      numRows: kept.length, insertLogs, statsLogs, deltaLogs: [], syncedOffset: this.position, flushTs: this.positionTs,
    });
    for (const id of plan) this.buffers.delete(id);
    if (keys !== undefined) {
      const buffer = this.bufferOf({ id: segmentId, partitionId: first.partitionId });
      buffer.blooms.push(buildPrimaryKeyStats(keys).bloom);
    }
  }

  private async syncAfterTick(): Promise<void> {
    const { options, limits } = this.node;
    const nowMs = options.clock.nowMs();
    const flushable = options.dataCoord.flushableSegments(this.watch.vchannel, this.positionTs);
    const flushIds = new Set(flushable.map((segment) => segment.id));
    const sync = new Set<bigint>(flushIds);
    for (const buffer of this.buffers.values()) {
      if (buffer.firstPending !== undefined && nowMs - buffer.firstPending.atMs >= limits.syncPeriodMs) sync.add(buffer.segmentId);
    }
    if (sync.size > 0) {
      // A sync is happening anyway: tombstones waiting on flushed segments go with it (they are small),
      // so that they do not hold the checkpoint back for a whole sync period.
      for (const buffer of this.buffers.values()) if (buffer.rows === 0 && buffer.tombstoneKeys.length > 0) sync.add(buffer.segmentId);
    }
    if (this.node.bufferedBytes > limits.bufferBytesMax) {
      // Largest buffers first until the node is back under its budget.
      let over = this.node.bufferedBytes - limits.bufferBytesMax;
      for (const buffer of [...this.buffers.values()].sort((a, b) => b.bytes - a.bytes)) {
        if (over <= 0 || buffer.bytes === 0) break;
        sync.add(buffer.segmentId);
        over -= buffer.bytes;
      }
    }
    if (sync.size > 0) {
      await this.syncWithRetry([...sync], flushIds, Number.MAX_SAFE_INTEGER);
      return;
    }
    if (this.checkpointOffset().offset !== this.committedOffset && nowMs - this.lastCheckpointMs >= limits.checkpointIntervalMs) {
      await this.syncWithRetry([], flushIds, Number.MAX_SAFE_INTEGER);
    }
  }

  /** Where a restart must resume: the earliest batch still holding buffered data, else the position. */
  private checkpointOffset(excluding: ReadonlySet<bigint> = new Set()): { offset: number; ts: Timestamp } {
    let offset = this.position;
    let ts = this.positionTs;
    for (const buffer of this.buffers.values()) {
      if (excluding.has(buffer.segmentId) || buffer.firstPending === undefined) continue;
      if (buffer.firstPending.offset < offset) {
        offset = buffer.firstPending.offset;
        ts = buffer.firstPending.ts;
      }
    }
    return { offset, ts };
  }

  /** Retries a failed sync with backoff (files of a failed attempt are orphans for GC); stops on a lost watch. */
  private async syncWithRetry(segmentIds: bigint[], flushIds: ReadonlySet<bigint>, attempts: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.sync(segmentIds, flushIds);
        return;
      } catch (error) {
        this.node.options.onError?.(error);
        if ((isVelaError(error, ErrorCode.Unavailable) && errorMessage(error).includes("watch")) || attempt >= attempts || this.stopped) throw error;
        await this.node.options.clock.sleep(Math.min(5_000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  private async sync(segmentIds: readonly bigint[], flushIds: ReadonlySet<bigint>): Promise<void> {
    const { options } = this.node;
    const finals = segmentIds.filter((id) => flushIds.has(id));
    if (finals.length > 0) await options.dataCoord.markFlushing(this.watch.nodeId, this.watch.vchannel, finals);
    const syncs: SegmentSync[] = [];
    const written: Array<{ buffer: SegmentBuffer; keys: PrimaryKeys | undefined }> = [];
    const startedMs = performance.now();
    for (const segmentId of segmentIds) {
      const segment = options.dataCoord.segment(segmentId);
      if (segment === undefined) continue;
      const buffer = this.buffers.get(segmentId);
      const result = buffer === undefined ? { insertLogs: [], statsLogs: [], deltaLogs: [], rowsAdded: 0, keys: undefined } : await this.writeBuffer(segment, buffer);
      syncs.push({ segmentId, insertLogs: result.insertLogs, statsLogs: result.statsLogs, deltaLogs: result.deltaLogs, rowsAdded: result.rowsAdded, syncedOffset: this.position, flushed: flushIds.has(segmentId) });
      if (buffer !== undefined) written.push({ buffer, keys: result.keys });
    }
    const checkpoint = this.checkpointOffset(new Set(segmentIds));
    await options.dataCoord.commitSync({
      nodeId: this.watch.nodeId,
      vchannel: this.watch.vchannel,
      segments: syncs,
      checkpoint: { vchannel: this.watch.vchannel, pchannel: this.watch.pchannel, offset: checkpoint.offset, ts: checkpoint.ts },
    }, this.node.limits.commitSegmentsMax);
    const { stats } = this.node;
    stats.syncs += 1;
    stats.writeMs += performance.now() - startedMs;
    for (const sync of syncs) {
      stats.rows += sync.rowsAdded;
      for (const file of [...sync.insertLogs, ...sync.statsLogs, ...sync.deltaLogs]) stats.binlogBytes += file.sizeBytes;
    }
    // Committed: the buffers are in binlogs now.
    for (const { buffer, keys } of written) {
      this.node.bufferedBytes -= buffer.bytes + (buffer.tombstoneKeys.length > 0 ? 24 : 0);
      if (keys !== undefined && keys.length > 0) buffer.blooms.push(buildPrimaryKeyStats(keys).bloom);
      buffer.batches = [];
      buffer.rows = 0;
      buffer.bytes = 0;
      buffer.keys.clear();
      buffer.tombstoneKeys = [];
      buffer.tombstoneTs = [];
      buffer.firstPending = undefined;
    }
    this.committedOffset = checkpoint.offset;
    this.lastCheckpointMs = options.clock.nowMs();
  }

  private async writeBuffer(segment: SegmentInfo, buffer: SegmentBuffer): Promise<{ insertLogs: FieldBinlogRef[]; statsLogs: FieldBinlogRef[]; deltaLogs: BinlogRef[]; rowsAdded: number; keys: PrimaryKeys | undefined }> {
    const { options } = this.node;
    if (!buffer.pending) return { insertLogs: [], statsLogs: [], deltaLogs: [], rowsAdded: 0, keys: undefined };
    const logId = await options.allocIds(1);
    const root = options.binlogRoot ?? "";
    const pkField = primaryKeyField(this.info.schema);
    const tombstones = buffer.tombstoneKeys.length === 0 ? undefined : {
      primaryKeys: (typeof buffer.tombstoneKeys[0] === "bigint" ? BigInt64Array.from(buffer.tombstoneKeys as bigint[]) : [...buffer.tombstoneKeys as string[]]) as PrimaryKeys,
      timestamps: BigUint64Array.from(buffer.tombstoneTs),
    };
    const binlogOptions = options.pool === undefined ? {} : { pool: options.pool };
    if (buffer.rows === 0) {
      const delta = await writeDeltaLog(options.objectStore, root, { collectionId: segment.collectionId, partitionId: segment.partitionId, segmentId: segment.id, logId }, tombstones as NonNullable<typeof tombstones>, binlogOptions);
      return { insertLogs: [], statsLogs: [], deltaLogs: [delta], rowsAdded: 0, keys: undefined };
    }
    const columns = this.info.schema.fields.map((field) => concatColumns(buffer.batches.map((batch) => {
      const column = batch.columns.find((candidate) => candidate.fieldId === field.fieldId);
      if (column === undefined) throw new Error(`insert of segment ${segment.id} lacks field ${field.name}`);
      return column;
    })));
    const timestamps = new BigUint64Array(buffer.rows);
    let at = 0;
    for (const batch of buffer.batches) {
      timestamps.fill(batch.ts, at, at + batch.rowCount);
      at += batch.rowCount;
    }
    const result = await writeSegmentBinlogs(options.objectStore, {
      root, collectionId: segment.collectionId, partitionId: segment.partitionId, segmentId: segment.id, primaryKeyFieldId: pkField.fieldId, logId,
    }, columns, timestamps, { ...binlogOptions, ...(tombstones === undefined ? {} : { tombstones }) });
    const keys = columns.find((column) => column.fieldId === pkField.fieldId)?.values as PrimaryKeys;
    return { insertLogs: result.insertLogs, statsLogs: result.statsLogs, deltaLogs: result.deltaLogs, rowsAdded: result.rowCount, keys };
  }
}

export class DataNode implements DataNodeHandle {
  readonly nodeId: string;
  readonly sessionKey: string;
  readonly limits: DataNodeLimits;
  /** Bytes buffered over every vchannel. */
  bufferedBytes = 0;
  /** Committed syncs, binlog bytes and rows written, and time spent writing binlogs (for metrics). */
  readonly stats = { syncs: 0, binlogBytes: 0, rows: 0, writeMs: 0 };
  private readonly consumers = new Map<string, ChannelConsumer>();

  constructor(readonly options: DataNodeOptions) {
    this.nodeId = options.nodeId;
    this.sessionKey = options.sessionKey;
    this.limits = resolveLimits(dataNodeDefaults, options.limits, "data node");
  }

  async watch(watch: ChannelWatch): Promise<void> {
    if (this.consumers.has(watch.vchannel)) return;
    const consumer = new ChannelConsumer(this, watch);
    this.consumers.set(watch.vchannel, consumer);
    await consumer.start();
  }

  async unwatch(vchannel: string): Promise<void> {
    const consumer = this.consumers.get(vchannel);
    if (consumer === undefined) return;
    this.consumers.delete(vchannel);
    await consumer.stop(false);
    this.bufferedBytes -= consumer.bufferedBytes;
  }

  bufferedRows(segmentId: bigint): number {
    let rows = 0;
    for (const consumer of this.consumers.values()) rows += consumer.bufferedRows(segmentId);
    return rows;
  }

  compact(vchannel: string, segmentIds: readonly bigint[]): void {
    const consumer = this.consumers.get(vchannel);
    if (consumer === undefined) this.options.dataCoord.compactionAbandoned(segmentIds);
    else consumer.enqueueCompaction(segmentIds);
  }

  /** The vchannels being consumed. */
  watched(): string[] {
    return [...this.consumers.keys()];
  }

  /**
   * Stops every vchannel. With `flush` (graceful shutdown), buffered rows and tombstones are written
   * and the checkpoints committed first, so a restart replays almost nothing.
   */
  async close(options: { flush: boolean } = { flush: true }): Promise<void> {
    const consumers = [...this.consumers.values()];
    this.consumers.clear();
    const results = await Promise.allSettled(consumers.map((consumer) => consumer.stop(options.flush)));
    const failed = results.find((result) => result.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }
}
