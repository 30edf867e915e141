// One collection as a query node holds it (DESIGN §8): for each vchannel it serves, a log reader, the
// growing segments replayed from it, and tsafe.
//
// Replay: messages of the vchannel are buffered until the next TimeTick(T) of their pchannel; then the
// batch is sorted by timestamp (stable, so an upsert's tombstones stay before its rows) and applied,
// and tsafe becomes T. Invariants: everything applied has ts <= tsafe; batches apply in timestamp
// order (the tick invariant guarantees a later batch holds only larger timestamps); DDL applies in
// log order with the rows around it.

import type { Clock } from "../common/clock.ts";
import { ErrorCode, VelaError, errorMessage } from "../common/errors.ts";
import { MsgType } from "../common/msg-type.ts";
import type { Timestamp } from "../common/timestamp.ts";
import type { CollectionInfo } from "../coord/catalog.ts";
import { decodeDeleteMsg, decodeInsertMsg, decodePartitionDdlMsg } from "../proto/codec.ts";
import type { Log, LogReader, LogRecord } from "../storage/log/log.ts";
import { GrowingSegment, type PrimaryKey } from "./growing-segment.ts";

interface TsafeWaiter {
  target: Timestamp;
  resolve: () => void;
}

export class VchannelReplica {
  tsafe: Timestamp = 0n;
  readonly segments = new Map<bigint, GrowingSegment>();
  private pending: LogRecord[] = [];
  private waiters: TsafeWaiter[] = [];
  private reader: LogReader | undefined;
  private pump: Promise<void> | undefined;
  failure: VelaError | undefined;
  dropped = false;
  /** Rows applied so far (inserted), for progress and metrics. */
  rowsApplied = 0;

  constructor(
    readonly collection: CollectionReplica,
    readonly vchannel: string,
    readonly pchannel: string,
  ) {}

  async start(log: Log): Promise<void> {
    this.reader = await log.read(this.pchannel, { kind: "earliest" });
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
