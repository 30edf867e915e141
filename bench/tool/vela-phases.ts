// The phases run against Vela, each through the SDK and each selectable:
//  - ingest: every row of the data set in batches, `concurrency` inserts in flight, optionally paced;
//    a row counts once its insert is acknowledged (durable in the log);
//  - build: flush, create the index and wait until every row is indexed, load — each timed;
//  - search: one level per concurrency, each for a fixed time, recall@k over the answers;
//  - ef sweep: one pass over the queries per ef at the reference concurrency (recall against ef);
//  - filtered: searches with `tag < P` (P% of the rows) at the reference concurrency;
//  - mixed: inserts and searches in the background while freshness probes measure how long an
//    acknowledged row takes to be returned by a Strong, a Bounded and an Eventually search.

import type { DataSet } from "./dataset.ts";
import type { GroundTruth } from "./ground-truth.ts";
import { runLoad, sleep, type LoadOutcome } from "./load.ts";
import { WorkerPool } from "../../common/worker-pool.ts";
import type { IngestThreadOutcome, IngestThreadTask } from "./ingest-worker.ts";
import type { SearchThreadOutcome, SearchThreadTask } from "./search-worker.ts";
import type { Progress } from "./progress.ts";
import type { BuildFigures, CpuFigures, EfPoint, FreshnessFigures, IngestFigures, MixedFigures, SearchLevel } from "./result.ts";
import { ErrorRecorder, LatencyRecorder, coresUsed, perSecond, recallAtK } from "./stats.ts";
import { queryPointsOf, searchInSequence, type ConsistencyName, type IndexKind, type VelaDriver } from "./vela-driver.ts";
import { processCpuSeconds } from "./vela-server.ts";
import type { MetricType } from "../../querynode/compute/metric.ts";

export interface VelaPhaseContext {
  driver: VelaDriver;
  dataSet: DataSet;
  progress: Progress;
  /** Vela's process id when the tool started it (for its CPU figures). */
  velaPid?: number;
}

/** CPU of the tool and (when it is our child) of Vela over a stretch of wall time. */
export class CpuMeter {
  private readonly toolStart = process.cpuUsage();
  private readonly velaStart: number | undefined;
  private readonly wallStart = performance.now();

  constructor(private readonly velaPid: number | undefined) {
    this.velaStart = velaPid === undefined ? undefined : processCpuSeconds(velaPid);
  }

  read(): CpuFigures {
    const wallMs = performance.now() - this.wallStart;
    const figures: CpuFigures = { toolCores: coresUsed(this.toolStart, wallMs) };
    if (this.velaPid !== undefined && this.velaStart !== undefined) {
      const now = processCpuSeconds(this.velaPid);
      if (now !== undefined && wallMs > 0) figures.velaCores = Math.round(((now - this.velaStart) / (wallMs / 1000)) * 100) / 100;
    }
    return figures;
  }

  /** CPU seconds used since the meter started: the tool's, and the watched process's when readable. */
  seconds(): { toolSeconds: number; processSeconds?: number } {
    const tool = process.cpuUsage(this.toolStart);
    const toolSeconds = (tool.user + tool.system) / 1e6;
    const now = this.velaPid === undefined ? undefined : processCpuSeconds(this.velaPid);
    return now === undefined || this.velaStart === undefined ? { toolSeconds } : { toolSeconds, processSeconds: now - this.velaStart };
  }
}

export interface IngestOptions {
  batchRows: number;
  /** Inserts in flight, over all threads. */
  concurrency: number;
  /** SDK clients on their own worker threads; 1 = this thread. */
  threads: number;
  rowsPerSecond: number;
  /** The Vela address and collection, for clients on other threads. */
  address: string;
  collection: string;
  /** Rows to insert: the data set's first this many (default: all of them). */
  rows?: number;
  /** The progress line's name (default "ingest"). */
  label?: string;
}

export async function ingestPhase(context: VelaPhaseContext, options: IngestOptions): Promise<IngestFigures> {
  const { driver, dataSet, progress } = context;
  const rows = Math.min(options.rows ?? dataSet.rows, dataSet.rows);
  const batches = Math.ceil(rows / options.batchRows);
  const threads = Math.max(1, Math.min(options.threads, options.concurrency));
  let rowsDone = 0;
  progress.start(`${options.label ?? "ingest"} (batches of ${options.batchRows}, ${options.concurrency} in flight${threads > 1 ? ` over ${threads} threads` : ""})`, rows, "rows");
  const cpu = new CpuMeter(context.velaPid);
  const outcome = threads > 1
    ? await ingestInThreads(context, { ...options, threads, rows }, (rowsSoFar) => progress.update(rowsSoFar))
    : await runLoad({
      concurrency: options.concurrency,
      operationsMax: batches,
      ratePerSecond: options.rowsPerSecond > 0 ? options.rowsPerSecond / options.batchRows : 0,
      operation: async (batch) => {
        const first = batch * options.batchRows;
        const count = Math.min(options.batchRows, rows - first);
        const done = await driver.insertRows(dataSet.vectors, dataSet.dim, first, count);
        rowsDone += done;
        return done;
      },
      onProgress: () => progress.update(rowsDone),
    });
  const figures: IngestFigures = {
    rows: outcome.units, batchRows: options.batchRows, concurrency: options.concurrency, threads, targetRowsPerSecond: options.rowsPerSecond,
    durationMs: Math.round(outcome.durationMs), vectorsPerSecond: perSecond(outcome.units, outcome.durationMs), requestsPerSecond: perSecond(outcome.succeeded, outcome.durationMs),
    latency: outcome.latency.summary(), errors: outcome.errors.summary(), cpu: cpu.read(),
  };
  progress.finish(`${Math.round(figures.vectorsPerSecond)} vectors/s, p99 ${figures.latency.p99Ms} ms, ${figures.errors.count} errors`);
  return figures;
}

const ingestWorkerFile = new URL("./ingest-worker.ts", import.meta.url);

/** The ingest spread over worker threads, each with its own SDK client (see ingest-worker.ts). */
async function ingestInThreads(context: VelaPhaseContext, options: IngestOptions & { rows: number }, onRows: (rows: number) => void): Promise<LoadOutcome> {
  const { dataSet } = context;
  const { threads } = options;
  return runInThreads<IngestThreadOutcome>(ingestWorkerFile, "ingest", threads, (thread, counters) => ({
    address: options.address, collection: options.collection, vectors: dataSet.vectors, dim: dataSet.dim, rows: options.rows, batchRows: options.batchRows,
    concurrency: shareOf(options.concurrency, threads, thread),
    batchesPerSecond: options.rowsPerSecond > 0 ? options.rowsPerSecond / options.batchRows / threads : 0, counters,
  } satisfies IngestThreadTask), onRows);
}

/** What every load thread (ingest-worker.ts, search-worker.ts) reports back. */
interface ThreadOutcome {
  latenciesMs: Float64Array;
  succeeded: number;
  /** Units done: rows inserted, queries answered. */
  units: number;
  errorCount: number;
  errors: string[];
}

/** Thread `thread`'s share of `total` clients spread over `threads` (the first ones take the remainder). */
function shareOf(total: number, threads: number, thread: number): number {
  return Math.floor(total / threads) + (thread < total % threads ? 1 : 0);
}

/**
 * Runs task `name` in `threads` worker threads of `workerFile`, one task each, sharing four counters:
 * [0] and [1] are the task's own (the next unit of work, and the progress `onProgress` reads every
 * 200 ms), [2] counts threads connected and [3] is the go flag. The clock starts (and `onGo` runs) once
 * every thread is connected; the outcomes are merged into one.
 */
async function runInThreads<T extends ThreadOutcome>(
  workerFile: URL, name: string, threads: number, task: (thread: number, counters: Int32Array) => object,
  onProgress: (done: number) => void, onGo?: () => void, eachOutcome?: (outcome: T) => void,
): Promise<LoadOutcome> {
  const counters = new Int32Array(new SharedArrayBuffer(4 * 4));
  const pool = new WorkerPool({ workerFile, name: `${name} threads`, limits: { workerCount: threads } });
  try {
    const runs = Array.from({ length: threads }, (_, thread) => pool.run<T>(name, task(thread, counters)));
    while (Atomics.load(counters, 2) < threads) await sleep(10);
    onGo?.();
    const started = performance.now();
    Atomics.store(counters, 3, 1);
    Atomics.notify(counters, 3);
    const timer = setInterval(() => onProgress(Atomics.load(counters, 1)), 200);
    let outcomes: T[];
    try {
      outcomes = await Promise.all(runs);
    } finally {
      clearInterval(timer);
    }
    const durationMs = performance.now() - started;
    const latency = new LatencyRecorder();
    const errors = new ErrorRecorder();
    let units = 0;
    let succeeded = 0;
    let failed = 0;
    for (const outcome of outcomes) {
      latency.addAll(outcome.latenciesMs);
      units += outcome.units;
      succeeded += outcome.succeeded;
      failed += outcome.errorCount;
      errors.absorb({ count: outcome.errorCount, first: outcome.errors });
      eachOutcome?.(outcome);
    }
    return { succeeded, units, failed, durationMs, latency, errors };
  } finally {
    await pool.close();
  }
}

export async function buildPhase(context: VelaPhaseContext, options: { indexType: IndexKind; metric: MetricType; M: number; efConstruction: number; timeoutMs: number }): Promise<BuildFigures> {
  const { driver, progress } = context;
  progress.start("flush", 1, "call");
  let started = performance.now();
  await driver.flush();
  const flushMs = performance.now() - started;
  progress.finish();
  progress.start(`create ${options.indexType} index and wait for it`, 1, "index");
  started = performance.now();
  await driver.createIndex(options.indexType, options.metric, { M: options.M, efConstruction: options.efConstruction }, options.timeoutMs);
  const indexMs = performance.now() - started;
  progress.finish();
  progress.start("load", 1, "collection");
  started = performance.now();
  await driver.load();
  const loadMs = performance.now() - started;
  progress.finish();
  const rowsCounted = await driver.count();
  return {
    indexType: options.indexType, indexParams: options.indexType === "HNSW" ? { M: options.M, efConstruction: options.efConstruction } : {},
    flushMs: Math.round(flushMs), indexMs: Math.round(indexMs), loadMs: Math.round(loadMs), totalMs: Math.round(flushMs + indexMs + loadMs), rowsCounted,
  };
}

export interface SearchLevelOptions {
  concurrency: number;
  nq: number;
  k: number;
  ef?: number;
  consistency: ConsistencyName;
  durationMs?: number;
  requestsMax: number;
  filter?: string;
  truth: GroundTruth;
  label: string;
  /**
   * Spread the clients over this many SDK clients in worker threads (each its own event loop); 1 or
   * absent: the tool's own thread. Needs the address and collection the threads connect to.
   */
  threads?: { count: number; address: string; collection: string };
  /** Called once with the CPU seconds the level's measured stretch used (the tool's, and Vela's or the watched server's). */
  onCpuSeconds?: (seconds: { toolSeconds: number; processSeconds?: number }) => void;
}

/** One search level: `concurrency` clients cycling through the queries, nq at a time. */
export async function searchLevel(context: VelaPhaseContext, options: SearchLevelOptions): Promise<SearchLevel> {
  const { driver, dataSet, progress } = context;
  const queryPoints = queryPointsOf(dataSet.queries, dataSet.dim);
  const answers: Array<number[] | undefined> = new Array(dataSet.queryCount);
  const finite = options.durationMs !== undefined;
  progress.start(options.label, finite ? (options.durationMs as number) / 1000 : options.requestsMax, finite ? "s" : "requests");
  // With threads, CPU is measured from the go flag: their start-up (loading the SDK, connecting) is not the level's.
  let cpu = new CpuMeter(context.velaPid);
  const started = performance.now();
  // More threads than clients would leave some idle.
  const threadCount = options.threads === undefined ? 1 : Math.min(options.threads.count, options.concurrency);
  const threads = options.threads !== undefined && threadCount > 1 ? { ...options.threads, count: threadCount } : undefined;
  const outcome = threads !== undefined
    ? await searchInThreads(context, options, threads, answers, (answered) => progress.update(finite ? (performance.now() - started) / 1000 : answered), () => {
      cpu = new CpuMeter(context.velaPid);
    })
    : await runLoad({
      concurrency: options.concurrency, operationsMax: options.requestsMax, ...(finite ? { durationMs: options.durationMs } : {}),
      operation: (sequence) => searchInSequence(driver, queryPoints, sequence, options, (q, ids) => {
        if (answers[q] === undefined) answers[q] = ids;
      }),
      onProgress: (answered) => progress.update(finite ? (performance.now() - started) / 1000 : answered),
    });
  options.onCpuSeconds?.(cpu.seconds());
  const level: SearchLevel = {
    ...(threads === undefined ? {} : { threads: threads.count }),
    concurrency: options.concurrency, nq: options.nq, requests: outcome.succeeded, durationMs: Math.round(outcome.durationMs),
    queriesPerSecond: perSecond(outcome.units, outcome.durationMs), latency: outcome.latency.summary(),
    recall: recallAtK(answers, options.truth.ids, options.truth.width, options.k), errors: outcome.errors.summary(), cpu: cpu.read(),
  };
  progress.finish(`${level.queriesPerSecond} queries/s, p99 ${level.latency.p99Ms} ms, recall ${level.recall.toFixed(4)}, ${level.errors.count} errors`);
  return level;
}

const searchWorkerFile = new URL("./search-worker.ts", import.meta.url);

/** A search level spread over worker threads, each with its own SDK client (see search-worker.ts). */
async function searchInThreads(
  context: VelaPhaseContext, options: SearchLevelOptions, threads: { count: number; address: string; collection: string }, answers: Array<number[] | undefined>,
  onAnswered: (answered: number) => void, onGo: () => void,
): Promise<LoadOutcome> {
  const { dataSet } = context;
  const queries = new Float32Array(new SharedArrayBuffer(dataSet.queries.byteLength));
  queries.set(dataSet.queries);
  return runInThreads<SearchThreadOutcome>(searchWorkerFile, "search", threads.count, (thread, counters) => ({
    address: threads.address, collection: threads.collection, queries, dim: dataSet.dim, nq: options.nq, k: options.k,
    ...(options.ef === undefined ? {} : { ef: options.ef }), ...(options.filter === undefined ? {} : { filter: options.filter }),
    consistency: options.consistency, concurrency: shareOf(options.concurrency, threads.count, thread),
    ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
    requestsMax: options.requestsMax, counters,
  } satisfies SearchThreadTask), onAnswered, onGo, (outcome) => {
    for (const [q, ids] of outcome.answers) if (answers[q] === undefined) answers[q] = ids;
  });
}

export async function efSweepPhase(context: VelaPhaseContext, options: Omit<SearchLevelOptions, "ef" | "label" | "durationMs" | "requestsMax"> & { efs: readonly number[] }): Promise<EfPoint[]> {
  const points: EfPoint[] = [];
  const requests = Math.ceil(context.dataSet.queryCount / options.nq);
  for (const ef of options.efs) {
    if (ef < options.k) continue;
    const level = await searchLevel(context, { ...options, ef, requestsMax: requests, label: `ef sweep: ef ${ef}` });
    points.push({ ef, recall: level.recall, queriesPerSecond: level.queriesPerSecond, latency: level.latency });
  }
  return points;
}

export interface MixedOptions {
  durationMs: number;
  insertRowsPerSecond: number;
  insertBatchRows: number;
  searchConcurrency: number;
  k: number;
  ef?: number;
  consistency: ConsistencyName;
  probeIntervalMs: number;
  probeTimeoutMs: number;
}

/** Keys of rows the mixed phase inserts start here, far above any data-set row. */
const mixedKeyBase = 1_000_000_000_000;
/** Keys of freshness marker rows start here. */
const markerKeyBase = 2_000_000_000_000;
const probeLevels: ConsistencyName[] = ["Strong", "Bounded", "Eventually"];

export async function mixedPhase(context: VelaPhaseContext, options: MixedOptions): Promise<MixedFigures> {
  const { driver, dataSet, progress } = context;
  const { dim, rows } = dataSet;
  const queryPoints = queryPointsOf(dataSet.queries, dim);
  progress.start(`mixed: ${options.insertRowsPerSecond} rows/s inserted, ${options.searchConcurrency} searching, freshness probes`, options.durationMs / 1000, "s");
  const cpu = new CpuMeter(context.velaPid);
  const started = performance.now();
  const tick = setInterval(() => progress.update((performance.now() - started) / 1000), 200);

  const inserts = runLoad({
    concurrency: 2, durationMs: options.durationMs, ratePerSecond: options.insertRowsPerSecond / options.insertBatchRows,
    operation: async (batch) => {
      const first = (batch * options.insertBatchRows) % rows;
      const count = Math.min(options.insertBatchRows, rows - first);
      return driver.insertRows(dataSet.vectors, dim, first, count, mixedKeyBase + batch * options.insertBatchRows - first);
    },
  });
  const searches = runLoad({
    concurrency: options.searchConcurrency, durationMs: options.durationMs,
    operation: async (sequence) => {
      await searchInSequence(driver, queryPoints, sequence, { nq: 1, k: options.k, consistency: options.consistency, ...(options.ef === undefined ? {} : { ef: options.ef }) }, () => undefined);
    },
  });
  const freshness = probeLevels.map((consistency) => ({ consistency, delays: new LatencyRecorder(), polls: 0, errors: new ErrorRecorder() }));
  const probes = (async () => {
    for (let probe = 0; performance.now() - started < options.durationMs; probe++) {
      const slot = freshness[probe % freshness.length] as (typeof freshness)[number];
      const key = markerKeyBase + probe;
      const row = (probe * 7919) % rows;
      try {
        await driver.insertPrepared([{ id: key, vector: Array.from(dataSet.vectors.subarray(row * dim, (row + 1) * dim)), tag: 100 }]);
        const acknowledged = performance.now();
        const vector = Array.from(dataSet.vectors.subarray(row * dim, (row + 1) * dim));
        while (true) {
          slot.polls += 1;
          const hits = await driver.search({ vectors: [vector], topk: 1, consistency: slot.consistency, filter: `id == ${key}` });
          if (hits[0]?.[0] === key) {
            slot.delays.record(performance.now() - acknowledged);
            break;
          }
          if (performance.now() - acknowledged > options.probeTimeoutMs) throw new Error(`marker row ${key} not returned by a ${slot.consistency} search within ${options.probeTimeoutMs} ms`);
        }
      } catch (error) {
        slot.errors.record(error);
      }
      await sleep(options.probeIntervalMs);
    }
  })();
  const [insertOutcome, searchOutcome] = await Promise.all([inserts, searches, probes]);
  clearInterval(tick);
  const durationMs = performance.now() - started;
  const figures: MixedFigures = {
    durationMs: Math.round(durationMs),
    insertedRows: insertOutcome.units, insertVectorsPerSecond: perSecond(insertOutcome.units, insertOutcome.durationMs),
    insertLatency: insertOutcome.latency.summary(), insertErrors: insertOutcome.errors.summary(),
    searchQueriesPerSecond: perSecond(searchOutcome.succeeded, searchOutcome.durationMs), searchLatency: searchOutcome.latency.summary(), searchErrors: searchOutcome.errors.summary(),
    freshness: freshness.map((slot): FreshnessFigures => ({
      consistency: slot.consistency, probes: slot.delays.count, delay: slot.delays.summary(),
      pollsMean: slot.delays.count + slot.errors.count === 0 ? 0 : Math.round((slot.polls / (slot.delays.count + slot.errors.count)) * 10) / 10,
      errors: slot.errors.summary(),
    })),
    cpu: cpu.read(),
  };
  progress.finish(figures.freshness.map((slot) => `${slot.consistency} p50 ${slot.delay.p50Ms} ms`).join(", "));
  return figures;
}
