// An in-memory DataCoordApi for tests of the index side: segments are added flushed (with real binlogs
// written by writeSegmentBinlogs into an ObjectStore), dropped, or replaced by compaction, and each
// change is announced to the listeners as the real data coordinator does after its commit.

import type { Column } from "../../common/columns.ts";
import { DataType } from "../../common/schema.ts";
import { writeSegmentBinlogs } from "../../datanode/binlog/segment-binlogs.ts";
import type { ObjectStore } from "../../storage/object/object-store.ts";
import type { ChannelCheckpoint, DataCoordApi, SegmentEvent, SegmentInfo } from "../../types/data-coord.ts";

export class FakeDataCoord implements DataCoordApi {
  private readonly segments = new Map<bigint, SegmentInfo>();
  private readonly listeners = new Set<(event: SegmentEvent) => void>();

  listSegments(collectionId?: bigint): SegmentInfo[] {
    return [...this.segments.values()].filter((segment) => collectionId === undefined || segment.collectionId === collectionId).map((segment) => ({ ...segment }));
  }

  segment(segmentId: bigint): SegmentInfo | undefined {
    const segment = this.segments.get(segmentId);
    return segment === undefined ? undefined : { ...segment };
  }

  checkpoint(_vchannel: string): ChannelCheckpoint | undefined {
    return undefined;
  }

  onSegmentEvent(listener: (event: SegmentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Records a segment (any state) without announcing it. */
  put(segment: SegmentInfo): void {
    this.segments.set(segment.id, { ...segment });
  }

  /** Records a flushed segment and announces it (`compacted` when it names what it replaced). */
  flush(segment: SegmentInfo): void {
    this.put({ ...segment, state: "flushed" });
    this.announce({ kind: segment.compactedFrom === undefined ? "flushed" : "compacted", segment: { ...segment, state: "flushed" } });
  }

  /** Marks a segment dropped and announces it. */
  drop(segmentId: bigint, nowMs: number): void {
    const segment = this.segments.get(segmentId);
    if (segment === undefined) throw new Error(`fake data coordinator: no segment ${segmentId}`);
    const dropped: SegmentInfo = { ...segment, state: "dropped", droppedAtMs: nowMs };
    this.segments.set(segmentId, dropped);
    this.announce({ kind: "dropped", segment: { ...dropped } });
  }

  private announce(event: SegmentEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

export interface VectorSegmentSpec {
  collectionId: bigint;
  partitionId: bigint;
  segmentId: bigint;
  /** Field ids: primary key (Int64) and the vector field. */
  primaryKeyFieldId: number;
  vectorFieldId: number;
  dim: number;
  /** rows × dim. */
  vectors: Float32Array;
  /** Rows per flush (one set of binlogs each, log ids ascending from firstLogId); sums to the row count. */
  flushRows: number[];
  firstLogId: bigint;
  /** First primary key; rows get consecutive keys. */
  firstKey: bigint;
  root?: string;
}

/**
 * Writes a segment's binlogs (primary key and vector field) flush by flush, and returns its flushed
 * record with every insert log and its CRC. The record lists insert logs newest flush first, so a
 * reader that does not sort them by log id gets the row order wrong.
 */
export async function writeVectorSegment(store: ObjectStore, spec: VectorSegmentSpec): Promise<SegmentInfo> {
  const rows = spec.vectors.length / spec.dim;
  const insertLogs: SegmentInfo["insertLogs"] = [];
  const statsLogs: SegmentInfo["statsLogs"] = [];
  let row = 0;
  for (const [flush, count] of spec.flushRows.entries()) {
    const keys = new BigInt64Array(count);
    for (let i = 0; i < count; i++) keys[i] = spec.firstKey + BigInt(row + i);
    const timestamps = new BigUint64Array(count).fill(1000n + BigInt(flush));
    const columns: Column[] = [
      { fieldId: spec.primaryKeyFieldId, type: DataType.Int64, values: keys },
      { fieldId: spec.vectorFieldId, type: DataType.FloatVector, dim: spec.dim, values: spec.vectors.slice(row * spec.dim, (row + count) * spec.dim) },
    ];
    const written = await writeSegmentBinlogs(store, {
      root: spec.root ?? "", collectionId: spec.collectionId, partitionId: spec.partitionId, segmentId: spec.segmentId,
      primaryKeyFieldId: spec.primaryKeyFieldId, logId: spec.firstLogId + BigInt(flush),
    }, columns, timestamps);
    insertLogs.unshift(...written.insertLogs);
    statsLogs.unshift(...written.statsLogs);
    row += count;
  }
  if (row !== rows) throw new Error(`writeVectorSegment: flushRows sum to ${row}, the vectors hold ${rows} rows`);
  return {
    id: spec.segmentId, collectionId: spec.collectionId, partitionId: spec.partitionId, vchannel: "vela-dml_0_v0",
    state: "flushed", rowCountMax: 1_000_000, rowsAllocated: rows, createdMs: 0, lastAllocationMs: 0, lastExpireTs: 0n,
    numRows: rows, insertLogs, deltaLogs: [], statsLogs, syncedOffset: 1, flushTs: 2000n,
  };
}
