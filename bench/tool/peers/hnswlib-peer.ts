// The raw hnswlib-node peers, on the same vectors, queries, M, efConstruction, ef and k as Vela:
//  - "one thread": the graph built and searched in this process, on the tool's own thread, one query
//    after another (hnswlib is synchronous) — the baseline the reference targets compare Vela with;
//  - "one thread per core": that graph written to a file and loaded by one worker per core, each
//    searching its own copy in a tight loop.
// The in-process build and search run in slices that yield between them, so progress is drawn; the
// timed figures are hnswlib's calls only.

import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import hnswlib from "hnswlib-node";
import type { SpaceName } from "hnswlib-node";
import { WorkerPool } from "../../../common/worker-pool.ts";
import type { MetricType } from "../../../querynode/compute/metric.ts";
import type { EfPoint, PeerFigures, SearchLevel } from "../result.ts";
import { ErrorRecorder, LatencyRecorder, perSecond, recallAtK } from "../stats.ts";
import type { PeerLoadTask, PeerSearchOutcome, PeerSearchTask } from "./hnswlib-worker.ts";
import type { PeerWorkload } from "./peer-workload.ts";

export interface HnswlibPeerOptions extends PeerWorkload {
  /** Workers of the per-core peer; 0 = one per core. */
  workerCount: number;
}

const workerFile = new URL("./hnswlib-worker.ts", import.meta.url);
/** The build and the search loop yield to the event loop about this often. */
const sliceMs = 50;

export function hnswlibSpace(metric: MetricType): SpaceName {
  return metric === "L2" ? "l2" : metric === "IP" ? "ip" : "cosine";
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs both hnswlib peers; the one-thread figures come first. */
export async function runHnswlibPeers(options: HnswlibPeerOptions): Promise<PeerFigures[]> {
  const { dataSet, metric, M, efConstruction, progress } = options;
  const { rows, dim, vectors } = dataSet;
  const indexDescription = `hnswlib-node HNSW, M ${M}, efConstruction ${efConstruction}, ${hnswlibSpace(metric)} space`;
  const index = new hnswlib.HierarchicalNSW(hnswlibSpace(metric), dim);
  index.initIndex({ maxElements: rows, m: M, efConstruction, randomSeed: 100 });
  progress.start("hnswlib-node build (1 thread)", rows, "rows");
  let buildMs = 0;
  const point = new Array<number>(dim);
  for (let row = 0; row < rows;) {
    const sliceStart = performance.now();
    while (row < rows && performance.now() - sliceStart < sliceMs) {
      for (let i = 0; i < dim; i++) point[i] = vectors[row * dim + i] as number;
      index.addPoint(point, row);
      row += 1;
    }
    buildMs += performance.now() - sliceStart;
    progress.update(row);
    await yieldToEventLoop();
  }
  progress.finish(`${Math.round(rows / (buildMs / 1000))} rows/s`);

  const queryPoints = Array.from({ length: dataSet.queryCount }, (_, q) => Array.from(dataSet.queries.subarray(q * dim, (q + 1) * dim)));
  const single: PeerFigures = { name: "hnswlib-node, 1 thread", status: "ran", index: `${indexDescription}, searched in process`, buildMs, threads: 1, search: [], efSweep: [] };
  single.search.push(await searchInProcess(index, queryPoints, options, options.ef, options.levelSeconds * 1000, options.requestsMax, "hnswlib-node search (1 thread)"));
  for (const ef of options.efSweep) {
    if (ef < options.k) continue;
    const level = await searchInProcess(index, queryPoints, options, ef, Number.POSITIVE_INFINITY, dataSet.queryCount, `hnswlib-node ef ${ef}`);
    single.efSweep.push({ ef, recall: level.recall, queriesPerSecond: level.queriesPerSecond, latency: level.latency } satisfies EfPoint);
  }

  const workerCount = options.workerCount === 0 ? availableParallelism() : options.workerCount;
  const perCore: PeerFigures = { name: `hnswlib-node, ${workerCount} threads (one per core)`, status: "ran", index: `${indexDescription}, one copy per worker thread`, threads: workerCount, search: [], efSweep: [] };
  const directory = mkdtempSync(join(tmpdir(), "vela-bench-hnswlib-"));
  const lanes = Array.from({ length: workerCount }, (_, lane) => new WorkerPool({ workerFile, name: `hnswlib peer worker ${lane}`, limits: { workerCount: 1 } }));
  try {
    const path = join(directory, "index.bin");
    index.writeIndexSync(path);
    await Promise.all(lanes.map((lane) => lane.run<number>("load", { path, space: hnswlibSpace(metric), dim } satisfies PeerLoadTask)));
    perCore.search.push(await searchInWorkers(lanes, options));
  } catch (error) {
    perCore.status = "failed";
    perCore.reason = String(error);
  } finally {
    await Promise.all(lanes.map((lane) => lane.close()));
    rmSync(directory, { recursive: true, force: true });
  }
  return [single, perCore];
}

/** One query at a time on this thread until the time or request budget is spent. */
async function searchInProcess(index: InstanceType<typeof hnswlib.HierarchicalNSW>, queryPoints: number[][], options: HnswlibPeerOptions, ef: number, durationMs: number, requestsMax: number, label: string): Promise<SearchLevel> {
  const { k, progress } = options;
  index.setEf(ef);
  const latency = new LatencyRecorder();
  const answers: Array<number[] | undefined> = new Array(queryPoints.length);
  const finite = Number.isFinite(durationMs);
  progress.start(label, finite ? durationMs / 1000 : requestsMax, finite ? "s" : "queries");
  let busyMs = 0;
  let count = 0;
  const started = performance.now();
  while (count < requestsMax && performance.now() - started < durationMs) {
    const sliceStart = performance.now();
    let now = sliceStart;
    while (count < requestsMax && now - sliceStart < sliceMs && now - started < durationMs) {
      const q = count % queryPoints.length;
      const sent = now;
      const result = index.searchKnn(queryPoints[q] as number[], k);
      now = performance.now();
      latency.record(now - sent);
      if (answers[q] === undefined) answers[q] = result.neighbors;
      count += 1;
    }
    busyMs += now - sliceStart;
    progress.update(finite ? (performance.now() - started) / 1000 : count);
    await yieldToEventLoop();
  }
  const level: SearchLevel = {
    concurrency: 1, nq: 1, requests: count, durationMs: busyMs, queriesPerSecond: perSecond(count, busyMs),
    latency: latency.summary(), recall: recallAtK(answers, options.truth.ids, options.truth.width, k), errors: new ErrorRecorder().summary(),
  };
  progress.finish(`${level.queriesPerSecond} queries/s, recall ${level.recall.toFixed(4)}`);
  return level;
}

/** Every worker searches its own copy for the level's time; throughput is the sum over workers. */
async function searchInWorkers(lanes: WorkerPool[], options: HnswlibPeerOptions): Promise<SearchLevel> {
  const { dataSet, k, ef, progress } = options;
  const durationMs = options.levelSeconds * 1000;
  progress.start(`hnswlib-node search (${lanes.length} threads)`, options.levelSeconds, "s");
  const started = performance.now();
  const timer = setInterval(() => progress.update((performance.now() - started) / 1000), 200);
  let outcomes: PeerSearchOutcome[];
  try {
    outcomes = await Promise.all(lanes.map((lane, index) => lane.run<PeerSearchOutcome>("search", {
      queries: dataSet.queries, dim: dataSet.dim, k, ef, durationMs,
      firstQuery: Math.floor((index * dataSet.queryCount) / lanes.length),
      requestsMax: Math.ceil(options.requestsMax / lanes.length),
    } satisfies PeerSearchTask)));
  } finally {
    clearInterval(timer);
  }
  const latency = new LatencyRecorder();
  const answers: Array<Int32Array | undefined> = new Array(dataSet.queryCount);
  let requests = 0;
  let wallMs = 0;
  for (const outcome of outcomes) {
    latency.addAll(outcome.latenciesMs);
    requests += outcome.latenciesMs.length;
    wallMs = Math.max(wallMs, outcome.durationMs);
    for (let q = 0; q < dataSet.queryCount; q++) {
      if (answers[q] === undefined && outcome.answers[q * k] !== -1) answers[q] = outcome.answers.subarray(q * k, (q + 1) * k);
    }
  }
  const level: SearchLevel = {
    concurrency: lanes.length, nq: 1, requests, durationMs: wallMs, queriesPerSecond: perSecond(requests, wallMs),
    latency: latency.summary(), recall: recallAtK(answers, options.truth.ids, options.truth.width, k), errors: new ErrorRecorder().summary(),
  };
  progress.finish(`${level.queriesPerSecond} queries/s, recall ${level.recall.toFixed(4)}`);
  return level;
}
