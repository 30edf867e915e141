// Worker side of the "hnswlib-node, one thread per core" peer: each worker loads its own copy of the
// graph the main thread built (readIndexSync of the file it wrote), then searches queries in a tight
// loop for a fixed time, timing each query. Nothing crosses threads per query: this is what raw
// hnswlib gives when every core searches its own copy, the ceiling a server could approach.

import hnswlib from "hnswlib-node";
import type { HierarchicalNSW, SpaceName } from "hnswlib-node";
import { serveWorkerTasks, withTransfer } from "../../../common/worker-serve.ts";

export interface PeerLoadTask {
  path: string;
  space: SpaceName;
  dim: number;
}

export interface PeerSearchTask {
  /** queryCount × dim, SharedArrayBuffer-backed. */
  queries: Float32Array;
  dim: number;
  k: number;
  ef: number;
  /** This worker starts at this query and cycles through all of them. */
  firstQuery: number;
  durationMs: number;
  requestsMax: number;
}

export interface PeerSearchOutcome {
  latenciesMs: Float64Array;
  /** queryCount × k ids of this worker's first answer to each query, -1 where it answered none. */
  answers: Int32Array;
  durationMs: number;
}

let index: HierarchicalNSW | undefined;

serveWorkerTasks({
  load: (payload) => {
    const task = payload as PeerLoadTask;
    const loaded = new hnswlib.HierarchicalNSW(task.space, task.dim);
    loaded.readIndexSync(task.path);
    index = loaded;
    return loaded.getCurrentCount();
  },
  search: (payload) => {
    const task = payload as PeerSearchTask;
    if (index === undefined) throw new Error("search before load");
    const { queries, dim, k } = task;
    const queryCount = queries.length / dim;
    const points = Array.from({ length: queryCount }, (_, q) => Array.from(queries.subarray(q * dim, (q + 1) * dim)));
    index.setEf(task.ef);
    const answers = new Int32Array(queryCount * k).fill(-1);
    const answered = new Uint8Array(queryCount);
    let latencies = new Float64Array(4096);
    let count = 0;
    const started = performance.now();
    let now = started;
    while (count < task.requestsMax && now - started < task.durationMs) {
      const q = (task.firstQuery + count) % queryCount;
      const sent = now;
      const result = index.searchKnn(points[q] as number[], k);
      now = performance.now();
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = now - sent;
      if (answered[q] === 0) {
        answered[q] = 1;
        result.neighbors.forEach((id, i) => (answers[q * k + i] = id));
      }
    }
    const outcome: PeerSearchOutcome = { latenciesMs: latencies.slice(0, count), answers, durationMs: now - started };
    return withTransfer(outcome, [outcome.latenciesMs.buffer as ArrayBuffer, outcome.answers.buffer as ArrayBuffer]);
  },
});
