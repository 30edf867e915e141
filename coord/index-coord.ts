// The index coordinator's catalog (DESIGN §1, §9): index definitions per vector field, stored under
// `index/<collectionId>/<indexId>`. Index building for sealed segments arrives with #8; until then the
// supported index is FLAT (exact search, nothing to build), and AUTOINDEX maps to it.
//
// Invariants: at most one index per field (creating the same definition again is a no-op, a different
// one is refused); an index of a loaded collection cannot be dropped (release it first, as Milvus).

import { ErrorCode, VelaError, invalidArgument } from "../common/errors.ts";
import { Mutex } from "../common/mutex.ts";
import { DataType } from "../common/schema.ts";
import type { Timestamp } from "../common/timestamp.ts";
import { MetricType, isMetricType } from "../querynode/compute/metric.ts";
import { decodeValue, type MetaStore } from "../storage/meta/meta-store.ts";
import { decodeRecord, encodeRecord, type CollectionInfo } from "./catalog.ts";
import { rangeAll } from "../storage/meta/range-all.ts";

export type IndexType = "FLAT";

export interface IndexDefinition {
  indexId: bigint;
  collectionId: bigint;
  fieldId: number;
  fieldName: string;
  indexName: string;
  /** What Vela builds. */
  indexType: IndexType;
  /** What the user asked for (AUTOINDEX stays visible as such). */
  requestedType: string;
  metricType: MetricType;
  /** Every parameter as given (index_type, metric_type and params flattened), for DescribeIndex. */
  params: Record<string, string>;
  createdTs: Timestamp;
}

export interface CreateIndexRequest {
  collection: CollectionInfo;
  fieldName: string;
  indexName?: string;
  /** index_type, metric_type and the index's own params (M, efConstruction, ...), all as strings. */
  params: Record<string, string>;
}

export interface IndexCoordOptions {
  metaStore: MetaStore;
  allocId: () => Promise<bigint>;
  allocTimestamp: () => Promise<Timestamp>;
  /** True when the collection is loaded (its index cannot be dropped then). */
  isLoaded: (collectionId: bigint) => boolean;
}

/** Index types Milvus knows but Vela does not build, with the reason given to the user. */
const REJECTED_TYPES: Record<string, string> = {
  HNSW: "HNSW index building is not available yet; use FLAT or AUTOINDEX (exact search)",
  IVF_FLAT: "IVF_FLAT is not supported; use FLAT or AUTOINDEX",
  IVF_SQ8: "IVF_SQ8 is not supported; use FLAT or AUTOINDEX",
  IVF_PQ: "IVF_PQ is not supported; use FLAT or AUTOINDEX",
  DISKANN: "DISKANN is not supported; use FLAT or AUTOINDEX",
  SCANN: "SCANN is not supported; use FLAT or AUTOINDEX",
};

const key = (collectionId: bigint, indexId: bigint): string => `index/${collectionId}/${indexId}`;

export class IndexCoord {
  private readonly definitions = new Map<bigint, IndexDefinition>();
  private readonly mutex = new Mutex();

  private constructor(private readonly options: IndexCoordOptions) {}

  static async open(options: IndexCoordOptions): Promise<IndexCoord> {
    const coord = new IndexCoord(options);
    for (const kv of await rangeAll(options.metaStore, "index/")) {
      const definition = decodeRecord<IndexDefinition>(decodeValue(kv.value), kv.key);
      coord.definitions.set(definition.indexId, definition);
    }
    return coord;
  }

  createIndex(request: CreateIndexRequest): Promise<IndexDefinition> {
    return this.mutex.run(async () => {
      const { collection } = request;
      const field = collection.schema.fields.find((candidate) => candidate.name === request.fieldName);
      if (field === undefined) throw invalidArgument(`field "${request.fieldName}" is not in collection "${collection.name}"`);
      if (field.dataType !== DataType.FloatVector) {
        throw invalidArgument(`field "${field.name}" is not a vector field; Vela indexes vector fields only (scalar filters scan columns)`);
      }
      const requestedType = (request.params.index_type ?? "AUTOINDEX").toUpperCase();
      const rejected = REJECTED_TYPES[requestedType];
      if (rejected !== undefined) throw invalidArgument(`index type ${requestedType}: ${rejected}`);
      if (requestedType !== "FLAT" && requestedType !== "AUTOINDEX") {
        throw invalidArgument(`unknown index type "${requestedType}"; supported: FLAT, AUTOINDEX`);
      }
      const metricText = (request.params.metric_type ?? MetricType.COSINE).toUpperCase();
      if (!isMetricType(metricText)) throw invalidArgument(`metric type "${metricText}" is not one of L2, IP, COSINE`);
      const indexName = request.indexName === undefined || request.indexName === "" ? field.name : request.indexName;
      const existing = [...this.definitions.values()].filter((definition) => definition.collectionId === collection.id);
      const onField = existing.find((definition) => definition.fieldId === field.fieldId);
      if (onField !== undefined) {
        if (onField.requestedType === requestedType && onField.metricType === metricText && onField.indexName === indexName) return onField;
        throw invalidArgument(`field "${field.name}" already has index "${onField.indexName}" (${onField.requestedType}, ${onField.metricType}); drop it first`);
      }
      if (existing.some((definition) => definition.indexName === indexName)) throw invalidArgument(`index name "${indexName}" is already used in collection "${collection.name}"`);
      const definition: IndexDefinition = {
        indexId: await this.options.allocId(),
        collectionId: collection.id,
        fieldId: field.fieldId,
        fieldName: field.name,
        indexName,
        indexType: "FLAT",
        requestedType,
        metricType: metricText,
        params: { ...request.params, index_type: requestedType, metric_type: metricText },
        createdTs: await this.options.allocTimestamp(),
      };
      await this.options.metaStore.put(key(collection.id, definition.indexId), encodeRecord(definition));
      this.definitions.set(definition.indexId, definition);
      return definition;
    });
  }

  /** The collection's indexes, narrowed to an index or field name; IndexNotFound when none match. */
  describe(collection: CollectionInfo, name?: string): IndexDefinition[] {
    const matches = [...this.definitions.values()].filter((definition) => definition.collectionId === collection.id
      && (name === undefined || name === "" || definition.indexName === name || definition.fieldName === name));
    if (matches.length === 0) {
      throw new VelaError(ErrorCode.IndexNotFound, name === undefined || name === "" ? `index not found in collection "${collection.name}"` : `index "${name}" not found in collection "${collection.name}"`);
    }
    return matches;
  }

  /** The index on a field, if any. */
  indexOfField(collectionId: bigint, fieldId: number): IndexDefinition | undefined {
    return [...this.definitions.values()].find((definition) => definition.collectionId === collectionId && definition.fieldId === fieldId);
  }

  dropIndex(collection: CollectionInfo, name?: string): Promise<void> {
    return this.mutex.run(async () => {
      const matches = this.describe(collection, name);
      if (this.options.isLoaded(collection.id)) {
        throw invalidArgument(`index of collection "${collection.name}" cannot be dropped while it is loaded; release it first`);
      }
      for (const definition of matches) {
        await this.options.metaStore.delete(key(collection.id, definition.indexId));
        this.definitions.delete(definition.indexId);
      }
    });
  }

  /** Forgets every index of a dropped collection. */
  forgetCollection(collectionId: bigint): Promise<void> {
    return this.mutex.run(async () => {
      await this.options.metaStore.deletePrefix(`index/${collectionId}/`);
      for (const [id, definition] of this.definitions) if (definition.collectionId === collectionId) this.definitions.delete(id);
    });
  }
}
