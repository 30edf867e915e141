// The proxy's read path (DESIGN §3, §8): resolve the collection and partitions, pick the guarantee
// timestamp G from the consistency level, send the request to the query node serving each shard,
// merge across shards (best first, one hit per primary key), apply offset, and return the hits with
// their output fields.
//
// Consistency levels (per request, else the collection's default):
//   Strong     G = a fresh TSO timestamp, and time sync runs an immediate round so tsafe reaches G
//              within one report round trip instead of a tick interval;
//   Bounded    G = now − boundedStalenessMs (Milvus: 5 s);
//   Session    G = the last write timestamp of this client connection (0 when it wrote nothing);
//   Eventually G = 0: no wait, whatever the node has applied.

import type { Clock } from "../common/clock.ts";
import { queryNodeReadDefaults, resolveLimits, type QueryNodeReadLimits } from "../common/config.ts";
import { ErrorCode, VelaError, invalidArgument, limitExceeded } from "../common/errors.ts";
import { ConsistencyLevel, DataType, isConsistencyLevel, primaryKeyField, type FieldSchema } from "../common/schema.ts";
import { composeTimestamp, type Timestamp } from "../common/timestamp.ts";
import { DEFAULT_DATABASE, type CollectionInfo } from "../coord/catalog.ts";
import type { QueryCoord } from "../coord/query-coord.ts";
import { MetricType, parseMetricType } from "../querynode/compute/metric.ts";
import { reduceSearchHits } from "../querynode/compute/reduce.ts";
import type { PrimaryKey } from "../querynode/growing-segment.ts";
import type { Hit, HitsReducer, ReadTarget } from "../querynode/query-node.ts";
import type { RootCoordApi } from "../types/root-coord.ts";
import { validatePrimaryKeys } from "./validate-insert.ts";
import type { FilterExpr } from "../expr/ast.ts";
import { hnswDefaults, proxyDefaults } from "../common/config.ts";

export interface ReadPathOptions {
  rootCoord: RootCoordApi;
  queryCoord: QueryCoord;
  clock: Clock;
  /** Asks time sync for an immediate round (Strong reads). */
  tickNow: () => Promise<void>;
  /** Merges the shards' answers (default: on the calling thread; standalone passes the worker-pool variant). */
  reduce?: HitsReducer;
  limits?: Partial<QueryNodeReadLimits>;
}

export interface ReadCommon {
  dbName?: string;
  collectionName: string;
  partitionNames?: readonly string[];
  consistencyLevel?: string;
  /** The client connection's last write timestamp (Session consistency). */
  sessionTs?: Timestamp;
  /** Only rows with these primary keys. */
  filterKeys?: ArrayLike<unknown>;
  /** Only rows matching this (parsed and type-checked) filter expression. */
  filter?: FilterExpr;
}

export interface SearchRequest extends ReadCommon {
  /** Vector field to search; optional when the collection has exactly one. */
  annsField?: string;
  /** nq query vectors: arrays of dim numbers, or one Float32Array of nq × dim. */
  vectors: ArrayLike<ArrayLike<number>> | Float32Array;
  topk: number;
  offset?: number;
  metricType?: string;
  /** HNSW candidate list length on indexed segments; at least topk + offset (raised to it), at most hnswEfSearchMax. */
  ef?: number;
  outputFields?: readonly string[];
}

export interface SearchResult {
  /** Per query vector, best first. */
  results: Hit[][];
  /** The snapshot the answer was evaluated at (the smallest over the shards). */
  snapshotTs: Timestamp;
  /** Name of the primary key field (fields of every hit include it). */
  primaryKeyName: string;
}

export interface QueryRequest extends ReadCommon {
  outputFields?: readonly string[];
  limit?: number;
  offset?: number;
}

export class ReadPath {
  readonly limits: QueryNodeReadLimits;

  private readonly reduce: HitsReducer;

  constructor(private readonly options: ReadPathOptions) {
    this.limits = resolveLimits(queryNodeReadDefaults, options.limits, "proxy read path");
    this.reduce = options.reduce ?? (async (results, reduceOptions) => reduceSearchHits(results, reduceOptions));
  }

  async search(request: SearchRequest): Promise<SearchResult> {
    const info = await this.collection(request);
    const field = vectorField(info, request.annsField);
    const dim = field.dim as number;
    const { queries, nq } = this.queries(request.vectors, dim);
    const topk = request.topk;
    const offset = request.offset ?? 0;
    if (!Number.isInteger(topk) || topk < 1 || topk > this.limits.topkMax) throw invalidArgument(`topk must be an integer in [1, ${this.limits.topkMax}], got ${String(topk)}`);
    if (!Number.isInteger(offset) || offset < 0) throw invalidArgument(`offset must be a non-negative integer, got ${String(offset)}`);
    if (topk + offset > this.limits.resultWindowMax) throw invalidArgument(`topk + offset must be at most ${this.limits.resultWindowMax}, got ${topk + offset}`);
    const metric = request.metricType === undefined || request.metricType === "" ? MetricType.L2 : parseMetricType(request.metricType);
    if (request.ef !== undefined && !(Number.isInteger(request.ef) && request.ef >= 1 && request.ef <= hnswDefaults.hnswEfSearchMax)) {
      throw invalidArgument(`ef must be an integer in [1, ${hnswDefaults.hnswEfSearchMax}], got ${String(request.ef)}`);
    }
    const ef = Math.max(request.ef ?? hnswDefaults.hnswEfSearchDefault, topk + offset);
    const outputFields = this.outputFields(info, request.outputFields);
    const target = await this.target(info, request);

    const outputFieldIds = outputFields.map((f) => f.fieldId);
    // The request's own properties come first: an object literal that starts with a spread and then
    // adds properties is slow on Node 20 (about 1 µs per added property, measured).
    const perNode = await Promise.all([...this.options.queryCoord.shardLeaders(info)].map(([node, vchannels]) => node.search({
      vchannels, fieldId: field.fieldId, metric, queries, nq, topk: topk + offset, ef, outputFieldIds, ...target,
    })));
    const snapshotTs = perNode.reduce<Timestamp>((min, result) => (result.snapshotTs < min ? result.snapshotTs : min), perNode[0]?.snapshotTs ?? 0n);
    // Shards hold disjoint keys, but a key may still come twice from one shard's handoff; the reduce
    // keeps each key once, merges best first and applies the offset.
    const flat = perNode.map((result) => flatHits(result.hits));
    const reduced = await this.reduce(perNode.map((result, index) => ({
      nq, topks: result.hits.map((hits) => hits.length),
      primaryKeys: (flat[index] as Hit[]).map((hit) => hit.primaryKey), distances: (flat[index] as Hit[]).map((hit) => hit.distance),
    })), { metric, nq, topk, offset });
    const results: Hit[][] = [];
    let cursor = 0;
    for (let q = 0; q < nq; q++) {
      const list: Hit[] = [];
      for (let i = 0; i < (reduced.topks[q] as number); i++, cursor++) {
        list.push((flat[reduced.resultIndexes[cursor] as number] as Hit[])[reduced.hitIndexes[cursor] as number] as Hit);
      }
      results.push(list);
    }
    return { results, snapshotTs, primaryKeyName: primaryKeyField(info.schema).name };
  }

  async query(request: QueryRequest): Promise<{ rows: Array<Record<string, unknown>>; snapshotTs: Timestamp }> {
    const info = await this.collection(request);
    const limit = request.limit ?? (request.filterKeys !== undefined ? Math.min(request.filterKeys.length, this.limits.queryLimitMax) : request.filter !== undefined ? this.limits.queryLimitMax : undefined);
    if (limit === undefined) throw invalidArgument("a query without a filter needs a limit");
    const offset = request.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 0 || limit > this.limits.queryLimitMax) throw invalidArgument(`limit must be an integer in [0, ${this.limits.queryLimitMax}], got ${String(limit)}`);
    if (!Number.isInteger(offset) || offset < 0 || offset + limit > this.limits.resultWindowMax) throw invalidArgument(`offset must be a non-negative integer with offset + limit at most ${this.limits.resultWindowMax}`);
    const outputFields = this.outputFields(info, request.outputFields);
    const pkName = primaryKeyField(info.schema).name;
    const target = await this.target(info, request);
    const outputFieldIds = outputFields.map((f) => f.fieldId);
    const perNode = await Promise.all([...this.options.queryCoord.shardLeaders(info)].map(([node, vchannels]) => node.query({
      vchannels, outputFieldIds, limit: offset + limit, offset: 0, ...target,
    })));
    // Shards hold disjoint keys; concatenate in shard order, then page.
    const rows = perNode.flatMap((result) => result.rows).slice(offset, offset + limit).map((row) => ({ ...row.fields, [pkName]: row.primaryKey }));
    const snapshotTs = perNode.reduce<Timestamp>((min, result) => (result.snapshotTs < min ? result.snapshotTs : min), perNode[0]?.snapshotTs ?? 0n);
    return { rows, snapshotTs };
  }

  async count(request: ReadCommon): Promise<{ count: number; snapshotTs: Timestamp }> {
    const info = await this.collection(request);
    const target = await this.target(info, request);
    const perNode = await Promise.all([...this.options.queryCoord.shardLeaders(info)].map(([node, vchannels]) => node.count({ vchannels, ...target })));
    return {
      count: perNode.reduce((sum, result) => sum + result.count, 0),
      snapshotTs: perNode.reduce<Timestamp>((min, result) => (result.snapshotTs < min ? result.snapshotTs : min), perNode[0]?.snapshotTs ?? 0n),
    };
  }

  /**
   * Primary keys of every row matching the request's filter at its snapshot (for delete by expression),
   * at most deleteByFilterKeysMax of them.
   */
  async matchingKeys(request: ReadCommon): Promise<PrimaryKey[]> {
    const info = await this.collection(request);
    const target = await this.target(info, request);
    const perNode = await Promise.all([...this.options.queryCoord.shardLeaders(info)].map(([node, vchannels]) => node.matchingKeys({ vchannels, ...target }, this.limits.deleteByFilterKeysMax)));
    const keys = perNode.flat();
    if (keys.length > this.limits.deleteByFilterKeysMax) {
      throw limitExceeded(`the filter matches more than ${this.limits.deleteByFilterKeysMax} rows (deleteByFilterKeysMax); delete in smaller steps`);
    }
    return keys;
  }

  /** The guarantee timestamp for a consistency level (see the header). */
  async guaranteeTimestamp(level: ConsistencyLevel, sessionTs: Timestamp | undefined): Promise<Timestamp> {
    switch (level) {
      case ConsistencyLevel.Strong: {
        const ts = await this.options.rootCoord.allocTimestamp();
        await this.options.tickNow();
        return ts;
      }
      case ConsistencyLevel.Bounded:
        return composeTimestamp(Math.max(0, this.options.clock.nowMs() - this.limits.boundedStalenessMs), 0);
      case ConsistencyLevel.Session:
        return sessionTs ?? 0n;
      case ConsistencyLevel.Eventually:
        return 0n;
    }
  }

  private async collection(request: ReadCommon): Promise<CollectionInfo> {
    if (typeof request.collectionName !== "string" || request.collectionName === "") throw invalidArgument("collection name must be a non-empty string");
    return (await this.options.rootCoord.describeCollection(request.dbName ?? DEFAULT_DATABASE, request.collectionName)).info;
  }

  private async target(info: CollectionInfo, request: ReadCommon): Promise<Omit<ReadTarget, "vchannels">> {
    const level = request.consistencyLevel === undefined || request.consistencyLevel === "" ? info.consistencyLevel : request.consistencyLevel;
    if (!isConsistencyLevel(level)) throw invalidArgument(`consistency level "${level}" is not one of ${Object.keys(ConsistencyLevel).join(", ")}`);
    let partitionIds: bigint[] | undefined;
    if (request.partitionNames !== undefined && request.partitionNames.length > 0) {
      const description = await this.options.rootCoord.describeCollection(info.dbName, info.name);
      const loaded = this.options.queryCoord.loadedPartitions(info.id);
      partitionIds = request.partitionNames.map((name) => {
        const partition = description.partitions.find((candidate) => candidate.name === name);
        if (partition === undefined) throw new VelaError(ErrorCode.PartitionNotFound, `partition "${name}" not found in collection "${info.name}"`);
        if (loaded !== undefined && !loaded.includes(partition.id)) throw new VelaError(ErrorCode.CollectionNotLoaded, `partition "${name}" of collection "${info.name}" is not loaded`);
        return partition.id;
      });
    }
    let filterKeys: PrimaryKey[] | undefined;
    if (request.filterKeys !== undefined) {
      // An empty key list (`id in []`) is a valid filter that matches nothing.
      if (request.filterKeys.length === 0) filterKeys = [];
      else {
        const keys = validatePrimaryKeys(primaryKeyField(info.schema), request.filterKeys, proxyDefaults);
        filterKeys = [...(keys.values as BigInt64Array | string[])];
      }
    }
    // Fail fast on an unloaded collection before waiting for a timestamp.
    this.options.queryCoord.shardLeaders(info);
    const guaranteeTs = await this.guaranteeTimestamp(level, request.sessionTs);
    return {
      collectionId: info.id, guaranteeTs,
      ...(partitionIds === undefined ? {} : { partitionIds }),
      ...(filterKeys === undefined ? {} : { filterKeys }),
      ...(request.filter === undefined ? {} : { filter: request.filter }),
    };
  }

  private queries(vectors: SearchRequest["vectors"], dim: number): { queries: Float32Array; nq: number } {
    let queries: Float32Array;
    if (vectors instanceof Float32Array) {
      if (vectors.length === 0 || vectors.length % dim !== 0) throw invalidArgument(`query vectors: ${vectors.length} values is not a positive multiple of dim ${dim}`);
      queries = vectors;
    } else {
      if (vectors === null || typeof vectors !== "object" || typeof vectors.length !== "number" || vectors.length === 0) throw invalidArgument("search needs at least one query vector");
      queries = new Float32Array(vectors.length * dim);
      for (let q = 0; q < vectors.length; q++) {
        const vector = vectors[q];
        if (vector === undefined || vector === null || typeof vector.length !== "number") throw invalidArgument(`query vector ${q} is not an array of numbers`);
        if (vector.length !== dim) throw invalidArgument(`query vector ${q} has ${vector.length} dimensions, the field's dim is ${dim}`);
        for (let i = 0; i < dim; i++) {
          const value = vector[i];
          if (typeof value !== "number") throw invalidArgument(`query vector ${q}, element ${i} is not a number`);
          queries[q * dim + i] = value;
        }
      }
    }
    for (let i = 0; i < queries.length; i++) {
      const value = queries[i] as number;
      if (value - value !== 0) throw invalidArgument(`query vector ${Math.floor(i / dim)}, element ${i % dim} is ${value}; NaN and infinity are not allowed`);
    }
    const nq = queries.length / dim;
    if (nq > this.limits.nqMax) throw limitExceeded(`${nq} query vectors exceed the limit of ${this.limits.nqMax} (nqMax)`);
    return { queries, nq };
  }

  private outputFields(info: CollectionInfo, names: readonly string[] | undefined): FieldSchema[] {
    const fields: FieldSchema[] = [];
    for (const name of names ?? []) {
      if (name === "*") {
        for (const field of info.schema.fields) if (!field.isPrimaryKey && !fields.includes(field)) fields.push(field);
        continue;
      }
      const field = info.schema.fields.find((candidate) => candidate.name === name);
      if (field === undefined) throw invalidArgument(`output field "${name}" is not in collection "${info.name}"`);
      if (!field.isPrimaryKey && !fields.includes(field)) fields.push(field);
    }
    return fields;
  }
}

/** The hits of every query in one array, in query order (Array.prototype.flat is several times slower). */
export function flatHits(perQuery: readonly Hit[][]): Hit[] {
  const out: Hit[] = [];
  for (const hits of perQuery) for (const hit of hits) out.push(hit);
  return out;
}

function vectorField(info: CollectionInfo, annsField: string | undefined): FieldSchema {
  const vectors = info.schema.fields.filter((field) => field.dataType === DataType.FloatVector);
  if (annsField === undefined || annsField === "") {
    if (vectors.length !== 1) throw invalidArgument(`collection "${info.name}" has ${vectors.length} vector fields; name the one to search (anns_field)`);
    return vectors[0] as FieldSchema;
  }
  const field = vectors.find((candidate) => candidate.name === annsField);
  if (field === undefined) throw invalidArgument(`"${annsField}" is not a vector field of collection "${info.name}"`);
  return field;
}
