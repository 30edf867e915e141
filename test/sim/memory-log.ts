// An in-memory Log for simulations. Each append lands after a seeded random number of event-loop
// turns, so concurrent appends from different writers interleave differently per seed and a race in
// the code under test shows up as a failing, replayable seed. Not a production implementation: it
// keeps everything in memory and has no durability.

import { closedError } from "../../common/errors.ts";
import type { SeededRandom } from "../../common/random.ts";
import type { Log, LogMessage, LogReader, LogRecord, ReadFrom, ReadOptions } from "../../storage/log/log.ts";

export class MemoryLog implements Log {
  private readonly channels = new Map<string, LogRecord[]>();
  private readonly waiters = new Map<string, Array<() => void>>();
  private readonly checkpoints = new Map<string, number>();
  private closed = false;

  constructor(private readonly random?: SeededRandom, private readonly maxDelayTurns = 4) {}

  records(channel: string): LogRecord[] {
    return this.channels.get(channel) ?? [];
  }

  channelNames(): string[] {
    return [...this.channels.keys()];
  }

  async ensureChannel(channel: string): Promise<void> {
    if (!this.channels.has(channel)) this.channels.set(channel, []);
  }

  async append(channel: string, messages: readonly LogMessage[]): Promise<number[]> {
    if (this.closed) throw closedError("memory log");
    const turns = this.random === undefined ? 0 : this.random.int(0, this.maxDelayTurns);
    for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
    await this.ensureChannel(channel);
    const records = this.channels.get(channel) as LogRecord[];
    const offsets: number[] = [];
    for (const message of messages) {
      const offset = records.length;
      records.push({ channel, offset, header: { ...message.header }, payload: message.payload });
      offsets.push(offset);
    }
    for (const wake of this.waiters.get(channel) ?? []) wake();
    this.waiters.set(channel, []);
    return offsets;
  }

  async read(channel: string, from: ReadFrom, options: ReadOptions = {}): Promise<LogReader> {
    await this.ensureChannel(channel);
    const records = this.channels.get(channel) as LogRecord[];
    let position = from.kind === "earliest" ? 0 : from.kind === "latest" ? records.length : from.offset;
    let open = true;
    const waiters = this.waiters;
    const isClosed = (): boolean => this.closed;
    return {
      async close() {
        open = false;
        for (const wake of waiters.get(channel) ?? []) wake();
      },
      async *[Symbol.asyncIterator]() {
        while (open && !isClosed()) {
          if (options.endOffsetExclusive !== undefined && position >= options.endOffsetExclusive) return;
          const record = records[position];
          if (record !== undefined) {
            position += 1;
            yield record;
            continue;
          }
          await new Promise<void>((resolve) => {
            const list = waiters.get(channel) ?? [];
            list.push(resolve);
            waiters.set(channel, list);
          });
        }
      },
    };
  }

  async latestOffset(channel: string): Promise<number> {
    return this.records(channel).length;
  }

  async earliestOffset(): Promise<number> {
    return 0;
  }

  async commit(subscriber: string, channel: string, nextOffset: number): Promise<void> {
    this.checkpoints.set(`${subscriber}/${channel}`, nextOffset);
  }

  async committed(subscriber: string, channel: string): Promise<number | undefined> {
    return this.checkpoints.get(`${subscriber}/${channel}`);
  }

  async truncate(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const list of this.waiters.values()) for (const wake of list) wake();
  }
}
