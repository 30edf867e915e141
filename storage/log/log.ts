// The log seam (DESIGN §2): the write-ahead log is the database. Named channels (pchannels), each one
// totally ordered sequence of records addressed by a dense offset starting at 0. Implementations:
// EmbeddedLog (segmented append-only files with group commit, standalone) and KafkaLog (one topic with
// one partition per channel). Both pass test/contract/log.contract.ts.
//
// Invariants: offsets of one channel are dense and increasing; append() resolves only after its
// records are durable (fsync'd, or acknowledged by all in-sync replicas), and the records of one
// append() are contiguous and in the order given.

import type { MsgType } from "../../common/msg-type.ts";

/** The small header every record carries beside its opaque payload. */
export interface LogMessageHeader {
  type: MsgType;
  /** Collection the message belongs to (0n for channel-wide messages such as time ticks). */
  collectionId: bigint;
  /** Virtual channel (shard) the message belongs to; "" for channel-wide messages. */
  vchannel: string;
  /** Smallest and largest TSO timestamp of the rows in the message (equal for single-ts messages). */
  beginTs: bigint;
  endTs: bigint;
}

export interface LogMessage {
  header: LogMessageHeader;
  payload: Uint8Array;
}

export interface LogRecord extends LogMessage {
  channel: string;
  offset: number;
}

/** Where a reader starts: the oldest retained record, the next record to be appended, or an offset. */
export type ReadFrom = { kind: "earliest" } | { kind: "latest" } | { kind: "offset"; offset: number };

export interface ReadOptions {
  /** Stop reading (end the iteration) after delivering the record just before this offset. */
  endOffsetExclusive?: number;
}

/**
 * An open read of one channel: an async stream of records in offset order. It fetches at most
 * readAheadRecordsMax / readAheadBytesMax ahead of its consumer (back-pressure) and, unless
 * endOffsetExclusive was given, waits for new records at the end instead of finishing. Reading from an
 * offset that was truncated away fails with a Compacted error.
 */
export interface LogReader extends AsyncIterable<LogRecord> {
  close(): Promise<void>;
}

export interface Log {
  /** Creates the channel if it does not exist (idempotent). Appending to a missing channel creates it too. */
  ensureChannel(channel: string): Promise<void>;
  /** Appends messages to one channel; resolves with their offsets once they are durable. */
  append(channel: string, messages: readonly LogMessage[]): Promise<number[]>;
  read(channel: string, from: ReadFrom, options?: ReadOptions): Promise<LogReader>;
  /** Offset the next append will get (0 for an empty channel). */
  latestOffset(channel: string): Promise<number>;
  /** Oldest offset still readable (equals latestOffset for an empty or fully truncated channel). */
  earliestOffset(channel: string): Promise<number>;
  /** Records `subscriber`'s checkpoint on `channel`: the offset of the next record it needs. */
  commit(subscriber: string, channel: string, nextOffset: number): Promise<void>;
  /** The checkpoint last committed by `subscriber` on `channel`, or undefined. */
  committed(subscriber: string, channel: string): Promise<number | undefined>;
  /**
   * Drops records that every subscriber's checkpoint on the channel has passed (never beyond the
   * smallest checkpoint, nothing at all when there is none). Returns the new earliest offset.
   */
  truncate(channel: string): Promise<number>;
  /** Releases resources; later calls fail with a Closed error. Pending appends finish first. */
  close(): Promise<void>;
}

export const CHANNEL_NAME_PATTERN = /^[A-Za-z0-9._-]+$/;
