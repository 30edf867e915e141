// The data coordinator's segment allocation (DESIGN §5, §6): proxies ask for segment IDs with a row
// quota before they publish rows. Rows of one (collection, partition, vchannel) go to a growing
// segment until its size or row bound is reached, then to a new one.
//
// Invariants: a quota is never granted beyond a segment's capacity; every segment ever handed out is
// recorded in the MetaStore (`segment/<collection>/<segment>`) before its ID is returned, so a
// restarted coordinator knows it; a segment's `lastExpiryMs` tells the seal logic (issue #7) when no
// granted quota can still be written to it.

import type { Clock } from "../common/clock.ts";
import { dataCoordDefaults, resolveLimits, type DataCoordLimits } from "../common/config.ts";
import { invalidArgument } from "../common/errors.ts";
import { Mutex } from "../common/mutex.ts";
import { DataType, type CollectionSchema } from "../common/schema.ts";
import { decodeValue, type MetaStore } from "../storage/meta/meta-store.ts";
import { decodeRecord, encodeRecord } from "./catalog.ts";
import { rangeAll } from "../storage/meta/range-all.ts";

export type SegmentState = "growing" | "sealed" | "flushing" | "flushed" | "dropped";

export interface SegmentInfo {
  id: bigint;
  collectionId: bigint;
  partitionId: bigint;
  vchannel: string;
  state: SegmentState;
  /** Most rows the segment takes. */
  rowCountMax: number;
  /** Rows granted to proxies so far. */
  rowsAllocated: number;
  /** When the last granted quota expires (ms). */
  lastExpiryMs: number;
}

export interface SegmentAssignment {
  segmentId: bigint;
  rowCount: number;
}

export interface AssignSegmentsRequest {
  collectionId: bigint;
  partitionId: bigint;
  vchannel: string;
  schema: CollectionSchema;
  rowCount: number;
}

/** The part of the data coordinator proxies call. */
export interface SegmentAllocatorApi {
  /** Grants `rowCount` rows, split over one or more growing segments; the sum of counts equals rowCount. */
  assignSegments(request: AssignSegmentsRequest): Promise<SegmentAssignment[]>;
  /** Reports rows durably written to a segment (for statistics). */
  reportWritten(segmentId: bigint, rows: number): void;
}

export interface SegmentAllocatorOptions {
  metaStore: MetaStore;
  clock: Clock;
  allocateId: () => Promise<bigint>;
  limits?: Partial<DataCoordLimits>;
}

export const segmentKey = (collectionId: bigint, segmentId: bigint): string => `segment/${collectionId}/${segmentId}`;

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

export class SegmentAllocator implements SegmentAllocatorApi {
  private readonly limits: DataCoordLimits;
  private readonly segments = new Map<bigint, SegmentInfo>();
  private readonly written = new Map<bigint, number>();
  private readonly mutex = new Mutex();

  private constructor(private readonly options: SegmentAllocatorOptions) {
    this.limits = resolveLimits(dataCoordDefaults, options.limits, "data coordinator");
  }

  static async open(options: SegmentAllocatorOptions): Promise<SegmentAllocator> {
    const allocator = new SegmentAllocator(options);
    for (const kv of await rangeAll(options.metaStore, "segment/")) {
      const info = decodeRecord<SegmentInfo>(decodeValue(kv.value), kv.key);
      // Quotas granted before a restart are not persisted, so a segment that was growing takes no
      // new ones: new rows go to a fresh segment and the old one is left for the seal logic.
      if (info.state === "growing") info.rowsAllocated = info.rowCountMax;
      allocator.segments.set(info.id, info);
    }
    return allocator;
  }

  assignSegments(request: AssignSegmentsRequest): Promise<SegmentAssignment[]> {
    if (!Number.isInteger(request.rowCount) || request.rowCount < 1) throw invalidArgument(`row count must be a positive integer, got ${request.rowCount}`);
    return this.mutex.run(async () => {
      const nowMs = this.options.clock.nowMs();
      const expiryMs = nowMs + this.limits.segmentAllocationExpiryMs;
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
            lastExpiryMs: expiryMs,
          };
          await this.persist(segment);
          this.segments.set(segment.id, segment);
        }
        const granted = Math.min(remaining, segment.rowCountMax - segment.rowsAllocated);
        segment.rowsAllocated += granted;
        segment.lastExpiryMs = Math.max(segment.lastExpiryMs, expiryMs);
        assignments.push({ segmentId: segment.id, rowCount: granted });
        remaining -= granted;
      }
      return assignments;
    });
  }

  /** Records rows a proxy has durably written to a segment (statistics; kept in memory). */
  reportWritten(segmentId: bigint, rows: number): void {
    this.written.set(segmentId, (this.written.get(segmentId) ?? 0) + rows);
  }

  /** Rows written through this coordinator since it started, per collection (and partition). */
  rowsWritten(collectionId: bigint, partitionId: bigint | undefined): number {
    let rows = 0;
    for (const segment of this.segments.values()) {
      if (segment.collectionId !== collectionId || (partitionId !== undefined && segment.partitionId !== partitionId)) continue;
      rows += this.written.get(segment.id) ?? 0;
    }
    return rows;
  }

  /** Every segment known, for inspection and for the seal logic. */
  listSegments(collectionId?: bigint): SegmentInfo[] {
    return [...this.segments.values()].filter((segment) => collectionId === undefined || segment.collectionId === collectionId);
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

  private async persist(segment: SegmentInfo): Promise<void> {
    await this.options.metaStore.put(segmentKey(segment.collectionId, segment.id), encodeRecord(segment));
  }
}
