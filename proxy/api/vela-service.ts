// Vela's public operations in domain terms, shared by the Milvus gRPC service and the REST v2 API
// (DESIGN §11). Transports decode their requests into these calls and encode the results; every
// rule (database selection, Session timestamps per client, index metric defaults, cleanup on drop)
// lives here once.

import type { Clock } from "../../common/clock.ts";
import { apiDefaults, resolveLimits, type ApiLimits } from "../../common/config.ts";
import { ErrorCode, VelaError, invalidArgument } from "../../common/errors.ts";
import { DYNAMIC_FIELD_NAME, DataType, primaryKeyField, type CollectionSchemaInput } from "../../common/schema.ts";
import type { Timestamp } from "../../common/timestamp.ts";
import { DEFAULT_DATABASE, type CollectionInfo } from "../../coord/catalog.ts";
import type { IndexCoord, IndexDefinition } from "../../coord/index-coord.ts";
import type { IndexProgress } from "../../coord/index-tasks.ts";
import type { QueryCoord } from "../../coord/query-coord.ts";
import type { CollectionDescription, RootCoord } from "../../coord/root-coord.ts";
import type { DataCoord } from "../../coord/data-coord.ts";
import type { Hit } from "../../querynode/query-node.ts";
import type { MutationResult, Proxy } from "../proxy.ts";
import type { ReadPath } from "../read-path.ts";
import type { ColumnInput } from "../validate-insert.ts";
import type { FilterExpr } from "../../expr/ast.ts";

export const VELA_VERSION = "0.1.0";

/** Who is asking: the database the request names (or the connection's), and the client's identity. */
export interface CallContext {
  dbName?: string;
  /** The client connection (the `identifier` a Connect handed out), for Session consistency. */
  clientId?: string;
}

export type LoadStateName = "LoadStateNotExist" | "LoadStateNotLoad" | "LoadStateLoading" | "LoadStateLoaded";

/** A parsed filter: a primary-key list (answered from key indexes) or an expression (scanned). */
export interface FilterSpec {
  filterKeys?: unknown[];
  expression?: FilterExpr;
}

/** Turns a filter expression into a FilterSpec; throws InvalidArgument for what it cannot handle. */
export type FilterParser = (info: CollectionInfo, expression: string, templateValues: Record<string, unknown>) => FilterSpec;

export interface VelaServiceOptions {
  rootCoord: RootCoord;
  queryCoord: QueryCoord;
  indexCoord: IndexCoord;
  dataCoord: DataCoord;
  proxy: Proxy;
  reader: ReadPath;
  clock: Clock;
  parseFilter: FilterParser;
  limits?: Partial<ApiLimits>;
}

export interface SearchCall {
  collectionName: string;
  partitionNames?: string[];
  annsField?: string;
  vectors: ArrayLike<ArrayLike<number>> | Float32Array;
  topk: number;
  offset?: number;
  metricType?: string;
  /** HNSW candidate list length (the search's `ef` parameter). */
  ef?: number;
  filter?: string;
  templateValues?: Record<string, unknown>;
  outputFields?: string[];
  consistencyLevel?: string;
  guaranteeTs?: Timestamp;
}

export interface QueryCall {
  collectionName: string;
  partitionNames?: string[];
  filter?: string;
  templateValues?: Record<string, unknown>;
  outputFields?: string[];
  limit?: number;
  offset?: number;
  consistencyLevel?: string;
  guaranteeTs?: Timestamp;
}

export class VelaService {
  readonly limits: ApiLimits;
  private readonly sessions = new Map<string, Timestamp>();
  private nextClientId: bigint;

  constructor(private readonly options: VelaServiceOptions) {
    this.limits = resolveLimits(apiDefaults, options.limits, "api");
    // Identifiers of this process's life start at its clock, so a restarted server does not hand out
    // one a client of the previous life still holds.
    this.nextClientId = BigInt(options.clock.nowMs()) * 1000n;
  }

  // ---- connection ----

  connect(): { identifier: bigint; version: string } {
    this.nextClientId += 1n;
    return { identifier: this.nextClientId, version: VELA_VERSION };
  }

  allocTimestamp(): Promise<Timestamp> {
    return this.options.rootCoord.allocTimestamp();
  }

  // ---- databases ----

  async createDatabase(name: string, properties: Record<string, string> = {}): Promise<void> {
    await this.options.rootCoord.createDatabase(name, properties);
  }

  async dropDatabase(name: string): Promise<void> {
    await this.options.rootCoord.dropDatabase(name);
  }

  listDatabases(): Array<{ name: string; id: bigint; createdTs: Timestamp }> {
    return this.options.rootCoord.listDatabases().map((db) => ({ name: db.name, id: db.id, createdTs: db.createdTs }));
  }

  // ---- collections ----

  async createCollection(ctx: CallContext, request: { schema: CollectionSchemaInput; shardsNum?: number; consistencyLevel?: string; properties?: Record<string, string> }): Promise<CollectionInfo> {
    return this.options.rootCoord.createCollection({
      dbName: db(ctx), schema: request.schema,
      ...(request.shardsNum === undefined || request.shardsNum === 0 ? {} : { shardsNum: request.shardsNum }),
      ...(request.consistencyLevel === undefined ? {} : { consistencyLevel: request.consistencyLevel }),
      ...(request.properties === undefined ? {} : { properties: request.properties }),
    });
  }

  async dropCollection(ctx: CallContext, name: string): Promise<void> {
    const info = this.options.rootCoord.describeCollection(db(ctx), name).info;
    if (info.name !== name) throw invalidArgument(`"${name}" is an alias; drop collection "${info.name}" by its name`);
    await this.options.rootCoord.dropCollection(db(ctx), name);
    await this.options.queryCoord.forget(info.id);
    await this.options.indexCoord.forgetCollection(info.id);
    await this.options.dataCoord.dropCollection(info.id);
  }

  hasCollection(ctx: CallContext, name: string): boolean {
    return this.options.rootCoord.hasCollection(db(ctx), name);
  }

  describeCollection(ctx: CallContext, name: string): CollectionDescription {
    return this.options.rootCoord.describeCollection(db(ctx), name);
  }

  listCollections(ctx: CallContext): Array<{ info: CollectionInfo; loadProgress: number; loaded: boolean }> {
    return this.options.rootCoord.listCollections(db(ctx)).map((info) => ({
      info, loaded: this.options.queryCoord.loadState(info.id) !== "NotLoad", loadProgress: this.options.queryCoord.progress(info.id),
    }));
  }

  async renameCollection(ctx: CallContext, oldName: string, newName: string, newDbName?: string): Promise<void> {
    await this.options.rootCoord.renameCollection(db(ctx), oldName, newName, newDbName);
  }

  /**
   * Rows in a collection (or partition): count(*) when it is loaded; otherwise the rows written through
   * this process's data coordinator, an approximation until binlog statistics exist.
   */
  async rowCount(ctx: CallContext, name: string, partitionName?: string): Promise<number> {
    const description = this.describeCollection(ctx, name);
    const info = description.info;
    const partitionId = partitionName === undefined || partitionName === "" ? undefined : this.options.rootCoord.partition(info, partitionName).id;
    if (this.options.queryCoord.loadState(info.id) === "Loaded") {
      const loaded = this.options.queryCoord.loadedPartitions(info.id);
      if (partitionId === undefined ? loaded === undefined : loaded === undefined || loaded.includes(partitionId)) {
        const result = await this.options.reader.count({
          dbName: db(ctx), collectionName: info.name, consistencyLevel: "Eventually",
          ...(partitionName === undefined || partitionName === "" ? {} : { partitionNames: [partitionName] }),
        });
        return result.count;
      }
    }
    return this.options.dataCoord.rowCount(info.id, partitionId);
  }

  async loadCollection(ctx: CallContext, name: string, partitionNames?: string[]): Promise<void> {
    await this.options.queryCoord.loadCollection(db(ctx), name, partitionNames);
  }

  async releaseCollection(ctx: CallContext, name: string, partitionNames?: string[]): Promise<void> {
    await this.options.queryCoord.releaseCollection(db(ctx), name, partitionNames);
  }

  loadState(ctx: CallContext, name: string, partitionNames?: string[]): LoadStateName {
    if (!this.options.rootCoord.hasCollection(db(ctx), name) && !this.options.rootCoord.listAliases(db(ctx)).includes(name)) return "LoadStateNotExist";
    const description = this.describeCollection(ctx, name);
    const state = this.options.queryCoord.loadState(description.info.id);
    if (state === "NotLoad") return "LoadStateNotLoad";
    if (partitionNames !== undefined && partitionNames.length > 0) {
      const loaded = this.options.queryCoord.loadedPartitions(description.info.id);
      for (const partitionName of partitionNames) {
        const partition = this.options.rootCoord.partition(description.info, partitionName);
        if (loaded !== undefined && !loaded.includes(partition.id)) return "LoadStateNotLoad";
      }
    }
    return state === "Loaded" ? "LoadStateLoaded" : "LoadStateLoading";
  }

  loadingProgress(ctx: CallContext, name: string): number {
    const description = this.describeCollection(ctx, name);
    if (this.options.queryCoord.loadState(description.info.id) === "NotLoad") {
      throw new VelaError(ErrorCode.CollectionNotLoaded, `collection "${name}" is not loaded`);
    }
    return this.options.queryCoord.progress(description.info.id);
  }

  // ---- partitions ----

  async createPartition(ctx: CallContext, collectionName: string, partitionName: string): Promise<void> {
    await this.options.rootCoord.createPartition(db(ctx), collectionName, partitionName);
  }

  async dropPartition(ctx: CallContext, collectionName: string, partitionName: string): Promise<void> {
    const info = this.describeCollection(ctx, collectionName).info;
    const partition = this.options.rootCoord.partition(info, partitionName);
    const loaded = this.options.queryCoord.loadedPartitions(info.id);
    if (this.options.queryCoord.loadState(info.id) !== "NotLoad" && (loaded === undefined || loaded.includes(partition.id))) {
      throw invalidArgument(`partition "${partitionName}" is loaded; release it before dropping it`);
    }
    await this.options.rootCoord.dropPartition(db(ctx), collectionName, partitionName);
    await this.options.dataCoord.dropPartition(info.id, partition.id);
  }

  hasPartition(ctx: CallContext, collectionName: string, partitionName: string): boolean {
    return this.options.rootCoord.hasPartition(db(ctx), collectionName, partitionName);
  }

  listPartitions(ctx: CallContext, collectionName: string): Array<{ name: string; id: bigint; createdTs: Timestamp; loaded: boolean }> {
    const info = this.describeCollection(ctx, collectionName).info;
    const state = this.options.queryCoord.loadState(info.id);
    const loaded = this.options.queryCoord.loadedPartitions(info.id);
    return this.options.rootCoord.listPartitions(db(ctx), collectionName).map((partition) => ({
      name: partition.name, id: partition.id, createdTs: partition.createdTs,
      loaded: state !== "NotLoad" && (loaded === undefined || loaded.includes(partition.id)),
    }));
  }

  // ---- aliases ----

  async createAlias(ctx: CallContext, alias: string, collectionName: string): Promise<void> {
    await this.options.rootCoord.createAlias(db(ctx), alias, collectionName);
  }

  async alterAlias(ctx: CallContext, alias: string, collectionName: string): Promise<void> {
    await this.options.rootCoord.alterAlias(db(ctx), alias, collectionName);
  }

  async dropAlias(ctx: CallContext, alias: string): Promise<void> {
    await this.options.rootCoord.dropAlias(db(ctx), alias);
  }

  describeAlias(ctx: CallContext, alias: string): { alias: string; dbName: string; collectionName: string } {
    return this.options.rootCoord.describeAlias(db(ctx), alias);
  }

  listAliases(ctx: CallContext, collectionName?: string): string[] {
    return this.options.rootCoord.listAliases(db(ctx), collectionName);
  }

  // ---- data ----

  async insert(ctx: CallContext, collectionName: string, partitionName: string | undefined, columns: Record<string, ColumnInput>): Promise<MutationResult> {
    return this.remember(ctx, await this.options.proxy.insert({ dbName: db(ctx), collectionName, ...(partitionName ? { partitionName } : {}), columns }));
  }

  async upsert(ctx: CallContext, collectionName: string, partitionName: string | undefined, columns: Record<string, ColumnInput>): Promise<MutationResult> {
    return this.remember(ctx, await this.options.proxy.upsert({ dbName: db(ctx), collectionName, ...(partitionName ? { partitionName } : {}), columns }));
  }

  /** Deletes the rows a filter matches, resolved at a Strong snapshot, through the normal delete path. */
  async delete(ctx: CallContext, collectionName: string, partitionName: string | undefined, filter: string, templateValues: Record<string, unknown> = {}): Promise<MutationResult> {
    const info = this.describeCollection(ctx, collectionName).info;
    if (typeof filter !== "string" || filter.trim() === "") throw invalidArgument("delete needs a filter expression");
    const spec = this.options.parseFilter(info, filter, templateValues);
    let keys = spec.filterKeys;
    if (keys === undefined) {
      // Resolve the matching keys at a Strong snapshot (the collection must be loaded), then write
      // tombstones for them through the normal delete path.
      const matching = await this.options.reader.matchingKeys({
        dbName: db(ctx), collectionName, consistencyLevel: "Strong",
        ...(partitionName ? { partitionNames: [partitionName] } : {}),
        ...(spec.expression === undefined ? {} : { filter: spec.expression }),
      });
      keys = matching;
    }
    if (keys.length === 0) {
      // Nothing matches (`id in []`, or no row passes the filter): nothing to delete, nothing written.
      const timestamp = await this.options.rootCoord.allocTimestamp();
      const empty = primaryKeyField(info.schema).dataType === DataType.VarChar ? [] as string[] : new BigInt64Array(0);
      return this.remember(ctx, { primaryKeys: empty, count: 0, timestamp });
    }
    return this.remember(ctx, await this.options.proxy.delete({
      dbName: db(ctx), collectionName, ...(partitionName ? { partitionName } : {}), primaryKeys: keys,
    }));
  }

  /** Hits carry the requested schema fields and dynamic keys (flattened out of `$meta`). */
  async search(ctx: CallContext, call: SearchCall): Promise<{ results: Hit[][]; primaryKeyName: string; info: CollectionInfo; sessionTs: Timestamp; dynamicKeys: string[] }> {
    const info = this.describeCollection(ctx, call.collectionName).info;
    const spec = call.filter === undefined || call.filter.trim() === "" ? {} : this.options.parseFilter(info, call.filter, call.templateValues ?? {});
    const annsField = call.annsField === undefined || call.annsField === "" ? singleVectorField(info) : call.annsField;
    const field = info.schema.fields.find((candidate) => candidate.name === annsField);
    const index = field === undefined ? undefined : this.options.indexCoord.indexOfField(info.id, field.fieldId);
    const metricType = call.metricType === undefined || call.metricType === "" ? index?.metricType ?? "COSINE" : call.metricType;
    if (index !== undefined && metricType.toUpperCase() !== index.metricType) {
      throw invalidArgument(`metric type ${metricType} does not match the index metric ${index.metricType} of field "${annsField}"`);
    }
    const outputs = splitOutputFields(info, call.outputFields ?? []);
    const result = await this.options.reader.search({
      dbName: db(ctx), collectionName: call.collectionName, vectors: call.vectors, topk: call.topk, metricType,
      ...(call.ef === undefined ? {} : { ef: call.ef }),
      ...(annsField === undefined ? {} : { annsField }),
      ...(call.partitionNames === undefined ? {} : { partitionNames: call.partitionNames }),
      ...(call.offset === undefined ? {} : { offset: call.offset }),
      outputFields: outputs.schemaFields,
      ...(call.consistencyLevel === undefined ? {} : { consistencyLevel: call.consistencyLevel }),
      sessionTs: this.sessionTs(ctx, call.guaranteeTs),
      ...(spec.filterKeys === undefined ? {} : { filterKeys: spec.filterKeys }),
      ...(spec.expression === undefined ? {} : { filter: spec.expression }),
    });
    for (const hits of result.results) for (const hit of hits) hit.fields = outputs.project(hit.fields);
    return { results: result.results, primaryKeyName: result.primaryKeyName, info, sessionTs: result.snapshotTs, dynamicKeys: outputs.dynamicKeys };
  }

  /** Query rows, or count(*) when outputFields is exactly ["count(*)"]. */
  async query(ctx: CallContext, call: QueryCall): Promise<{ rows: Array<Record<string, unknown>>; info: CollectionInfo; count?: number; dynamicKeys?: string[] }> {
    const info = this.describeCollection(ctx, call.collectionName).info;
    const spec = call.filter === undefined || call.filter.trim() === "" ? {} : this.options.parseFilter(info, call.filter, call.templateValues ?? {});
    const common = {
      dbName: db(ctx), collectionName: call.collectionName,
      ...(call.partitionNames === undefined ? {} : { partitionNames: call.partitionNames }),
      ...(call.consistencyLevel === undefined ? {} : { consistencyLevel: call.consistencyLevel }),
      sessionTs: this.sessionTs(ctx, call.guaranteeTs),
      ...(spec.filterKeys === undefined ? {} : { filterKeys: spec.filterKeys }),
      ...(spec.expression === undefined ? {} : { filter: spec.expression }),
    };
    const outputs = call.outputFields ?? [];
    if (outputs.some((name) => name.toLowerCase() === "count(*)")) {
      if (outputs.length !== 1) throw invalidArgument("count(*) cannot be combined with other output fields");
      const result = await this.options.reader.count(common);
      return { rows: [{ "count(*)": result.count }], info, count: result.count };
    }
    const split = splitOutputFields(info, outputs);
    const result = await this.options.reader.query({
      ...common, outputFields: split.schemaFields,
      ...(call.limit === undefined ? {} : { limit: call.limit }),
      ...(call.offset === undefined ? {} : { offset: call.offset }),
    });
    return { rows: result.rows.map((row) => split.project(row)), info, dynamicKeys: split.dynamicKeys };
  }

  /**
   * Seals every growing segment of the collections; their data nodes write them to object storage once
   * every quota granted on them has expired. Returns, per collection, the segments to wait for
   * (GetFlushState) and the flush timestamp.
   */
  async flush(ctx: CallContext, collectionNames: string[]): Promise<{ segments: Map<string, bigint[]>; flushTs: Map<string, Timestamp> }> {
    const segments = new Map<string, bigint[]>();
    const flushTs = new Map<string, Timestamp>();
    for (const name of collectionNames) {
      const info = this.describeCollection(ctx, name).info;
      const result = await this.options.dataCoord.flush(info.id);
      segments.set(name, result.segmentIds);
      flushTs.set(name, result.flushTs);
    }
    return { segments, flushTs };
  }

  /**
   * True when the flush is complete: every listed segment is flushed, or (with a collection and a
   * flush timestamp) every segment the flush sealed.
   */
  flushState(ctx: CallContext, request: { segmentIds: readonly bigint[]; collectionName?: string; flushTs?: Timestamp }): boolean {
    if (!this.options.dataCoord.flushState(request.segmentIds)) return false;
    if (request.collectionName !== undefined && request.collectionName !== "" && request.flushTs !== undefined && request.flushTs > 0n) {
      const info = this.describeCollection(ctx, request.collectionName).info;
      return this.options.dataCoord.flushStateAt(info.id, request.flushTs);
    }
    return true;
  }

  // ---- indexes ----

  async createIndex(ctx: CallContext, collectionName: string, fieldName: string, indexName: string | undefined, params: Record<string, string>): Promise<IndexDefinition> {
    const info = this.describeCollection(ctx, collectionName).info;
    return this.options.indexCoord.createIndex({ collection: info, fieldName, ...(indexName === undefined ? {} : { indexName }), params });
  }

  /** The matching indexes with their build progress over the collection's flushed segments (as Milvus counts it). */
  describeIndex(ctx: CallContext, collectionName: string, indexName?: string): Array<{ definition: IndexDefinition; progress: IndexProgress }> {
    const info = this.describeCollection(ctx, collectionName).info;
    const indexCoord = this.options.indexCoord;
    return indexCoord.describe(info, indexName).map((definition) => ({ definition, progress: indexCoord.progress(definition) }));
  }

  async dropIndex(ctx: CallContext, collectionName: string, indexName?: string): Promise<void> {
    const info = this.describeCollection(ctx, collectionName).info;
    await this.options.indexCoord.dropIndex(info, indexName);
  }

  // ---- internals ----

  private remember(ctx: CallContext, result: MutationResult): MutationResult {
    if (ctx.clientId !== undefined && ctx.clientId !== "") {
      this.sessions.delete(ctx.clientId);
      this.sessions.set(ctx.clientId, result.timestamp);
      if (this.sessions.size > this.limits.sessionsTrackedMax) {
        const oldest = this.sessions.keys().next().value;
        if (oldest !== undefined) this.sessions.delete(oldest);
      }
    }
    return result;
  }

  /** Session consistency: the larger of the client's own guarantee and its last write here. */
  private sessionTs(ctx: CallContext, guaranteeTs: Timestamp | undefined): Timestamp {
    const remembered = ctx.clientId === undefined ? 0n : this.sessions.get(ctx.clientId) ?? 0n;
    const given = guaranteeTs ?? 0n;
    return given > remembered ? given : remembered;
  }
}

function db(ctx: CallContext): string {
  return ctx.dbName === undefined || ctx.dbName === "" ? DEFAULT_DATABASE : ctx.dbName;
}

function singleVectorField(info: CollectionInfo): string | undefined {
  const vectors = info.schema.fields.filter((field) => field.dataType === DataType.FloatVector);
  return vectors.length === 1 ? vectors[0]?.name : undefined;
}

/**
 * Output field names as users give them: schema fields, "*", and — on a dynamic schema — keys of the
 * dynamic field, which are read from `$meta` and flattened into the result (as Milvus returns them).
 */
export function splitOutputFields(info: CollectionInfo, names: readonly string[]): { schemaFields: string[]; dynamicKeys: string[]; project: (fields: Record<string, unknown>) => Record<string, unknown> } {
  const schemaFields: string[] = [];
  const dynamicKeys: string[] = [];
  let wholeMeta = false;
  for (const name of names) {
    if (name === "*" || info.schema.fields.some((field) => field.name === name)) {
      schemaFields.push(name);
      if (name === "*" || name === DYNAMIC_FIELD_NAME) wholeMeta = info.schema.enableDynamicField;
      continue;
    }
    if (!info.schema.enableDynamicField) throw invalidArgument(`output field "${name}" is not in collection "${info.name}"`);
    dynamicKeys.push(name);
  }
  if (dynamicKeys.length > 0 && !schemaFields.includes(DYNAMIC_FIELD_NAME) && !schemaFields.includes("*")) schemaFields.push(DYNAMIC_FIELD_NAME);
  const project = (fields: Record<string, unknown>): Record<string, unknown> => {
    if (!info.schema.enableDynamicField) return fields;
    const meta = fields[DYNAMIC_FIELD_NAME];
    const out: Record<string, unknown> = { ...fields };
    delete out[DYNAMIC_FIELD_NAME];
    if (typeof meta === "object" && meta !== null) {
      const record = meta as Record<string, unknown>;
      if (wholeMeta) Object.assign(out, record);
      else for (const key of dynamicKeys) if (key in record) out[key] = record[key];
    }
    return out;
  };
  return { schemaFields, dynamicKeys: wholeMeta ? [] : dynamicKeys, project };
}
