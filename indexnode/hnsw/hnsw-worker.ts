// The HNSW worker: the module every thread of an HNSW pool (hnsw-pool.ts) runs. It builds indexes,
// and keeps loaded ones resident by handle so that a search never reloads a graph. Invariants: a
// handle id names at most one loaded graph in this thread; results and built bytes are fresh buffers
// moved back, never copied; a handle this thread does not hold (released, or the thread was replaced
// after a crash) is reported as NotFound, never searched in another graph.

import { ErrorCode, VelaError } from "../../common/errors.ts";
import { serializeError } from "../../common/worker-pool.ts";
import { serveWorkerTasks, withTransfer } from "../../common/worker-serve.ts";
import { buildHnswIndexBytes, freeHnswGraph, loadHnswIndexBytes, searchLoadedHnsw } from "./hnsw-engine.ts";
import type { LoadedHnsw } from "./hnsw-engine.ts";
import type { HnswBuildTask, HnswLoadTask, HnswReleaseTask, HnswSearchBatchTask, HnswSearchOutcome, HnswSearchTask } from "./hnsw-request.ts";
import type { TopKResult } from "../../querynode/compute/topk.ts";

const resident = new Map<number, LoadedHnsw>();

serveWorkerTasks({
  /** Builds and serialises an index (HnswBuildTask → Uint8Array: header + hnswlib payload). */
  build: (payload) => {
    const bytes = buildHnswIndexBytes(payload as HnswBuildTask);
    return withTransfer(bytes, [bytes.buffer as ArrayBuffer]);
  },
  /** Verifies and loads index bytes, kept under the task's handle id until released. */
  load: (payload) => {
    const { handleId, bytes } = payload as HnswLoadTask;
    if (resident.has(handleId)) throw new VelaError(ErrorCode.Internal, `invariant broken: HNSW handle ${handleId} is already loaded in this worker`);
    const loaded = loadHnswIndexBytes(bytes);
    resident.set(handleId, loaded);
    return { rows: loaded.header.rows };
  },
  /** Runs searches one after another (HnswSearchBatchTask → HnswSearchOutcome[], one per search, in order). */
  searchBatch: (payload) => {
    const { searches } = payload as HnswSearchBatchTask;
    const outcomes: HnswSearchOutcome[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const task of searches) {
      try {
        const result = searchResident(task);
        outcomes.push({ ok: true, result });
        transfer.push(...resultBuffers(result));
      } catch (error) {
        outcomes.push({ ok: false, error: serializeError(error) });
      }
    }
    return withTransfer(outcomes, transfer);
  },
  /** Drops a resident index; true when it was held. Idempotent. */
  release: (payload) => {
    const { handleId } = payload as HnswReleaseTask;
    const loaded = resident.get(handleId);
    if (loaded === undefined) return false;
    resident.delete(handleId);
    freeHnswGraph(loaded.index);
    return true;
  },
});

function searchResident(task: HnswSearchTask): TopKResult {
  const loaded = resident.get(task.handleId);
  if (loaded === undefined) {
    throw new VelaError(ErrorCode.NotFound, `HNSW index handle ${task.handleId} is not loaded in its worker (released, or the worker was restarted after a crash); load the index again`);
  }
  return searchLoadedHnsw(loaded, task);
}

/** A result's fresh buffers, moved (not copied) back to the main thread. */
function resultBuffers(result: TopKResult): ArrayBuffer[] {
  return [result.counts.buffer as ArrayBuffer, result.rows.buffer as ArrayBuffer, result.distances.buffer as ArrayBuffer];
}
