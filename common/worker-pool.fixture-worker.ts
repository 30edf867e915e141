// A worker module for common/worker-pool.test.ts: small tasks that succeed, fail in each way a
// worker can fail, share or move buffers, and hold a worker busy until the test releases it, so that
// the pool's queueing and closing are tested without timing.

import { VelaError } from "./errors.ts";
import type { ErrorCode } from "./errors.ts";
import { serveWorkerTasks, withTransfer } from "./worker-serve.ts";

serveWorkerTasks({
  echo: (payload) => payload,
  fail: (payload) => {
    const { code, message } = payload as { code: ErrorCode; message: string };
    throw new VelaError(code, message);
  },
  failPlain: (payload) => {
    throw new Error(String(payload));
  },
  failAsync: async (payload) => {
    await Promise.resolve();
    throw new Error(String(payload));
  },
  /** Writes `value` into every element of a shared array: the caller sees it if nothing was copied. */
  fillShared: (payload) => {
    const { target, value } = payload as { target: Int32Array; value: number };
    target.fill(value);
    return target.buffer instanceof SharedArrayBuffer;
  },
  /** Returns a fresh buffer moved (not copied) to the caller. */
  squares: (payload) => {
    const count = payload as number;
    const values = new Float64Array(count);
    for (let i = 0; i < count; i++) values[i] = i * i;
    return withTransfer(values, [values.buffer]);
  },
  /** Marks gate[1] += 1, then blocks this worker until gate[0] becomes non-zero. */
  hold: (payload) => {
    const gate = payload as Int32Array;
    Atomics.add(gate, 1, 1);
    Atomics.notify(gate, 1);
    Atomics.wait(gate, 0, 0);
    return "released";
  },
  /** Kills the worker thread with an uncaught error outside the task. */
  crash: () => {
    setTimeout(() => {
      throw new Error("worker crashed on purpose");
    }, 0);
    return new Promise(() => undefined);
  },
  unclonable: () => () => 1,
});
