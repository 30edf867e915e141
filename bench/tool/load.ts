// A closed-loop load driver: `concurrency` clients, each issuing its next operation as soon as its
// previous one is answered, until a request count or a duration is reached, optionally paced to a
// target rate. Every operation's latency is measured from when it was sent to when it was answered;
// errors are counted, never thrown, so one failing request does not end a phase. Throughput is the
// operations answered divided by the time from the first send to the last answer.

import { ErrorRecorder, LatencyRecorder } from "./stats.ts";

export interface LoadOptions {
  concurrency: number;
  /** Operations to start in all; the phase ends once they are answered. */
  operationsMax?: number;
  /** No operation starts after this long (those in flight are still awaited). */
  durationMs?: number;
  /**
   * Operations per second to pace to (0 or absent: as fast as answered). Operation i waits until
   * i / rate seconds after the start, so a slow answer is not made up by a burst beyond `concurrency`.
   */
  ratePerSecond?: number;
  /**
   * Runs operation `sequence` (0, 1, 2, ...); resolves to the units it did (rows inserted), 1 if void,
   * or null when it found nothing left to do (not counted, no latency recorded).
   */
  operation: (sequence: number) => Promise<number | void | null>;
  /** Called after each answer, with the operations answered so far. */
  onProgress?: (answered: number) => void;
  /** Checked before each start: true ends the phase early (another phase finished, say). */
  shouldStop?: () => boolean;
  latency?: LatencyRecorder;
  errors?: ErrorRecorder;
}

export interface LoadOutcome {
  /** Operations answered successfully. */
  succeeded: number;
  /** Units done by the successful operations (rows for inserts, queries for searches). */
  units: number;
  failed: number;
  /** From the first send to the last answer. */
  durationMs: number;
  latency: LatencyRecorder;
  errors: ErrorRecorder;
}

export async function runLoad(options: LoadOptions): Promise<LoadOutcome> {
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  const latency = options.latency ?? new LatencyRecorder();
  const errors = options.errors ?? new ErrorRecorder();
  const operationsMax = options.operationsMax ?? Number.POSITIVE_INFINITY;
  const durationMs = options.durationMs ?? Number.POSITIVE_INFINITY;
  if (!Number.isFinite(operationsMax) && !Number.isFinite(durationMs)) throw new RangeError("runLoad needs operationsMax or durationMs");
  const rate = options.ratePerSecond ?? 0;
  const started = performance.now();
  let nextSequence = 0;
  let succeeded = 0;
  let units = 0;
  let failed = 0;
  let answered = 0;
  let lastAnswer = started;

  const client = async (): Promise<void> => {
    while (true) {
      if (nextSequence >= operationsMax) return;
      if (performance.now() - started >= durationMs) return;
      if (options.shouldStop?.() === true) return;
      const sequence = nextSequence++;
      if (rate > 0) {
        const due = started + (sequence * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        if (performance.now() - started >= durationMs) return;
      }
      const sent = performance.now();
      try {
        const done = await options.operation(sequence);
        if (done === null) return;
        latency.record(performance.now() - sent);
        succeeded += 1;
        units += typeof done === "number" ? done : 1;
      } catch (error) {
        failed += 1;
        errors.record(error);
      }
      answered += 1;
      lastAnswer = performance.now();
      options.onProgress?.(answered);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => client()));
  return { succeeded, units, failed, durationMs: Math.max(0, lastAnswer - started), latency, errors };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
