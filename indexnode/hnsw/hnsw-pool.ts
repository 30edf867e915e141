// The main-thread API of the HNSW library: build an index from a segment's vectors, load stored index
// bytes into a worker where they stay resident, search them by handle, release them. Every call is
// async and only validates and routes on the event loop; hnswlib runs in the pool's worker threads
// (hnsw-worker.ts).
//
// Why the pool is made of single-worker lanes: a loaded graph lives in one thread's memory, so a search
// must reach the very worker that loaded it. WorkerPool hands a task to whichever worker is free, so
// an HnswPool keeps one WorkerPool of one worker per lane, and a handle records its lanes. A handle
// may be loaded into several lanes (replicas) so that its searches spread over them.
//
// Searches are batched per lane without waiting: a search sent to an idle lane goes at once; searches
// that arrive while the lane's worker is busy queue here and go together (up to hnswSearchBatchMax) in
// one message when it is free. Each search of a batch has its own outcome: one that fails (a handle
// released in the worker, say) fails alone.
//
// Invariants: the bytes accounted as resident are the sum over live handles of their per-copy size
// times their copies, and never exceed hnswResidentBytesMax (a load beyond it is refused with
// LimitExceeded before any worker sees it); a search only runs on a lane that loaded its handle; a
// released handle is refused at once (NotFound) and its graphs are freed in their workers.

import { availableParallelism } from "node:os";
import { workerPoolDefaults } from "../../common/config.ts";
import type { HnswLimits, QueryNodeLimits } from "../../common/config.ts";
import { ErrorCode, VelaError, closedError, invalidArgument, limitExceeded } from "../../common/errors.ts";
import { WorkerPool, deserializeError } from "../../common/worker-pool.ts";
import { Bitset } from "../../querynode/compute/bitset.ts";
import type { MetricType } from "../../querynode/compute/metric.ts";
import type { TopKResult } from "../../querynode/compute/topk.ts";
import { decodeHnswHeader } from "./hnsw-format.ts";
import { resolveHnswLimits, resolveQueryLimits, validateBuildRequest, validateSearchRequest } from "./hnsw-request.ts";
import type { HnswBuildRequest, HnswLoadTask, HnswReleaseTask, HnswSearchBatchTask, HnswSearchOutcome, HnswSearchRequest, HnswSearchTask } from "./hnsw-request.ts";

export const hnswWorkerFile = new URL("./hnsw-worker.ts", import.meta.url);

export interface HnswPoolOptions {
  /** Used in error messages. */
  name?: string;
  /** Worker threads (lanes); 0 or absent: one per CPU core. At most workerCountMax. */
  workerCount?: number;
  /** Tasks waiting per worker before new ones are refused with LimitExceeded (taskQueueDepthMax by default). */
  taskQueueDepthMax?: number;
  limits?: Partial<HnswLimits>;
  /** Bounds of nq, topk and result entries (queryNodeDefaults by default). */
  queryLimits?: Partial<QueryNodeLimits>;
}

/** A loaded index, resident in one or more workers of the pool that loaded it. */
export interface HnswHandle {
  readonly id: number;
  readonly metric: MetricType;
  readonly dim: number;
  readonly rows: number;
  readonly M: number;
  readonly efConstruction: number;
  /** Memory one copy takes in its worker: the serialised graph plus hnswResidentOverheadBytesPerRow per row. */
  readonly residentBytesPerCopy: number;
  /** The lanes (worker indexes) holding a copy. */
  readonly lanes: readonly number[];
}

export interface HnswLoadOptions {
  /** Copies to load, each in a different worker (1 by default, at most the worker count). */
  replicas?: number;
}

/** A search waiting in its lane's batch queue, or running in its lane's current batch. */
interface QueuedSearch {
  task: HnswSearchTask;
  resolve: (result: TopKResult) => void;
  reject: (error: unknown) => void;
  settled: Promise<unknown>;
}

/** Per lane: searches not yet sent, and those in the batch its worker runs now. */
interface LaneSearches {
  waiting: QueuedSearch[];
  running: QueuedSearch[];
}

export class HnswPool {
  readonly name: string;
  readonly limits: HnswLimits;
  readonly queryLimits: QueryNodeLimits;
  private readonly lanes: WorkerPool[] = [];
  private readonly laneSearches: LaneSearches[] = [];
  private readonly taskQueueDepthMax: number;
  private readonly laneResidentBytes: number[] = [];
  private readonly handles = new Map<number, HnswHandle>();
  private nextHandleId = 1;
  private closed = false;
  private searchesSent = 0;
  private searchMessagesSent = 0;

  constructor(options: HnswPoolOptions = {}) {
    this.name = options.name ?? "HNSW pool";
    this.limits = resolveHnswLimits(options.limits);
    this.queryLimits = resolveQueryLimits(options.queryLimits);
    const requested = options.workerCount ?? 0;
    const workerCount = requested === 0 ? availableParallelism() : requested;
    if (!Number.isInteger(workerCount) || workerCount < 1 || workerCount > workerPoolDefaults.workerCountMax) {
      throw invalidArgument(`${this.name}: workerCount must be an integer in [1, ${workerPoolDefaults.workerCountMax}] (0 = one per core), got ${workerCount}`);
    }
    const taskQueueDepthMax = options.taskQueueDepthMax ?? workerPoolDefaults.taskQueueDepthMax;
    this.taskQueueDepthMax = taskQueueDepthMax;
    for (let lane = 0; lane < workerCount; lane++) {
      this.lanes.push(new WorkerPool({ workerFile: hnswWorkerFile, name: `${this.name} worker ${lane}`, limits: { workerCount: 1, taskQueueDepthMax } }));
      this.laneSearches.push({ waiting: [], running: [] });
      this.laneResidentBytes.push(0);
    }
  }

  get workerCount(): number {
    return this.lanes.length;
  }

  /** Bytes of loaded indexes accounted in all workers (every copy counted). */
  residentBytes(): number {
    let total = 0;
    for (const bytes of this.laneResidentBytes) total += bytes;
    return total;
  }

  /** Per worker: resident bytes and tasks running and queued (for metrics and tests). */
  stats(): { lanes: { residentBytes: number; running: number; queued: number }[]; handles: number; searches: number; searchMessages: number } {
    return {
      searches: this.searchesSent,
      searchMessages: this.searchMessagesSent,
      lanes: this.lanes.map((lane, index) => {
        const { running, queued } = lane.stats();
        const searches = this.laneSearches[index] as LaneSearches;
        return { residentBytes: this.laneResidentBytes[index] as number, running: running + Math.max(0, searches.running.length - 1), queued: queued + searches.waiting.length };
      }),
      handles: this.handles.size,
    };
  }

  /** Builds an index in the least busy worker; resolves to its stored bytes (header + payload). */
  async build(request: HnswBuildRequest): Promise<Uint8Array> {
    this.checkOpen();
    const task = validateBuildRequest(request, this.limits);
    return (this.lanes[this.laneIndexFor(this.lanes.map((_, index) => index))] as WorkerPool).run<Uint8Array>("build", task);
  }

  /**
   * Verifies index bytes and loads them into `replicas` workers (those holding the fewest resident
   * bytes), where they stay until released. Rejects with Corrupted on damaged bytes, LimitExceeded
   * when the copies would pass hnswResidentBytesMax.
   */
  async load(bytes: Uint8Array, options: HnswLoadOptions = {}): Promise<HnswHandle> {
    this.checkOpen();
    const header = decodeHnswHeader(bytes);
    const replicas = options.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > this.lanes.length) {
      throw invalidArgument(`${this.name}: replicas must be an integer in [1, ${this.lanes.length}] (the worker count), got ${String(replicas)}`);
    }
    const residentBytesPerCopy = header.payloadBytes + header.rows * this.limits.hnswResidentOverheadBytesPerRow;
    const needed = residentBytesPerCopy * replicas;
    const resident = this.residentBytes();
    if (resident + needed > this.limits.hnswResidentBytesMax) {
      throw limitExceeded(
        `${this.name}: loading ${replicas} cop${replicas === 1 ? "y" : "ies"} of a ${header.rows}-row index needs ${needed} bytes; ${resident} of ${this.limits.hnswResidentBytesMax} (hnswResidentBytesMax) are in use`,
      );
    }
    const lanes = this.lanes
      .map((_, index) => index)
      .sort((a, b) => (this.laneResidentBytes[a] as number) - (this.laneResidentBytes[b] as number) || a - b)
      .slice(0, replicas)
      .sort((a, b) => a - b);
    const id = this.nextHandleId++;
    // Reserve before awaiting, so that concurrent loads cannot pass the bound together.
    for (const lane of lanes) this.laneResidentBytes[lane] = (this.laneResidentBytes[lane] as number) + residentBytesPerCopy;
    const task: HnswLoadTask = { handleId: id, bytes };
    const outcomes = await Promise.allSettled(lanes.map((lane) => (this.lanes[lane] as WorkerPool).run("load", task)));
    const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
    if (failure !== undefined || this.closed) {
      for (const lane of lanes) this.laneResidentBytes[lane] = (this.laneResidentBytes[lane] as number) - residentBytesPerCopy;
      const loadedLanes = lanes.filter((_, index) => outcomes[index]?.status === "fulfilled");
      await this.releaseInLanes(id, loadedLanes);
      if (failure !== undefined) throw failure.reason;
      throw closedError(this.name);
    }
    const handle: HnswHandle = Object.freeze({
      id,
      metric: header.metric,
      dim: header.dim,
      rows: header.rows,
      M: header.M,
      efConstruction: header.efConstruction,
      residentBytesPerCopy,
      lanes: Object.freeze(lanes),
    });
    this.handles.set(id, handle);
    return handle;
  }

  /**
   * Searches a loaded index in the least busy worker holding it: per query the best min(topk,
   * allowed rows) hits the graph walk finds at `ef`, best first, in Milvus's distance conventions.
   */
  async search(handle: HnswHandle, request: HnswSearchRequest): Promise<TopKResult> {
    this.checkOpen();
    const live = this.liveHandle(handle);
    const { ef } = validateSearchRequest(live, request, this.limits, this.queryLimits);
    const task: HnswSearchTask = { handleId: live.id, queries: request.queries, dim: live.dim, topk: request.topk, ef };
    const allowed = request.allowed;
    // A filter that allows every row changes no answer (hnswlib walks the same graph either way) but
    // costs a call back into JavaScript per candidate, a fifth of an unfiltered search: the usual
    // MVCC visibility of a sealed segment without deletes is such a filter.
    if (allowed instanceof Bitset) {
      if (allowed.count() < live.rows) task.allowed = { kind: "bits", values: allowed.bytes };
    } else if (allowed !== undefined) {
      task.allowed = { kind: "mask", values: allowed };
    }
    const lane = this.laneIndexFor(live.lanes);
    const searches = this.laneSearches[lane] as LaneSearches;
    if (searches.waiting.length >= this.taskQueueDepthMax) {
      throw limitExceeded(`${this.name} worker ${lane}: search queue is full (${this.taskQueueDepthMax} searches waiting, taskQueueDepthMax); retry later`);
    }
    let resolve!: (result: TopKResult) => void;
    let reject!: (error: unknown) => void;
    const result = new Promise<TopKResult>((resolveSearch, rejectSearch) => {
      resolve = resolveSearch;
      reject = rejectSearch;
    });
    searches.waiting.push({ task, resolve, reject, settled: result.then(() => undefined, () => undefined) });
    if (searches.running.length === 0) this.sendSearches(lane);
    return result;
  }

  /** Frees a loaded index in every worker holding it. Searches already queued run first. Idempotent. */
  async release(handle: HnswHandle): Promise<void> {
    const live = this.handles.get(handle.id);
    if (live === undefined) return;
    this.handles.delete(live.id);
    // Searches of this handle accepted before the release still run on it (later ones are refused above).
    const earlier: Array<Promise<unknown>> = [];
    for (const lane of live.lanes) {
      const searches = this.laneSearches[lane] as LaneSearches;
      for (const queued of [...searches.running, ...searches.waiting]) if (queued.task.handleId === live.id) earlier.push(queued.settled);
    }
    await Promise.all(earlier);
    for (const lane of live.lanes) this.laneResidentBytes[lane] = (this.laneResidentBytes[lane] as number) - live.residentBytesPerCopy;
    if (!this.closed) await this.releaseInLanes(live.id, live.lanes);
  }

  /** Terminates the workers: running and queued tasks reject with Closed, every handle is gone. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.handles.clear();
    this.laneResidentBytes.fill(0);
    for (const searches of this.laneSearches) {
      for (const queued of searches.waiting.splice(0)) queued.reject(closedError(this.name));
    }
    await Promise.all(this.lanes.map((lane) => lane.close()));
  }

  private checkOpen(): void {
    if (this.closed) throw closedError(this.name);
  }

  private liveHandle(handle: HnswHandle): HnswHandle {
    const live = handle === null || typeof handle !== "object" ? undefined : this.handles.get(handle.id);
    if (live === undefined || live !== handle) {
      throw new VelaError(ErrorCode.NotFound, `${this.name}: HNSW index handle ${String((handle as Partial<HnswHandle> | null)?.id)} is not loaded in this pool (released, or loaded by another pool)`);
    }
    return live;
  }

  /** Sends the lane's waiting searches (at most hnswSearchBatchMax) as one task; repeats while more wait. */
  private sendSearches(lane: number): void {
    const searches = this.laneSearches[lane] as LaneSearches;
    const batch = searches.waiting.splice(0, this.limits.hnswSearchBatchMax);
    if (batch.length === 0) return;
    searches.running = batch;
    this.searchesSent += batch.length;
    this.searchMessagesSent += 1;
    const task: HnswSearchBatchTask = { searches: batch.map((queued) => queued.task) };
    (this.lanes[lane] as WorkerPool).run<HnswSearchOutcome[]>("searchBatch", task).then(
      (outcomes) => {
        for (let i = 0; i < batch.length; i++) {
          const queued = batch[i] as QueuedSearch;
          const outcome = outcomes[i];
          if (outcome === undefined) queued.reject(new VelaError(ErrorCode.Internal, `invariant broken: ${this.name} worker ${lane} answered ${outcomes.length} of ${batch.length} searches`));
          else if (outcome.ok) queued.resolve(outcome.result);
          else queued.reject(deserializeError(outcome.error, "search"));
        }
      },
      (error: unknown) => {
        for (const queued of batch) queued.reject(error);
      },
    ).finally(() => {
      searches.running = [];
      if (this.closed) {
        for (const queued of searches.waiting.splice(0)) queued.reject(closedError(this.name));
        return;
      }
      this.sendSearches(lane);
    });
  }

  /** The lane among `candidates` with the fewest searches and tasks running and waiting (the lowest index on ties). */
  private laneIndexFor(candidates: readonly number[]): number {
    let best = -1;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const index of candidates) {
      const { running, queued } = (this.lanes[index] as WorkerPool).stats();
      const searches = this.laneSearches[index] as LaneSearches;
      const load = running + queued + searches.running.length + searches.waiting.length;
      if (load < bestLoad) {
        best = index;
        bestLoad = load;
      }
    }
    if (best < 0) throw new VelaError(ErrorCode.Internal, `invariant broken: ${this.name} has no lane to run on`);
    return best;
  }

  private async releaseInLanes(id: number, lanes: readonly number[]): Promise<void> {
    const task: HnswReleaseTask = { handleId: id };
    // A lane that fails to release (closed, or its worker crashed) holds nothing any more either way.
    await Promise.allSettled(lanes.map((lane) => (this.lanes[lane] as WorkerPool).run("release", task)));
  }
}

export function createHnswPool(options?: HnswPoolOptions): HnswPool {
  return new HnswPool(options);
}

/** Builds an HNSW index in the pool; resolves to its stored bytes (hnsw-format.ts). */
export function buildHnsw(pool: HnswPool, request: HnswBuildRequest): Promise<Uint8Array> {
  return pool.build(request);
}

/** Verifies and loads index bytes into the pool's workers; search the returned handle until released. */
export function loadHnsw(pool: HnswPool, bytes: Uint8Array, options?: HnswLoadOptions): Promise<HnswHandle> {
  return pool.load(bytes, options);
}

/** Searches a loaded index (TopKResult, the brute-force layout). */
export function searchHnsw(pool: HnswPool, handle: HnswHandle, request: HnswSearchRequest): Promise<TopKResult> {
  return pool.search(handle, request);
}

/** Frees a loaded index in its workers. */
export function releaseHnsw(pool: HnswPool, handle: HnswHandle): Promise<void> {
  return pool.release(handle);
}
