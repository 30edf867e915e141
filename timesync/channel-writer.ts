// The ordered writer every log producer (proxies, the root coordinator) appends through.
//
// It keeps two promises that time ticks rely on (DESIGN §3):
//  1. Per pchannel, this writer's messages reach the log in increasing timestamp order: a write
//     reserves its timestamp and a place in each channel's queue in one critical section, and each
//     queue appends strictly from its head.
//  2. report() returns, per pchannel, a T such that this writer will never again append a message with
//     ts <= T there: T is one below the oldest write still queued on the channel, or a fresh timestamp
//     when nothing is queued. Reports and reservations share the critical section, so no reservation
//     can slip between a report's fresh timestamp and its reading of the queues.
// Consecutive ready writes on a channel are appended as one batch (one fsync for many writes).

import { ErrorCode, VelaError, assert, closedError, invalidArgument, limitExceeded } from "../common/errors.ts";
import { Mutex } from "../common/mutex.ts";
import type { Timestamp } from "../common/timestamp.ts";
import type { Log, LogMessage } from "../storage/log/log.ts";

export interface TimestampSource {
  /** Allocates `count` consecutive timestamps and returns the first. */
  allocate(count?: number): Promise<Timestamp>;
}

/** Anything that writes to pchannels and can say up to which timestamp it is done with each. */
export interface TickSource {
  readonly sourceId: string;
  report(): Promise<Map<string, Timestamp>>;
}

export interface ChannelWriterOptions {
  sourceId: string;
  log: Log;
  tso: TimestampSource;
  /** The whole pchannel pool: report() covers every one of them. */
  pchannels: readonly string[];
  pendingWritesMax: number;
  appendBatchMessagesMax: number;
  appendBatchBytesMax: number;
}

interface QueueEntry {
  ts: Timestamp;
  messages: LogMessage[] | undefined;
  cancelled: boolean;
  resolve: (offsets: number[]) => void;
  reject: (error: unknown) => void;
  done: Promise<number[]>;
}

class ChannelQueue {
  readonly entries: QueueEntry[] = [];
  appending = false;
}

/** A timestamp held for a write on some channels; append() or cancel() must follow. */
export class Reservation {
  private settled = false;

  constructor(
    readonly ts: Timestamp,
    private readonly writer: ChannelWriter,
    private readonly entries: Map<string, QueueEntry>,
  ) {}

  get channels(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Appends `messages` (per channel; every reserved channel must be given, possibly with no messages)
   * and resolves with their offsets once all are durable.
   */
  async append(messagesByChannel: ReadonlyMap<string, LogMessage[]>): Promise<Map<string, number[]>> {
    if (this.settled) throw invalidArgument("reservation already used");
    for (const channel of messagesByChannel.keys()) {
      if (!this.entries.has(channel)) throw invalidArgument(`channel ${channel} was not reserved`);
    }
    this.settled = true;
    for (const [channel, entry] of this.entries) {
      entry.messages = messagesByChannel.get(channel) ?? [];
      this.writer.pump(channel);
    }
    const results = new Map<string, number[]>();
    await Promise.all([...this.entries].map(async ([channel, entry]) => results.set(channel, await entry.done)));
    return results;
  }

  /** Gives the timestamp back unused (after a failed validation or metadata write). */
  cancel(): void {
    if (this.settled) return;
    this.settled = true;
    for (const [channel, entry] of this.entries) {
      entry.cancelled = true;
      entry.resolve([]);
      this.writer.pump(channel);
    }
  }
}

export class ChannelWriter implements TickSource {
  readonly sourceId: string;
  private readonly queues = new Map<string, ChannelQueue>();
  private readonly mutex = new Mutex();
  private pendingWrites = 0;
  private closed = false;
  private failure: VelaError | undefined;

  constructor(private readonly options: ChannelWriterOptions) {
    this.sourceId = options.sourceId;
    for (const channel of options.pchannels) this.queues.set(channel, new ChannelQueue());
  }

  /** Takes a timestamp and a place in each channel's queue, in one step. */
  async reserve(channels: readonly string[]): Promise<Reservation> {
    this.throwIfUnusable();
    const unique = [...new Set(channels)];
    if (unique.length === 0) throw invalidArgument("a write must name at least one channel");
    for (const channel of unique) {
      if (!this.queues.has(channel)) throw invalidArgument(`channel ${channel} is not in this writer's pchannel pool`);
    }
    if (this.pendingWrites + unique.length > this.options.pendingWritesMax) {
      throw limitExceeded(`deny to write: ${this.pendingWrites} writes are in flight (limit pendingWritesMax = ${this.options.pendingWritesMax})`);
    }
    this.pendingWrites += unique.length;
    try {
      return await this.mutex.run(async () => {
        this.throwIfUnusable();
        const ts = await this.options.tso.allocate(1);
        const entries = new Map<string, QueueEntry>();
        for (const channel of unique) {
          const entry = newEntry(ts);
          entry.done.then(
            () => (this.pendingWrites -= 1),
            () => (this.pendingWrites -= 1),
          );
          const queue = this.queues.get(channel) as ChannelQueue;
          const last = queue.entries[queue.entries.length - 1];
          assert(last === undefined || last.ts < ts, "reservations are in timestamp order");
          queue.entries.push(entry);
          entries.set(channel, entry);
        }
        return new Reservation(ts, this, entries);
      });
    } catch (error) {
      this.pendingWrites -= unique.length;
      throw error;
    }
  }

  async report(): Promise<Map<string, Timestamp>> {
    // A closed writer still reports (it only refuses new writes); a failed one must not, so that ticks
    // stop until its session is gone.
    if (this.failure !== undefined) throw this.failure;
    return this.mutex.run(async () => {
      const fresh = await this.options.tso.allocate(1);
      const result = new Map<string, Timestamp>();
      for (const [channel, queue] of this.queues) {
        const head = queue.entries[0];
        result.set(channel, head === undefined ? fresh : head.ts - 1n);
      }
      return result;
    });
  }

  /** Appends what is ready at the head of the channel's queue; called whenever an entry changes. */
  pump(channel: string): void {
    const queue = this.queues.get(channel);
    if (queue === undefined || queue.appending) return;
    while (queue.entries[0]?.cancelled === true) queue.entries.shift();
    const batch: QueueEntry[] = [];
    let messageCount = 0;
    let byteCount = 0;
    for (const entry of queue.entries) {
      if (entry.cancelled) continue;
      if (entry.messages === undefined) break;
      const entryBytes = entry.messages.reduce((sum, message) => sum + message.payload.byteLength, 0);
      if (batch.length > 0 && (messageCount + entry.messages.length > this.options.appendBatchMessagesMax || byteCount + entryBytes > this.options.appendBatchBytesMax)) break;
      batch.push(entry);
      messageCount += entry.messages.length;
      byteCount += entryBytes;
    }
    if (batch.length === 0) return;
    queue.appending = true;
    const messages = batch.flatMap((entry) => entry.messages as LogMessage[]);
    const append = messages.length === 0 ? Promise.resolve([] as number[]) : this.options.log.append(channel, messages);
    append.then(
      (offsets) => {
        let cursor = 0;
        for (const entry of batch) {
          const count = (entry.messages as LogMessage[]).length;
          entry.resolve(offsets.slice(cursor, cursor + count));
          cursor += count;
        }
      },
      (error: unknown) => {
        for (const entry of batch) entry.reject(error);
      },
    ).finally(() => {
      // Entries leave the queue only once their append has finished, durable or failed: until then
      // report() keeps the channel's tick below them.
      const remaining = new Set(batch);
      let index = 0;
      while (index < queue.entries.length) {
        const entry = queue.entries[index] as QueueEntry;
        if (remaining.has(entry) || entry.cancelled) queue.entries.splice(index, 1);
        else index += 1;
      }
      queue.appending = false;
      this.pump(channel);
    }).catch(() => {
      // Errors reach the writers through their entries.
    });
  }

  /** Refuses new writes; resolves once every queued write has finished or been cancelled. */
  async close(): Promise<void> {
    this.closed = true;
    // A reservation may be inside the critical section, waiting for its timestamp, with its entry not
    // queued yet: wait for it, so that its write is among those waited for below. Without this, close
    // could resolve (and the writer's session end) before that write reaches the log, after a tick
    // above its timestamp.
    await this.mutex.run(() => undefined);
    const pending = [...this.queues.values()].flatMap((queue) => queue.entries.map((entry) => entry.done.catch(() => [])));
    await Promise.all(pending);
  }

  /** Marks the writer unusable (its session was lost): no write may follow. */
  fail(error: VelaError): void {
    this.failure = error;
  }

  private throwIfUnusable(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw closedError(`channel writer ${this.sourceId}`);
  }
}

function newEntry(ts: Timestamp): QueueEntry {
  let resolve!: (offsets: number[]) => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<number[]>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => {
    // Observed by Reservation.append; never unhandled.
  });
  return { ts, messages: undefined, cancelled: false, resolve, reject, done };
}

export function sessionLostError(sourceId: string): VelaError {
  return new VelaError(ErrorCode.Unavailable, `${sourceId} lost its session; it refuses writes until restarted`);
}
