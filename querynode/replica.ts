// One collection as a query node holds it (DESIGN §8, §10): for each vchannel it serves, the segments
// loaded from object storage, a log reader from the vchannel's checkpoint, the growing segments
// replayed from it, and tsafe.
//
// Load: every segment of the vchannel with binlogs is read from object storage first (rows, row
// timestamps, tombstones). Flushed ones are complete ("sealed": the log adds no rows to them); a
// growing segment whose data node already wrote part of it continues from the log. Replay then starts
// at the checkpoint and skips inserts that are in binlogs already (of a sealed segment, or before a
// growing segment's syncedOffset). Tombstones are replayed whole: applying one twice changes nothing.
//
// Replay: messages of the vchannel are buffered until the next TimeTick(T) of their pchannel; then the
// batch is sorted by timestamp (stable, so an upsert's tombstones stay before its rows) and applied,
// and tsafe becomes T. Invariants: everything applied has ts <= tsafe; batches apply in timestamp
// order (the tick invariant guarantees a later batch holds only larger timestamps); DDL applies in
// log order with the rows around it.
//
// Handoff: when a growing segment is flushed (at tick flushTs) and tsafe has reached flushTs, the
// growing copy holds every row the binlogs hold. The flushed copy is loaded beside it, takes the
// growing copy's tombstones, and replaces it in one synchronous step, so a read sees one copy or the
// other, never both and never neither; both give the same answer at every snapshot.

import type { Clock } from "../common/clock.ts";
import { ErrorCode, VelaError, errorMessage } from "../common/errors.ts";
import { MsgType } from "../common/msg-type.ts";
import type { Timestamp } from "../common/timestamp.ts";
import type { WorkerPool } from "../common/worker-pool.ts";
import type { CollectionInfo } from "../coord/catalog.ts";
import { readSegmentBinlogs } from "../datanode/binlog/segment-binlogs.ts";
import { decodeDeleteMsg, decodeInsertMsg, decodePartitionDdlMsg } from "../proto/codec.ts";
import type { Log, LogReader, LogRecord } from "../storage/log/log.ts";
import type { ObjectStore } from "../storage/object/object-store.ts";
import type { ChannelCheckpoint, SegmentInfo } from "../types/data-coord.ts";
import type { IndexCoordApi, SegmentIndexInfo } from "../types/index-coord.ts";
import type { HnswPool } from "../indexnode/hnsw/hnsw-pool.ts";
import { DataType } from "../common/schema.ts";
import { GrowingSegment, type PrimaryKey } from "./growing-segment.ts";

/** What a vchannel replica starts from: the committed checkpoint and the segments with binlogs. */
export interface ReplayPlan {
  checkpoint: ChannelCheckpoint | undefined;
  segments: SegmentInfo[];
}

export interface SegmentLoader {
  /** Undefined on a node that only replays the log (it cannot load segments with binlogs). */
  objectStore?: ObjectStore;
  /** Decodes large binlogs off the event loop. */
  pool?: WorkerPool;
  /** Where built vector indexes are found and loaded (absent: sealed segments are searched exactly). */
  indexes?: IndexLoader;
}

export interface IndexLoader {
  api: IndexCoordApi;
  /** The HNSW pool, started on first use (its workers load a native library: none are spawned for nothing). */
  pool: () => HnswPool;
  /** Copies of each index, each in its own HNSW worker. */
  replicas: number;
}

/** The vector fields of the collection that have an HNSW index defined (they wait for builds). */
function hnswFields(loader: SegmentLoader, collection: CollectionInfo): number[] {
  const api = loader.indexes?.api;
  if (api === undefined) return [];
  return collection.schema.fields
    .filter((field) => field.dataType === DataType.FloatVector && api.indexOfField(collection.id, field.fieldId)?.indexType === "HNSW")
    .map((field) => field.fieldId);
}

/** True when every HNSW-indexed field of the segment has a finished build. */
export function indexesBuilt(loader: SegmentLoader, segmentId: bigint, collection: CollectionInfo): boolean {
  return hnswFields(loader, collection).every((fieldId) => loader.indexes?.api.segmentIndex(segmentId, fieldId) !== undefined);
}

/** Loads the finished builds of a sealed segment's vector fields that are not loaded yet. */
export async function loadIndexes(loader: SegmentLoader, segment: GrowingSegment, collection: CollectionInfo): Promise<void> {
  const source = loader.indexes;
  if (source === undefined) return;
  for (const fieldId of hnswFields(loader, collection)) {
    if (segment.vectorIndexes.has(fieldId)) continue;
    const info = source.api.segmentIndex(segment.segmentId, fieldId);
    if (info === undefined) continue;
    if (info.rowCount !== segment.rowCount) {
      throw new VelaError(ErrorCode.Internal, `the index of segment ${segment.segmentId} field ${fieldId} has ${info.rowCount} rows, the segment ${segment.rowCount}; searching it exactly`);
    }
    if (loader.objectStore === undefined) throw new VelaError(ErrorCode.Unavailable, `segment ${segment.segmentId} has an index, but this query node has no object store`);
    const bytes = await loader.objectStore.get(info.indexFilePath);
    const pool = source.pool();
    const replicas = Math.max(1, Math.min(source.replicas, pool.stats().lanes.length));
    const handle = await pool.load(bytes, { replicas });
    if (segment.vectorIndexes.has(fieldId)) {
      await pool.release(handle); // loaded twice concurrently: keep the first
      continue;
    }
    segment.vectorIndexes.set(fieldId, { handle, metric: info.metricType, rows: info.rowCount, residentBytes: handle.residentBytesPerCopy * handle.lanes.length });
  }
}

/** Frees a segment's indexes once no read holds it. */
export function retireSegment(loader: SegmentLoader, segment: GrowingSegment): void {
  segment.retire(() => {
    for (const index of segment.vectorIndexes.values()) void loader.indexes?.pool().release(index.handle).catch(() => undefined);
    segment.vectorIndexes.clear();
  });
}

/** Reads a segment's committed binlogs into an in-memory segment (rows in timestamp order, tombstones applied). */
export async function loadSegment(loader: SegmentLoader, info: SegmentInfo, collection: CollectionInfo, vchannel: string): Promise<GrowingSegment> {
  const segment = new GrowingSegment(info.id, info.collectionId, info.partitionId, vchannel, collection.schema);
  if (info.insertLogs.length === 0) return segment;
  if (loader.objectStore === undefined) throw new VelaError(ErrorCode.Unavailable, `segment ${info.id} is in binlogs, but this query node has no object store`);
  const binlogs = await readSegmentBinlogs(loader.objectStore, [...info.insertLogs, ...info.deltaLogs], loader.pool === undefined ? {} : { pool: loader.pool });
  segment.append(binlogs.columns, binlogs.rowCount, binlogs.timestamps);
  const keys = binlogs.tombstones.primaryKeys;
  for (let i = 0; i < keys.length; i++) segment.applyDelete(keys[i] as PrimaryKey, binlogs.tombstones.timestamps[i] as bigint);
  return segment;
}

interface TsafeWaiter {
  target: Timestamp;
  resolve: () => void;
}

export class VchannelReplica {
  tsafe: Timestamp = 0n;
  readonly segments = new Map<bigint, GrowingSegment>();
  /** Segments complete in binlogs: the log adds no rows to them. */
  private readonly sealed = new Set<bigint>();
  /** Growing segments partly in binlogs: inserts before this offset are skipped. */
  private readonly syncedOffsets = new Map<bigint, number>();
  /** Flushed segments waiting for tsafe to reach their flushTs before the handoff. */
  private handoffs = new Map<bigint, SegmentInfo>();
  private readonly loading = new Set<bigint>();
  private pending: LogRecord[] = [];
  private waiters: TsafeWaiter[] = [];
  private reader: LogReader | undefined;
  private pump: Promise<void> | undefined;
  failure: VelaError | undefined;
  dropped = false;
  /** Rows applied so far (inserted), for progress and metrics. */
  rowsApplied = 0;
  /** Offset after the last applied tick: the log before it is no longer needed by this replica. */
  appliedOffset = 0;

  constructor(
    readonly collection: CollectionReplica,
    readonly vchannel: string,
    readonly pchannel: string,
    private readonly loader: SegmentLoader,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  async start(log: Log, plan: ReplayPlan = { checkpoint: undefined, segments: [] }): Promise<void> {
    for (const info of plan.segments) {
      if (info.vchannel !== this.vchannel || info.state === "dropped" || !this.collection.servesPartition(info.partitionId)) continue;
      if (info.state === "flushed") this.sealed.add(info.id);
      else this.syncedOffsets.set(info.id, info.syncedOffset);
      if (info.insertLogs.length === 0) continue;
      const segment = await loadSegment(this.loader, info, this.collection.info, this.vchannel);
      if (info.state === "flushed") await loadIndexes(this.loader, segment, this.collection.info);
      this.segments.set(info.id, segment);
      this.rowsApplied += segment.rowCount;
    }
    const from = plan.checkpoint === undefined ? { kind: "earliest" as const } : { kind: "offset" as const, offset: plan.checkpoint.offset };
    this.appliedOffset = plan.checkpoint?.offset ?? 0;
    this.reader = await log.read(this.pchannel, from);
    const reader = this.reader;
    this.pump = (async () => {
      try {
        for await (const record of reader) this.onRecord(record);
      } catch (error) {
        if (!this.collection.released) {
          this.failure = new VelaError(ErrorCode.Unavailable, `replay of ${this.vchannel} failed: ${errorMessage(error)}`, { cause: error });
          this.wakeAll();
        }
      }
    })();
  }

  /** A segment of this vchannel was flushed (hand it off once tsafe reaches flushTs) or dropped. */
  onSegmentEvent(kind: "flushed" | "dropped" | "compacted", info: SegmentInfo): void {
    if (info.vchannel !== this.vchannel) return;
    const compaction = info.compactedFrom !== undefined && (kind === "compacted" || kind === "dropped");
    if (compaction) {
      // A compaction result (dropped when every row was deleted): it replaces its sources in one step,
      // once tsafe has reached the compaction (the sources then hold every tombstone it applied).
      if ((info.compactedFrom ?? []).some((id) => this.segments.has(id))) {
        this.handoffs.set(info.id, info);
        this.startHandoffs();
      }
      return;
    }
    if (kind === "dropped") {
      // A compaction's source goes with the compaction's handoff, not before.
      if (info.compactedTo !== undefined && this.handoffs.has(info.compactedTo)) return;
      this.handoffs.delete(info.id);
      const segment = this.segments.get(info.id);
      this.segments.delete(info.id);
      this.sealed.add(info.id);
      if (segment !== undefined) retireSegment(this.loader, segment);
      return;
    }
    if (kind === "flushed" && !this.sealed.has(info.id) && this.collection.servesPartition(info.partitionId)) {
      this.handoffs.set(info.id, info);
      this.startHandoffs();
    }
  }

  /** A build finished: attach it to the sealed segment, or let a waiting handoff go ahead. */
  onIndexBuilt(info: SegmentIndexInfo): void {
    if (this.handoffs.has(info.segmentId)) {
      this.startHandoffs();
      return;
    }
    const segment = this.segments.get(info.segmentId);
    if (segment === undefined || !this.sealed.has(info.segmentId) || segment.vectorIndexes.has(info.fieldId) || this.loading.has(info.segmentId)) return;
    this.loading.add(info.segmentId);
    loadIndexes(this.loader, segment, this.collection.info).then(() => {
      this.loading.delete(info.segmentId);
      if (this.segments.get(info.segmentId) !== segment) retireSegment(this.loader, segment);
    }, (error: unknown) => {
      this.loading.delete(info.segmentId);
      this.onError(error);
    });
  }

  /** Frees every segment's indexes (the replica stops). */
  retireAll(): void {
    for (const segment of this.segments.values()) retireSegment(this.loader, segment);
  }

  /** Segments held now, for reads: one consistent list (a handoff replaces entries, never adds twice). */
  segmentList(): GrowingSegment[] {
    return [...this.segments.values()];
  }

  /** Segment ids sealed (complete from binlogs) on this replica. */
  isSealed(segmentId: bigint): boolean {
    return this.sealed.has(segmentId) && this.segments.has(segmentId);
  }

  private startHandoffs(): void {
    for (const [id, info] of this.handoffs) {
      if (this.loading.has(id) || info.flushTs === undefined || info.flushTs > this.tsafe) continue;
      // With an HNSW index defined, the old copies stay until the new one can come with its index.
      if (info.numRows > 0 && !indexesBuilt(this.loader, id, this.collection.info)) continue;
      this.loading.add(id);
      loadSegment(this.loader, info, this.collection.info, this.vchannel).then(async (loaded) => {
        await loadIndexes(this.loader, loaded, this.collection.info);
        return loaded;
      }).then((loaded) => {
        this.loading.delete(id);
        if (this.collection.released || !this.handoffs.has(id)) {
          retireSegment(this.loader, loaded);
          return;
        }
        this.handoffs.delete(id);
        // Flush: the growing copy of the same segment. Compaction: the source segments.
        const replaced = (info.compactedFrom ?? [id]).map((sourceId) => this.segments.get(sourceId)).filter((segment) => segment !== undefined);
        if (info.compactedFrom === undefined) {
          const growing = replaced[0];
          if (growing !== undefined && growing.rowCount !== loaded.rowCount) {
            // The copies must agree; keep serving the growing one rather than change an answer.
            this.onError(new VelaError(ErrorCode.Internal, `handoff of segment ${id}: binlogs hold ${loaded.rowCount} rows, the growing copy ${growing.rowCount}; keeping the growing copy`));
            retireSegment(this.loader, loaded);
            return;
          }
        }
        // Tombstones the old copies took after the new one was written (applying one twice changes nothing).
        for (const old of replaced) for (const [key, ts] of old.tombstones()) loaded.applyDelete(key, ts);
        for (const old of replaced) {
          this.segments.delete(old.segmentId);
          this.sealed.add(old.segmentId);
          this.syncedOffsets.delete(old.segmentId);
        }
        this.sealed.add(id);
        if (loaded.rowCount > 0) this.segments.set(id, loaded);
        for (const old of replaced) retireSegment(this.loader, old);
      }, (error: unknown) => {
        this.loading.delete(id);
        this.onError(error);
        // Retried at the next tick.
      });
    }
  }


  async stop(): Promise<void> {
    await this.reader?.close();
    await this.pump;
    this.wakeAll();
  }

  /** Resolves once tsafe >= target; rejects with Timeout after waitMs. */
  waitTsafe(target: Timestamp, waitMs: number, clock: Clock): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.tsafe >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: TsafeWaiter = { target, resolve: () => undefined };
      const cancel = clock.setTimer(waitMs, () => {
        this.waiters = this.waiters.filter((candidate) => candidate !== waiter);
        reject(new VelaError(ErrorCode.Timeout,
          `waited ${waitMs} ms for ${this.vchannel} to reach guarantee timestamp ${target}; its tsafe is ${this.tsafe} (the log is behind, or writers stopped reporting)`));
      });
      waiter.resolve = () => {
        cancel();
        if (this.failure !== undefined) reject(this.failure);
        else if (this.collection.released) reject(new VelaError(ErrorCode.Unavailable, `collection ${this.collection.info.name} was released`));
        else resolve();
      };
      this.waiters.push(waiter);
    });
  }

  private onRecord(record: LogRecord): void {
    const header = record.header;
    if (header.type === MsgType.TimeTick) {
      this.applyPending(header.endTs);
      this.appliedOffset = record.offset + 1;
      return;
    }
    if (header.vchannel !== this.vchannel) return;
    this.pending.push(record);
  }

  private applyPending(tick: Timestamp): void {
    if (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      // Array.prototype.sort is stable: equal timestamps keep log order (an upsert's delete first).
      batch.sort((a, b) => (a.header.beginTs < b.header.beginTs ? -1 : a.header.beginTs > b.header.beginTs ? 1 : 0));
      for (const record of batch) this.apply(record);
    }
    if (tick > this.tsafe) this.tsafe = tick;
    if (this.handoffs.size > 0) this.startHandoffs();
    const ready = this.waiters.filter((waiter) => waiter.target <= this.tsafe);
    if (ready.length > 0) {
      this.waiters = this.waiters.filter((waiter) => waiter.target > this.tsafe);
      for (const waiter of ready) waiter.resolve();
    }
  }

  private apply(record: LogRecord): void {
    const collection = this.collection;
    const ts = record.header.beginTs;
    switch (record.header.type) {
      case MsgType.Insert: {
        const msg = decodeInsertMsg(record.payload);
        if (!collection.servesPartition(msg.partitionId)) return;
        // In binlogs already: the whole segment, or the part before its synced offset.
        if (this.sealed.has(msg.segmentId) || record.offset < (this.syncedOffsets.get(msg.segmentId) ?? 0)) return;
        let segment = this.segments.get(msg.segmentId);
        if (segment === undefined) {
          segment = new GrowingSegment(msg.segmentId, msg.collectionId, msg.partitionId, this.vchannel, collection.info.schema);
          this.segments.set(msg.segmentId, segment);
        }
        segment.append(msg.columns, msg.rowCount, ts);
        this.rowsApplied += msg.rowCount;
        return;
      }
      case MsgType.Delete: {
        const msg = decodeDeleteMsg(record.payload);
        const keys = msg.primaryKeys.values as BigInt64Array | string[];
        for (const segment of this.segments.values()) {
          if (msg.partitionId !== 0n && segment.partitionId !== msg.partitionId) continue;
          for (let i = 0; i < keys.length; i++) segment.applyDelete(keys[i] as PrimaryKey, ts);
        }
        return;
      }
      case MsgType.DropCollection:
        this.dropped = true;
        return;
      case MsgType.DropPartition: {
        const msg = decodePartitionDdlMsg(record.payload);
        for (const [id, segment] of this.segments) if (segment.partitionId === msg.partitionId) this.segments.delete(id);
        collection.dropPartition(msg.partitionId);
        return;
      }
      case MsgType.CreatePartition: {
        const msg = decodePartitionDdlMsg(record.payload);
        collection.createPartition(msg.partitionId);
        return;
      }
      default:
        return;
    }
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }
}

/**
 * A loaded collection on this node. `partitionIds` undefined means the whole collection is loaded
 * (partitions created later included); otherwise only those partitions.
 */
export class CollectionReplica {
  readonly vchannels = new Map<string, VchannelReplica>();
  released = false;
  private readonly partitionIds: Set<bigint> | undefined;

  constructor(readonly info: CollectionInfo, partitionIds: readonly bigint[] | undefined) {
    this.partitionIds = partitionIds === undefined ? undefined : new Set(partitionIds);
  }

  servesPartition(partitionId: bigint): boolean {
    return this.partitionIds === undefined || this.partitionIds.has(partitionId);
  }

  loadedPartitions(): bigint[] | undefined {
    return this.partitionIds === undefined ? undefined : [...this.partitionIds];
  }

  addPartitions(partitionIds: readonly bigint[]): void {
    if (this.partitionIds === undefined) return;
    for (const id of partitionIds) this.partitionIds.add(id);
  }

  createPartition(_partitionId: bigint): void {
    // A collection loaded whole serves new partitions automatically; a partial load does not.
  }

  dropPartition(partitionId: bigint): void {
    this.partitionIds?.delete(partitionId);
  }
}
