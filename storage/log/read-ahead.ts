// The reader half shared by every Log implementation: a pump that pulls records from a RecordSource into
// a bounded buffer, and an async iterator that hands them to the consumer in offset order.
//
// Invariants: records are delivered densely and in order from the start offset (a source that skips or
// repeats an offset is a bug and fails the reader); the buffer never holds more than readAheadRecordsMax
// records, nor more than readAheadBytesMax payload bytes unless it holds one single record larger than
// that (which must still be deliverable); the pump asks for more only when the consumer has drained the
// buffer to half of both bounds, so a slow consumer holds the pump still instead of growing memory.

import type { LogLimits } from "../../common/config.ts";
import { VelaError, ErrorCode, assert, errorMessage } from "../../common/errors.ts";
import type { LogReader, LogRecord } from "./log.ts";

/** What a source may hand back in one fetch. */
export interface ReadBudget {
  /** Most records to return (at least 1). */
  records: number;
  /** Most payload bytes to return in total. */
  bytes: number;
  /** Return the first record even if it alone exceeds `bytes` (the buffer is empty). */
  atLeastOne: boolean;
}

/** Where a reader's records come from: a file cursor, a broker fetch loop. */
export interface RecordSource {
  /**
   * Resolves with records starting exactly at `offset`, within `budget`. Waits while no record at
   * `offset` exists yet (until `signal` aborts). Resolves with [] only when the first available record
   * does not fit the budget and `budget.atLeastOne` is false. Rejects with a VelaError when the offset
   * can never be read (Compacted, Corrupted, Closed, Unavailable).
   */
  fetch(offset: number, budget: ReadBudget, signal: AbortSignal): Promise<LogRecord[]>;
  /** Releases files or connections; called once, after the last fetch settled. */
  close(): Promise<void>;
}

/** Counters a test or a metrics exporter can watch to see back-pressure at work. */
export interface ReadAheadStats {
  /** Records fetched and not yet delivered. */
  bufferedRecords: number;
  /** Payload bytes of those records. */
  bufferedBytes: number;
  /** Records fetched from the source since the reader opened. */
  fetchedRecords: number;
  /** Records handed to the consumer since the reader opened. */
  deliveredRecords: number;
}

/** A reader whose read-ahead can be observed; every Vela log reader is one. */
export interface ObservableLogReader extends LogReader {
  readAhead(): ReadAheadStats;
}

export function isObservableLogReader(reader: LogReader): reader is ObservableLogReader {
  return typeof (reader as Partial<ObservableLogReader>).readAhead === "function";
}

type ReadAheadLimits = Pick<LogLimits, "readAheadRecordsMax" | "readAheadBytesMax">;

export class BufferedLogReader implements ObservableLogReader {
  private readonly buffer: LogRecord[] = [];
  private bufferHead = 0;
  private bufferedBytes = 0;
  private fetchedRecords = 0;
  private deliveredRecords = 0;
  private nextFetchOffset: number;
  private finished = false;
  private closed = false;
  private failure: VelaError | undefined;
  private readonly abort = new AbortController();
  private consumerWakers: (() => void)[] = [];
  private pumpWaker: (() => void) | undefined;
  private pumpWaitsForEmpty = false;
  private readonly pumpDone: Promise<void>;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly source: RecordSource,
    startOffset: number,
    private readonly endOffsetExclusive: number | undefined,
    private readonly limits: ReadAheadLimits,
    private readonly onClose: () => void = () => {},
  ) {
    this.nextFetchOffset = startOffset;
    this.pumpDone = this.pump();
  }

  readAhead(): ReadAheadStats {
    return {
      bufferedRecords: this.buffer.length - this.bufferHead,
      bufferedBytes: this.bufferedBytes,
      fetchedRecords: this.fetchedRecords,
      deliveredRecords: this.deliveredRecords,
    };
  }

  /** Ends the reader at once with `error` (its owner closed): buffered records are dropped. */
  terminate(error: VelaError): Promise<void> {
    if (!this.closed) {
      this.failure = error;
      this.buffer.length = 0;
      this.bufferHead = 0;
      this.bufferedBytes = 0;
    }
    return this.shutDown();
  }

  close(): Promise<void> {
    this.closed = true;
    return this.shutDown();
  }

  [Symbol.asyncIterator](): AsyncIterator<LogRecord> {
    return {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  private async next(): Promise<IteratorResult<LogRecord>> {
    for (;;) {
      if (this.closed) return { value: undefined, done: true };
      if (this.bufferHead < this.buffer.length) {
        const record = this.buffer[this.bufferHead] as LogRecord;
        this.bufferHead += 1;
        // Drop delivered records from the array now and then, not on every shift (which is O(n)).
        if (this.bufferHead === this.buffer.length || this.bufferHead > 1024) {
          this.buffer.splice(0, this.bufferHead);
          this.bufferHead = 0;
        }
        this.bufferedBytes -= record.payload.byteLength;
        this.deliveredRecords += 1;
        this.wakePump();
        return { value: record, done: false };
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.finished) return { value: undefined, done: true };
      await new Promise<void>((resolve) => this.consumerWakers.push(resolve));
    }
  }

  private shutDown(): Promise<void> {
    if (this.closing === undefined) {
      this.abort.abort();
      this.wakePump();
      this.wakeConsumers();
      this.closing = (async () => {
        await this.pumpDone;
        try {
          await this.source.close();
        } finally {
          this.onClose();
        }
      })();
    }
    return this.closing;
  }

  private stopped(): boolean {
    return this.closed || this.failure !== undefined;
  }

  private hasRoom(): boolean {
    const records = this.buffer.length - this.bufferHead;
    if (records === 0) return true;
    return records <= this.limits.readAheadRecordsMax / 2 && this.bufferedBytes <= this.limits.readAheadBytesMax / 2;
  }

  private async pump(): Promise<void> {
    // Let the constructor finish before the first fetch.
    await Promise.resolve();
    try {
      while (!this.stopped()) {
        const end = this.endOffsetExclusive;
        if (end !== undefined && this.nextFetchOffset >= end) {
          this.finished = true;
          break;
        }
        if (!this.hasRoom()) {
          await this.waitForRoom();
          continue;
        }
        const bufferedRecords = this.buffer.length - this.bufferHead;
        let recordBudget = this.limits.readAheadRecordsMax - bufferedRecords;
        if (end !== undefined) recordBudget = Math.min(recordBudget, end - this.nextFetchOffset);
        const budget: ReadBudget = {
          records: recordBudget,
          bytes: Math.max(0, this.limits.readAheadBytesMax - this.bufferedBytes),
          atLeastOne: bufferedRecords === 0,
        };
        const records = await this.source.fetch(this.nextFetchOffset, budget, this.abort.signal);
        if (this.stopped()) break;
        if (records.length === 0) {
          assert(!budget.atLeastOne, "a record source returned nothing although the reader buffer is empty");
          // The next record is too large for the room left: wait until it can stand alone.
          await this.waitForRoom(true);
          continue;
        }
        assert(records.length <= budget.records, `a record source returned ${records.length} records for a budget of ${budget.records}`);
        for (const record of records) {
          assert(
            record.offset === this.nextFetchOffset,
            `a record source returned offset ${record.offset} where ${this.nextFetchOffset} was due`,
          );
          this.buffer.push(record);
          this.bufferedBytes += record.payload.byteLength;
          this.fetchedRecords += 1;
          this.nextFetchOffset += 1;
        }
        this.wakeConsumers();
      }
    } catch (error) {
      if (!this.stopped()) {
        this.failure =
          error instanceof VelaError
            ? error
            : new VelaError(ErrorCode.Internal, `log reader failed: ${errorMessage(error)}`, { cause: error });
      }
    } finally {
      this.wakeConsumers();
    }
  }

  private waitForRoom(untilEmpty = false): Promise<void> {
    // The consumer may have drained the buffer while the fetch that led here was in flight.
    if (untilEmpty ? this.bufferHead === this.buffer.length : this.hasRoom()) return Promise.resolve();
    if (this.stopped()) return Promise.resolve();
    return new Promise((resolve) => {
      this.pumpWaker = resolve;
      this.pumpWaitsForEmpty = untilEmpty;
    });
  }

  private wakePump(): void {
    const wake = this.pumpWaker;
    const room = this.pumpWaitsForEmpty ? this.bufferHead === this.buffer.length : this.hasRoom();
    if (wake !== undefined && (this.stopped() || room)) {
      this.pumpWaker = undefined;
      wake();
    }
  }

  private wakeConsumers(): void {
    const wakers = this.consumerWakers;
    this.consumerWakers = [];
    for (const wake of wakers) wake();
  }
}
