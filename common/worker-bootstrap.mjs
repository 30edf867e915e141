// Entry point of a worker thread whose module is TypeScript (used by common/worker-pool.ts). Node 20
// does not apply `--import tsx` from a worker's execArgv, so this plain module registers tsx's loader
// inside the worker first and only then imports the real worker module. Invariant: the worker module
// is loaded exactly once, after the loader is in place; a failure to load surfaces as the worker's
// error event, which the pool reports as "could not start".
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.velaWorkerModule);
