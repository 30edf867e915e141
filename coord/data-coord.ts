// The data coordinator (DESIGN §5, §6, §9, §10): owns the segment lifecycle and the vchannel
// checkpoints.
//
// - Allocation: proxies ask for segment IDs with a row quota before they publish rows. Rows of one
//   (collection, partition, vchannel) go to a growing segment until its row or size bound is reached,
//   then to a new one. Each grant carries `expireTs` (a TSO timestamp): the proxy stamps its rows below
//   it, so once a channel's time tick passes a sealed segment's `lastExpireTs`, all of its rows are in
//   the log before that tick.
// - Seal policy: full (rows or bytes), idle (no grant for segmentIdleSealMs), old (segmentLifetimeMsMax)
//   or an explicit Flush. Sealed segments are flushed by the data node watching their vchannel.
// - Watches: every vchannel that received a grant is watched by one live data node
//   (`channel-watch/<vchannel>`); when a node's session disappears its vchannels go to another node,
//   which resumes from the checkpoint.
// - Commits: the data node commits binlog paths, per-segment replay positions and the channel
//   checkpoint in one MetaStore transaction, fenced by its watch (a node that lost the vchannel cannot
//   commit).
// - Garbage collection: files of dropped segments (after gcDroppedRetentionMs) and binlog files that
//   no segment names (older than gcOrphanMinAgeMs: a crash between writing and committing leaves those).
// - Log retention: the log is truncated below the smallest checkpoint of the vchannels on a pchannel
//   and below every query node's read position.
//
// Invariants: every segment ever handed out is recorded in the MetaStore before its ID is returned; a
// quota is never granted beyond a segment's capacity nor on a segment that is not growing; a segment
// record only moves forward (growing → sealed → flushing → flushed → dropped); a commit is applied in
// memory only after the MetaStore accepted it.

import type { Clock } from "../common/clock.ts";
import { dataCoordDefaults, resolveLimits, type DataCoordLimits } from "../common/config.ts";
import { ErrorCode, VelaError, errorMessage, invalidArgument } from "../common/errors.ts";
import { Mutex } from "../common/mutex.ts";
import { DataType, type CollectionSchema } from "../common/schema.ts";
import { composeTimestamp, physicalMsOf, type Timestamp } from "../common/timestamp.ts";
import { parseBinlogPath } from "../datanode/binlog/paths.ts";
import type { Log } from "../storage/log/log.ts";
import { decodeValue, type MetaStore, type TxnOp } from "../storage/meta/meta-store.ts";
import { rangeAll } from "../storage/meta/range-all.ts";
import { listAll, type ObjectStore } from "../storage/object/object-store.ts";
import type {
  BinlogRef, ChannelCheckpoint, DataCoordApi, FieldBinlogRef, SegmentEvent, SegmentInfo, SegmentState,
} from "../types/data-coord.ts";
import { decodeRecord, encodeRecord } from "./catalog.ts";

export type { SegmentInfo, SegmentState } from "../types/data-coord.ts";

export interface SegmentAssignment {
  segmentId: bigint;
  rowCount: number;
  /** Rows of this grant must be stamped with a timestamp below this. */
  expireTs: Timestamp;
}

export interface AssignSegmentsRequest {
  collectionId: bigint;
  partitionId: bigint;
  vchannel: string;
  pchannel: string;
  schema: CollectionSchema;
  rowCount: number;
}

/** The part of the data coordinator proxies call. */
export interface SegmentAllocatorApi {
  /** Grants `rowCount` rows, split over one or more growing segments; the sum of counts equals rowCount. */
  assignSegments(request: AssignSegmentsRequest): Promise<SegmentAssignment[]>;
}

/** What the data coordinator asks of a data node (in standalone the DataNode object itself). */
export interface DataNodeHandle {
  readonly nodeId: string;
  /** MetaStore key of the node's session; when it is gone the node is dead. */
  readonly sessionKey: string;
  /** Starts consuming a vchannel from its checkpoint. */
  watch(watch: ChannelWatch): Promise<void>;
  /** Stops consuming a vchannel (its buffers are dropped, not written). */
  unwatch(vchannel: string): Promise<void>;
  /** Rows of a segment buffered and not yet in binlogs (for statistics). */
  bufferedRows(segmentId: bigint): number;
  /** Queues a compaction of flushed segments of a vchannel it watches (it runs between two ticks). */
  compact(vchannel: string, segmentIds: readonly bigint[]): void;
}

/** `channel-watch/<vchannel>`: which data node consumes a vchannel. */
export interface ChannelWatch {
  vchannel: string;
  pchannel: string;
  collectionId: bigint;
  nodeId: string;
}

/** One segment's part of a data node's commit. */
export interface SegmentSync {
  segmentId: bigint;
  insertLogs: FieldBinlogRef[];
  statsLogs: FieldBinlogRef[];
  deltaLogs: BinlogRef[];
  /** Rows added to the segment's binlogs by this sync. */
  rowsAdded: number;
  /** Pchannel offset up to which the segment's rows and tombstones are now in binlogs. */
  syncedOffset: number;
  /** This sync completes a sealed segment: it becomes flushed at flushTs. */
  flushed: boolean;
}

export interface CommitSyncRequest {
  nodeId: string;
  vchannel: string;
  segments: SegmentSync[];
  checkpoint: ChannelCheckpoint;
}

export interface DataCoordOptions {
  metaStore: MetaStore;
  clock: Clock;
  log: Log;
  objectStore: ObjectStore;
  /** Key prefix of binlogs in the object store ("" for none). */
  binlogRoot?: string;
  allocateId: () => Promise<bigint>;
  allocTimestamp: () => Promise<Timestamp>;
  /** False once the collection was dropped (GC then removes everything of it). */
  collectionExists: (collectionId: bigint) => Promise<boolean>;
  /** The smallest offset each pchannel's readers (query nodes) still need; retention keeps it. */
  readerPositions?: () => Map<string, number>;
  limits?: Partial<DataCoordLimits>;
  /** Called when a background pass (seal, GC, retention, watch) fails. */
  onBackgroundError?: (error: unknown) => void;
}

export const segmentKey = (collectionId: bigint, segmentId: bigint): string => `segment/${collectionId}/${segmentId}`;
export const checkpointKey = (vchannel: string): string => `channel-checkpoint/${vchannel}`;
export const channelWatchKey = (vchannel: string): string => `channel-watch/${vchannel}`;
/** The log subscriber whose checkpoint is the retention point of each pchannel. */
export const RETENTION_SUBSCRIBER = "vela-retention";

const STATE_ORDER: Record<SegmentState, number> = { growing: 0, sealed: 1, flushing: 2, flushed: 3, dropped: 4 };

/** Estimated bytes of one row of the schema (VarChar and JSON at a fixed guess). */
export function estimateRowBytes(schema: CollectionSchema): number {
  let bytes = 16; // timestamp and row bookkeeping
  for (const field of schema.fields) {
    switch (field.dataType) {
      case DataType.Bool:
      case DataType.Int8:
        bytes += 1;
        break;
      case DataType.Int16:
        bytes += 2;
        break;
      case DataType.Int32:
      case DataType.Float:
        bytes += 4;
        break;
      case DataType.Int64:
      case DataType.Double:
        bytes += 8;
        break;
      case DataType.VarChar:
        bytes += Math.min(field.maxLength ?? 64, 64);
        break;
      case DataType.JSON:
        bytes += 64;
        break;
      case DataType.FloatVector:
        bytes += 4 * (field.dim ?? 0);
        break;
    }
  }
  return bytes;
}

export class DataCoord implements SegmentAllocatorApi, DataCoordApi {
  readonly limits: DataCoordLimits;
  private readonly segments = new Map<bigint, SegmentInfo>();
  private readonly checkpoints = new Map<string, ChannelCheckpoint>();
  private readonly watches = new Map<string, ChannelWatch>();
  private readonly nodes = new Map<string, DataNodeHandle>();
  /** Expiry last written to each growing segment's record (one window ahead of the grants). */
  private readonly persistedExpireTs = new Map<bigint, Timestamp>();
  private readonly listeners = new Set<(event: SegmentEvent) => void>();
  private readonly mutex = new Mutex();
  private readonly binlogRoot: string;
  private cancelTimer: (() => void) | undefined;
  private passRunning: Promise<void> | undefined;
  private lastGcMs = 0;
  private lastCompactionMs = 0;
  /** Segments in a queued or running compaction. */
  private readonly compacting = new Set<bigint>();
  private lastRetentionMs = 0;
  private closed = false;

  private constructor(private readonly options: DataCoordOptions) {
    this.limits = resolveLimits(dataCoordDefaults, options.limits, "data coordinator");
    this.binlogRoot = options.binlogRoot ?? "";
    // The first compaction comes one interval after start, not at once: a restart is busy enough.
    this.lastCompactionMs = options.clock.nowMs();
  }

  /** Opens the coordinator on what the MetaStore holds; `start()` begins the background passes. */
  static async open(options: DataCoordOptions): Promise<DataCoord> {
    const coord = new DataCoord(options);
    for (const kv of await rangeAll(options.metaStore, "segment/")) {
      const info = decodeRecord<SegmentInfo>(decodeValue(kv.value), kv.key);
      // Quotas granted before a restart are not persisted, so a segment that was growing takes no
      // new ones: new rows go to a fresh segment and the old one is left for the seal policy.
      if (info.state === "growing") info.rowsAllocated = info.rowCountMax;
      coord.segments.set(info.id, info);
    }
    for (const kv of await rangeAll(options.metaStore, "channel-checkpoint/")) {
      const checkpoint = decodeRecord<ChannelCheckpoint>(decodeValue(kv.value), kv.key);
      coord.checkpoints.set(checkpoint.vchannel, checkpoint);
    }
    for (const kv of await rangeAll(options.metaStore, "channel-watch/")) {
      const watch = decodeRecord<ChannelWatch>(decodeValue(kv.value), kv.key);
      coord.watches.set(watch.vchannel, watch);
    }
    return coord;
  }

  /** Starts the periodic seal, watch, GC and retention passes. */
  start(): void {
    if (this.cancelTimer !== undefined || this.closed) return;
    const schedule = (): void => {
      this.cancelTimer = this.options.clock.setTimer(this.limits.sealCheckIntervalMs, () => {
        this.passRunning = this.runPass().finally(() => {
          this.passRunning = undefined;
          if (!this.closed) schedule();
        });
      });
    };
    schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelTimer?.();
    await this.passRunning;
  }

  // ---- data nodes and watches ----

  /** Adds a live data node and gives it every vchannel whose node is gone (and unwatched ones). */
  async registerDataNode(node: DataNodeHandle): Promise<void> {
    this.nodes.set(node.nodeId, node);
    await this.rebalance();
  }

  /** Forgets a data node (it stopped); its vchannels go to another node. */
  async unregisterDataNode(nodeId: string): Promise<void> {
    this.nodes.delete(nodeId);
    await this.rebalance();
  }

  /** The watch of a vchannel, if it has one. */
  channelWatch(vchannel: string): ChannelWatch | undefined {
    return this.watches.get(vchannel);
  }

  private async ensureWatched(collectionId: bigint, vchannel: string, pchannel: string): Promise<void> {
    if (this.watches.has(vchannel)) return;
    const node = this.leastLoadedNode();
    const watch: ChannelWatch = { vchannel, pchannel, collectionId, nodeId: node?.nodeId ?? "" };
    await this.options.metaStore.put(channelWatchKey(vchannel), encodeRecord(watch));
    this.watches.set(vchannel, watch);
    if (node !== undefined) await node.watch(watch);
  }

  private leastLoadedNode(): DataNodeHandle | undefined {
    const usage = new Map([...this.nodes.keys()].map((id) => [id, 0]));
    for (const watch of this.watches.values()) if (usage.has(watch.nodeId)) usage.set(watch.nodeId, (usage.get(watch.nodeId) ?? 0) + 1);
    let best: string | undefined;
    for (const [id, count] of usage) if (best === undefined || count < (usage.get(best) ?? 0)) best = id;
    return best === undefined ? undefined : this.nodes.get(best);
  }

  /** Moves vchannels whose node is not registered (or whose session is gone) to live nodes. */
  private rebalance(): Promise<void> {
    return this.mutex.run(async () => {
      for (const [nodeId, node] of this.nodes) {
        if (await this.options.metaStore.get(node.sessionKey) === undefined) this.nodes.delete(nodeId);
      }
      for (const watch of [...this.watches.values()]) {
        const current = this.nodes.get(watch.nodeId);
        if (current !== undefined) continue;
        const node = this.leastLoadedNode();
        if (node === undefined) return;
        const moved: ChannelWatch = { ...watch, nodeId: node.nodeId };
        await this.options.metaStore.put(channelWatchKey(watch.vchannel), encodeRecord(moved));
        this.watches.set(watch.vchannel, moved);
        await node.watch(moved);
      }
    });
  }

  /** Called by a data node when it (re)starts: the vchannels it must consume. */
  watchesOf(nodeId: string): ChannelWatch[] {
    return [...this.watches.values()].filter((watch) => watch.nodeId === nodeId);
  }

  // ---- allocation and sealing ----

  assignSegments(request: AssignSegmentsRequest): Promise<SegmentAssignment[]> {
    if (!Number.isInteger(request.rowCount) || request.rowCount < 1) throw invalidArgument(`row count must be a positive integer, got ${request.rowCount}`);
    return this.mutex.run(async () => {
      await this.ensureWatchedLocked(request.collectionId, request.vchannel, request.pchannel);
      const nowMs = this.options.clock.nowMs();
      const now = await this.options.allocTimestamp();
      const expireTs = composeTimestamp(physicalMsOf(now) + this.limits.segmentAllocationExpiryMs, 0);
      const rowCountMax = Math.max(1, Math.min(this.limits.segmentRowCountMax, Math.floor(this.limits.segmentSizeBytesMax / estimateRowBytes(request.schema))));
      const assignments: SegmentAssignment[] = [];
      let remaining = request.rowCount;
      while (remaining > 0) {
        let segment = this.openSegment(request);
        if (segment === undefined) {
          segment = {
            id: await this.options.allocateId(),
            collectionId: request.collectionId,
            partitionId: request.partitionId,
            vchannel: request.vchannel,
            state: "growing",
            rowCountMax,
            rowsAllocated: 0,
            lastAllocationMs: nowMs,
            lastExpireTs: expireTs,
            numRows: 0,
            insertLogs: [],
            deltaLogs: [],
            statsLogs: [],
            syncedOffset: 0,
            createdMs: nowMs,
          };
          await this.persist(segment);
          this.segments.set(segment.id, segment);
        }
        const granted = Math.min(remaining, segment.rowCountMax - segment.rowsAllocated);
        segment.rowsAllocated += granted;
        segment.lastAllocationMs = nowMs;
        if (expireTs > segment.lastExpireTs) segment.lastExpireTs = expireTs;
        // A restarted coordinator must not flush before the grants it forgot have expired, so the record
        // holds an expiry at least as late as any grant: persisted one window ahead, at most once a window.
        if (expireTs > (this.persistedExpireTs.get(segment.id) ?? 0n)) {
          const ahead = composeTimestamp(physicalMsOf(expireTs) + this.limits.segmentAllocationExpiryMs, 0);
          await this.persist({ ...segment, lastExpireTs: ahead });
          this.persistedExpireTs.set(segment.id, ahead);
        }
        assignments.push({ segmentId: segment.id, rowCount: granted, expireTs });
        remaining -= granted;
      }
      return assignments;
    });
  }

  private async ensureWatchedLocked(collectionId: bigint, vchannel: string, pchannel: string): Promise<void> {
    await this.ensureWatched(collectionId, vchannel, pchannel);
  }

  private openSegment(request: AssignSegmentsRequest): SegmentInfo | undefined {
    for (const segment of this.segments.values()) {
      if (segment.collectionId === request.collectionId && segment.partitionId === request.partitionId
        && segment.vchannel === request.vchannel && segment.state === "growing" && segment.rowsAllocated < segment.rowCountMax) {
        return segment;
      }
    }
    return undefined;
  }

  /**
   * Seals every growing segment of the collection and returns the segments the caller must wait for
   * (GetFlushState) with the flush timestamp.
   */
  flush(collectionId: bigint): Promise<{ segmentIds: bigint[]; flushTs: Timestamp }> {
    return this.mutex.run(async () => {
      const flushTs = await this.options.allocTimestamp();
      const segmentIds: bigint[] = [];
      for (const segment of [...this.segments.values()]) {
        if (segment.collectionId !== collectionId) continue;
        if (segment.state === "growing") await this.seal(segment, flushTs);
        const state = this.segments.get(segment.id)?.state;
        if (state === "sealed" || state === "flushing") segmentIds.push(segment.id);
      }
      return { segmentIds, flushTs };
    });
  }

  /**
   * True when every listed segment is flushed (or dropped: empty, compacted or of a dropped
   * collection). Unknown ids are an error: they were never handed out.
   */
  flushState(segmentIds: readonly bigint[]): boolean {
    if (segmentIds.length > this.limits.flushStateSegmentsMax) throw invalidArgument(`GetFlushState takes at most ${this.limits.flushStateSegmentsMax} segment ids, got ${segmentIds.length}`);
    for (const id of segmentIds) {
      const segment = this.segments.get(id);
      if (segment === undefined) throw new VelaError(ErrorCode.NotFound, `segment ${id} does not exist`);
      if (STATE_ORDER[segment.state] < STATE_ORDER.flushed) return false;
    }
    return true;
  }

  /**
   * True when every segment of the collection sealed at or before flushTs is flushed or dropped (a
   * Flush seals every growing segment at its flushTs, so later growing segments do not count).
   */
  flushStateAt(collectionId: bigint, flushTs: Timestamp): boolean {
    for (const segment of this.segments.values()) {
      if (segment.collectionId !== collectionId || STATE_ORDER[segment.state] >= STATE_ORDER.flushed) continue;
      if (segment.sealTs !== undefined && segment.sealTs <= flushTs) return false;
    }
    return true;
  }

  private async seal(segment: SegmentInfo, sealTs: Timestamp): Promise<void> {
    if (segment.state !== "growing") return;
    const sealed: SegmentInfo = { ...segment, state: "sealed", sealTs };
    await this.persist(sealed);
    this.segments.set(segment.id, sealed);
  }

  /** Sealed segments of a vchannel whose every grant has expired by `tickTs`: ready for the final flush. */
  flushableSegments(vchannel: string, tickTs: Timestamp): SegmentInfo[] {
    return [...this.segments.values()].filter((segment) => segment.vchannel === vchannel
      && (segment.state === "sealed" || segment.state === "flushing") && segment.lastExpireTs <= tickTs);
  }

  /** Marks segments flushing (their final binlogs are being written). */
  async markFlushing(nodeId: string, vchannel: string, segmentIds: readonly bigint[]): Promise<void> {
    await this.mutex.run(async () => {
      const ops: TxnOp[] = [];
      const updated: SegmentInfo[] = [];
      for (const id of segmentIds) {
        const segment = this.segments.get(id);
        if (segment === undefined || segment.state !== "sealed") continue;
        const next = { ...segment, state: "flushing" as const };
        ops.push({ type: "put", key: segmentKey(segment.collectionId, segment.id), value: encodeRecord(next) });
        updated.push(next);
      }
      if (ops.length === 0) return;
      await this.fencedTxn(nodeId, vchannel, ops);
      for (const segment of updated) this.segments.set(segment.id, segment);
    });
  }

  // ---- commits from data nodes ----

  /**
   * Commits a data node's sync: binlog paths and replay positions of the synced segments and the
   * vchannel checkpoint, in one transaction fenced by the node's watch of the vchannel (several when
   * more than commitSegmentsMax segments, the checkpoint in the last).
   */
  commitSync(request: CommitSyncRequest, segmentsPerTxn: number): Promise<void> {
    return this.mutex.run(async () => {
      const events: SegmentEvent[] = [];
      const chunks: SegmentSync[][] = [];
      for (let at = 0; at < request.segments.length; at += segmentsPerTxn) chunks.push(request.segments.slice(at, at + segmentsPerTxn));
      if (chunks.length === 0) chunks.push([]);
      for (const [index, chunk] of chunks.entries()) {
        const ops: TxnOp[] = [];
        const updated: SegmentInfo[] = [];
        for (const sync of chunk) {
          const segment = this.segments.get(sync.segmentId);
          if (segment === undefined) throw new VelaError(ErrorCode.NotFound, `segment ${sync.segmentId} does not exist`);
          if (segment.vchannel !== request.vchannel) throw invalidArgument(`segment ${sync.segmentId} is not on vchannel ${request.vchannel}`);
          if (segment.state === "dropped") continue;
          if (segment.state === "flushed") {
            // Rows of a flushed segment are complete; only new tombstones are added to it.
            if (sync.deltaLogs.length === 0) continue;
            const next: SegmentInfo = { ...segment, deltaLogs: [...segment.deltaLogs, ...sync.deltaLogs] };
            ops.push({ type: "put", key: segmentKey(segment.collectionId, segment.id), value: encodeRecord(next) });
            updated.push(next);
            continue;
          }
          const next: SegmentInfo = {
            ...segment,
            insertLogs: [...segment.insertLogs, ...sync.insertLogs],
            statsLogs: [...segment.statsLogs, ...sync.statsLogs],
            deltaLogs: [...segment.deltaLogs, ...sync.deltaLogs],
            numRows: segment.numRows + sync.rowsAdded,
            syncedOffset: Math.max(segment.syncedOffset, sync.syncedOffset),
          };
          if (sync.flushed) {
            next.flushTs = request.checkpoint.ts;
            // A segment that never received a row has nothing to serve: it is dropped at once.
            next.state = next.numRows === 0 ? "dropped" : "flushed";
            if (next.state === "dropped") next.droppedAtMs = this.options.clock.nowMs();
            events.push({ kind: next.state === "flushed" ? "flushed" : "dropped", segment: next });
          }
          ops.push({ type: "put", key: segmentKey(segment.collectionId, segment.id), value: encodeRecord(next) });
          updated.push(next);
        }
        // The checkpoint goes with the last chunk: earlier chunks are safe alone, since replay skips
        // what each segment's syncedOffset covers.
        if (index === chunks.length - 1) ops.push({ type: "put", key: checkpointKey(request.vchannel), value: encodeRecord(request.checkpoint) });
        await this.fencedTxn(request.nodeId, request.vchannel, ops);
        for (const segment of updated) this.segments.set(segment.id, segment);
      }
      this.checkpoints.set(request.vchannel, request.checkpoint);
      for (const event of events) this.emit(event);
    });
  }

  private async fencedTxn(nodeId: string, vchannel: string, ops: TxnOp[]): Promise<void> {
    const watch = this.watches.get(vchannel);
    if (watch === undefined || watch.nodeId !== nodeId) {
      throw new VelaError(ErrorCode.Unavailable, `data node ${nodeId} no longer watches ${vchannel}`);
    }
    const result = await this.options.metaStore.txn({
      compare: [{ key: channelWatchKey(vchannel), target: "value", operator: "equal", value: encodeRecord(watch) }],
      success: ops,
    });
    if (!result.succeeded) throw new VelaError(ErrorCode.Unavailable, `data node ${nodeId} lost its watch of ${vchannel}; commit refused`);
  }

  // ---- DataCoordApi ----

  listSegments(collectionId?: bigint): SegmentInfo[] {
    return [...this.segments.values()].filter((segment) => collectionId === undefined || segment.collectionId === collectionId);
  }

  segment(segmentId: bigint): SegmentInfo | undefined {
    return this.segments.get(segmentId);
  }

  checkpoint(vchannel: string): ChannelCheckpoint | undefined {
    return this.checkpoints.get(vchannel);
  }

  onSegmentEvent(listener: (event: SegmentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: SegmentEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.options.onBackgroundError?.(error);
      }
    }
  }

  /** Rows of a collection (or partition): in binlogs plus buffered in data nodes (deleted rows count, as in Milvus). */
  rowCount(collectionId: bigint, partitionId?: bigint): number {
    let rows = 0;
    for (const segment of this.segments.values()) {
      if (segment.collectionId !== collectionId || segment.state === "dropped") continue;
      if (partitionId !== undefined && segment.partitionId !== partitionId) continue;
      rows += segment.numRows;
      if (segment.state !== "flushed") {
        const node = this.nodes.get(this.watches.get(segment.vchannel)?.nodeId ?? "");
        rows += node?.bufferedRows(segment.id) ?? 0;
      }
    }
    return rows;
  }

  // ---- drops ----

  /** A dropped collection: its segments are dropped and its vchannels unwatched; GC removes the files. */
  async dropCollection(collectionId: bigint): Promise<void> {
    const unwatched = await this.mutex.run(async () => {
      await this.dropSegments((segment) => segment.collectionId === collectionId);
      const removed: ChannelWatch[] = [];
      for (const watch of [...this.watches.values()]) {
        if (watch.collectionId !== collectionId) continue;
        // Deleting the watch record fences the node: a sync in flight can no longer commit.
        await this.options.metaStore.txn({ compare: [], success: [{ type: "delete", key: channelWatchKey(watch.vchannel) }, { type: "delete", key: checkpointKey(watch.vchannel) }] });
        this.watches.delete(watch.vchannel);
        this.checkpoints.delete(watch.vchannel);
        removed.push(watch);
      }
      return removed;
    });
    // Outside the lock: a node stopping its consumer may be waiting for this coordinator.
    for (const watch of unwatched) await this.nodes.get(watch.nodeId)?.unwatch(watch.vchannel);
  }

  /** A dropped partition: its segments are dropped; GC removes the files. */
  dropPartition(collectionId: bigint, partitionId: bigint): Promise<void> {
    return this.mutex.run(() => this.dropSegments((segment) => segment.collectionId === collectionId && segment.partitionId === partitionId));
  }

  private async dropSegments(match: (segment: SegmentInfo) => boolean): Promise<void> {
    const nowMs = this.options.clock.nowMs();
    for (const segment of [...this.segments.values()]) {
      if (!match(segment) || segment.state === "dropped") continue;
      const dropped: SegmentInfo = { ...segment, state: "dropped", droppedAtMs: nowMs };
      await this.persist(dropped);
      this.segments.set(segment.id, dropped);
      this.emit({ kind: "dropped", segment: dropped });
    }
  }

  /**
   * Plans compactions: per shard and partition, small flushed segments are merged (up to
   * compactionSegmentsMax, at most segmentRowCountMax rows together), and a segment with at least
   * compactionDeletedFractionMin of its rows deleted is rewritten alone. Each plan goes to the data node
   * watching the vchannel. Returns the plans handed out.
   */
  compactionPass(): bigint[][] {
    const plans: bigint[][] = [];
    const groups = new Map<string, SegmentInfo[]>();
    for (const segment of this.segments.values()) {
      if (segment.state !== "flushed" || this.compacting.has(segment.id)) continue;
      const key = `${segment.collectionId}/${segment.partitionId}/${segment.vchannel}`;
      groups.set(key, [...(groups.get(key) ?? []), segment]);
    }
    for (const segments of groups.values()) {
      const first = segments[0] as SegmentInfo;
      const node = this.nodes.get(this.watches.get(first.vchannel)?.nodeId ?? "");
      if (node === undefined) continue;
      const rowCountMax = first.rowCountMax;
      const small = segments.filter((segment) => segment.numRows < rowCountMax * this.limits.compactionSmallRowsFraction).sort((a, b) => a.numRows - b.numRows);
      const merge: SegmentInfo[] = [];
      let rows = 0;
      for (const segment of small) {
        if (merge.length >= this.limits.compactionSegmentsMax || rows + segment.numRows > rowCountMax) break;
        merge.push(segment);
        rows += segment.numRows;
      }
      const planned: bigint[][] = merge.length >= 2 ? [merge.map((segment) => segment.id)] : [];
      for (const segment of segments) {
        if (merge.length >= 2 && merge.includes(segment)) continue;
        const deleted = segment.deltaLogs.reduce((sum, log) => sum + log.rowCount, 0);
        if (segment.numRows > 0 && deleted / segment.numRows >= this.limits.compactionDeletedFractionMin) planned.push([segment.id]);
      }
      for (const plan of planned) {
        for (const id of plan) this.compacting.add(id);
        node.compact(first.vchannel, plan);
        plans.push(plan);
      }
    }
    return plans;
  }

  /** A compaction the data node gave up (its sources may be planned again). */
  compactionAbandoned(segmentIds: readonly bigint[]): void {
    for (const id of segmentIds) this.compacting.delete(id);
  }

  /**
   * Replaces flushed segments by one compacted segment in one transaction fenced by the node's watch
   * (the new one flushed, or dropped when every row was deleted; the old ones dropped with
   * compactedTo). Announces "compacted" for the new segment, then "dropped" for the old ones.
   */
  commitCompaction(nodeId: string, vchannel: string, from: readonly bigint[], result: Omit<SegmentInfo, "state" | "compactedFrom">): Promise<SegmentInfo> {
    return this.mutex.run(async () => {
      try {
        const sources = from.map((id) => {
          const segment = this.segments.get(id);
          if (segment === undefined || segment.state !== "flushed") throw new VelaError(ErrorCode.Unavailable, `segment ${id} is no longer flushed; compaction abandoned`);
          return segment;
        });
        const id = result.id;
        const nowMs = this.options.clock.nowMs();
        const created: SegmentInfo = { ...result, state: result.numRows === 0 ? "dropped" : "flushed", compactedFrom: [...from], ...(result.numRows === 0 ? { droppedAtMs: nowMs } : {}) };
        const dropped = sources.map((segment) => ({ ...segment, state: "dropped" as const, droppedAtMs: nowMs, compactedTo: id }));
        const watch = this.watches.get(vchannel);
        if (watch === undefined || watch.nodeId !== nodeId) throw new VelaError(ErrorCode.Unavailable, `data node ${nodeId} no longer watches ${vchannel}`);
        const compare = [
          { key: channelWatchKey(vchannel), target: "value" as const, operator: "equal" as const, value: encodeRecord(watch) },
          ...sources.map((segment) => ({ key: segmentKey(segment.collectionId, segment.id), target: "value" as const, operator: "equal" as const, value: encodeRecord(segment) })),
        ];
        const success: TxnOp[] = [created, ...dropped].map((segment) => ({ type: "put", key: segmentKey(segment.collectionId, segment.id), value: encodeRecord(segment) }));
        const txn = await this.options.metaStore.txn({ compare, success });
        if (!txn.succeeded) throw new VelaError(ErrorCode.Unavailable, "segments changed during compaction; compaction abandoned");
        this.segments.set(created.id, created);
        for (const segment of dropped) this.segments.set(segment.id, segment);
        this.emit({ kind: created.state === "flushed" ? "compacted" : "dropped", segment: created });
        for (const segment of dropped) this.emit({ kind: "dropped", segment });
        return created;
      } finally {
        for (const id of from) this.compacting.delete(id);
      }
    });
  }

  // ---- background passes ----

  /** One pass of the periodic work; exposed for tests driving a manual clock. */
  async runPass(): Promise<void> {
    const nowMs = this.options.clock.nowMs();
    const steps: Array<[string, () => Promise<void>]> = [
      ["seal", () => this.sealPass()],
      ["watch", () => this.rebalance()],
    ];
    if (nowMs - this.lastRetentionMs >= this.limits.logRetentionIntervalMs) {
      this.lastRetentionMs = nowMs;
      steps.push(["log retention", () => this.retentionPass()]);
    }
    if (nowMs - this.lastCompactionMs >= this.limits.compactionIntervalMs) {
      this.lastCompactionMs = nowMs;
      steps.push(["compaction", async () => void this.compactionPass()]);
    }
    if (nowMs - this.lastGcMs >= this.limits.gcIntervalMs) {
      this.lastGcMs = nowMs;
      steps.push(["garbage collection", () => this.gcPass().then(() => undefined)]);
    }
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (error) {
        this.options.onBackgroundError?.(new VelaError(ErrorCode.Internal, `data coordinator ${name} pass failed: ${errorMessage(error)}`, { cause: error }));
      }
    }
  }

  /** Seals full, idle and old growing segments. */
  sealPass(): Promise<void> {
    return this.mutex.run(async () => {
      const nowMs = this.options.clock.nowMs();
      let sealTs: Timestamp | undefined;
      for (const segment of [...this.segments.values()]) {
        if (segment.state !== "growing") continue;
        const created = segment.createdMs;
        const full = segment.rowsAllocated >= segment.rowCountMax;
        const idle = nowMs - segment.lastAllocationMs >= this.limits.segmentIdleSealMs;
        const old = nowMs - created >= this.limits.segmentLifetimeMsMax;
        if (!full && !idle && !old) continue;
        sealTs ??= await this.options.allocTimestamp();
        await this.seal(segment, sealTs);
      }
    });
  }

  /** Commits, per pchannel, the smallest offset anyone still needs, and truncates the log below it. */
  async retentionPass(): Promise<void> {
    const needed = new Map<string, number>();
    const need = (pchannel: string, offset: number): void => {
      needed.set(pchannel, Math.min(needed.get(pchannel) ?? Number.MAX_SAFE_INTEGER, offset));
    };
    for (const watch of this.watches.values()) need(watch.pchannel, this.checkpoints.get(watch.vchannel)?.offset ?? 0);
    for (const [pchannel, offset] of this.options.readerPositions?.() ?? new Map<string, number>()) need(pchannel, offset);
    for (const [pchannel, offset] of needed) {
      if (offset <= 0) continue;
      const previous = await this.options.log.committed(RETENTION_SUBSCRIBER, pchannel);
      if (previous !== undefined && previous >= offset) continue;
      await this.options.log.commit(RETENTION_SUBSCRIBER, pchannel, offset);
      await this.options.log.truncate(pchannel);
    }
  }

  /**
   * Garbage collection: drops segments of collections that no longer exist, deletes the files and
   * records of segments dropped more than gcDroppedRetentionMs ago, and binlog files no segment names
   * that are older than gcOrphanMinAgeMs. Returns how many files it deleted.
   */
  async gcPass(): Promise<number> {
    const nowMs = this.options.clock.nowMs();
    const collections = new Set([...this.segments.values()].filter((segment) => segment.state !== "dropped").map((segment) => segment.collectionId));
    for (const collectionId of collections) {
      if (!(await this.options.collectionExists(collectionId))) await this.dropCollection(collectionId);
    }
    let deleted = 0;
    const afterDropsMs = this.options.clock.nowMs();
    const expired = [...this.segments.values()].filter((segment) => segment.state === "dropped" && afterDropsMs - (segment.droppedAtMs ?? 0) >= this.limits.gcDroppedRetentionMs);
    for (const segment of expired) {
      for (const file of [...segment.insertLogs, ...segment.statsLogs, ...segment.deltaLogs]) {
        await this.options.objectStore.delete(file.path);
        deleted += 1;
      }
      await this.mutex.run(async () => {
        await this.options.metaStore.delete(segmentKey(segment.collectionId, segment.id));
        this.segments.delete(segment.id);
      });
    }
    // Orphans: files under the binlog prefixes that no live record names.
    const referenced = new Set<string>();
    for (const segment of this.segments.values()) {
      for (const file of [...segment.insertLogs, ...segment.statsLogs, ...segment.deltaLogs]) referenced.add(file.path);
    }
    const root = this.binlogRoot === "" ? "" : `${this.binlogRoot}/`;
    for (const kind of ["insert_log/", "delta_log/", "stats_log/"]) {
      for await (const object of listAll(this.options.objectStore, root + kind)) {
        if (referenced.has(object.key) || nowMs - object.modifiedMs < this.limits.gcOrphanMinAgeMs) continue;
        try {
          parseBinlogPath(object.key);
        } catch {
          continue; // not a binlog: leave it alone
        }
        // A file written after the set of references was taken may belong to a commit in progress: the
        // age bound covers a data node's write-to-commit time, and the check and the delete run under
        // the lock commits take, so a commit whose transaction is accepted always keeps its files.
        const removed = await this.mutex.run(async () => {
          if (this.isReferenced(object.key)) return false;
          await this.options.objectStore.delete(object.key);
          return true;
        });
        if (removed) deleted += 1;
      }
    }
    return deleted;
  }

  private isReferenced(path: string): boolean {
    const location = parseBinlogPath(path);
    const segment = this.segments.get(location.segmentId);
    if (segment === undefined) return false;
    return [...segment.insertLogs, ...segment.statsLogs, ...segment.deltaLogs].some((file) => file.path === path);
  }

  private async persist(segment: SegmentInfo): Promise<void> {
    await this.options.metaStore.put(segmentKey(segment.collectionId, segment.id), encodeRecord(segment));
  }
}
