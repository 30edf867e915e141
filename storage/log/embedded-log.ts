// EmbeddedLog: the Log seam for standalone Vela, kept in a local directory.
//
//   <dir>/LOCK                                   pid of the process that has the log open
//   <dir>/channels/<channel>/<20-digit offset>.log  segment files, named by their first offset
//   <dir>/channels/<channel>/checkpoints.json    subscribers' committed offsets
//
// Record format, group commit and recovery are described in embedded-record.ts, embedded-channel.ts and
// docs/log.md. Invariants kept here: every call validates its input completely before touching state; a
// directory is open in at most one live process (LOCK); after close() every call fails with Closed and
// every open reader ends with Closed.

import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { systemClock, type Clock } from "../../common/clock.ts";
import type { LogLimits } from "../../common/config.ts";
import { VelaError, ErrorCode, closedError, errorMessage, invalidArgument, isVelaError } from "../../common/errors.ts";
import { fsyncDirectory } from "./durable-fs.ts";
import { EmbeddedChannel, type EmbeddedLogStats } from "./embedded-channel.ts";
import { encodeFrame } from "./embedded-record.ts";
import { EmbeddedRecordSource } from "./embedded-reader.ts";
import type { Log, LogMessage, LogReader, ReadFrom, ReadOptions } from "./log.ts";
import { BufferedLogReader } from "./read-ahead.ts";
import {
  checkChannel,
  checkMessages,
  checkOffset,
  checkReadFrom,
  checkReadOptions,
  checkReadWindow,
  checkSubscriber,
  resolveLogLimits,
} from "./validate.ts";

export interface EmbeddedLogOptions {
  /** Directory holding the log; created if missing. */
  dir: string;
  limits?: Partial<LogLimits>;
  /** fsync appends, checkpoints and directory changes (default true). Turn off only for tests and benchmarks. */
  fsync?: boolean;
  /** Timers of the group-commit window (default: the system clock). */
  clock?: Clock;
}

type State = "open" | "closing" | "closed";

/** A channel is a directory: its name must fit NAME_MAX (and the record header's 16-bit vchannel length). */
const CHANNEL_DIRECTORY_NAME_MAX = 255;
/** A frame's body length is a u32: the payload plus the largest header must fit. */
const FRAME_PAYLOAD_BYTES_MAX = 0xffff_ffff - 64 - CHANNEL_DIRECTORY_NAME_MAX;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function acquireLock(dir: string): Promise<string> {
  const path = join(dir, "LOCK");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isSafeInteger(holder) && holder > 0 && processAlive(holder)) {
      throw new VelaError(ErrorCode.Conflict, `embedded log directory ${dir} is in use by process ${holder}`);
    }
    // The holder died without closing (kill -9): the lock is stale.
    await rm(path, { force: true });
  }
  throw new VelaError(ErrorCode.Conflict, `embedded log directory ${dir}: could not take the lock`);
}

export class EmbeddedLog implements Log {
  private state: State = "open";
  private readonly channels = new Map<string, Promise<EmbeddedChannel>>();
  private readonly readers = new Set<BufferedLogReader>();
  private readonly counters: EmbeddedLogStats = { groupCommits: 0, fsyncs: 0, appendedRecords: 0 };

  private constructor(
    readonly dir: string,
    private readonly limits: LogLimits,
    private readonly fsync: boolean,
    private readonly clock: Clock,
    private readonly lockPath: string,
  ) {}

  static async open(options: EmbeddedLogOptions): Promise<EmbeddedLog> {
    if (typeof options !== "object" || options === null) throw invalidArgument("EmbeddedLog.open: options must be an object");
    if (typeof options.dir !== "string" || options.dir === "") throw invalidArgument("EmbeddedLog.open: dir must be a non-empty path");
    if (options.fsync !== undefined && typeof options.fsync !== "boolean") {
      throw invalidArgument("EmbeddedLog.open: fsync must be a boolean");
    }
    const limits = resolveLogLimits(options.limits, "EmbeddedLog.open");
    if (limits.channelNameLengthMax > CHANNEL_DIRECTORY_NAME_MAX) {
      throw invalidArgument(
        `EmbeddedLog.open: channelNameLengthMax ${limits.channelNameLengthMax} exceeds ${CHANNEL_DIRECTORY_NAME_MAX}, the longest directory name`,
      );
    }
    if (limits.messageBytesMax > FRAME_PAYLOAD_BYTES_MAX) {
      throw invalidArgument(`EmbeddedLog.open: messageBytesMax ${limits.messageBytesMax} exceeds ${FRAME_PAYLOAD_BYTES_MAX}, the largest record payload`);
    }
    const fsync = options.fsync ?? true;
    try {
      await mkdir(join(options.dir, "channels"), { recursive: true });
      if (fsync) await fsyncDirectory(options.dir);
      const lockPath = await acquireLock(options.dir);
      return new EmbeddedLog(options.dir, limits, fsync, options.clock ?? systemClock, lockPath);
    } catch (error) {
      if (isVelaError(error)) throw error;
      throw new VelaError(ErrorCode.Unavailable, `embedded log ${options.dir}: cannot open: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  /** Group-commit counters since open (for tests and the benchmark). */
  stats(): EmbeddedLogStats {
    return { ...this.counters };
  }

  async ensureChannel(channel: string): Promise<void> {
    this.checkOpen();
    checkChannel(channel, this.limits);
    await this.channel(channel);
  }

  async append(channel: string, messages: readonly LogMessage[]): Promise<number[]> {
    this.checkOpen();
    checkChannel(channel, this.limits);
    checkMessages(messages, this.limits);
    const frames = messages.map(encodeFrame);
    const frameBytes = frames.reduce((sum, frame) => sum + frame.length, 0);
    const state = await this.channel(channel);
    return await state.append(frames, frameBytes);
  }

  async read(channel: string, from: ReadFrom, options?: ReadOptions): Promise<LogReader> {
    this.checkOpen();
    checkChannel(channel, this.limits);
    checkReadFrom(from);
    checkReadOptions(options);
    const state = await this.channel(channel);
    this.checkOpen();
    const start = from.kind === "earliest" ? state.earliestOffset : from.kind === "latest" ? state.latestOffset : from.offset;
    checkReadWindow(start, state.latestOffset, state.earliestOffset, options, channel);
    const reader: BufferedLogReader = new BufferedLogReader(
      new EmbeddedRecordSource(state, this.limits),
      start,
      options?.endOffsetExclusive,
      this.limits,
      () => this.readers.delete(reader),
    );
    this.readers.add(reader);
    return reader;
  }

  async latestOffset(channel: string): Promise<number> {
    this.checkOpen();
    checkChannel(channel, this.limits);
    return (await this.channel(channel)).latestOffset;
  }

  async earliestOffset(channel: string): Promise<number> {
    this.checkOpen();
    checkChannel(channel, this.limits);
    return (await this.channel(channel)).earliestOffset;
  }

  async commit(subscriber: string, channel: string, nextOffset: number): Promise<void> {
    this.checkOpen();
    checkSubscriber(subscriber, this.limits);
    checkChannel(channel, this.limits);
    checkOffset(nextOffset, "committed offset");
    const state = await this.channel(channel);
    if (nextOffset > state.latestOffset) {
      throw invalidArgument(
        `channel ${channel}: committed offset ${nextOffset} is beyond the end of the channel (latest offset ${state.latestOffset})`,
      );
    }
    await state.checkpoints.commit(subscriber, nextOffset);
  }

  async committed(subscriber: string, channel: string): Promise<number | undefined> {
    this.checkOpen();
    checkSubscriber(subscriber, this.limits);
    checkChannel(channel, this.limits);
    return (await this.channel(channel)).checkpoints.get(subscriber);
  }

  async truncate(channel: string): Promise<number> {
    this.checkOpen();
    checkChannel(channel, this.limits);
    const state = await this.channel(channel);
    const minimum = state.checkpoints.minimum();
    if (minimum === undefined) return state.earliestOffset;
    return await state.truncateBelow(minimum);
  }

  async close(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "closing";
    const channels = await Promise.allSettled([...this.channels.values()]);
    // Pending appends finish first; then readers end with Closed.
    const opened = channels.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
    await Promise.all(opened.map((channel) => channel.close()));
    await Promise.all([...this.readers].map((reader) => reader.terminate(closedError(`embedded log ${this.dir}`))));
    await rm(this.lockPath, { force: true });
    this.state = "closed";
  }

  private checkOpen(): void {
    if (this.state !== "open") throw closedError(`embedded log ${this.dir}`);
  }

  private channel(name: string): Promise<EmbeddedChannel> {
    let opening = this.channels.get(name);
    if (opening === undefined) {
      opening = EmbeddedChannel.open(name, join(this.dir, "channels", name), {
        limits: this.limits,
        fsync: this.fsync,
        clock: this.clock,
        stats: this.counters,
      }).catch((error: unknown) => {
        throw isVelaError(error)
          ? error
          : new VelaError(ErrorCode.Unavailable, `channel ${name}: cannot open: ${errorMessage(error)}`, { cause: error });
      });
      this.channels.set(name, opening);
      // A failed open (I/O error, corrupt checkpoint file) may be retried by a later call.
      opening.catch(() => this.channels.delete(name));
    }
    return opening;
  }
}
