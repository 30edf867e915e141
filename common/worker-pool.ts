// A bounded pool of worker threads that runs CPU work (distance kernels, index search and build,
// encoding) off the event loop. Tasks are named; a worker file registers one handler per name with
// serveWorkerTasks (common/worker-serve.ts). Invariants: at most `workerCount` tasks run at once (one
// per worker), at most `taskQueueDepthMax` wait (one more is refused at once with LimitExceeded, never
// queued), every task settles exactly once, and every failure reaches the caller as a VelaError:
// the worker's own VelaError code when it threw one, Internal otherwise, Closed once the pool closes.
//
// Payloads cross threads by structured clone: a SharedArrayBuffer-backed typed array is shared, not
// copied; buffers named in `transfer` are moved (and detached in the caller) when the task is sent.

import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { Transferable } from "node:worker_threads";
import { workerPoolDefaults, resolveLimits } from "./config.ts";
import type { WorkerPoolLimits } from "./config.ts";
import { ErrorCode, VelaError, closedError, errorMessage, invalidArgument, limitExceeded } from "./errors.ts";

/** Main thread → worker: run one task. */
export interface TaskMessage {
  kind: "task";
  id: number;
  name: string;
  payload: unknown;
}

/** A thrown error as it crosses the thread boundary. */
export interface SerializedError {
  /** Set when the worker threw a VelaError. */
  code?: ErrorCode;
  message: string;
  stack?: string;
}

/** Worker → main thread: the worker is loaded, or one task's outcome. */
export type WorkerReply =
  | { kind: "ready" }
  | { kind: "result"; id: number; ok: true; value: unknown }
  | { kind: "result"; id: number; ok: false; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  const stack = error instanceof Error ? error.stack : undefined;
  return {
    ...(error instanceof VelaError ? { code: error.code } : {}),
    message: errorMessage(error),
    ...(stack === undefined ? {} : { stack }),
  };
}

const errorCodes = new Set<string>(Object.values(ErrorCode));

/** A worker's error as a VelaError: its own code when it threw a VelaError, else Internal (a bug). */
export function deserializeError(serialized: SerializedError, taskName: string): VelaError {
  if (serialized.code !== undefined && errorCodes.has(serialized.code)) {
    const error = new VelaError(serialized.code, serialized.message);
    if (serialized.stack !== undefined) error.stack = serialized.stack;
    return error;
  }
  const error = new VelaError(ErrorCode.Internal, `task ${taskName} failed in a worker: ${serialized.message}`);
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  return error;
}

/** Loads a `.ts` worker module through tsx (see the file for why `execArgv: ["--import", "tsx"]` is not enough). */
const bootstrapFile = new URL("./worker-bootstrap.mjs", import.meta.url);

export interface WorkerPoolOptions {
  /** The worker's module (a URL or a file path). A `.ts` module is loaded through tsx. */
  workerFile: URL | string;
  /** Used in error messages ("compute pool is closed"). */
  name?: string;
  limits?: Partial<WorkerPoolLimits>;
}

interface PendingTask {
  id: number;
  name: string;
  payload: unknown;
  transfer: readonly Transferable[];
  resolve: (value: unknown) => void;
  reject: (error: VelaError) => void;
}

interface PoolWorker {
  worker: Worker;
  ready: boolean;
  /** Resolves once the worker reported ready, or exited, or failed: it is no longer starting. */
  started: Promise<void>;
  markStarted: () => void;
  /** Resolves when the task it runs now answers (or the worker dies); undefined when idle. */
  busy: Promise<void> | undefined;
  markIdle: () => void;
  /** The task it runs now, if any. */
  task: PendingTask | undefined;
  /** Set once this worker has been replaced or terminated, so its late events are ignored. */
  retired: boolean;
}

/**
 * Lifecycle: open → closed (close() called: every queued and running task rejected with Closed), or
 * open → failed (a worker could not load its module: every queued and later task rejected with that
 * error) → closed.
 */
export type WorkerPoolState = "open" | "failed" | "closed";

export class WorkerPool {
  readonly name: string;
  readonly workerCount: number;
  readonly taskQueueDepthMax: number;
  private readonly workerFile: URL | string;
  private readonly workers: PoolWorker[] = [];
  private readonly idle: PoolWorker[] = [];
  private queue: PendingTask[] = [];
  private queueHead = 0;
  private nextTaskId = 1;
  private state: WorkerPoolState = "open";
  /** Why the pool failed (a worker could not even load); every later run rejects with it. */
  private failure: VelaError | undefined;
  private closing: Promise<void> | undefined;
  private readonly startWaitMs: number;

  constructor(options: WorkerPoolOptions) {
    const limits = resolveLimits(workerPoolDefaults as WorkerPoolLimits, options.limits, "worker pool");
    const workerCount = limits.workerCount === 0 ? availableParallelism() : limits.workerCount;
    if (!Number.isInteger(workerCount) || workerCount < 1 || workerCount > limits.workerCountMax) {
      throw invalidArgument(`worker pool: workerCount must be an integer in [1, ${limits.workerCountMax}] (0 = one per core), got ${workerCount}`);
    }
    if (!Number.isInteger(limits.taskQueueDepthMax)) {
      throw invalidArgument(`worker pool: taskQueueDepthMax must be an integer, got ${limits.taskQueueDepthMax}`);
    }
    this.name = options.name ?? "worker pool";
    this.workerFile = options.workerFile;
    this.workerCount = workerCount;
    this.taskQueueDepthMax = limits.taskQueueDepthMax;
    this.startWaitMs = limits.workerStartWaitMsMax;
    for (let index = 0; index < workerCount; index++) this.spawn(index);
  }

  /**
   * Runs task `name` with `payload` on a free worker, or queues it. Rejects at once with
   * LimitExceeded when the queue is full and with Closed once the pool is closed. Buffers in
   * `transfer` are moved to the worker when the task is sent: the caller must not use them after
   * this call.
   */
  run<T>(name: string, payload: unknown, transfer: readonly Transferable[] = []): Promise<T> {
    if (this.state === "closed") return Promise.reject(closedError(this.name));
    if (this.state === "failed" && this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const task: PendingTask = { id: this.nextTaskId++, name, payload, transfer, resolve: resolve as (value: unknown) => void, reject };
      const worker = this.idle.pop();
      if (worker !== undefined) {
        this.dispatch(worker, task);
        return;
      }
      if (this.queuedCount() >= this.taskQueueDepthMax) {
        reject(limitExceeded(`${this.name}: task queue is full (${this.taskQueueDepthMax} tasks waiting, taskQueueDepthMax); retry later`));
        return;
      }
      this.queue.push(task);
    });
  }

  /** Tasks running and waiting now (for metrics and tests). */
  stats(): { workerCount: number; running: number; queued: number; state: WorkerPoolState } {
    const running = this.workers.filter((entry) => entry.task !== undefined).length;
    return { workerCount: this.workerCount, running, queued: this.queuedCount(), state: this.state };
  }

  /** Rejects every queued and running task with Closed and terminates the workers. Idempotent. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.state = "closed";
    const error = closedError(this.name);
    this.rejectQueued(error);
    const terminations: Promise<number>[] = [];
    for (const entry of this.workers) {
      entry.retired = true;
      const task = entry.task;
      entry.task = undefined;
      task?.reject(error);
      // A worker still starting is let finish its start (bounded) before it is terminated.
      let timer: NodeJS.Timeout | undefined;
      const bounded = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.startWaitMs);
      });
      // So is a worker in the middle of a task: terminating one inside a native call (hnswlib) that
      // then throws aborts the whole process.
      terminations.push(Promise.race([entry.started.then(() => entry.busy), bounded]).then(() => {
        clearTimeout(timer);
        return entry.worker.terminate();
      }));
    }
    this.idle.length = 0;
    this.closing = Promise.all(terminations).then(() => undefined);
    return this.closing;
  }

  private queuedCount(): number {
    return this.queue.length - this.queueHead;
  }

  private takeQueued(): PendingTask | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const task = this.queue[this.queueHead];
    this.queue[this.queueHead] = undefined as unknown as PendingTask;
    this.queueHead += 1;
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return task;
  }

  private rejectQueued(error: VelaError): void {
    for (let task = this.takeQueued(); task !== undefined; task = this.takeQueued()) task.reject(error);
  }

  private spawn(index: number): void {
    const file = this.workerFile;
    const href = file instanceof URL ? file.href : String(file);
    const worker = href.endsWith(".ts")
      ? new Worker(bootstrapFile, { workerData: { velaWorkerModule: file instanceof URL ? file.href : pathToFileURL(file).href } })
      : new Worker(file);
    let markStarted = (): void => undefined;
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    const entry: PoolWorker = { worker, ready: false, started, markStarted, busy: undefined, markIdle: () => undefined, task: undefined, retired: false };
    this.workers[index] = entry;
    worker.on("message", (message: WorkerReply) => {
      if (message.kind === "ready") entry.markStarted();
      else entry.markIdle();
      this.onMessage(entry, message);
    });
    worker.on("error", (error: Error) => {
      entry.markStarted();
      entry.markIdle();
      this.onWorkerDeath(index, entry, `failed: ${errorMessage(error)}`);
    });
    worker.on("exit", (exitCode: number) => {
      entry.markStarted();
      entry.markIdle();
      this.onWorkerDeath(index, entry, `exited with code ${exitCode}`);
    });
    // The worker takes tasks only once it reports that its module loaded (see onMessage), so a worker
    // that dies before then never held a task and certainly failed to load.
  }

  private dispatch(entry: PoolWorker, task: PendingTask): void {
    entry.task = task;
    entry.busy = new Promise<void>((resolve) => {
      entry.markIdle = () => {
        entry.busy = undefined;
        resolve();
      };
    });
    const message: TaskMessage = { kind: "task", id: task.id, name: task.name, payload: task.payload };
    try {
      entry.worker.postMessage(message, task.transfer as Transferable[]);
    } catch (error) {
      // The payload could not be cloned (a function, a detached buffer): the caller's bug or bad input.
      entry.task = undefined;
      task.reject(invalidArgument(`${this.name}: task ${task.name} payload cannot be sent to a worker: ${errorMessage(error)}`));
      this.release(entry);
    }
  }

  private onMessage(entry: PoolWorker, message: WorkerReply): void {
    if (entry.retired) return;
    if (message.kind === "ready") {
      entry.ready = true;
      this.release(entry);
      return;
    }
    const task = entry.task;
    if (task === undefined || task.id !== message.id) return;
    entry.task = undefined;
    if (message.ok) task.resolve(message.value);
    else task.reject(deserializeError(message.error, task.name));
    this.release(entry);
  }

  /** A worker became free: give it the oldest queued task, or mark it idle. */
  private release(entry: PoolWorker): void {
    if (this.state !== "open" || entry.retired) return;
    const next = this.takeQueued();
    if (next === undefined) this.idle.push(entry);
    else this.dispatch(entry, next);
  }

  private onWorkerDeath(index: number, entry: PoolWorker, how: string): void {
    if (entry.retired) return;
    entry.retired = true;
    const idleIndex = this.idle.indexOf(entry);
    if (idleIndex >= 0) this.idle.splice(idleIndex, 1);
    const task = entry.task;
    entry.task = undefined;
    if (!entry.ready) {
      // The worker never loaded: its file is broken, and a replacement would fail the same way.
      if (this.state !== "open") return;
      this.failure = new VelaError(ErrorCode.Internal, `${this.name}: worker ${String(this.workerFile)} could not start (it ${how})`);
      this.state = "failed";
      this.rejectQueued(this.failure);
      void entry.worker.terminate();
      return;
    }
    if (task !== undefined) task.reject(new VelaError(ErrorCode.Internal, `${this.name}: worker ${index} ${how} while running task ${task.name}`));
    void entry.worker.terminate();
    if (this.state === "open") this.spawn(index);
  }
}
