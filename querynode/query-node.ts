// The query node (DESIGN §1, §8): serves search, query and count over the collections the query
// coordinator assigned to it, from growing segments replayed from the log.
//
// Every read waits (bounded) until tsafe of each vchannel it touches reaches the guarantee timestamp
// G, then evaluates ONE snapshot S = min(tsafe) >= G for every segment: rows are visible per the MVCC
// rule of growing-segment.ts at S. Per segment the top-k runs in worker threads over a visibility
// bitset; results are reduced across segments with at most one hit per primary key (its best score).

import type { Clock } from "../common/clock.ts";
import { queryNodeReadDefaults, resolveLimits, type QueryNodeReadLimits } from "../common/config.ts";
import { ErrorCode, VelaError, invalidArgument, limitExceeded } from "../common/errors.ts";
import { DataType, type FieldSchema } from "../common/schema.ts";
import type { Timestamp } from "../common/timestamp.ts";
import type { CollectionInfo } from "../coord/catalog.ts";
import type { Log } from "../storage/log/log.ts";
import { Bitset } from "./compute/bitset.ts";
import type { MetricType } from "./compute/metric.ts";
import { hitsFromTopK, reduceSearchHits, type ReduceOptions, type ReducedHits, type SearchHits } from "./compute/reduce.ts";
import type { TopKResult } from "./compute/topk.ts";
import type { GrowingSegment, PrimaryKey } from "./growing-segment.ts";
import { CollectionReplica, VchannelReplica, type IndexLoader } from "./replica.ts";
import type { WorkerPool } from "../common/worker-pool.ts";
import type { ObjectStore } from "../storage/object/object-store.ts";
import type { DataCoordApi, SegmentEvent } from "../types/data-coord.ts";
import type { SegmentIndexInfo } from "../types/index-coord.ts";
import { queryNodeLoadDefaults, type QueryNodeLoadLimits } from "../common/config.ts";
import { estimateRowBytes } from "../coord/data-coord.ts";
import { shouldUseExactSearch } from "../indexnode/hnsw/hnsw-request.ts";
import { filterKey, type FilterExpr } from "../expr/ast.ts";
import { evaluateFilter } from "../expr/evaluate.ts";

/** Exact top-k over one segment's vectors, rows limited to `allowed`; runs off the event loop. */
export type SegmentSearch = (request: {
  vectors: Float32Array;
  dim: number;
  allowed: Bitset;
  queries: Float32Array;
  nq: number;
  topk: number;
  metric: MetricType;
}) => Promise<TopKResult>;

export interface ReadTarget {
  collectionId: bigint;
  /** The shards to read on this node. */
  vchannels: readonly string[];
  /** Restrict to these partitions (undefined: every loaded partition). */
  partitionIds?: readonly bigint[];
  guaranteeTs: Timestamp;
  /** Only rows whose primary key is in this list (undefined: every row). */
  filterKeys?: readonly PrimaryKey[];
  /** Only rows matching this filter expression (undefined: every row). */
  filter?: FilterExpr;
}

export interface NodeSearchRequest extends ReadTarget {
  fieldId: number;
  metric: MetricType;
  queries: Float32Array;
  nq: number;
  /** Hits wanted per query (the proxy asks for offset + topk). */
  topk: number;
  /** HNSW candidate list length on indexed segments (at least topk). */
  ef?: number;
  outputFieldIds: readonly number[];
}

export interface Hit {
  primaryKey: PrimaryKey;
  distance: number;
  /** Output field values by field name. */
  fields: Record<string, unknown>;
}

export interface NodeSearchResult {
  snapshotTs: Timestamp;
  /** Per query, best first, at most topk, one hit per primary key. */
  hits: Hit[][];
}

export interface NodeQueryRequest extends ReadTarget {
  outputFieldIds: readonly number[];
  limit: number;
  offset: number;
}

export interface NodeQueryResult {
  snapshotTs: Timestamp;
  rows: Array<{ primaryKey: PrimaryKey; fields: Record<string, unknown> }>;
}

export interface QueryNodeOptions {
  nodeId: string;
  log: Log;
  clock: Clock;
  /** Where flushed segments are read from. */
  objectStore?: ObjectStore;
  /** Decodes large binlogs off the event loop. */
  binlogPool?: WorkerPool;
  /** Segment records and checkpoints: replay starts from them (undefined: replay the whole log). */
  dataCoord?: DataCoordApi;
  /** Built indexes of sealed segments and the pool that searches them (absent: exact search only). */
  indexes?: IndexLoader;
  loadLimits?: Partial<QueryNodeLoadLimits>;
  /** A background failure (a handoff that could not load its segment; it is retried). */
  onError?: (error: unknown) => void;
  search: SegmentSearch;
  /** Reduces per-segment hits (default: on the calling thread; standalone passes the worker-pool variant). */
  reduce?: HitsReducer;
  limits?: Partial<QueryNodeReadLimits>;
}

/** Merges top-k answers to the same queries into one (querynode/compute/reduce.ts semantics). */
export type HitsReducer = (results: readonly SearchHits[], options: ReduceOptions) => Promise<ReducedHits>;

const reduceInline: HitsReducer = async (results, options) => reduceSearchHits(results, options);

export class QueryNode {
  readonly nodeId: string;
  readonly limits: QueryNodeReadLimits;
  private readonly collections = new Map<bigint, CollectionReplica>();
  private readsInFlight = 0;

  private readonly reduce: HitsReducer;
  /** Each request's filter AST has its key computed once, however many segments it reads. */
  private readonly filterKeys = new WeakMap<FilterExpr, string>();
  readonly loadLimits: QueryNodeLoadLimits;
  /** Segment searches by kind, for metrics and tests: through an HNSW index, or exact. */
  readonly searchCounts = { indexed: 0, exact: 0 };
  /** Filter evaluations over a segment's rows: reads whose filter result a segment kept do not count. */
  filterEvaluations = 0;

  constructor(private readonly options: QueryNodeOptions) {
    this.nodeId = options.nodeId;
    this.reduce = options.reduce ?? reduceInline;
    this.limits = resolveLimits(queryNodeReadDefaults, options.limits, "query node");
    this.loadLimits = resolveLimits(queryNodeLoadDefaults, options.loadLimits, "query node load");
  }

  /** A segment of a served vchannel was flushed, compacted or dropped (the query coordinator forwards it). */
  onSegmentEvent(event: SegmentEvent): void {
    this.collections.get(event.segment.collectionId)?.vchannels.get(event.segment.vchannel)?.onSegmentEvent(event.kind, event.segment);
  }

  /** An index build finished (the query coordinator forwards it). */
  onIndexBuilt(info: SegmentIndexInfo): void {
    const replica = this.collections.get(info.collectionId);
    if (replica === undefined) return;
    for (const channel of replica.vchannels.values()) channel.onIndexBuilt(info);
  }

  /** Starts replaying the collection's vchannels (all of them, or `vchannels`); returns at once. */
  async loadCollection(info: CollectionInfo, partitionIds: readonly bigint[] | undefined, vchannels: readonly string[] = info.vchannels): Promise<void> {
    const existing = this.collections.get(info.id);
    if (existing !== undefined) {
      const loaded = existing.loadedPartitions();
      const same = loaded === undefined ? partitionIds === undefined : partitionIds !== undefined && partitionIds.every((id) => loaded.includes(id)) && loaded.length === partitionIds.length;
      if (same) return;
      // The partition set changed: rebuild from the log so the newly served partitions have their rows.
      await this.releaseCollection(info.id);
    }
    this.checkMemoryFor(info, partitionIds, vchannels);
    const replica = new CollectionReplica(info, partitionIds);
    this.collections.set(info.id, replica);
    const loader = {
      ...(this.options.objectStore === undefined ? {} : { objectStore: this.options.objectStore }),
      ...(this.options.binlogPool === undefined ? {} : { pool: this.options.binlogPool }),
      ...(this.options.indexes === undefined ? {} : { indexes: this.options.indexes }),
    };
    for (const vchannel of vchannels) {
      const shard = info.vchannels.indexOf(vchannel);
      if (shard < 0) throw invalidArgument(`vchannel ${vchannel} is not a shard of collection ${info.name}`);
      const channel = new VchannelReplica(replica, vchannel, info.pchannels[shard] as string, loader, this.options.onError);
      replica.vchannels.set(vchannel, channel);
      // The plan is taken after the replica is registered, so no segment event between the two is lost.
      const dataCoord = this.options.dataCoord;
      const plan = dataCoord === undefined ? undefined : {
        checkpoint: dataCoord.checkpoint(vchannel),
        segments: dataCoord.listSegments(info.id).filter((segment) => segment.vchannel === vchannel),
      };
      await channel.start(this.options.log, plan);
    }
  }

  async releaseCollection(collectionId: bigint): Promise<void> {
    const replica = this.collections.get(collectionId);
    if (replica === undefined) return;
    this.collections.delete(collectionId);
    replica.released = true;
    await Promise.all([...replica.vchannels.values()].map((channel) => channel.stop()));
    for (const channel of replica.vchannels.values()) channel.retireAll();
  }

  isLoaded(collectionId: bigint): boolean {
    return this.collections.has(collectionId);
  }

  /** tsafe of a served vchannel (0n before its first tick). */
  tsafe(collectionId: bigint, vchannel: string): Timestamp {
    return this.collections.get(collectionId)?.vchannels.get(vchannel)?.tsafe ?? 0n;
  }

  /** tsafe of every served vchannel, for metrics. */
  tsafes(): Array<{ collectionId: bigint; collectionName: string; vchannel: string; tsafe: Timestamp }> {
    const out: Array<{ collectionId: bigint; collectionName: string; vchannel: string; tsafe: Timestamp }> = [];
    for (const replica of this.collections.values()) {
      for (const channel of replica.vchannels.values()) out.push({ collectionId: replica.info.id, collectionName: replica.info.name, vchannel: channel.vchannel, tsafe: channel.tsafe });
    }
    return out;
  }

  /**
   * Refuses a load that would take the node past memoryBytesMax: the segments' rows at the schema's
   * estimated row size plus their index files, over what the node holds already.
   */
  private checkMemoryFor(info: CollectionInfo, partitionIds: readonly bigint[] | undefined, vchannels: readonly string[]): void {
    const dataCoord = this.options.dataCoord;
    if (dataCoord === undefined) return;
    const rowBytes = estimateRowBytes(info.schema);
    let needed = 0;
    for (const segment of dataCoord.listSegments(info.id)) {
      if (!vchannels.includes(segment.vchannel) || segment.state === "dropped") continue;
      if (partitionIds !== undefined && !partitionIds.includes(segment.partitionId)) continue;
      needed += segment.numRows * rowBytes;
      for (const field of info.schema.fields) {
        const built = this.options.indexes?.api.segmentIndex(segment.id, field.fieldId);
        if (built !== undefined) needed += built.indexFileBytes * this.loadLimits.indexReplicas;
      }
    }
    const held = this.memoryUsage().bytes;
    if (held + needed > this.loadLimits.memoryBytesMax) {
      throw limitExceeded(`query node ${this.nodeId} cannot load collection ${info.name}: it needs about ${needed} bytes and holds ${held} of ${this.loadLimits.memoryBytesMax} (memoryBytesMax); release a collection or add query nodes`);
    }
  }

  /** Segments of a collection this node serves from binlogs (flushed and handed off), for tests and metrics. */
  sealedSegments(collectionId: bigint): bigint[] {
    const replica = this.collections.get(collectionId);
    if (replica === undefined) return [];
    return [...replica.vchannels.values()].flatMap((channel) => channel.segmentList().map((segment) => segment.segmentId).filter((id) => channel.isSealed(id)));
  }

  /** Per pchannel, the smallest log offset a served vchannel still needs (log retention keeps it). */
  readerPositions(): Map<string, number> {
    const positions = new Map<string, number>();
    for (const replica of this.collections.values()) {
      for (const channel of replica.vchannels.values()) {
        positions.set(channel.pchannel, Math.min(positions.get(channel.pchannel) ?? Number.MAX_SAFE_INTEGER, channel.appliedOffset));
      }
    }
    return positions;
  }

  /** Rows and bytes held, for metrics and the memory benchmark. */
  memoryUsage(): { rows: number; bytes: number; segments: number } {
    let rows = 0;
    let bytes = 0;
    let segments = 0;
    for (const replica of this.collections.values()) {
      for (const channel of replica.vchannels.values()) {
        for (const segment of channel.segmentList()) {
          rows += segment.rowCount;
          bytes += segment.memoryBytes;
          for (const index of segment.vectorIndexes.values()) bytes += index.residentBytes;
          segments += 1;
        }
      }
    }
    return { rows, bytes, segments };
  }

  async search(request: NodeSearchRequest): Promise<NodeSearchResult> {
    return this.admitted(async () => {
      const { replica, segments, snapshotTs } = await this.snapshot(request);
      const field = replica.info.schema.fields.find((candidate) => candidate.fieldId === request.fieldId);
      if (field === undefined || field.dataType !== DataType.FloatVector) throw invalidArgument(`field ${request.fieldId} is not a vector field of collection ${replica.info.name}`);
      const dim = field.dim as number;
      if (request.queries.length !== request.nq * dim) throw invalidArgument(`expected ${request.nq} query vectors of dim ${dim}, got ${request.queries.length} values`);
      if (!(request.topk >= 1 && request.topk <= this.limits.resultWindowMax)) throw invalidArgument(`topk must be in [1, ${this.limits.resultWindowMax}], got ${request.topk}`);

      // One input per segment, in segment order, so that ties resolve the same way whatever finishes first.
      const inputs: Array<{ segment: GrowingSegment; hits: SearchHits & { rows: Int32Array } } | undefined> = [];
      const searches: Array<Promise<void>> = [];
      for (const segment of segments) segment.pin();
      try {
        for (const segment of segments) {
          const rowCount = segment.snapshotRowCount();
          if (rowCount === 0) continue;
          const slot = inputs.push(undefined) - 1;
          searches.push(this.allowedRows(segment, snapshotTs, rowCount, request).then(async (allowed) => {
            if (allowed === undefined) return;
            const index = segment.vectorIndexes.get(field.fieldId);
            const hnsw = index === undefined ? undefined : this.options.indexes?.pool();
            // Sealed and indexed: HNSW with the filter as its callback, unless the filter keeps so few
            // rows that the graph walk would visit most of the segment anyway.
            const useIndex = index !== undefined && hnsw !== undefined && index.metric === request.metric && index.rows === rowCount && !shouldUseExactSearch(allowed.count(), rowCount);
            if (useIndex) this.searchCounts.indexed += 1;
            else this.searchCounts.exact += 1;
            const result = useIndex
              ? await hnsw.search(index.handle, { queries: request.queries, nq: request.nq, topk: Math.min(request.topk, rowCount), ...(request.ef === undefined ? {} : { ef: Math.max(request.ef, request.topk) }), allowed })
              : await this.options.search({
                vectors: segment.vectorData(field.fieldId).subarray(0, rowCount * dim),
                dim, allowed, queries: request.queries, nq: request.nq, topk: request.topk, metric: request.metric,
              });
            inputs[slot] = { segment, hits: hitsFromTopK(result, segment.primaryKeyColumn()) };
          }));
        }
        await Promise.all(searches);
      } finally {
        for (const segment of segments) segment.unpin();
      }
      const searched = inputs.filter((input) => input !== undefined);
      const reduced = await this.reduce(searched.map((input) => input.hits), { metric: request.metric, nq: request.nq, topk: request.topk });
      const outputFields = this.outputFields(replica, request.outputFieldIds);
      const hits: Hit[][] = [];
      let cursor = 0;
      for (let q = 0; q < request.nq; q++) {
        const list: Hit[] = [];
        for (let i = 0; i < (reduced.topks[q] as number); i++, cursor++) {
          const input = searched[reduced.resultIndexes[cursor] as number] as { segment: GrowingSegment; hits: { rows: Int32Array } };
          const row = input.hits.rows[reduced.hitIndexes[cursor] as number] as number;
          list.push({ primaryKey: reduced.primaryKeys[cursor] as PrimaryKey, distance: reduced.distances[cursor] as number, fields: fieldValues(input.segment, row, outputFields) });
        }
        hits.push(list);
      }
      return { snapshotTs, hits };
    });
  }

  async query(request: NodeQueryRequest): Promise<NodeQueryResult> {
    return this.admitted(async () => {
      if (!(Number.isInteger(request.limit) && request.limit >= 0 && request.limit <= this.limits.queryLimitMax)) {
        throw invalidArgument(`limit must be an integer in [0, ${this.limits.queryLimitMax}], got ${request.limit}`);
      }
      if (!(Number.isInteger(request.offset) && request.offset >= 0 && request.offset + request.limit <= this.limits.resultWindowMax)) {
        throw invalidArgument(`offset + limit must be at most ${this.limits.resultWindowMax}`);
      }
      const { replica, segments, snapshotTs } = await this.snapshot(request);
      const outputFields = this.outputFields(replica, request.outputFieldIds);
      const rows: NodeQueryResult["rows"] = [];
      let skipped = 0;
      const matching = await this.matchingRows(segments, request, snapshotTs);
      this.visitNewestVisible(segments, request, snapshotTs, matching, (segment, row, key) => {
        if (skipped < request.offset) {
          skipped += 1;
          return true;
        }
        if (rows.length >= request.limit) return false;
        rows.push({ primaryKey: key, fields: fieldValues(segment, row, outputFields) });
        return rows.length < request.limit;
      });
      return { snapshotTs, rows };
    });
  }

  /** count(*): visible rows at the snapshot (every version of a key inserted twice counts, as in Milvus). */
  async count(request: ReadTarget): Promise<{ snapshotTs: Timestamp; count: number }> {
    return this.admitted(async () => {
      const { segments, snapshotTs } = await this.snapshot(request);
      let count = 0;
      if (request.filterKeys !== undefined) {
        const matching = await this.matchingRows(segments, request, snapshotTs);
        this.visitNewestVisible(segments, request, snapshotTs, matching, () => {
          count += 1;
          return true;
        });
        return { snapshotTs, count };
      }
      for (const segment of segments) {
        const rowCount = segment.snapshotRowCount();
        if (rowCount === 0) continue;
        const allowed = await this.allowedRows(segment, snapshotTs, rowCount, request);
        if (allowed !== undefined) count += allowed.count();
      }
      return { snapshotTs, count };
    });
  }

  /** Primary keys of the newest visible version of every key that matches the target's filter. */
  async matchingKeys(target: ReadTarget, keysMax: number): Promise<PrimaryKey[]> {
    return this.admitted(async () => {
      const { segments, snapshotTs } = await this.snapshot(target);
      const matching = await this.matchingRows(segments, target, snapshotTs);
      const keys: PrimaryKey[] = [];
      this.visitNewestVisible(segments, target, snapshotTs, matching, (_segment, _row, key) => {
        keys.push(key);
        return keys.length <= keysMax;
      });
      return keys;
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.collections.keys()].map((id) => this.releaseCollection(id)));
  }

  private async admitted<T>(read: () => Promise<T>): Promise<T> {
    if (this.readsInFlight >= this.limits.readQueueDepthMax) {
      throw limitExceeded(`query node ${this.nodeId} has ${this.readsInFlight} reads in flight (limit readQueueDepthMax = ${this.limits.readQueueDepthMax}); retry later`);
    }
    this.readsInFlight += 1;
    try {
      return await read();
    } finally {
      this.readsInFlight -= 1;
    }
  }

  /** Waits for tsafe >= G on every vchannel and fixes the snapshot S = min(tsafe). */
  private async snapshot(target: ReadTarget): Promise<{ replica: CollectionReplica; segments: GrowingSegment[]; snapshotTs: Timestamp }> {
    const replica = this.collections.get(target.collectionId);
    if (replica === undefined) throw new VelaError(ErrorCode.CollectionNotLoaded, `collection ${target.collectionId} is not loaded on query node ${this.nodeId}`);
    const channels = target.vchannels.map((vchannel) => {
      const channel = replica.vchannels.get(vchannel);
      if (channel === undefined) throw new VelaError(ErrorCode.CollectionNotLoaded, `vchannel ${vchannel} is not served by query node ${this.nodeId}`);
      return channel;
    });
    await Promise.all(channels.map((channel) => channel.waitTsafe(target.guaranteeTs, this.limits.tsafeWaitMsMax, this.options.clock)));
    let snapshotTs: Timestamp | undefined;
    for (const channel of channels) {
      if (channel.dropped) throw new VelaError(ErrorCode.CollectionNotFound, `collection ${replica.info.name} was dropped`);
      snapshotTs = snapshotTs === undefined || channel.tsafe < snapshotTs ? channel.tsafe : snapshotTs;
    }
    // One list of segments per read, taken with the snapshot: a handoff that lands while the read runs
    // swaps entries of the replica's map, never this list.
    const partitionFilter = target.partitionIds === undefined ? undefined : new Set(target.partitionIds);
    const segments = channels.flatMap((channel) => channel.segmentList()).filter((segment) => partitionFilter === undefined || partitionFilter.has(segment.partitionId));
    return { replica, segments, snapshotTs: snapshotTs ?? 0n };
  }

  /**
   * Rows of a segment visible at the snapshot and matching the target's filter (key list or
   * expression); undefined when none can match. Expressions are evaluated column by column, in chunks
   * that yield to the event loop.
   */
  private async allowedRows(segment: GrowingSegment, snapshotTs: Timestamp, rowCount: number, target: ReadTarget): Promise<Bitset | undefined> {
    const visible = segment.visibility(snapshotTs, rowCount);
    const filterKeys = target.filterKeys;
    if (target.filter !== undefined) {
      const matching = await this.filterMatches(segment, rowCount, target.filter, visible);
      return matching.count() === 0 ? undefined : matching;
    }
    if (filterKeys === undefined) return visible;
    const allowed = new Bitset(rowCount, { shared: true });
    let any = false;
    for (const key of filterKeys) {
      for (const row of segment.rowsOfKey(key)) {
        if (row < rowCount && visible.has(row)) {
          allowed.add(row);
          any = true;
        }
      }
    }
    return any ? allowed : undefined;
  }

  /**
   * The visible rows of the first `rowCount` that match `filter`. A segment keeps the result over all
   * its rows per distinct filter (filterCacheEntriesMax) while its row count stays the same, as it does
   * once sealed: a repeated filter then costs an AND with the visibility, or nothing when every row is
   * visible. The answer is a frozen set shared with workers; never modify it.
   */
  private async filterMatches(segment: GrowingSegment, rowCount: number, filter: FilterExpr, visible: Bitset): Promise<Bitset> {
    let key = this.filterKeys.get(filter);
    if (key === undefined) {
      key = filterKey(filter);
      this.filterKeys.set(filter, key);
    }
    let matching = segment.cachedFilterResult(key, rowCount);
    if (matching === undefined) {
      this.filterEvaluations += 1;
      matching = await evaluateFilter(filter, segment, rowCount);
      segment.keepFilterResult(key, rowCount, matching, this.limits.filterCacheEntriesMax);
    }
    if (visible.count() === rowCount) return matching;
    return Bitset.intersection(matching, visible, { shared: true }).freeze();
  }

  /** Per segment, the rows matching the target's filter expression (undefined: no expression). */
  private async matchingRows(segments: readonly GrowingSegment[], target: ReadTarget, snapshotTs: Timestamp): Promise<Map<GrowingSegment, Bitset> | undefined> {
    if (target.filter === undefined) return undefined;
    const matching = new Map<GrowingSegment, Bitset>();
    for (const segment of segments) {
      const rowCount = segment.snapshotRowCount();
      if (rowCount === 0) continue;
      matching.set(segment, await this.filterMatches(segment, rowCount, target.filter, segment.visibility(snapshotTs, rowCount)));
    }
    return matching;
  }

  /**
   * Calls `visit` for the newest visible version of each primary key (in segment, then row order; or
   * in filterKeys order when given) until it returns false. With an expression, a key is visited only
   * when its newest visible version matches it (`matching`).
   */
  private visitNewestVisible(segments: readonly GrowingSegment[], target: ReadTarget, snapshotTs: Timestamp, matching: Map<GrowingSegment, Bitset> | undefined, visit: (segment: GrowingSegment, row: number, key: PrimaryKey) => boolean): void {
    const matches = (segment: GrowingSegment, row: number): boolean => matching === undefined || (matching.get(segment)?.has(row) ?? false);
    const newest = (key: PrimaryKey): { segment: GrowingSegment; row: number } | undefined => {
      let best: { segment: GrowingSegment; row: number; ts: Timestamp } | undefined;
      for (const segment of segments) {
        for (const row of segment.rowsOfKey(key)) {
          if (!segment.isVisible(row, snapshotTs)) continue;
          const ts = segment.insertTsOf(row);
          if (best === undefined || ts > best.ts) best = { segment, row, ts };
        }
      }
      return best;
    };
    if (target.filterKeys !== undefined) {
      const seen = new Set<PrimaryKey>();
      for (const key of target.filterKeys) {
        if (seen.has(key)) continue;
        seen.add(key);
        const found = newest(key);
        if (found !== undefined && matches(found.segment, found.row) && !visit(found.segment, found.row, key)) return;
      }
      return;
    }
    for (const segment of segments) {
      const rowCount = segment.snapshotRowCount();
      const segmentMatches = matching?.get(segment);
      if (matching !== undefined && segmentMatches === undefined) continue;
      for (let row = 0; row < rowCount; row++) {
        if (segmentMatches !== undefined ? !segmentMatches.has(row) : !segment.isVisible(row, snapshotTs)) continue;
        const key = segment.primaryKeyOf(row);
        const found = newest(key);
        if (found === undefined || found.segment !== segment || found.row !== row) continue;
        if (!visit(segment, row, key)) return;
      }
    }
  }

  private outputFields(replica: CollectionReplica, fieldIds: readonly number[]): FieldSchema[] {
    return fieldIds.map((id) => {
      const field = replica.info.schema.fields.find((candidate) => candidate.fieldId === id);
      if (field === undefined) throw invalidArgument(`field ${id} is not in collection ${replica.info.name}`);
      return field;
    });
  }
}

function fieldValues(segment: GrowingSegment, row: number, fields: readonly FieldSchema[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const field of fields) values[field.name] = segment.valueOf(field, row);
  return values;
}

