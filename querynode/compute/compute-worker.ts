// The query node's compute worker: the module every thread of the compute pool runs. It serves the
// CPU-heavy tasks of a search so that the event loop never runs them. Invariant: result buffers are
// fresh and moved back to the caller, never copied; inputs (shared segments) are only read.

import { serveWorkerTasks, withTransfer } from "../../common/worker-serve.ts";
import { scanTopK } from "./brute-force.ts";
import type { SearchTask } from "./brute-force.ts";
import { reducedTransfer } from "./compute-pool.ts";
import type { ReduceTask } from "./compute-pool.ts";
import { reduceSearchHits } from "./reduce.ts";
import { mergeTopKParts } from "./topk.ts";
import type { TopKResult } from "./topk.ts";

function moved(result: TopKResult): unknown {
  return withTransfer(result, [result.counts.buffer as ArrayBuffer, result.rows.buffer as ArrayBuffer, result.distances.buffer as ArrayBuffer]);
}

serveWorkerTasks({
  /** Exact top-k over one row range of a segment (brute-force.ts: SearchTask → TopKResult). */
  search: (payload) => moved(scanTopK(payload as SearchTask)),
  /** Merges split parts of one search when the merge is too large for the event loop. */
  mergeTopK: (payload) => moved(mergeTopKParts(payload as TopKResult[])),
  /** reduceSearchHits for results too large for the event loop (compute-pool.ts: reduceInPool). */
  reduce: (payload) => {
    const { results, options, limits } = payload as ReduceTask;
    const reduced = reduceSearchHits(results, options, limits);
    return withTransfer(reduced, reducedTransfer(reduced));
  },
});
