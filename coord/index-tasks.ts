// Build tasks (DESIGN §6, §9): one per (flushed segment, HNSW index), stored under
// `segment-index/<segmentId>/<buildId>`, and the one function that moves a task between its states;
// plus the progress of an index computed from its tasks, as Milvus reports it.
//
// Lifecycle:
//
//   Unissued ──issue──▶ InProgress ──finished──▶ Finished
//      ▲                   │  │
//      └──refused / lost / failed (attempts left; a failure waits retryAfterMs)
//                          └──failed / lost (no attempts left)──▶ Failed
//
// Any state may also be marked segment-dropped: the segment is gone, nothing more is built, and the
// record and its files are removed after droppedSegmentIndexRetentionMs.
//
// Invariants: attempts counts the issues that reached a node; Finished has files and the node that
// built them; InProgress has a node; a task is never issued more than indexBuildAttemptsMax times.

import type { IndexCoordLimits } from "../common/config.ts";
import { assert } from "../common/errors.ts";
import type { SegmentInfo } from "../types/data-coord.ts";
import type { IndexFileRef } from "../types/index-node.ts";
import type { IndexDefinition } from "./index-definition.ts";

export type BuildState = "Unissued" | "InProgress" | "Finished" | "Failed";

export interface SegmentIndexTask {
  buildId: bigint;
  indexId: bigint;
  collectionId: bigint;
  partitionId: bigint;
  segmentId: bigint;
  fieldId: number;
  /** Rows of the segment when the task was created (a flushed segment's rows never change). */
  rowCount: number;
  state: BuildState;
  /** InProgress: the node building it; Finished: the node that built it. */
  nodeId?: string;
  /** Issues that reached a node (the first attempt and the retries). */
  attempts: number;
  /** Unissued after a failure: not issued again before this wall-clock time (ms). */
  retryAfterMs?: number;
  /** The last failure (Failed: why the build gave up). */
  lastError?: string;
  /** Finished: the index file first, then the params file. */
  files: IndexFileRef[];
  createdMs: number;
  finishedMs?: number;
  /** The segment was dropped at this time: nothing more is built; GC removes record and files later. */
  segmentDroppedAtMs?: number;
}

export const segmentIndexKey = (segmentId: bigint, buildId: bigint): string => `segment-index/${segmentId}/${buildId}`;
export const SEGMENT_INDEX_PREFIX = "segment-index/";

export type TaskEvent =
  | { kind: "issue"; nodeId: string }
  /** The node did not take the task (full, or closed): the attempt did not happen. */
  | { kind: "refused" }
  | { kind: "finished"; files: IndexFileRef[]; rowCount: number }
  | { kind: "failed"; error: string }
  /** The node died or no longer knows the task: the attempt is spent, a retry may start at once. */
  | { kind: "lost"; error: string }
  | { kind: "segmentDropped" };

/** Delay before retry number `failures` (1 for the first retry): doubling from the minimum, capped. */
export function retryDelayMs(failures: number, limits: IndexCoordLimits): number {
  const doubled = limits.indexBuildRetryDelayMsMin * 2 ** Math.max(0, failures - 1);
  return Math.min(limits.indexBuildRetryDelayMsMax, doubled);
}

function cut(text: string, limits: IndexCoordLimits): string {
  return text.length <= limits.indexFailReasonLengthMax ? text : `${text.slice(0, limits.indexFailReasonLengthMax - 1)}…`;
}

/** The task after `event` at wall-clock `nowMs`; a new object, the input is not changed. */
export function transition(task: SegmentIndexTask, event: TaskEvent, nowMs: number, limits: IndexCoordLimits): SegmentIndexTask {
  const next: SegmentIndexTask = { ...task };
  switch (event.kind) {
    case "issue":
      assert(task.state === "Unissued" && task.segmentDroppedAtMs === undefined, `build ${task.buildId} issued from ${task.state}`);
      assert(task.attempts < limits.indexBuildAttemptsMax, `build ${task.buildId} issued after ${task.attempts} attempts`);
      next.state = "InProgress";
      next.nodeId = event.nodeId;
      next.attempts = task.attempts + 1;
      delete next.retryAfterMs;
      return next;
    case "refused":
      assert(task.state === "InProgress", `build ${task.buildId} refused in ${task.state}`);
      next.state = "Unissued";
      next.attempts = task.attempts - 1;
      delete next.nodeId;
      return next;
    case "finished":
      assert(task.state === "InProgress", `build ${task.buildId} finished in ${task.state}`);
      assert(event.files.length > 0, `build ${task.buildId} finished without files`);
      next.state = "Finished";
      next.files = event.files;
      next.rowCount = event.rowCount;
      next.finishedMs = nowMs;
      delete next.lastError;
      return next;
    case "failed":
    case "lost": {
      assert(task.state === "InProgress", `build ${task.buildId} ${event.kind} in ${task.state}`);
      const error = cut(`attempt ${task.attempts} on index node ${task.nodeId ?? "?"}: ${event.error}`, limits);
      next.lastError = error;
      delete next.nodeId;
      if (task.attempts >= limits.indexBuildAttemptsMax) {
        next.state = "Failed";
        return next;
      }
      next.state = "Unissued";
      if (event.kind === "failed") next.retryAfterMs = nowMs + retryDelayMs(task.attempts, limits);
      return next;
    }
    case "segmentDropped":
      next.segmentDroppedAtMs = task.segmentDroppedAtMs ?? nowMs;
      if (task.state === "InProgress" || task.state === "Unissued") {
        // Nothing more will be built: the task stays in its state only as a record of where it was.
        delete next.retryAfterMs;
      }
      return next;
  }
}

/** Milvus's IndexState names as DescribeIndex and GetIndexState report them for a whole index. */
export type IndexStateName = "Finished" | "InProgress" | "Failed";

export interface IndexProgress {
  state: IndexStateName;
  /** Failed: "segment <id>: <error>; ..." for every failed build (cut at indexFailReasonLengthMax). */
  failReason: string;
  /** Rows of the collection's flushed segments. */
  totalRows: number;
  /** Rows of flushed segments whose build finished (FLAT: all of them). */
  indexedRows: number;
  /** totalRows − indexedRows: rows of flushed segments still waiting for their build. */
  pendingRows: number;
}

/**
 * An index's progress as Milvus computes it (datacoord's completeIndexInfo): over the collection's
 * flushed segments, total rows, rows whose build finished, rows still pending; Failed when any build
 * failed for good, InProgress while any is unissued or running, else Finished. Growing segments are
 * not counted: they are searched exactly and never indexed. FLAT builds nothing, so every flushed row
 * counts as indexed.
 */
export function indexProgress(
  definition: IndexDefinition,
  segments: readonly SegmentInfo[],
  taskOf: (segmentId: bigint) => SegmentIndexTask | undefined,
  limits: IndexCoordLimits,
): IndexProgress {
  let totalRows = 0;
  let indexedRows = 0;
  let waiting = 0;
  const failures: string[] = [];
  for (const segment of segments) {
    if (segment.collectionId !== definition.collectionId || segment.state !== "flushed") continue;
    totalRows += segment.numRows;
    if (definition.indexType === "FLAT" || segment.numRows === 0) {
      indexedRows += segment.numRows;
      continue;
    }
    const task = taskOf(segment.id);
    if (task?.state === "Finished") indexedRows += segment.numRows;
    else if (task?.state === "Failed") failures.push(`segment ${segment.id}: ${task.lastError ?? "failed"}`);
    else waiting += 1;
  }
  const pendingRows = totalRows - indexedRows;
  if (failures.length > 0) return { state: "Failed", failReason: cut(failures.join("; "), limits), totalRows, indexedRows, pendingRows };
  return { state: waiting > 0 ? "InProgress" : "Finished", failReason: "", totalRows, indexedRows, pendingRows };
}
