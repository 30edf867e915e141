// Time is injected: roles read the wall clock and set timers only through a Clock, so tests can run a
// manual clock and a failing schedule replays exactly.

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch. */
  nowMs(): number;
  /** Resolves after `delayMs` of this clock's time. */
  sleep(delayMs: number): Promise<void>;
  /** Calls `callback` after `delayMs`; returns a function that cancels it. */
  setTimer(delayMs: number, callback: () => void): () => void;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  sleep: (delayMs) => new Promise((resolve) => setTimeout(resolve, delayMs)),
  setTimer: (delayMs, callback) => {
    const handle = setTimeout(callback, delayMs);
    return () => clearTimeout(handle);
  },
};

/** A clock that only moves when told to. Timers fire in due order during advance(). */
export class ManualClock implements Clock {
  private currentMs: number;
  private readonly timers: Array<{ dueMs: number; sequence: number; callback: () => void }> = [];
  private sequence = 0;

  constructor(startMs = 1_700_000_000_000) {
    this.currentMs = startMs;
  }

  nowMs(): number {
    return this.currentMs;
  }

  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(delayMs, resolve));
  }

  setTimer(delayMs: number, callback: () => void): () => void {
    const timer = { dueMs: this.currentMs + Math.max(0, delayMs), sequence: this.sequence++, callback };
    this.timers.push(timer);
    return () => {
      const index = this.timers.indexOf(timer);
      if (index >= 0) this.timers.splice(index, 1);
    };
  }

  /** Moves time forward by `deltaMs`, firing due timers in order of due time. */
  advance(deltaMs: number): void {
    const targetMs = this.currentMs + deltaMs;
    for (;;) {
      this.timers.sort((a, b) => a.dueMs - b.dueMs || a.sequence - b.sequence);
      const next = this.timers[0];
      if (next === undefined || next.dueMs > targetMs) break;
      this.timers.shift();
      this.currentMs = Math.max(this.currentMs, next.dueMs);
      next.callback();
    }
    this.currentMs = targetMs;
  }

  /** Sets the wall clock, possibly backwards (to test clock skew). Timers are not fired. */
  set(nowMs: number): void {
    this.currentMs = nowMs;
  }
}
