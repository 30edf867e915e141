// Reads one embedded channel for a BufferedLogReader: a cursor (segment, file position, offset) that
// advances through segment files, waits at the tail for the channel's notification of new durable
// records (never polls), and seeks through the sparse index when it must start elsewhere.
//
// Invariants: it reads only bytes the channel has published as durable; every frame it hands out passed
// its checksum and sits at the offset expected; an offset below the channel's earliest, or a segment file
// that truncation removed, is a Compacted error, and a bad frame inside published bytes is Corrupted.

import { open, type FileHandle } from "node:fs/promises";
import type { LogLimits } from "../../common/config.ts";
import { VelaError, ErrorCode, assert, closedError, errorMessage, isVelaError } from "../../common/errors.ts";
import type { EmbeddedChannel } from "./embedded-channel.ts";
import { checkFrame, decodeFrame, framePayloadBytes, FRAME_PREFIX_BYTES } from "./embedded-record.ts";
import { indexFloor, readAt, scanSegment, type Segment } from "./embedded-segment.ts";
import type { LogRecord } from "./log.ts";
import type { ReadBudget, RecordSource } from "./read-ahead.ts";

interface Cursor {
  segment: Segment;
  handle: FileHandle;
  position: number;
  offset: number;
}

export class EmbeddedRecordSource implements RecordSource {
  private cursor: Cursor | undefined;

  constructor(
    private readonly channel: EmbeddedChannel,
    private readonly limits: LogLimits,
  ) {}

  async fetch(offset: number, budget: ReadBudget, signal: AbortSignal): Promise<LogRecord[]> {
    try {
      return await this.fetchRecords(offset, budget, signal);
    } catch (error) {
      if (isVelaError(error)) throw error;
      throw new VelaError(ErrorCode.Unavailable, `channel ${this.channel.name}: read failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  private async fetchRecords(offset: number, budget: ReadBudget, signal: AbortSignal): Promise<LogRecord[]> {
    for (;;) {
      if (signal.aborted) return [];
      if (this.channel.isClosed) throw closedError(`channel ${this.channel.name}`);
      if (offset < this.channel.earliestOffset) throw this.compacted(offset);
      if (offset >= this.channel.latestOffset) {
        await this.channel.waitForRecord(offset, signal);
        continue;
      }
      let cursor = this.cursor;
      if (cursor === undefined || cursor.offset !== offset) {
        cursor = await this.seek(offset);
        this.cursor = cursor;
        continue; // re-check: the seek awaited, the channel may have closed meanwhile
      }
      if (cursor.position >= cursor.segment.durableBytes) {
        // This segment's durable records are exhausted although later ones exist: move on.
        const next = this.channel.segmentAfter(cursor.segment);
        assert(next !== undefined, `channel ${this.channel.name}: no segment after offset ${cursor.offset} below latest offset`);
        await this.moveTo(next, 0, offset);
        continue;
      }
      return await this.readFrom(cursor, budget);
    }
  }

  async close(): Promise<void> {
    const cursor = this.cursor;
    this.cursor = undefined;
    await cursor?.handle.close();
  }

  private compacted(offset: number): VelaError {
    return new VelaError(
      ErrorCode.Compacted,
      `channel ${this.channel.name}: offset ${offset} was truncated away; the earliest readable offset is ${this.channel.earliestOffset}`,
    );
  }

  private corrupted(segment: Segment, position: number, reason: string): VelaError {
    return new VelaError(ErrorCode.Corrupted, `channel ${this.channel.name}: ${segment.path} byte ${position}: ${reason}`);
  }

  private async openSegment(segment: Segment, offset: number): Promise<FileHandle> {
    try {
      return await open(segment.path, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw this.compacted(offset);
      throw error;
    }
  }

  private async moveTo(segment: Segment, position: number, offset: number): Promise<void> {
    const handle = await this.openSegment(segment, offset);
    await this.cursor?.handle.close();
    this.cursor = { segment, handle, position, offset };
  }

  /** Places a fresh cursor on `offset`: index floor, then skip frames forward. */
  private async seek(offset: number): Promise<Cursor> {
    const segment = this.channel.segmentFor(offset);
    if (segment === undefined) throw this.compacted(offset);
    await this.moveTo(segment, 0, segment.baseOffset);
    const cursor = this.cursor as Cursor;
    const index = await this.indexOf(segment, cursor.handle);
    const floor = indexFloor(index, segment.baseOffset, offset);
    const scan = await scanSegment(cursor.handle, segment.baseOffset, {
      limitBytes: segment.durableBytes,
      startPosition: floor.position,
      startOffset: floor.offset,
      verifyChecksums: false,
      stopAtOffset: offset,
      indexIntervalBytes: 0,
      readChunkBytes: this.limits.embeddedReadChunkBytes,
    });
    if (scan.endOffset !== offset) {
      throw this.corrupted(segment, scan.validBytes, scan.stopReason ?? `offset ${offset} not found`);
    }
    cursor.position = scan.validBytes;
    cursor.offset = offset;
    return cursor;
  }

  /** The segment's sparse index, built once by a scan for sealed segments found on disk. */
  private async indexOf(segment: Segment, handle: FileHandle): Promise<readonly number[]> {
    if (segment.index !== undefined) return segment.index;
    if (segment.indexBuilding === undefined) {
      segment.indexBuilding = (async () => {
        const scan = await scanSegment(handle, segment.baseOffset, {
          limitBytes: segment.durableBytes,
          verifyChecksums: false,
          indexIntervalBytes: this.limits.embeddedIndexIntervalBytes,
          readChunkBytes: this.limits.embeddedReadChunkBytes,
        });
        if (scan.stopReason !== undefined) throw this.corrupted(segment, scan.validBytes, scan.stopReason);
        segment.index = scan.index;
        return scan.index;
      })();
      segment.indexBuilding.catch(() => {
        segment.indexBuilding = undefined;
      });
    }
    return await segment.indexBuilding;
  }

  /** Reads whole frames at the cursor within the budget; advances the cursor past them. */
  private async readFrom(cursor: Cursor, budget: ReadBudget): Promise<LogRecord[]> {
    const { segment } = cursor;
    const available = segment.durableBytes - cursor.position;
    let bytes = await readAt(cursor.handle, cursor.position, Math.min(this.limits.embeddedReadChunkBytes, available));
    const records: LogRecord[] = [];
    let payloadBytes = 0;
    let at = 0;
    while (records.length < budget.records && cursor.position < segment.durableBytes) {
      const check = checkFrame(bytes, at, cursor.offset, true);
      if (check.kind === "incomplete") {
        if (records.length > 0) break; // the rest next time
        const needed = check.frameBytes ?? FRAME_PREFIX_BYTES;
        if (needed > available || bytes.length >= needed) {
          throw this.corrupted(segment, cursor.position, "frame runs past the durable end of the segment");
        }
        bytes = await readAt(cursor.handle, cursor.position, needed);
        at = 0;
        continue;
      }
      if (check.kind === "invalid") throw this.corrupted(segment, cursor.position, check.reason);
      const size = framePayloadBytes(bytes, at);
      const fits = payloadBytes + size <= budget.bytes || (records.length === 0 && budget.atLeastOne);
      if (!fits) break;
      const frame = decodeFrame(bytes, at);
      records.push({ channel: this.channel.name, offset: cursor.offset, header: frame.header, payload: frame.payload });
      payloadBytes += size;
      at += frame.frameBytes;
      cursor.position += frame.frameBytes;
      cursor.offset += 1;
    }
    return records;
  }
}
