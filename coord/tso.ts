// The timestamp oracle (DESIGN §3). Hands out strictly increasing hybrid timestamps in batches.
//
// Invariant: every timestamp issued, by this or any earlier or later oracle on the same MetaStore, is
// greater than every timestamp issued before it. Kept by persisting an upper bound on the physical
// part (`tso` key) before any timestamp below it is used: a new oracle starts above the saved bound, so
// neither a restart nor a wall clock that went backwards can repeat a value. The bound is written with
// a compare on the key's revision, so two oracles that both think they lead cannot both extend it:
// the loser is fenced and fails every later call with Conflict.

import type { Clock } from "../common/clock.ts";
import { invalidArgument } from "../common/errors.ts";
import { LOGICAL_COUNT, composeTimestamp, type Timestamp } from "../common/timestamp.ts";
import type { MetaStore } from "../storage/meta/meta-store.ts";
import { PersistedWindow } from "./persisted-window.ts";

export interface TimestampOracleOptions {
  metaStore: MetaStore;
  clock: Clock;
  /** How far ahead of the clock each persisted bound reaches (rootCoordDefaults.tsoWindowMs). */
  windowMs: number;
  key?: string;
}

export class TimestampOracle {
  private physicalMs = 0;
  private logical = 0;
  private readonly window: PersistedWindow;
  private readonly clock: Clock;
  private readonly windowMs: number;

  private constructor(options: TimestampOracleOptions, window: PersistedWindow) {
    this.clock = options.clock;
    this.windowMs = options.windowMs;
    this.window = window;
    // Start strictly above anything an earlier oracle may have issued: all of it had physical < bound.
    this.physicalMs = Math.max(window.bound, 0);
    this.logical = 0;
  }

  static async open(options: TimestampOracleOptions): Promise<TimestampOracle> {
    if (!(options.windowMs > 0)) throw invalidArgument("TSO window must be positive");
    const window = await PersistedWindow.load(options.metaStore, options.key ?? "tso", (text) => Number(text));
    const oracle = new TimestampOracle(options, window);
    // The first physical value used must be >= the saved bound, which the constructor ensured; the
    // bound itself is extended on first use.
    return oracle;
  }

  /**
   * Allocates `count` consecutive timestamps and returns the first. All of them share one physical
   * millisecond; `count` is at most 2^18.
   */
  async allocate(count = 1): Promise<Timestamp> {
    if (!Number.isInteger(count) || count < 1 || count > LOGICAL_COUNT) {
      throw invalidArgument(`timestamp count must be an integer in [1, ${LOGICAL_COUNT}], got ${String(count)}`);
    }
    for (;;) {
      this.window.throwIfFenced();
      const nowMs = this.clock.nowMs();
      let physicalMs = this.physicalMs;
      let logical = this.logical;
      if (nowMs > physicalMs) {
        physicalMs = nowMs;
        logical = 0;
      }
      if (logical + count > LOGICAL_COUNT) {
        physicalMs += 1;
        logical = 0;
      }
      if (physicalMs < this.window.bound) {
        // Synchronous from the read of this.physicalMs to here: no other allocation interleaves.
        this.physicalMs = physicalMs;
        this.logical = logical + count;
        if (this.window.bound - physicalMs < this.windowMs / 2) this.window.extendInBackground(physicalMs + this.windowMs);
        return composeTimestamp(physicalMs, logical);
      }
      await this.window.extend(physicalMs + this.windowMs);
    }
  }

  /** The largest physical millisecond any timestamp of this oracle may have. */
  get persistedBoundMs(): number {
    return this.window.bound;
  }
}

