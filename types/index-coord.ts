// What other roles may ask of the index coordinator: the query side learns here which sealed segments
// have a built index and where its file is, and is told when a new one is built (handoff, DESIGN §6).
// In standalone the IndexCoord object serves this interface; in a cluster a gRPC client would.

import type { IndexDefinition } from "../coord/index-definition.ts";
import type { MetricType } from "../querynode/compute/metric.ts";

/** A finished build of one segment's field: what a query node needs to load and search it. */
export interface SegmentIndexInfo {
  buildId: bigint;
  indexId: bigint;
  collectionId: bigint;
  partitionId: bigint;
  segmentId: bigint;
  fieldId: number;
  indexType: "HNSW";
  metricType: MetricType;
  /** The HNSW file (indexnode/hnsw/hnsw-format.ts): `loadHnsw(pool, await store.get(indexFilePath))`. */
  indexFilePath: string;
  indexFileBytes: number;
  /**
   * Rows in the index. Label r is row r of the segment in insert-log order (the vector field's insert
   * logs by ascending log id, rows in file order: the order readSegmentBinlogs returns).
   */
  rowCount: number;
  params: { dim: number; M: number; efConstruction: number };
}

export interface IndexCoordApi {
  /** The index defined on a field, if any (its metric decides how the field is searched). */
  indexOfField(collectionId: bigint, fieldId: number): IndexDefinition | undefined;
  /**
   * The finished build of a segment's field under the field's current index, or undefined: no index,
   * a FLAT index (nothing is built: search the raw vectors), or a build not finished yet.
   */
  segmentIndex(segmentId: bigint, fieldId: number): SegmentIndexInfo | undefined;
  /** Calls `listener` after each build is recorded as finished; returns an unsubscribe function. */
  onIndexBuilt(listener: (index: SegmentIndexInfo) => void): () => void;
}
