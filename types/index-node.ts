// What the index coordinator asks of an index node (DESIGN §1; Milvus's CreateJob / QueryJobs /
// DropJobs). In standalone the IndexNode object serves this interface in-process; in a cluster a gRPC
// client would. The coordinator never waits for a build inside a call: it hands a task over, polls its
// state in later scheduling rounds, and drops it once the outcome is recorded. The truth about a
// finished build is the coordinator's task record; what a node remembers is only a report waiting to
// be collected.

import type { MetricType } from "../querynode/compute/metric.ts";
import type { BinlogRef } from "./data-coord.ts";

/** One build: everything the node needs, so it never has to ask another role. */
export interface IndexBuildTask {
  buildId: bigint;
  /** Which attempt of the build this is (1 for the first); reports repeat it so stale ones are ignored. */
  attempt: number;
  indexId: bigint;
  collectionId: bigint;
  partitionId: bigint;
  segmentId: bigint;
  fieldId: number;
  indexType: "HNSW";
  metricType: MetricType;
  dim: number;
  M: number;
  efConstruction: number;
  /** The vector field's committed insert binlogs (any order; the node reads them in log-id order). */
  insertLogs: BinlogRef[];
  /** Rows of the segment; the logs must hold exactly this many. */
  rowCount: number;
}

/** One file of a finished build, at `<root>/index_files/<buildId>/<name>`. */
export interface IndexFileRef {
  path: string;
  sizeBytes: number;
}

/** A job's state on the node: None when the node does not know the build (never given, dropped, or forgotten). */
export type IndexJobState = "None" | "InProgress" | "Finished" | "Failed";

export interface IndexJobReport {
  buildId: bigint;
  attempt: number;
  state: IndexJobState;
  /** Finished: the index file first, then the params file. */
  files?: IndexFileRef[];
  /** Finished: rows in the index. */
  rowCount?: number;
  /** Failed: why. */
  error?: string;
}

export interface IndexNodeApi {
  readonly nodeId: string;
  /** Builds the node runs at once; the coordinator keeps at most this many in progress on it. */
  readonly buildSlots: number;
  /**
   * Accepts a build and returns before it runs. Idempotent per build id: a build the node already
   * holds queued or running is kept (and takes the new attempt number). Rejects with LimitExceeded
   * when the node's queue is full and Closed once it stopped; nothing is accepted then.
   */
  createJob(task: IndexBuildTask): Promise<void>;
  /** The state of each build asked for, in order (None for unknown ones). */
  queryJobs(buildIds: readonly bigint[]): Promise<IndexJobReport[]>;
  /** Forgets builds: queued ones never start, running ones are abandoned (their outcome is discarded). */
  dropJobs(buildIds: readonly bigint[]): Promise<void>;
}

/** The session role of index nodes: a live node holds `session/indexnode/<nodeId>`. */
export const INDEX_NODE_ROLE = "indexnode";
