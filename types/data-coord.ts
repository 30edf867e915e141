// What the data coordinator records about segments (DESIGN §6, §7, §9) and what other roles may ask of
// it. The record of each segment lives at `segment/<collectionId>/<segmentId>` in the MetaStore; in
// standalone the DataCoord object serves DataCoordApi, in a cluster a gRPC client would.
//
// Replay positions are offsets in the segment's pchannel (a vchannel lives on exactly one pchannel),
// always at a time-tick boundary: "offset P" means every record before P has been applied.

import type { Timestamp } from "../common/timestamp.ts";

export type SegmentState = "growing" | "sealed" | "flushing" | "flushed" | "dropped";

/** One binlog file as committed: the path names what it holds; the CRC guards the bytes. */
export interface BinlogRef {
  path: string;
  sizeBytes: number;
  rowCount: number;
  /** CRC-32 of the whole file; readers verify it before decoding. */
  crc32: number;
}

export interface FieldBinlogRef extends BinlogRef {
  fieldId: number;
}

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
  /** Wall-clock ms of creation, for the lifetime seal policy. */
  createdMs: number;
  /** Wall-clock ms of the last grant, for the idle seal policy. */
  lastAllocationMs: number;
  /**
   * TSO timestamp after which no granted quota may be written: proxies stamp rows below it. A sealed
   * segment is complete in the log once its channel's time tick passes this.
   */
  lastExpireTs: Timestamp;
  /** Rows in the segment's committed insert binlogs (all flushes). */
  numRows: number;
  /** Insert binlogs: one per field per sync. */
  insertLogs: FieldBinlogRef[];
  /** Tombstones (pk, ts) that hit this segment's rows, one file per sync. */
  deltaLogs: BinlogRef[];
  /** Primary-key statistics (bloom filter, min/max), one per sync. */
  statsLogs: FieldBinlogRef[];
  /**
   * Pchannel offset up to which the segment's rows and tombstones are in its binlogs (0: none yet).
   * Replay skips this segment's inserts before it.
   */
  syncedOffset: number;
  /** Time tick at which the data node committed the final flush (state flushed). */
  flushTs?: Timestamp;
  /** TSO timestamp of the seal. */
  sealTs?: Timestamp;
  /** Wall-clock ms when the segment was dropped (GC removes its files some time after). */
  droppedAtMs?: number;
  /** Compaction: the segments this one replaced (it is flushed), or the segment that replaced it (it is dropped). */
  compactedFrom?: bigint[];
  compactedTo?: bigint;
}

/** A vchannel's replay position (`channel-checkpoint/<vchannel>`). */
export interface ChannelCheckpoint {
  vchannel: string;
  pchannel: string;
  /** Next pchannel offset to read: everything before it is in committed binlogs or irrelevant. */
  offset: number;
  /** The time tick at that offset. */
  ts: Timestamp;
}

/** A change of a segment's record, as the data coordinator announces it. */
export type SegmentEvent = { kind: "flushed" | "dropped" | "compacted"; segment: SegmentInfo };

export interface DataCoordApi {
  /** Every segment record of a collection (or of every collection). */
  listSegments(collectionId?: bigint): SegmentInfo[];
  /** One segment record, or undefined. */
  segment(segmentId: bigint): SegmentInfo | undefined;
  /** The vchannel's committed checkpoint, or undefined before the first commit. */
  checkpoint(vchannel: string): ChannelCheckpoint | undefined;
  /** Calls `listener` after each segment change is committed; returns an unsubscribe function. */
  onSegmentEvent(listener: (event: SegmentEvent) => void): () => void;
}
