// The query node's compute pool: a WorkerPool running compute-worker.ts, which serves the `search`,
// `mergeTopK` and `reduce` tasks. One pool per process (query node, or a proxy that reduces large
// results); its size and queue depth are the workerPoolDefaults bounds (one thread per core by
// default). Invariant: a reduce larger than searchInlineMergeEntriesMax never runs on the event loop.

import type { Transferable } from "node:worker_threads";
import type { QueryNodeLimits, WorkerPoolLimits } from "../../common/config.ts";
import { WorkerPool } from "../../common/worker-pool.ts";
import { reduceWithLimits, resolveReduceLimits } from "./reduce.ts";
import type { ReduceOptions, ReducedHits, SearchHits } from "./reduce.ts";

export const computeWorkerFile = new URL("./compute-worker.ts", import.meta.url);

export function createComputePool(limits?: Partial<WorkerPoolLimits>): WorkerPool {
  return new WorkerPool({ workerFile: computeWorkerFile, name: "query node compute pool", ...(limits === undefined ? {} : { limits }) });
}

/** The `reduce` task's payload. */
export interface ReduceTask {
  results: readonly SearchHits[];
  options: ReduceOptions;
  limits?: Partial<QueryNodeLimits>;
}

/**
 * reduceSearchHits off the event loop when it is large: inputs of at most searchInlineMergeEntriesMax
 * hits in total are reduced here, larger ones in the pool (inputs are cloned to the worker). Same
 * result and errors as reduceSearchHits.
 */
export async function reduceInPool(pool: WorkerPool, results: readonly SearchHits[], options: ReduceOptions, limitOverrides?: Partial<QueryNodeLimits>): Promise<ReducedHits> {
  const limits = resolveReduceLimits(limitOverrides);
  let entries = 0;
  for (const hits of results) entries += hits.primaryKeys.length;
  if (entries <= limits.searchInlineMergeEntriesMax) return reduceWithLimits(results, options, limits);
  const task: ReduceTask = { results, options, limits };
  return pool.run<ReducedHits>("reduce", task);
}

/** The buffers of a reduced result, to move back from a worker. */
export function reducedTransfer(reduced: ReducedHits): Transferable[] {
  return [reduced.topks.buffer as ArrayBuffer, reduced.distances.buffer as ArrayBuffer, reduced.resultIndexes.buffer as ArrayBuffer, reduced.hitIndexes.buffer as ArrayBuffer];
}
