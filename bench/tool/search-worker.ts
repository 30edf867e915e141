// Worker side of a multi-threaded search level: each worker thread is one more SDK client (its own
// MilvusClient and event loop) running its share of the level's closed-loop clients, so the level is not
// capped by what one thread can encode and decode (the Node SDK costs about 1 ms of client CPU per
// search). Threads share the request sequence and the answered count (SharedArrayBuffer, Atomics), and
// start together on a shared go flag once all are connected.

import { serveWorkerTasks, withTransfer } from "../../common/worker-serve.ts";
import { runLoad } from "./load.ts";
import { VelaDriver, queryPointsOf, searchInSequence, type SearchSettings } from "./vela-driver.ts";

export interface SearchThreadTask extends SearchSettings {
  address: string;
  collection: string;
  /** queryCount × dim, SharedArrayBuffer-backed. */
  queries: Float32Array;
  dim: number;
  /** Clients (requests in flight) on this thread. */
  concurrency: number;
  /** No request starts after this long from the go flag (absent: requestsMax decides). */
  durationMs?: number;
  /** Requests over all threads. */
  requestsMax: number;
  /** Shared counters: [0] next request sequence, [1] requests answered, [2] threads connected, [3] the go flag. */
  counters: Int32Array;
}

export interface SearchThreadOutcome {
  latenciesMs: Float64Array;
  succeeded: number;
  units: number;
  errorCount: number;
  errors: string[];
  /** The first answer this thread saw per query index: [query index, ids]. */
  answers: Array<[number, number[]]>;
}

serveWorkerTasks({
  search: async (payload) => {
    const task = payload as SearchThreadTask;
    const points = queryPointsOf(task.queries, task.dim);
    const driver = await VelaDriver.connect(task.address, task.collection);
    try {
      Atomics.add(task.counters, 2, 1);
      while (Atomics.load(task.counters, 3) === 0) Atomics.wait(task.counters, 3, 0, 1_000);
      const answers = new Map<number, number[]>();
      const outcome = await runLoad({
        concurrency: task.concurrency,
        operationsMax: Number.MAX_SAFE_INTEGER,
        ...(task.durationMs === undefined ? {} : { durationMs: task.durationMs }),
        shouldStop: () => Atomics.load(task.counters, 0) >= task.requestsMax,
        operation: async () => {
          const sequence = Atomics.add(task.counters, 0, 1);
          if (sequence >= task.requestsMax) return null;
          const answered = await searchInSequence(driver, points, sequence, task, (q, ids) => {
            if (!answers.has(q)) answers.set(q, ids);
          });
          Atomics.add(task.counters, 1, 1);
          return answered;
        },
      });
      const summary = outcome.errors.summary();
      const latencies = Float64Array.from(outcome.latency.samples());
      const result: SearchThreadOutcome = {
        latenciesMs: latencies, succeeded: outcome.succeeded, units: outcome.units, errorCount: summary.count, errors: summary.first, answers: [...answers],
      };
      return withTransfer(result, [latencies.buffer]);
    } finally {
      await driver.close();
    }
  },
});
