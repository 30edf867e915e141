// Time sync (DESIGN §3): merges the reports of every live writer into one TimeTick(T) per pchannel.
//
// Invariant (checked by test/sim/timetick.test.ts): after TimeTick(T) on a pchannel, no message with
// ts <= T follows there. It holds because T is the minimum over the reports of every live writer, each
// report promises "nothing more at or below this", and a writer may only write once register() has
// returned — register() runs in the same critical section as a round, so a round either includes a
// writer's report or finished before that writer got its first timestamp.
//
// Rounds run every tickIntervalMs and on demand (tickNow, for Strong reads). A writer whose session
// key is gone from the MetaStore (lease expired) no longer holds ticks back. If a live writer does not
// answer within reportTimeoutMs the round emits nothing: a late tick is safe, a wrong one is not.

import type { Clock } from "../common/clock.ts";
import { ErrorCode, VelaError, closedError, errorMessage } from "../common/errors.ts";
import { MsgType } from "../common/msg-type.ts";
import { Mutex } from "../common/mutex.ts";
import { minTimestamp, type Timestamp } from "../common/timestamp.ts";
import type { Log } from "../storage/log/log.ts";
import type { MetaStore } from "../storage/meta/meta-store.ts";
import type { TickSource, TimestampSource } from "./channel-writer.ts";
import { rangeAll } from "../storage/meta/range-all.ts";

export interface TimeSyncOptions {
  log: Log;
  metaStore: MetaStore;
  tso: TimestampSource;
  clock: Clock;
  pchannels: readonly string[];
  tickIntervalMs: number;
  reportTimeoutMs: number;
  /** Called when a round fails (for logs); rounds go on. */
  onRoundError?: (error: unknown) => void;
}

interface RegisteredSource {
  source: TickSource;
  sessionKey: string;
}

export class TimeSync {
  private readonly sources = new Map<string, RegisteredSource>();
  private readonly lastTick = new Map<string, Timestamp>();
  private readonly roundMutex = new Mutex();
  private nextRound: Promise<void> | undefined;
  private cancelTimer: (() => void) | undefined;
  private closed = false;
  private roundsCompleted = 0;

  constructor(private readonly options: TimeSyncOptions) {
    for (const channel of options.pchannels) this.lastTick.set(channel, 0n);
  }

  /** Starts periodic rounds. */
  start(): void {
    this.schedule();
  }

  /**
   * Adds a writer. It must not take a timestamp for a write before this resolves. `sessionKey` is its
   * lease-bound session in the MetaStore; when that key disappears the writer is considered dead.
   */
  async register(source: TickSource, sessionKey: string): Promise<void> {
    if (this.closed) throw closedError("time sync");
    await this.roundMutex.run(async () => {
      const session = await this.options.metaStore.get(sessionKey);
      if (session === undefined) {
        throw new VelaError(ErrorCode.InvalidArgument, `cannot register ${source.sourceId}: its session key ${sessionKey} does not exist`);
      }
      this.sources.set(source.sourceId, { source, sessionKey });
    });
  }

  async unregister(sourceId: string): Promise<void> {
    await this.roundMutex.run(() => {
      this.sources.delete(sourceId);
    });
  }

  /** Runs a round as soon as possible and resolves after it (one round serves every caller waiting). */
  tickNow(): Promise<void> {
    if (this.closed) return Promise.reject(closedError("time sync"));
    if (this.nextRound === undefined) {
      const round = this.roundMutex.run(async () => {
        this.nextRound = undefined;
        await this.runRound();
      });
      this.nextRound = round;
    }
    return this.nextRound;
  }

  /** The last TimeTick appended on `pchannel` (0n before the first). */
  lastTickOf(pchannel: string): Timestamp {
    return this.lastTick.get(pchannel) ?? 0n;
  }

  get completedRounds(): number {
    return this.roundsCompleted;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelTimer?.();
    await this.roundMutex.run(() => undefined);
  }

  private schedule(): void {
    if (this.closed) return;
    this.cancelTimer = this.options.clock.setTimer(this.options.tickIntervalMs, () => {
      this.tickNow()
        .catch((error: unknown) => this.options.onRoundError?.(error))
        .finally(() => this.schedule());
    });
  }

  private async runRound(): Promise<void> {
    if (this.closed) return;
    // Drop writers whose session expired: they can no longer write (their writer refuses once the
    // lease is lost), so they must not hold ticks back.
    const sessions = await rangeAll(this.options.metaStore, "session/", { keysOnly: true });
    const live = new Set(sessions.map((kv) => kv.key));
    for (const [id, registered] of this.sources) {
      if (!live.has(registered.sessionKey)) this.sources.delete(id);
    }

    const targets = new Map<string, Timestamp>();
    if (this.sources.size === 0) {
      const fresh = await this.options.tso.allocate(1);
      for (const channel of this.options.pchannels) targets.set(channel, fresh);
    } else {
      const reports = await Promise.all([...this.sources.values()].map((registered) => this.reportWithTimeout(registered.source)));
      for (const channel of this.options.pchannels) {
        let target: Timestamp | undefined;
        for (const report of reports) {
          const value = report.get(channel);
          if (value === undefined) {
            throw new VelaError(ErrorCode.Internal, `a writer's report does not cover pchannel ${channel}`);
          }
          target = target === undefined ? value : minTimestamp(target, value);
        }
        if (target !== undefined) targets.set(channel, target);
      }
    }

    await Promise.all([...targets].map(async ([channel, target]) => {
      if (target <= (this.lastTick.get(channel) ?? 0n)) return;
      await this.options.log.append(channel, [{
        header: { type: MsgType.TimeTick, collectionId: 0n, vchannel: "", beginTs: target, endTs: target },
        payload: new Uint8Array(0),
      }]);
      this.lastTick.set(channel, target);
    }));
    this.roundsCompleted += 1;
  }

  private reportWithTimeout(source: TickSource): Promise<Map<string, Timestamp>> {
    return new Promise((resolve, reject) => {
      const cancel = this.options.clock.setTimer(this.options.reportTimeoutMs, () =>
        reject(new VelaError(ErrorCode.Timeout, `${source.sourceId} did not report within ${this.options.reportTimeoutMs} ms; no tick this round`)));
      source.report().then(
        (report) => {
          cancel();
          resolve(report);
        },
        (error: unknown) => {
          cancel();
          reject(new VelaError(ErrorCode.Unavailable, `${source.sourceId} failed to report: ${errorMessage(error)}`, { cause: error }));
        },
      );
    });
  }
}
