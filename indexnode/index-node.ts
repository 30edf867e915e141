// The index node (DESIGN §1, §6, §7): takes build tasks from the index coordinator, reads the vector
// field's insert binlogs of a flushed segment, builds an HNSW graph in a worker thread, writes the index
// file and its params file to `<root>/index_files/<buildId>/`, and keeps the outcome until the
// coordinator collects it (types/index-node.ts). It holds a session (`session/indexnode/<nodeId>`);
// the coordinator re-issues the builds of a node whose session ended.
//
// Invariants: at most `buildSlots` builds run at once, each in its own HNSW worker (hnswlib never runs
// on the event loop; binlogs above binlogDefaults.inlineCodecBytesMax decode in the binlog pool;
// vectors are copied into the shared build buffer in chunks with yields between them); a binlog is
// decoded only after its committed CRC-32 matched; row r of the segment in insert-log order (log id
// ascending) is label r; once the node is closed or its session is lost it accepts nothing and
// abandons its builds, whose outcome nobody collects any more.

import { availableParallelism } from "node:os";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { hnswDefaults, indexNodeDefaults, resolveLimits, type HnswLimits, type IndexNodeLimits } from "../common/config.ts";
import { ErrorCode, VelaError, closedError, errorMessage, invalidArgument, limitExceeded } from "../common/errors.ts";
import { DataType } from "../common/schema.ts";
import type { WorkerPool } from "../common/worker-pool.ts";
import { readInsertBinlog } from "../datanode/binlog/binlog-io.ts";
import { createBinlogPool } from "../datanode/binlog/binlog-pool.ts";
import { parseBinlogPath } from "../datanode/binlog/paths.ts";
import type { ObjectStore } from "../storage/object/object-store.ts";
import { INDEX_NODE_ROLE, type IndexBuildTask, type IndexFileRef, type IndexJobReport, type IndexNodeApi } from "../types/index-node.ts";
import { buildHnsw, createHnswPool, type HnswPool } from "./hnsw/hnsw-pool.ts";
import { HNSW_FILE_NAME, INDEX_PARAMS_FORMAT_VERSION, PARAMS_FILE_NAME, indexFilePath, indexFilesRoot, type IndexParamsFile } from "./index-files.ts";

/** The node's liveness as the coordinator sees it: a lease-bound key (cluster/session.ts makes one). */
export interface IndexNodeSession {
  readonly key: string;
  /** Resolves when the session is lost: the node must stop acting. */
  readonly lost: Promise<VelaError>;
  close(): Promise<void>;
}

export interface IndexNodeOptions {
  nodeId: string;
  /** Held for the node's life and closed with it; its key must be `session/indexnode/<nodeId>`. */
  session: IndexNodeSession;
  objectStore: ObjectStore;
  /** Key prefix of index files ("" for none), the same root the binlogs use. */
  objectRoot?: string;
  limits?: Partial<IndexNodeLimits>;
  hnswLimits?: Partial<HnswLimits>;
  /** Builds run here when given (its workers bound the parallelism too); else the node makes one of buildSlots workers on first use. */
  hnswPool?: HnswPool;
  /** Binlog decodes run here when given; else the node makes a one-worker pool on first use. */
  binlogPool?: WorkerPool;
}

type JobPhase = "Queued" | "Running" | "Finished" | "Failed";

interface Job {
  task: IndexBuildTask;
  phase: JobPhase;
  files?: IndexFileRef[];
  rowCount?: number;
  error?: string;
  /** Dropped by the coordinator or the node stopped: the outcome is discarded, nothing more is written. */
  abandoned: boolean;
}

export interface IndexNodeStats {
  buildSlots: number;
  queued: number;
  running: number;
  /** Builds started, finished and failed since the node started. */
  buildsStarted: number;
  buildsFinished: number;
  buildsFailed: number;
}

class Abandoned extends Error {}

export class IndexNode implements IndexNodeApi {
  readonly nodeId: string;
  readonly buildSlots: number;
  readonly limits: IndexNodeLimits;
  private readonly hnswLimits: HnswLimits;
  private readonly root: string;
  private readonly jobs = new Map<bigint, Job>();
  private readonly queue: Job[] = [];
  /** Settled build ids, oldest first (for indexSettledJobsKeptMax). */
  private readonly settledOrder: bigint[] = [];
  private readonly settledListeners = new Set<(report: IndexJobReport) => void>();
  private idleWaiters: Array<() => void> = [];
  private running = 0;
  private hnswPool: HnswPool | undefined;
  private binlogPool: WorkerPool | undefined;
  private stopped: VelaError | undefined;
  private readonly counters = { buildsStarted: 0, buildsFinished: 0, buildsFailed: 0 };

  constructor(private readonly options: IndexNodeOptions) {
    this.nodeId = options.nodeId;
    const expectedKey = `session/${INDEX_NODE_ROLE}/${options.nodeId}`;
    if (options.session.key !== expectedKey) throw invalidArgument(`index node ${options.nodeId}: its session key must be ${expectedKey}, got ${options.session.key}`);
    this.limits = resolveLimits(indexNodeDefaults as IndexNodeLimits, options.limits, "index node");
    this.hnswLimits = resolveLimits(hnswDefaults as HnswLimits, options.hnswLimits, "hnsw");
    const slots = this.limits.indexBuildConcurrency === 0 ? Math.max(1, availableParallelism() - 1) : this.limits.indexBuildConcurrency;
    if (!Number.isInteger(slots) || slots < 1) throw invalidArgument(`index node: indexBuildConcurrency must be a whole number (0: cores − 1), got ${slots}`);
    this.buildSlots = options.hnswPool === undefined ? slots : Math.min(slots, options.hnswPool.workerCount);
    this.root = options.objectRoot ?? "";
    indexFilesRoot(this.root); // validates the root
    this.hnswPool = options.hnswPool;
    this.binlogPool = options.binlogPool;
    void options.session.lost.then((error) => this.stop(new VelaError(ErrorCode.Closed, `index node ${this.nodeId} lost its session: ${error.message}`)));
  }

  // ---- IndexNodeApi ----

  async createJob(task: IndexBuildTask): Promise<void> {
    this.checkRunning();
    checkTask(task);
    const known = this.jobs.get(task.buildId);
    if (known !== undefined && (known.phase === "Queued" || known.phase === "Running")) {
      known.task = { ...known.task, attempt: task.attempt }; // same build, same inputs: keep the work under way
      return;
    }
    if (this.queue.length >= this.limits.indexBuildQueueDepthMax && this.running >= this.buildSlots) {
      throw limitExceeded(`index node ${this.nodeId}: ${this.queue.length} builds are waiting (indexBuildQueueDepthMax); retry later`);
    }
    if (known !== undefined) this.forget(task.buildId);
    const job: Job = { task, phase: "Queued", abandoned: false };
    this.jobs.set(task.buildId, job);
    this.queue.push(job);
    this.pump();
  }

  async queryJobs(buildIds: readonly bigint[]): Promise<IndexJobReport[]> {
    this.checkRunning();
    return buildIds.map((buildId) => this.reportOf(buildId));
  }

  async dropJobs(buildIds: readonly bigint[]): Promise<void> {
    for (const buildId of buildIds) this.forget(buildId);
  }

  // ---- for the wiring, tests and benchmarks ----

  /** Calls `listener` when a build finishes or fails (a hint for the coordinator to poll soon). */
  onJobSettled(listener: (report: IndexJobReport) => void): () => void {
    this.settledListeners.add(listener);
    return () => this.settledListeners.delete(listener);
  }

  /** Resolves once nothing is queued or running. */
  whenIdle(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): IndexNodeStats {
    return { buildSlots: this.buildSlots, queued: this.queue.length, running: this.running, ...this.counters };
  }

  /** Stops: accepts nothing more, abandons every build, ends the session, closes the pools it made. Idempotent. */
  async close(): Promise<void> {
    this.stop(closedError(`index node ${this.nodeId}`));
    await this.options.session.close();
    const owned: Promise<void>[] = [];
    if (this.options.hnswPool === undefined && this.hnswPool !== undefined) owned.push(this.hnswPool.close());
    if (this.options.binlogPool === undefined && this.binlogPool !== undefined) owned.push(this.binlogPool.close());
    await Promise.all(owned);
  }

  // ---- internals ----

  private checkRunning(): void {
    if (this.stopped !== undefined) throw this.stopped;
  }

  private stop(reason: VelaError): void {
    if (this.stopped !== undefined) return;
    this.stopped = reason;
    for (const job of this.jobs.values()) job.abandoned = true;
    this.queue.length = 0;
    this.jobs.clear();
    this.settledOrder.length = 0;
    this.notifyIdle();
  }

  private forget(buildId: bigint): void {
    const job = this.jobs.get(buildId);
    if (job === undefined) return;
    job.abandoned = true;
    this.jobs.delete(buildId);
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    const settled = this.settledOrder.indexOf(buildId);
    if (settled >= 0) this.settledOrder.splice(settled, 1);
    this.notifyIdle();
  }

  private reportOf(buildId: bigint): IndexJobReport {
    const job = this.jobs.get(buildId);
    if (job === undefined) return { buildId, attempt: 0, state: "None" };
    const base = { buildId, attempt: job.task.attempt };
    switch (job.phase) {
      case "Queued":
      case "Running":
        return { ...base, state: "InProgress" };
      case "Finished":
        return { ...base, state: "Finished", files: job.files ?? [], rowCount: job.rowCount ?? 0 };
      case "Failed":
        return { ...base, state: "Failed", error: job.error ?? "unknown error" };
    }
  }

  private pump(): void {
    while (this.stopped === undefined && this.running < this.buildSlots) {
      const job = this.queue.shift();
      if (job === undefined) break;
      this.running += 1;
      job.phase = "Running";
      this.counters.buildsStarted += 1;
      void this.run(job).finally(() => {
        this.running -= 1;
        this.pump();
        this.notifyIdle();
      });
    }
  }

  private notifyIdle(): void {
    if (this.queue.length > 0 || this.running > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Runs one build to its outcome; never rejects. */
  private async run(job: Job): Promise<void> {
    try {
      const { files, rowCount } = await this.build(job);
      if (job.abandoned) return;
      job.phase = "Finished";
      job.files = files;
      job.rowCount = rowCount;
      this.counters.buildsFinished += 1;
    } catch (error) {
      if (job.abandoned || error instanceof Abandoned) return;
      job.phase = "Failed";
      job.error = errorMessage(error);
      this.counters.buildsFailed += 1;
    }
    this.settled(job);
  }

  private settled(job: Job): void {
    this.settledOrder.push(job.task.buildId);
    while (this.settledOrder.length > this.limits.indexSettledJobsKeptMax) {
      const oldest = this.settledOrder.shift();
      if (oldest !== undefined) this.jobs.delete(oldest);
    }
    const report = this.reportOf(job.task.buildId);
    for (const listener of this.settledListeners) {
      try {
        listener(report);
      } catch {
        // A hint only: the coordinator polls anyway.
      }
    }
  }

  private async build(job: Job): Promise<{ files: IndexFileRef[]; rowCount: number }> {
    const { task } = job;
    const vectors = await this.readVectors(job);
    this.hnswPool ??= createHnswPool({ workerCount: this.buildSlots, name: `index node ${this.nodeId} HNSW pool`, limits: this.hnswLimits });
    const bytes = await buildHnsw(this.hnswPool, { vectors, dim: task.dim, metric: task.metricType, M: task.M, efConstruction: task.efConstruction });
    if (job.abandoned) throw new Abandoned();
    const indexPath = indexFilePath(this.root, task.buildId, HNSW_FILE_NAME);
    await this.options.objectStore.put(indexPath, bytes);
    const params: IndexParamsFile = {
      format: INDEX_PARAMS_FORMAT_VERSION,
      buildId: String(task.buildId), indexId: String(task.indexId), collectionId: String(task.collectionId),
      partitionId: String(task.partitionId), segmentId: String(task.segmentId), fieldId: task.fieldId,
      indexType: task.indexType, metricType: task.metricType, dim: task.dim, M: task.M, efConstruction: task.efConstruction,
      rowCount: task.rowCount, labels: "row position in the segment's insert logs, log id ascending",
      insertLogs: sortedLogs(task).map((log) => log.path),
      indexFile: { name: HNSW_FILE_NAME, sizeBytes: bytes.byteLength },
    };
    const paramsBytes = new TextEncoder().encode(`${JSON.stringify(params, null, 2)}\n`);
    const paramsPath = indexFilePath(this.root, task.buildId, PARAMS_FILE_NAME);
    await this.options.objectStore.put(paramsPath, paramsBytes);
    return { files: [{ path: indexPath, sizeBytes: bytes.byteLength }, { path: paramsPath, sizeBytes: paramsBytes.byteLength }], rowCount: task.rowCount };
  }

  /** The segment's vectors, rows × dim in insert-log order, in a SharedArrayBuffer (the worker reads it in place). */
  private async readVectors(job: Job): Promise<Float32Array> {
    const { task } = job;
    const logs = sortedLogs(task);
    const floats = task.rowCount * task.dim;
    const vectors = new Float32Array(new SharedArrayBuffer(floats * Float32Array.BYTES_PER_ELEMENT));
    const chunkFloats = Math.max(task.dim, Math.floor(this.limits.indexVectorCopyChunkBytes / Float32Array.BYTES_PER_ELEMENT));
    this.binlogPool ??= createBinlogPool({ workerCount: 1 });
    let row = 0;
    for (const log of logs) {
      const decoded = await readInsertBinlog(this.options.objectStore, log.path, { pool: this.binlogPool, expectedCrc32: log.crc32 });
      if (job.abandoned) throw new Abandoned();
      const { column } = decoded;
      if (column.type !== DataType.FloatVector) throw corruptLog(log.path, `holds data type ${column.type}, not FloatVector`);
      if (column.dim !== task.dim) throw corruptLog(log.path, `holds vectors of dim ${column.dim}, the index is for dim ${task.dim}`);
      if (column.valid !== undefined && column.valid.includes(0)) throw invalidArgument(`binlog ${log.path} holds null vectors, which cannot be indexed`);
      if (decoded.rowCount !== log.rowCount || row + decoded.rowCount > task.rowCount) {
        throw corruptLog(log.path, `holds ${decoded.rowCount} rows; the segment record says ${log.rowCount} of ${task.rowCount} in all`);
      }
      const at = row * task.dim;
      for (let offset = 0; offset < column.values.length; offset += chunkFloats) {
        vectors.set(column.values.subarray(offset, Math.min(column.values.length, offset + chunkFloats)), at + offset);
        await yieldToEventLoop();
        if (job.abandoned) throw new Abandoned();
      }
      row += decoded.rowCount;
    }
    if (row !== task.rowCount) throw new VelaError(ErrorCode.Corrupted, `segment ${task.segmentId} field ${task.fieldId}: its insert logs hold ${row} rows, the segment record says ${task.rowCount}`);
    return vectors;
  }
}

function corruptLog(path: string, message: string): VelaError {
  return new VelaError(ErrorCode.Corrupted, `binlog ${path} ${message}`);
}

/** The task's logs by ascending log id: the order rows (and so labels) take. */
function sortedLogs(task: IndexBuildTask): IndexBuildTask["insertLogs"] {
  return task.insertLogs
    .map((log) => ({ log, logId: parseBinlogPath(log.path).logId }))
    .sort((a, b) => (a.logId < b.logId ? -1 : a.logId > b.logId ? 1 : 0))
    .map(({ log }) => log);
}

/** Checks a task's shape and that every log is an insert log of the task's segment and field. */
function checkTask(task: IndexBuildTask): void {
  if (task.indexType !== "HNSW") throw invalidArgument(`build ${String(task.buildId)}: index nodes build HNSW only, not ${String(task.indexType)}`);
  if (!Number.isInteger(task.rowCount) || task.rowCount < 1) throw invalidArgument(`build ${task.buildId}: rowCount must be a positive integer, got ${task.rowCount}`);
  if (!Number.isInteger(task.dim) || task.dim < 1) throw invalidArgument(`build ${task.buildId}: dim must be a positive integer, got ${task.dim}`);
  if (task.insertLogs.length === 0) throw invalidArgument(`build ${task.buildId}: segment ${task.segmentId} has no insert logs for field ${task.fieldId}`);
  for (const log of task.insertLogs) {
    const location = parseBinlogPath(log.path);
    if (location.kind !== "insert_log" || location.segmentId !== task.segmentId || location.fieldId !== task.fieldId || location.collectionId !== task.collectionId) {
      throw invalidArgument(`build ${task.buildId}: ${log.path} is not an insert log of segment ${task.segmentId} field ${task.fieldId}`);
    }
  }
}
