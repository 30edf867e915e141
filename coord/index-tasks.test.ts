// The build task lifecycle (one transition function: issue, finish, refuse, fail with a doubling
// retry delay, give up after indexBuildAttemptsMax, lose to a dead node) and an index's progress as
// Milvus counts it (flushed segments only; Failed, InProgress, Finished; FLAT indexed at once).

import { describe, expect, it } from "vitest";
import { indexCoordDefaults, type IndexCoordLimits } from "../common/config.ts";
import { DataType, type FieldSchema } from "../common/schema.ts";
import type { SegmentInfo } from "../types/data-coord.ts";
import { resolveIndexRequest, type IndexDefinition } from "./index-definition.ts";
import { indexProgress, retryDelayMs, transition, type SegmentIndexTask } from "./index-tasks.ts";

const vectorField: FieldSchema = { fieldId: 101, name: "v", description: "", dataType: DataType.FloatVector, isPrimaryKey: false, autoId: false, dim: 8, nullable: false, isDynamic: false };
const limits: IndexCoordLimits = { ...indexCoordDefaults };

function task(overrides: Partial<SegmentIndexTask> = {}): SegmentIndexTask {
  return { buildId: 9n, indexId: 1n, collectionId: 2n, partitionId: 3n, segmentId: 4n, fieldId: 101, rowCount: 100, state: "Unissued", attempts: 0, files: [], createdMs: 0, ...overrides };
}

describe("build task lifecycle", () => {
  it("issues, finishes, and refuses transitions that break an invariant", () => {
    const issued = transition(task(), { kind: "issue", nodeId: "n1" }, 10, limits);
    expect(issued).toMatchObject({ state: "InProgress", nodeId: "n1", attempts: 1 });
    const files = [{ path: "index_files/9/hnsw", sizeBytes: 10 }];
    expect(transition(issued, { kind: "finished", files, rowCount: 100 }, 20, limits)).toMatchObject({ state: "Finished", nodeId: "n1", files, finishedMs: 20 });
    expect(() => transition(task(), { kind: "finished", files, rowCount: 100 }, 20, limits)).toThrow(/invariant broken/);
    expect(() => transition(issued, { kind: "issue", nodeId: "n2" }, 20, limits)).toThrow(/invariant broken/);
    expect(() => transition(task({ segmentDroppedAtMs: 5 }), { kind: "issue", nodeId: "n2" }, 20, limits)).toThrow(/invariant broken/);
    expect(transition(issued, { kind: "refused" }, 20, limits)).toMatchObject({ state: "Unissued", attempts: 0 });
  });

  it("retries a failure after a doubling delay and gives up after indexBuildAttemptsMax attempts; a lost build retries at once", () => {
    expect([1, 2, 3, 10].map((failures) => retryDelayMs(failures, limits))).toEqual([1_000, 2_000, 4_000, 60_000]);
    let current = task();
    for (let attempt = 1; attempt <= limits.indexBuildAttemptsMax; attempt++) {
      current = transition(current, { kind: "issue", nodeId: "n1" }, attempt * 100, limits);
      current = transition(current, { kind: "failed", error: "disk on fire" }, attempt * 100, limits);
      expect(current.lastError).toBe(`attempt ${attempt} on index node n1: disk on fire`);
      if (attempt < limits.indexBuildAttemptsMax) expect(current).toMatchObject({ state: "Unissued", retryAfterMs: attempt * 100 + retryDelayMs(attempt, limits) });
    }
    expect(current.state).toBe("Failed");
    const lost = transition(transition(task(), { kind: "issue", nodeId: "n1" }, 0, limits), { kind: "lost", error: "gone" }, 0, limits);
    expect(lost).toMatchObject({ state: "Unissued", attempts: 1 });
    expect(lost.retryAfterMs).toBeUndefined();
  });
});

describe("index progress", () => {
  const segment = (id: bigint, numRows: number, state: SegmentInfo["state"] = "flushed"): SegmentInfo => ({
    id, collectionId: 2n, partitionId: 3n, vchannel: "v", state, rowCountMax: 1000, rowsAllocated: numRows, createdMs: 0, lastAllocationMs: 0, lastExpireTs: 0n,
    numRows, insertLogs: [], deltaLogs: [], statsLogs: [], syncedOffset: 0,
  });
  const hnsw: IndexDefinition = {
    indexId: 1n, collectionId: 2n, fieldId: 101, fieldName: "v", indexName: "v", createdTs: 3n,
    ...resolveIndexRequest({ field: vectorField, params: { index_type: "HNSW" } }),
  };
  const segments = [segment(10n, 100), segment(11n, 50), segment(12n, 0), segment(13n, 70, "growing"), segment(14n, 30, "dropped")];

  it("counts flushed rows only: Finished builds as indexed, the rest pending; InProgress until every build finished", () => {
    const tasks = new Map<bigint, SegmentIndexTask>([[10n, task({ segmentId: 10n, state: "Finished" })], [11n, task({ segmentId: 11n, state: "InProgress" })]]);
    expect(indexProgress(hnsw, segments, (id) => tasks.get(id), limits)).toEqual({ state: "InProgress", failReason: "", totalRows: 150, indexedRows: 100, pendingRows: 50 });
    tasks.set(11n, task({ segmentId: 11n, state: "Finished" }));
    expect(indexProgress(hnsw, segments, (id) => tasks.get(id), limits)).toEqual({ state: "Finished", failReason: "", totalRows: 150, indexedRows: 150, pendingRows: 0 });
    expect(indexProgress(hnsw, [], () => undefined, limits)).toEqual({ state: "Finished", failReason: "", totalRows: 0, indexedRows: 0, pendingRows: 0 });
  });

  it("reports Failed with every failed segment's reason; FLAT counts every flushed row as indexed", () => {
    const failed = task({ segmentId: 11n, state: "Failed", lastError: "attempt 3 on index node n1: bad bytes" });
    expect(indexProgress(hnsw, segments, (id) => (id === 11n ? failed : undefined), limits)).toEqual({
      state: "Failed", failReason: "segment 11: attempt 3 on index node n1: bad bytes", totalRows: 150, indexedRows: 0, pendingRows: 150,
    });
    const flat: IndexDefinition = { ...hnsw, ...resolveIndexRequest({ field: vectorField, params: { index_type: "FLAT" } }) };
    delete flat.build;
    expect(indexProgress(flat, segments, () => undefined, limits)).toEqual({ state: "Finished", failReason: "", totalRows: 150, indexedRows: 150, pendingRows: 0 });
  });
});
