// The figures of a phase: latency percentiles from exact samples, throughput, recall@k against ground
// truth, and errors (counted, the first few kept with their messages). Exact samples rather than a
// histogram: a phase records at most a few hundred thousand latencies, 8 bytes each, and exact
// percentiles need no bucket-precision caveat in the report.

import { benchDefaults } from "../../common/config.ts";
import { errorMessage } from "../../common/errors.ts";

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * The p-th percentile (0 < p ≤ 100) of sorted samples by the nearest-rank method: the smallest sample
 * with at least p% of the samples at or below it. NaN for no samples.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** Latency samples in milliseconds, growing as needed. */
export class LatencyRecorder {
  private buffer = new Float64Array(1024);
  private length = 0;

  record(ms: number): void {
    if (this.length === this.buffer.length) {
      const grown = new Float64Array(this.buffer.length * 2);
      grown.set(this.buffer);
      this.buffer = grown;
    }
    this.buffer[this.length++] = ms;
  }

  get count(): number {
    return this.length;
  }

  /** The samples recorded so far, in order (a view: copy it before recording more). */
  samples(): Float64Array {
    return this.buffer.subarray(0, this.length);
  }

  /** Adds every sample of another recorder (worker results, merged levels). */
  addAll(samples: ArrayLike<number>): void {
    for (let i = 0; i < samples.length; i++) this.record(samples[i] as number);
  }

  summary(): LatencySummary {
    return summarizeLatencies(this.buffer.subarray(0, this.length));
  }
}

export function summarizeLatencies(samples: Float64Array): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return {
    count: sorted.length,
    meanMs: round(sorted.length === 0 ? Number.NaN : sum / sorted.length),
    p50Ms: round(percentileOfSorted(sorted, 50)),
    p95Ms: round(percentileOfSorted(sorted, 95)),
    p99Ms: round(percentileOfSorted(sorted, 99)),
    maxMs: round(sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number)),
  };
}

export interface ErrorSummary {
  count: number;
  /** The first messages, in order, each with how often it occurred so far when kept. */
  first: string[];
}

/** Counts errors and keeps the first few distinct messages. */
export class ErrorRecorder {
  private total = 0;
  private readonly messages: string[] = [];

  constructor(private readonly keptMax: number = benchDefaults.errorMessagesKept) {}

  record(error: unknown): void {
    this.total += 1;
    const message = errorMessage(error);
    if (this.messages.length < this.keptMax && !this.messages.includes(message)) this.messages.push(message);
  }

  get count(): number {
    return this.total;
  }

  /** Adds another recorder's summary (a worker thread's): its count, and its messages while room is left. */
  absorb(other: ErrorSummary): void {
    this.total += other.count;
    for (const message of other.first) if (this.messages.length < this.keptMax && !this.messages.includes(message)) this.messages.push(message);
  }

  summary(): ErrorSummary {
    return { count: this.total, first: [...this.messages] };
  }
}

/**
 * Mean recall@k over queries: for query q, the fraction of its k true nearest neighbours (the first k
 * of row q of `truth`, `truthWidth` ids per row) that appear among the ids returned for it. Queries
 * without an answer (undefined) are skipped; returns NaN when no query has one. Returned ids beyond k
 * are ignored, and an id returned twice counts once.
 */
export function recallAtK(answers: ReadonlyArray<ArrayLike<number> | undefined>, truth: Int32Array, truthWidth: number, k: number): number {
  if (k < 1 || k > truthWidth) throw new RangeError(`recall@${k} needs ground truth of at least ${k} neighbours per query, have ${truthWidth}`);
  let sum = 0;
  let answered = 0;
  for (let q = 0; q < answers.length; q++) {
    const answer = answers[q];
    if (answer === undefined) continue;
    const expected = new Set<number>();
    for (let i = 0; i < k; i++) {
      const id = truth[q * truthWidth + i] as number;
      if (id >= 0) expected.add(id);
    }
    if (expected.size === 0) continue;
    const seen = new Set<number>();
    const limit = Math.min(k, answer.length);
    for (let i = 0; i < limit; i++) {
      const id = answer[i] as number;
      if (expected.has(id)) seen.add(id);
    }
    sum += seen.size / expected.size;
    answered += 1;
  }
  return answered === 0 ? Number.NaN : sum / answered;
}

/** Operations per second, rounded to 0.1. */
export function perSecond(count: number, durationMs: number): number {
  return durationMs <= 0 ? 0 : Math.round((count / (durationMs / 1000)) * 10) / 10;
}

/** CPU used by this process since `since` (process.cpuUsage), in cores (1 = one core busy throughout). */
export function coresUsed(since: NodeJS.CpuUsage, wallMs: number): number {
  const used = process.cpuUsage(since);
  return wallMs <= 0 ? 0 : Math.round(((used.user + used.system) / 1000 / wallMs) * 100) / 100;
}
