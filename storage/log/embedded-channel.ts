// One channel of the embedded log: a directory of segment files named by their first offset, the group
// commit that writes and fsyncs appends, recovery of the last segment after a crash, and truncation of
// whole segments.
//
// Invariants:
// - an append resolves only after its frames are written and fsync'd (unless fsync is disabled);
//   records become visible to readers at that same moment, a whole group at once;
// - offsets are assigned in the order appends were made, densely, when their group is written;
// - after open, the last segment ends at its last valid frame: a torn or corrupt tail is cut off, and
//   nothing before it is touched;
// - truncation deletes whole segments only, oldest first, never the active one, so what remains is
//   always a contiguous suffix of the channel;
// - after a failed write or fsync the channel refuses appends until the log is reopened, because the
//   file's state is then unknown (an fsync error may have dropped dirty pages).

import { mkdir, open, readdir, rm, stat, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import type { Clock } from "../../common/clock.ts";
import type { LogLimits } from "../../common/config.ts";
import { VelaError, ErrorCode, closedError, errorMessage, limitExceeded } from "../../common/errors.ts";
import { fsyncDirectory } from "./durable-fs.ts";
import { EmbeddedCheckpoints } from "./embedded-checkpoints.ts";
import { sealFrame } from "./embedded-record.ts";
import { parseSegmentFileName, scanSegment, segmentPath, type Segment } from "./embedded-segment.ts";

/** Counters shared by all channels of one log (observable by tests and the benchmark). */
export interface EmbeddedLogStats {
  /** Groups of appends written together. */
  groupCommits: number;
  /** fsync calls on segment files made for appends. */
  fsyncs: number;
  /** Records appended. */
  appendedRecords: number;
}

export interface ChannelOptions {
  limits: LogLimits;
  fsync: boolean;
  clock: Clock;
  stats: EmbeddedLogStats;
}

interface PendingAppend {
  frames: Buffer[];
  frameBytes: number;
  resolve: (offsets: number[]) => void;
  reject: (error: VelaError) => void;
}

interface ActiveSegment {
  segment: Segment;
  handle: FileHandle;
  /** Bytes written so far (durable or not). */
  writtenBytes: number;
  lastIndexedBytes: number;
}

export class EmbeddedChannel {
  private segments: Segment[];
  private active: ActiveSegment;
  /** Offset after the last durable record: what latestOffset reports and readers may read up to. */
  private durableNextOffset: number;
  private pending: PendingAppend[] = [];
  private pendingBytes = 0;
  /** Appends and bytes accepted but not yet durable (pending or being written). */
  private waitingAppends = 0;
  private waitingBytes = 0;
  /** Cancels the pending group-commit window, if one is open. */
  private cancelWindow: (() => void) | undefined;
  private flushing: Promise<void> | undefined;
  private broken: VelaError | undefined;
  /** Appends in the last group written (1 at first: no sign of concurrent appenders yet). */
  private lastGroupAppends = 1;
  private closing = false;
  private closed = false;
  private waiters = new Set<() => void>();

  private constructor(
    readonly name: string,
    readonly directory: string,
    readonly checkpoints: EmbeddedCheckpoints,
    segments: Segment[],
    active: ActiveSegment,
    private readonly options: ChannelOptions,
  ) {
    this.segments = segments;
    this.active = active;
    this.durableNextOffset = active.segment.durableEndOffset;
  }

  /** Opens (creating if needed) the channel in `directory`, recovering its last segment. */
  static async open(name: string, directory: string, options: ChannelOptions): Promise<EmbeddedChannel> {
    const { limits, fsync } = options;
    const created = await mkdir(directory, { recursive: true });
    if (created !== undefined && fsync) await fsyncDirectory(dirname(directory));
    const bases: number[] = [];
    for (const entry of await readdir(directory)) {
      const base = parseSegmentFileName(entry);
      if (base !== undefined) bases.push(base);
    }
    bases.sort((a, b) => a - b);
    if (bases.length === 0) {
      const handle = await open(segmentPath(directory, 0), "wx");
      await handle.close();
      if (fsync) await fsyncDirectory(directory);
      bases.push(0);
    }
    const segments: Segment[] = [];
    for (let i = 0; i < bases.length - 1; i++) {
      const base = bases[i] as number;
      const path = segmentPath(directory, base);
      const { size } = await stat(path);
      segments.push({
        baseOffset: base,
        path,
        durableBytes: size,
        durableEndOffset: bases[i + 1] as number,
        index: undefined,
        indexBuilding: undefined,
      });
    }
    const lastBase = bases[bases.length - 1] as number;
    const lastPath = segmentPath(directory, lastBase);
    const handle = await open(lastPath, "r+");
    let active: ActiveSegment;
    try {
      const { size } = await handle.stat();
      const scan = await scanSegment(handle, lastBase, {
        limitBytes: size,
        verifyChecksums: true,
        indexIntervalBytes: limits.embeddedIndexIntervalBytes,
        readChunkBytes: limits.embeddedReadChunkBytes,
      });
      if (scan.validBytes < size) {
        // A torn or corrupt tail: what follows the last valid frame was never acknowledged.
        await handle.truncate(scan.validBytes);
        if (fsync) await handle.datasync();
      }
      const segment: Segment = {
        baseOffset: lastBase,
        path: lastPath,
        durableBytes: scan.validBytes,
        durableEndOffset: scan.endOffset,
        index: scan.index,
        indexBuilding: undefined,
      };
      segments.push(segment);
      const lastIndexed = scan.index.length > 0 ? (scan.index[scan.index.length - 1] as number) : Number.NEGATIVE_INFINITY;
      active = { segment, handle, writtenBytes: scan.validBytes, lastIndexedBytes: lastIndexed };
    } catch (error) {
      await handle.close();
      throw error;
    }
    const checkpoints = await EmbeddedCheckpoints.load(directory, fsync).catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    return new EmbeddedChannel(name, directory, checkpoints, segments, active, options);
  }

  get earliestOffset(): number {
    return (this.segments[0] as Segment).baseOffset;
  }

  get latestOffset(): number {
    return this.durableNextOffset;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The segment holding `offset`, or undefined when it was truncated away. */
  segmentFor(offset: number): Segment | undefined {
    let low = 0;
    let high = this.segments.length - 1;
    let found: Segment | undefined;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const segment = this.segments[middle] as Segment;
      if (segment.baseOffset <= offset) {
        found = segment;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /** The segment after `segment` (also when `segment` was truncated away), or undefined if none follows. */
  segmentAfter(segment: Segment): Segment | undefined {
    const next = this.segmentFor(segment.durableEndOffset);
    return next !== undefined && next.baseOffset > segment.baseOffset ? next : undefined;
  }

  /** Resolves once a record at `offset` is durable, the channel closes, or `signal` aborts. */
  waitForRecord(offset: number, signal: AbortSignal): Promise<void> {
    if (offset < this.durableNextOffset || this.closed || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        this.waiters.delete(wake);
        signal.removeEventListener("abort", wake);
        resolve();
      };
      this.waiters.add(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }

  append(frames: Buffer[], frameBytes: number): Promise<number[]> {
    if (this.closing) return Promise.reject(closedError(`channel ${this.name}`));
    if (this.broken !== undefined) return Promise.reject(this.broken);
    const { limits } = this.options;
    if (this.waitingAppends + 1 > limits.embeddedPendingAppendsMax) {
      return Promise.reject(
        limitExceeded(
          `channel ${this.name}: ${this.waitingAppends} appends are waiting for durability; embeddedPendingAppendsMax is ${limits.embeddedPendingAppendsMax}`,
        ),
      );
    }
    if (this.waitingBytes > 0 && this.waitingBytes + frameBytes > limits.embeddedPendingBytesMax) {
      return Promise.reject(
        limitExceeded(
          `channel ${this.name}: ${this.waitingBytes} bytes are waiting for durability; embeddedPendingBytesMax is ${limits.embeddedPendingBytesMax}`,
        ),
      );
    }
    this.waitingAppends += 1;
    this.waitingBytes += frameBytes;
    return new Promise<number[]>((resolve, reject) => {
      this.pending.push({ frames, frameBytes, resolve, reject });
      this.pendingBytes += frameBytes;
      this.schedule();
    });
  }

  /** Deletes the segments that end at or below `offset`; returns the new earliest offset. */
  async truncateBelow(offset: number): Promise<number> {
    let deleted = false;
    try {
      while (this.segments.length > 1) {
        const oldest = this.segments[0] as Segment;
        if (oldest.durableEndOffset > offset) break;
        // Readers check earliestOffset before opening a segment; drop it from view first.
        this.segments = this.segments.slice(1);
        deleted = true;
        await rm(oldest.path, { force: true });
      }
      if (deleted && this.options.fsync) await fsyncDirectory(this.directory);
    } catch (error) {
      throw new VelaError(ErrorCode.Unavailable, `channel ${this.name}: truncation failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    return this.earliestOffset;
  }

  /** Finishes pending appends, then releases the files. Later appends fail with Closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    this.startFlush();
    while (this.flushing !== undefined) await this.flushing;
    await this.checkpoints.settle();
    this.closed = true;
    await this.active.handle.close();
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * Group commit. Appends that arrive while a group is being written and fsync'd wait for it and then go
   * out together as the next group. An append that finds the channel idle is written at once when the
   * previous group held a single append (a lone appender gains nothing from waiting); otherwise concurrent
   * appenders are about, and it holds the group open for up to embeddedGroupCommitWaitMs so that they share
   * its fsync, closing early once embeddedGroupCommitBytesMax bytes are pending.
   */
  private schedule(): void {
    if (this.flushing !== undefined) return; // the running flush takes the rest when it is done
    const { embeddedGroupCommitBytesMax, embeddedGroupCommitWaitMs } = this.options.limits;
    const lone = this.lastGroupAppends <= 1 && this.pending.length === 1;
    if (lone || this.pendingBytes >= embeddedGroupCommitBytesMax || embeddedGroupCommitWaitMs === 0 || this.closing) {
      this.startFlush();
    } else if (this.cancelWindow === undefined) {
      this.cancelWindow = this.options.clock.setTimer(embeddedGroupCommitWaitMs, () => {
        this.cancelWindow = undefined;
        this.startFlush();
      });
    }
  }

  private startFlush(): void {
    if (this.cancelWindow !== undefined) {
      this.cancelWindow();
      this.cancelWindow = undefined;
    }
    if (this.flushing !== undefined || this.pending.length === 0) return;
    this.flushing = (async () => {
      try {
        // Appends that arrived while a group was being fsync'd form the next group at once.
        while (this.pending.length > 0) await this.flushGroup();
      } finally {
        this.flushing = undefined;
      }
    })();
  }

  private async flushGroup(): Promise<void> {
    const group = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const groupBytes = group.reduce((sum, append) => sum + append.frameBytes, 0);
    const settle = (): void => {
      this.waitingAppends -= group.length;
      this.waitingBytes -= groupBytes;
    };
    if (this.broken !== undefined) {
      settle();
      for (const append of group) append.reject(this.broken);
      return;
    }
    const firstOffset = this.durableNextOffset;
    const offsets: number[][] = [];
    let next = firstOffset;
    for (const append of group) {
      const appendOffsets: number[] = [];
      for (const frame of append.frames) {
        sealFrame(frame, next);
        appendOffsets.push(next);
        next += 1;
      }
      offsets.push(appendOffsets);
    }
    const sealedSegments: { segment: Segment; bytes: number; endOffset: number }[] = [];
    try {
      let run: Buffer[] = [];
      let runBytes = 0;
      let offset = firstOffset;
      const { embeddedSegmentBytesMax, embeddedIndexIntervalBytes } = this.options.limits;
      for (const append of group) {
        for (const frame of append.frames) {
          const position = this.active.writtenBytes + runBytes;
          if (position > 0 && position + frame.length > embeddedSegmentBytesMax) {
            await this.writeRun(run, runBytes);
            run = [];
            runBytes = 0;
            await this.syncActive();
            sealedSegments.push({ segment: this.active.segment, bytes: this.active.writtenBytes, endOffset: offset });
            await this.roll(offset);
          }
          const at = this.active.writtenBytes + runBytes;
          if (at - this.active.lastIndexedBytes >= embeddedIndexIntervalBytes) {
            this.active.segment.index?.push(offset, at);
            this.active.lastIndexedBytes = at;
          }
          run.push(frame);
          runBytes += frame.length;
          offset += 1;
        }
      }
      await this.writeRun(run, runBytes);
      await this.syncActive();
    } catch (error) {
      const broken = new VelaError(
        ErrorCode.Unavailable,
        `channel ${this.name}: write failed (${errorMessage(error)}); the channel accepts no appends until the log is reopened`,
        { cause: error },
      );
      this.broken = broken;
      settle();
      for (const append of group) append.reject(broken);
      for (const append of this.pending) append.reject(broken);
      this.waitingAppends -= this.pending.length;
      this.waitingBytes -= this.pendingBytes;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // Publish the whole group at once: readers and latestOffset see it only now that it is durable.
    for (const sealed of sealedSegments) {
      sealed.segment.durableBytes = sealed.bytes;
      sealed.segment.durableEndOffset = sealed.endOffset;
    }
    this.active.segment.durableBytes = this.active.writtenBytes;
    this.active.segment.durableEndOffset = next;
    this.durableNextOffset = next;
    this.lastGroupAppends = group.length;
    this.options.stats.groupCommits += 1;
    this.options.stats.appendedRecords += next - firstOffset;
    settle();
    group.forEach((append, i) => append.resolve(offsets[i] as number[]));
    for (const wake of [...this.waiters]) wake();
  }

  private async writeRun(run: Buffer[], runBytes: number): Promise<void> {
    if (runBytes === 0) return;
    const { bytesWritten } = await this.active.handle.writev(run, this.active.writtenBytes);
    if (bytesWritten !== runBytes) throw new Error(`short write: ${bytesWritten} of ${runBytes} bytes`);
    this.active.writtenBytes += runBytes;
  }

  private async syncActive(): Promise<void> {
    if (!this.options.fsync) return;
    await this.active.handle.datasync();
    this.options.stats.fsyncs += 1;
  }

  /** Seals the active segment and starts a new one whose first record will be `baseOffset`. */
  private async roll(baseOffset: number): Promise<void> {
    const path = segmentPath(this.directory, baseOffset);
    const handle = await open(path, "wx");
    // The new name must survive a crash before any record in it is acknowledged.
    if (this.options.fsync) await fsyncDirectory(this.directory);
    const segment: Segment = {
      baseOffset,
      path,
      durableBytes: 0,
      durableEndOffset: baseOffset,
      index: [],
      indexBuilding: undefined,
    };
    const previous = this.active;
    this.active = { segment, handle, writtenBytes: 0, lastIndexedBytes: Number.NEGATIVE_INFINITY };
    this.segments = [...this.segments, segment];
    await previous.handle.close();
  }
}
