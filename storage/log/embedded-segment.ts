// Segment files of the embedded log: naming, and the one scanner that walks frames from the start of a
// segment (recovery, building the sparse index, skipping forward to an offset). Invariant: the scanner
// reads in bounded chunks (never the whole file at once, never a claimed length beyond the file), so a
// corrupt length field cannot make it allocate or block without bound.

import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { checkFrame, FRAME_PREFIX_BYTES } from "./embedded-record.ts";

const SEGMENT_NAME = /^(\d{20})\.log$/;

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, "0")}.log`;
}

export function segmentPath(directory: string, baseOffset: number): string {
  return join(directory, segmentFileName(baseOffset));
}

/** The base offset a segment file name stands for, or undefined for other files. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return undefined;
  const offset = Number(match[1]);
  return Number.isSafeInteger(offset) ? offset : undefined;
}

/** One segment file: the records [baseOffset, durableEndOffset) occupying its first durableBytes bytes. */
export interface Segment {
  readonly baseOffset: number;
  readonly path: string;
  /** Bytes readers may read: all of them are durable and acknowledged. */
  durableBytes: number;
  /** Offset after the last record within durableBytes. */
  durableEndOffset: number;
  /**
   * Sparse index as flat [offset, position, offset, position, ...] pairs in increasing order, or
   * undefined when not built yet (sealed segments found on disk are indexed on first seek).
   */
  index: number[] | undefined;
  indexBuilding: Promise<number[]> | undefined;
}

/** Reads up to `length` bytes at `position`; fewer only at the end of the file. */
export async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

export interface ScanOptions {
  /** Bytes of the file to consider (its size, or the durable end). */
  limitBytes: number;
  /** Start here instead of at the beginning: a record boundary holding `startOffset`. */
  startPosition?: number;
  startOffset?: number;
  /** Verify checksums (recovery) or only framing and offsets (skipping). */
  verifyChecksums: boolean;
  /** Stop as soon as this offset is reached. */
  stopAtOffset?: number;
  /** Record an index entry at least this many bytes apart (0 = no index). */
  indexIntervalBytes: number;
  readChunkBytes: number;
}

export interface ScanResult {
  /** Position after the last valid frame (or of stopAtOffset). */
  validBytes: number;
  /** Offset after the last valid frame (or stopAtOffset). */
  endOffset: number;
  index: number[];
  /** Why the scan stopped before limitBytes, if it did. */
  stopReason: string | undefined;
}

/** Walks the frames of the segment whose first record is `baseOffset`. */
export async function scanSegment(handle: FileHandle, baseOffset: number, options: ScanOptions): Promise<ScanResult> {
  let position = options.startPosition ?? 0;
  let offset = options.startOffset ?? baseOffset;
  const index: number[] = [];
  let lastIndexed = Number.NEGATIVE_INFINITY;
  let buffer: Buffer = Buffer.alloc(0);
  let bufferStart = position;
  while (position < options.limitBytes) {
    if (options.stopAtOffset !== undefined && offset >= options.stopAtOffset) break;
    const check = checkFrame(buffer, position - bufferStart, offset, options.verifyChecksums);
    if (check.kind === "incomplete") {
      const needed = check.frameBytes ?? FRAME_PREFIX_BYTES;
      if (position + needed > options.limitBytes) {
        return { validBytes: position, endOffset: offset, index, stopReason: `incomplete frame at byte ${position}` };
      }
      buffer = await readAt(handle, position, Math.min(Math.max(options.readChunkBytes, needed), options.limitBytes - position));
      bufferStart = position;
      if (buffer.length < needed) {
        return { validBytes: position, endOffset: offset, index, stopReason: `file ends inside the frame at byte ${position}` };
      }
      continue;
    }
    if (check.kind === "invalid") {
      return { validBytes: position, endOffset: offset, index, stopReason: `${check.reason} at byte ${position}` };
    }
    if (options.indexIntervalBytes > 0 && position - lastIndexed >= options.indexIntervalBytes) {
      index.push(offset, position);
      lastIndexed = position;
    }
    position += check.frameBytes;
    offset += 1;
  }
  return { validBytes: position, endOffset: offset, index, stopReason: undefined };
}

/** The index entry (offset, position) with the greatest offset not above `offset`. */
export function indexFloor(index: readonly number[], baseOffset: number, offset: number): { offset: number; position: number } {
  let low = 0;
  let high = index.length / 2 - 1;
  let found = { offset: baseOffset, position: 0 };
  while (low <= high) {
    const middle = (low + high) >> 1;
    const entryOffset = index[middle * 2] as number;
    if (entryOffset <= offset) {
      found = { offset: entryOffset, position: index[middle * 2 + 1] as number };
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}
