import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, VelaError, isVelaError } from "./errors.ts";
import { WorkerPool } from "./worker-pool.ts";

const fixture = new URL("./worker-pool.fixture-worker.ts", import.meta.url);

async function rejection(promise: Promise<unknown>): Promise<VelaError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(VelaError);
    return error as VelaError;
  }
  throw new Error("expected the promise to reject");
}

/** A shared gate for the fixture's `hold` task: [0] releases, [1] counts tasks that started holding. */
function newGate(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}

async function waitUntilHolding(gate: Int32Array, count: number): Promise<void> {
  // Atomics.waitAsync would also do; polling a shared counter keeps the test free of timeouts.
  while (Atomics.load(gate, 1) < count) await new Promise((resolve) => setImmediate(resolve));
}

function release(gate: Int32Array): void {
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
}

describe("WorkerPool", () => {
  let pool: WorkerPool;

  beforeAll(async () => {
    pool = new WorkerPool({ workerFile: fixture, name: "test pool", limits: { workerCount: 2 } });
    await Promise.all([pool.run("echo", 0), pool.run("echo", 1)]);
  });

  afterAll(async () => {
    await pool.close();
  });

  it("runs tasks by name and returns their values", async () => {
    const values = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.run<{ i: number }>("echo", { i })));
    expect(values.map((value) => value.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("keeps a worker's VelaError code and message", async () => {
    const error = await rejection(pool.run("fail", { code: ErrorCode.NotFound, message: "segment 7 is not loaded" }));
    expect(error.code).toBe(ErrorCode.NotFound);
    expect(error.message).toBe("segment 7 is not loaded");
  });

  it("turns a plain error, thrown or async, into Internal naming the task", async () => {
    const thrown = await rejection(pool.run("failPlain", "bad state"));
    expect(thrown.code).toBe(ErrorCode.Internal);
    expect(thrown.message).toContain("failPlain");
    expect(thrown.message).toContain("bad state");
    const asyncError = await rejection(pool.run("failAsync", "later"));
    expect(asyncError.code).toBe(ErrorCode.Internal);
    expect(asyncError.message).toContain("later");
  });

  it("rejects an unknown task name with InvalidArgument listing the known ones", async () => {
    const error = await rejection(pool.run("nope", null));
    expect(error.code).toBe(ErrorCode.InvalidArgument);
    expect(error.message).toContain('"nope"');
    expect(error.message).toContain("echo");
  });

  it("rejects a payload that cannot be cloned and stays usable", async () => {
    const error = await rejection(pool.run("echo", { f: () => 1 }));
    expect(error.code).toBe(ErrorCode.InvalidArgument);
    const returned = await rejection(pool.run("unclonable", null));
    expect(returned.code).toBe(ErrorCode.Internal);
    expect(await pool.run("echo", "still here")).toBe("still here");
  });

  it("shares SharedArrayBuffer memory instead of copying it", async () => {
    const target = new Int32Array(new SharedArrayBuffer(16 * 4));
    const shared = await pool.run<boolean>("fillShared", { target, value: 42 });
    expect(shared).toBe(true);
    expect(Array.from(target)).toEqual(new Array(16).fill(42));
  });

  it("moves transferred buffers both ways", async () => {
    const input = new Float32Array([1, 2, 3]);
    expect(await pool.run("echo", input, [input.buffer])).toEqual(new Float32Array([1, 2, 3]));
    expect(input.byteLength).toBe(0); // detached: moved, not copied
    const squares = await pool.run<Float64Array>("squares", 5);
    expect(Array.from(squares)).toEqual([0, 1, 4, 9, 16]);
  });

  it("replaces a worker that dies and fails only the task it was running", async () => {
    const error = await rejection(pool.run("crash", null));
    expect(error.code).toBe(ErrorCode.Internal);
    expect(error.message).toContain("crash");
    const values = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.run<number>("echo", i)));
    expect(values).toEqual([0, 1, 2, 3, 4, 5]);
    expect(pool.stats().state).toBe("open");
  });
});

describe("WorkerPool bounds and lifecycle", () => {
  it("refuses a task at once with LimitExceeded when the queue is full, then drains", async () => {
    const pool = new WorkerPool({ workerFile: fixture, limits: { workerCount: 1, taskQueueDepthMax: 2 } });
    try {
      await pool.run("echo", "ready");
      const gate = newGate();
      const held = pool.run("hold", gate);
      await waitUntilHolding(gate, 1);
      const queued = [pool.run("echo", "a"), pool.run("echo", "b")];
      expect(pool.stats()).toMatchObject({ running: 1, queued: 2 });
      const refused = await rejection(pool.run("echo", "c"));
      expect(refused.code).toBe(ErrorCode.LimitExceeded);
      expect(refused.message).toContain("taskQueueDepthMax");
      release(gate);
      expect(await held).toBe("released");
      expect(await Promise.all(queued)).toEqual(["a", "b"]);
      expect(pool.stats()).toMatchObject({ running: 0, queued: 0 });
    } finally {
      await pool.close();
    }
  });

  it("rejects running and queued tasks with Closed on close, and every later task", async () => {
    const pool = new WorkerPool({ workerFile: fixture, name: "closing pool", limits: { workerCount: 1 } });
    await pool.run("echo", "ready");
    const gate = newGate();
    const held = rejection(pool.run("hold", gate));
    await waitUntilHolding(gate, 1);
    const queued = [rejection(pool.run("echo", 1)), rejection(pool.run("echo", 2))];
    await pool.close();
    for (const error of [await held, ...(await Promise.all(queued))]) {
      expect(error.code).toBe(ErrorCode.Closed);
      expect(error.message).toBe("closing pool is closed");
    }
    expect((await rejection(pool.run("echo", 3))).code).toBe(ErrorCode.Closed);
    await pool.close(); // idempotent
  });

  it("fails every task with Internal when the worker module cannot load", async () => {
    const broken = new URL("data:text/javascript,throw new Error('module is broken')");
    const pool = new WorkerPool({ workerFile: broken, limits: { workerCount: 1 } });
    try {
      const error = await rejection(pool.run("echo", 1));
      expect(error.code).toBe(ErrorCode.Internal);
      expect(error.message).toContain("could not start");
      expect(pool.stats().state).toBe("failed");
      expect((await rejection(pool.run("echo", 2))).code).toBe(ErrorCode.Internal);
    } finally {
      await pool.close();
    }
  });

  it("validates its limits", () => {
    for (const limits of [{ workerCount: 1.5 }, { workerCount: 300 }, { taskQueueDepthMax: -1 }]) {
      let caught: unknown;
      try {
        new WorkerPool({ workerFile: fixture, limits });
      } catch (error) {
        caught = error;
      }
      expect(isVelaError(caught, ErrorCode.InvalidArgument)).toBe(true);
    }
  });
});
