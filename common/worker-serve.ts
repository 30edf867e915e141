// The worker-thread side of common/worker-pool.ts: a worker module calls serveWorkerTasks once with
// its handlers by task name. Invariant: every task message gets exactly one reply (the handler's
// value, or its error serialized with its VelaError code), and the worker announces "ready" only once
// its module has loaded, so the pool never hands a task to a worker that cannot run it.

import { parentPort } from "node:worker_threads";
import type { Transferable } from "node:worker_threads";
import { ErrorCode, VelaError } from "./errors.ts";
import { serializeError } from "./worker-pool.ts";
import type { TaskMessage, WorkerReply } from "./worker-pool.ts";

/** A handler's value together with the buffers to move (not copy) back to the main thread. */
export class TransferredResult {
  constructor(
    readonly value: unknown,
    readonly transfer: readonly Transferable[],
  ) {}
}

/** Wraps a handler's result so that `transfer` (fresh ArrayBuffers, never shared ones) is moved back. */
export function withTransfer(value: unknown, transfer: readonly Transferable[]): TransferredResult {
  return new TransferredResult(value, transfer);
}

export type TaskHandler = (payload: unknown) => unknown;

export function serveWorkerTasks(handlers: Readonly<Record<string, TaskHandler>>): void {
  const port = parentPort;
  if (port === null) throw new VelaError(ErrorCode.Internal, "serveWorkerTasks must run in a worker thread");
  const names = Object.keys(handlers).sort().join(", ");
  port.on("message", (message: TaskMessage) => {
    void runTask(message).then(
      (result) => {
        try {
          if (result instanceof TransferredResult) {
            port.postMessage({ kind: "result", id: message.id, ok: true, value: result.value } satisfies WorkerReply, result.transfer as Transferable[]);
          } else {
            port.postMessage({ kind: "result", id: message.id, ok: true, value: result } satisfies WorkerReply);
          }
        } catch (error) {
          // The value cannot be cloned: a bug in the handler, reported rather than killing the worker.
          const failure = new VelaError(ErrorCode.Internal, `worker task ${message.name} returned a value that cannot be sent back: ${String(error)}`);
          port.postMessage({ kind: "result", id: message.id, ok: false, error: serializeError(failure) } satisfies WorkerReply);
        }
      },
      (error: unknown) => {
        port.postMessage({ kind: "result", id: message.id, ok: false, error: serializeError(error) } satisfies WorkerReply);
      },
    );
  });
  port.postMessage({ kind: "ready" } satisfies WorkerReply);

  async function runTask(message: TaskMessage): Promise<unknown> {
    const handler = Object.hasOwn(handlers, message.name) ? handlers[message.name] : undefined;
    if (handler === undefined) {
      throw new VelaError(ErrorCode.InvalidArgument, `unknown worker task "${message.name}"; this worker runs: ${names}`);
    }
    return await handler(message.payload);
  }
}
