// Worker side of a multi-threaded ingest: each worker thread is one more SDK client process-alike (its
// own MilvusClient, its own event loop), so the load generator's own CPU — the Node SDK spends about as
// long turning rows into a request as Vela spends storing it — is spread over threads instead of
// capping the figure at what one thread can encode. Threads share the batch counter and the rows-done
// counter (SharedArrayBuffer, Atomics), and start together on a shared go flag once all are connected.

import { serveWorkerTasks, withTransfer } from "../../common/worker-serve.ts";
import { runLoad } from "./load.ts";
import { VelaDriver } from "./vela-driver.ts";

export interface IngestThreadTask {
  address: string;
  collection: string;
  /** rows × dim, SharedArrayBuffer-backed. */
  vectors: Float32Array;
  dim: number;
  rows: number;
  batchRows: number;
  /** Inserts in flight on this thread. */
  concurrency: number;
  /** This thread's share of the pace, in batches per second (0 = unpaced). */
  batchesPerSecond: number;
  /**
   * Shared counters: [0] next batch to take, [1] rows acknowledged, [2] threads connected,
   * [3] the go flag (set to 1 by the main thread once every thread is connected).
   */
  counters: Int32Array;
}

export interface IngestThreadOutcome {
  latenciesMs: Float64Array;
  /** Rows acknowledged. */
  units: number;
  succeeded: number;
  errorCount: number;
  errors: string[];
}

serveWorkerTasks({
  ingest: async (payload) => {
    const task = payload as IngestThreadTask;
    const driver = await VelaDriver.connect(task.address, task.collection);
    try {
      Atomics.add(task.counters, 2, 1);
      // Nothing else runs on this thread until the go flag: wait for it without spinning.
      while (Atomics.load(task.counters, 3) === 0) Atomics.wait(task.counters, 3, 0, 1_000);
      const batches = Math.ceil(task.rows / task.batchRows);
      const outcome = await runLoad({
        concurrency: task.concurrency,
        operationsMax: Number.MAX_SAFE_INTEGER,
        ratePerSecond: task.batchesPerSecond,
        shouldStop: () => Atomics.load(task.counters, 0) >= batches,
        operation: async () => {
          const batch = Atomics.add(task.counters, 0, 1);
          if (batch >= batches) return null;
          const first = batch * task.batchRows;
          const count = Math.min(task.batchRows, task.rows - first);
          const done = await driver.insertRows(task.vectors, task.dim, first, count);
          Atomics.add(task.counters, 1, done);
          return done;
        },
      });
      const summary = outcome.errors.summary();
      const latencies = Float64Array.from(outcome.latency.samples());
      const result: IngestThreadOutcome = { latenciesMs: latencies, units: outcome.units, succeeded: outcome.succeeded, errorCount: summary.count, errors: summary.first };
      return withTransfer(result, [latencies.buffer]);
    } finally {
      await driver.close();
    }
  },
});
