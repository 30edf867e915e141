// The Milvus gRPC API (DESIGN §11), served with @grpc/grpc-js from the descriptors shipped in the
// pinned @zilliz/milvus2-sdk-node package, so the protocol is never copied into Vela. Every RPC of
// MilvusService is registered: the ones Vela implements call the VelaService facade; the others answer
// gRPC OK with a "not supported" Status in their own response shape, never a crash or a hang.
// Application errors are gRPC OK with a Status (status.ts), as Milvus does.

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { errorMessage, invalidArgument } from "../../common/errors.ts";
import { type CollectionSchemaInput, type FieldSchema, type FieldSchemaInput } from "../../common/schema.ts";
import type { CollectionInfo } from "../../coord/catalog.ts";
import { buildParamsOf } from "../../coord/index-definition.ts";
import { SUCCESS, statusOf, unsupported } from "../api/status.ts";
import { VELA_VERSION, type CallContext, type VelaService } from "../api/vela-service.ts";
import { createInsertDeserializer } from "./insert-decoding.ts";
import { flatHits } from "../read-path.ts";
import { MILVUS_LOADER_OPTIONS, milvusDescriptor, milvusService, milvusType } from "./milvus-protocol.ts";
import { columnsFromFieldsData, dataTypeFromWire, dataTypeToWire, fieldDataFromRows, fieldDataOf, idsOf, type WireFieldData } from "./field-data.ts";


type Request = Record<string, any>;
type Handler = (request: Request, ctx: CallContext) => Promise<Record<string, unknown>> | Record<string, unknown>;

interface KeyValue {
  key?: string;
  value?: string;
}

function keyValues(pairs: KeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) if (pair.key !== undefined) out[pair.key] = pair.value ?? "";
  return out;
}

function toPairs(record: Record<string, string>): KeyValue[] {
  return Object.entries(record).map(([key, value]) => ({ key, value }));
}

export interface MilvusGrpcService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
  /** Called after every RPC with its name, outcome and duration (metrics). */
  onCall?: (method: string, ok: boolean, durationMs: number) => void;
}

export function createMilvusGrpcService(service: VelaService, hooks: { onCall?: (method: string, ok: boolean, durationMs: number) => void } = {}): MilvusGrpcService {
  const packageDefinition = protoLoader.fromJSON(milvusDescriptor, MILVUS_LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(packageDefinition) as any;
  const MilvusService = loaded.milvus.proto.milvus.MilvusService as grpc.ServiceClientConstructor;
  // Inserts and upserts carry the vectors: they decode straight into Float32Arrays (insert-decoding.ts).
  const definition: grpc.ServiceDefinition = {
    ...MilvusService.service,
    Insert: { ...(MilvusService.service.Insert as grpc.MethodDefinition<unknown, unknown>), requestDeserialize: createInsertDeserializer(milvusDescriptor, "milvus.proto.milvus.InsertRequest") },
    Upsert: { ...(MilvusService.service.Upsert as grpc.MethodDefinition<unknown, unknown>), requestDeserialize: createInsertDeserializer(milvusDescriptor, "milvus.proto.milvus.UpsertRequest") },
  };
  const schemaType = milvusType("milvus.proto.schema.CollectionSchema");
  const placeholderGroupType = milvusType("milvus.proto.common.PlaceholderGroup");
  const serviceType = milvusService();

  const handlers = buildHandlers(service, { schemaType, placeholderGroupType });
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(definition)) {
    const responseType = serviceType.methods[method]?.responseType ?? "";
    const handler = handlers[method];
    implementation[method] = (call: grpc.ServerUnaryCall<Request, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = performance.now();
      const ctx = contextOf(call);
      const respond = (ok: boolean, body: Record<string, unknown>): void => {
        hooks.onCall?.(method, ok, performance.now() - started);
        callback(null, body);
      };
      if (handler === undefined) {
        respond(false, errorBody(responseType, unsupported(`RPC ${method}`)));
        return;
      }
      Promise.resolve()
        .then(() => handler(call.request ?? {}, ctx))
        .then((body) => respond(true, body), (error: unknown) => respond(false, errorBody(responseType, error)));
    };
  }
  return { definition, implementation };
}

function contextOf(call: grpc.ServerUnaryCall<Request, unknown>): CallContext {
  const request = call.request ?? {};
  const header = (name: string): string | undefined => {
    const value = call.metadata.get(name)[0];
    return value === undefined ? undefined : String(value);
  };
  const dbName = typeof request.db_name === "string" && request.db_name !== "" ? request.db_name : header("dbname");
  const clientId = header("identifier");
  const context: CallContext = {};
  if (dbName !== undefined) context.dbName = dbName;
  if (clientId !== undefined) context.clientId = clientId;
  return context;
}

/** A failure in the shape of the RPC's response: the Status itself, or a message whose `status` is it. */
function errorBody(responseType: string, error: unknown): Record<string, unknown> {
  const status = statusOf(error);
  return responseType === "common.Status" ? { ...status } : { status };
}

function ok(body: Record<string, unknown> = {}): Record<string, unknown> {
  return { status: SUCCESS, ...body };
}

/** The bare Status of an RPC whose response type is common.Status. */
const okStatus = (): Record<string, unknown> => ({ ...SUCCESS });

const CONSISTENCY_NAMES = ["Strong", "Session", "Bounded", "Eventually", "Customized"];

function consistencyFrom(request: Request): string | undefined {
  if (request.use_default_consistency === true) return undefined;
  const value = request.consistency_level;
  if (value === undefined || value === null || value === "") return undefined;
  const name = typeof value === "number" ? CONSISTENCY_NAMES[value] : String(value);
  return name === "Customized" ? undefined : name;
}

function schemaFromWire(wire: Record<string, any>, collectionName: string): CollectionSchemaInput {
  const fields: FieldSchemaInput[] = (wire.fields ?? []).map((field: Record<string, any>) => {
    const params = keyValues(field.type_params);
    const dataType = dataTypeFromWire(field.data_type);
    const input: FieldSchemaInput = {
      name: field.name, description: field.description ?? "", dataType,
      isPrimaryKey: field.is_primary_key === true, autoId: field.autoID === true, nullable: field.nullable === true,
    };
    if (params.dim !== undefined) input.dim = Number(params.dim);
    if (params.max_length !== undefined) input.maxLength = Number(params.max_length);
    if (field.is_partition_key === true) throw invalidArgument(`field "${field.name}": partition keys are not supported`);
    return input;
  });
  return {
    name: collectionName !== "" ? collectionName : wire.name,
    description: wire.description ?? "",
    fields: fields.filter((field) => field.name !== "$meta"),
    enableDynamicField: wire.enable_dynamic_field === true,
    autoId: wire.autoID === true,
  };
}

function fieldToWire(field: FieldSchema, indexParams: Record<string, string> | undefined): Record<string, unknown> {
  const typeParams: Record<string, string> = {};
  if (field.dim !== undefined) typeParams.dim = String(field.dim);
  if (field.maxLength !== undefined) typeParams.max_length = String(field.maxLength);
  return {
    fieldID: String(field.fieldId), name: field.name, is_primary_key: field.isPrimaryKey, description: field.description,
    data_type: dataTypeToWire(field.dataType), type_params: toPairs(typeParams), index_params: toPairs(indexParams ?? {}),
    autoID: field.autoId, state: "FieldCreated", is_dynamic: field.isDynamic, nullable: field.nullable,
  };
}

function physicalMs(ts: bigint): string {
  return String(ts >> 18n);
}

function buildHandlers(service: VelaService, types: { schemaType: protobuf.Type; placeholderGroupType: protobuf.Type }): Record<string, Handler> {
  const describeBody = (ctx: CallContext, name: string): Record<string, unknown> => {
    const description = service.describeCollection(ctx, name);
    const info = description.info;
    return ok({
      schema: {
        name: info.name, description: info.schema.description, autoID: info.schema.fields.some((field) => field.isPrimaryKey && field.autoId),
        fields: info.schema.fields.filter((field) => !field.isDynamic).map((field) => fieldToWire(field, undefined)),
        enable_dynamic_field: info.schema.enableDynamicField, properties: [], dbName: info.dbName,
      },
      collectionID: String(info.id), virtual_channel_names: info.vchannels, physical_channel_names: info.pchannels,
      created_timestamp: String(info.createdTs), created_utc_timestamp: physicalMs(info.createdTs),
      shards_num: info.shardsNum, aliases: description.aliases, consistency_level: info.consistencyLevel,
      collection_name: info.name, properties: toPairs(info.properties), db_name: info.dbName,
      num_partitions: String(description.partitions.length), update_timestamp: String(info.createdTs), update_timestamp_str: String(info.createdTs),
    });
  };

  const mutation = (result: { primaryKeys: BigInt64Array | string[]; count: number; timestamp: bigint }, kind: "insert" | "upsert" | "delete", info: CollectionInfo): Record<string, unknown> => {
    const keys = Array.from(result.primaryKeys as ArrayLike<bigint | string>);
    return ok({
      IDs: idsOf(info.schema, keys), succ_index: keys.map((_, i) => i), err_index: [],
      insert_cnt: kind === "insert" ? String(result.count) : "0", upsert_cnt: kind === "upsert" ? String(result.count) : "0",
      delete_cnt: kind === "delete" ? String(result.count) : "0", timestamp: String(result.timestamp), acknowledged: true,
    });
  };

  return {
    Connect: () => {
      const { identifier, version } = service.connect();
      return ok({ server_info: { build_tags: version, build_time: "", git_commit: "", go_version: "", deploy_mode: "STANDALONE", reserved: { name: "vela" } }, identifier: String(identifier) });
    },
    GetVersion: () => ok({ version: `v${VELA_VERSION}` }),
    CheckHealth: () => ok({ isHealthy: true, reasons: [], quota_states: [] }),
    GetComponentStates: () => ok({ state: { nodeID: "1", role: "standalone", stateCode: "Healthy", extra_info: [] }, subcomponent_states: [] }),
    AllocTimestamp: async () => ok({ timestamp: String(await service.allocTimestamp()) }),

    CreateDatabase: async (request) => {
      await service.createDatabase(request.db_name, keyValues(request.properties));
      return okStatus();
    },
    DropDatabase: async (request) => {
      await service.dropDatabase(request.db_name);
      return okStatus();
    },
    ListDatabases: () => {
      const databases = service.listDatabases();
      return ok({ db_names: databases.map((db) => db.name), db_ids: databases.map((db) => String(db.id)), created_timestamp: databases.map((db) => String(db.createdTs)) });
    },

    CreateCollection: async (request, ctx) => {
      const bytes: Uint8Array = request.schema ?? new Uint8Array(0);
      const wire = types.schemaType.toObject(types.schemaType.decode(bytes), { longs: String, enums: String, defaults: true }) as Record<string, any>;
      await service.createCollection(ctx, {
        schema: schemaFromWire(wire, request.collection_name ?? ""),
        shardsNum: Number(request.shards_num ?? 0),
        ...(consistencyFrom(request) === undefined ? {} : { consistencyLevel: consistencyFrom(request) as string }),
        properties: keyValues(request.properties),
      });
      return okStatus();
    },
    DropCollection: async (request, ctx) => {
      await service.dropCollection(ctx, request.collection_name);
      return okStatus();
    },
    HasCollection: (request, ctx) => ok({ value: service.hasCollection(ctx, request.collection_name) }),
    DescribeCollection: (request, ctx) => describeBody(ctx, request.collection_name),
    ShowCollections: (request, ctx) => {
      let collections = service.listCollections(ctx);
      const names: string[] = request.collection_names ?? [];
      if (names.length > 0) collections = collections.filter((entry) => names.includes(entry.info.name));
      return ok({
        collection_names: collections.map((entry) => entry.info.name), collection_ids: collections.map((entry) => String(entry.info.id)),
        created_timestamps: collections.map((entry) => String(entry.info.createdTs)), created_utc_timestamps: collections.map((entry) => physicalMs(entry.info.createdTs)),
        inMemory_percentages: collections.map((entry) => String(entry.loadProgress)), query_service_available: collections.map((entry) => entry.loaded),
      });
    },
    GetCollectionStatistics: async (request, ctx) => ok({ stats: [{ key: "row_count", value: String(await service.rowCount(ctx, request.collection_name)) }] }),
    RenameCollection: async (request, ctx) => {
      await service.renameCollection(ctx, request.oldName, request.newName, request.newDBName);
      return okStatus();
    },
    LoadCollection: async (request, ctx) => {
      await service.loadCollection(ctx, request.collection_name);
      return okStatus();
    },
    ReleaseCollection: async (request, ctx) => {
      await service.releaseCollection(ctx, request.collection_name);
      return okStatus();
    },
    GetLoadState: (request, ctx) => ok({ state: service.loadState(ctx, request.collection_name, request.partition_names) }),
    GetLoadingProgress: (request, ctx) => {
      const progress = service.loadingProgress(ctx, request.collection_name);
      return ok({ progress: String(progress), refresh_progress: "0" });
    },

    CreatePartition: async (request, ctx) => {
      await service.createPartition(ctx, request.collection_name, request.partition_name);
      return okStatus();
    },
    DropPartition: async (request, ctx) => {
      await service.dropPartition(ctx, request.collection_name, request.partition_name);
      return okStatus();
    },
    HasPartition: (request, ctx) => ok({ value: service.hasPartition(ctx, request.collection_name, request.partition_name) }),
    ShowPartitions: (request, ctx) => {
      const partitions = service.listPartitions(ctx, request.collection_name);
      return ok({
        partition_names: partitions.map((p) => p.name), partitionIDs: partitions.map((p) => String(p.id)),
        created_timestamps: partitions.map((p) => String(p.createdTs)), created_utc_timestamps: partitions.map((p) => physicalMs(p.createdTs)),
        inMemory_percentages: partitions.map((p) => (p.loaded ? "100" : "0")),
      });
    },
    LoadPartitions: async (request, ctx) => {
      await service.loadCollection(ctx, request.collection_name, request.partition_names ?? []);
      return okStatus();
    },
    ReleasePartitions: async (request, ctx) => {
      await service.releaseCollection(ctx, request.collection_name, request.partition_names ?? []);
      return okStatus();
    },
    GetPartitionStatistics: async (request, ctx) => ok({ stats: [{ key: "row_count", value: String(await service.rowCount(ctx, request.collection_name, request.partition_name)) }] }),

    CreateAlias: async (request, ctx) => {
      await service.createAlias(ctx, request.alias, request.collection_name);
      return okStatus();
    },
    AlterAlias: async (request, ctx) => {
      await service.alterAlias(ctx, request.alias, request.collection_name);
      return okStatus();
    },
    DropAlias: async (request, ctx) => {
      await service.dropAlias(ctx, request.alias);
      return okStatus();
    },
    DescribeAlias: (request, ctx) => {
      const alias = service.describeAlias(ctx, request.alias);
      return ok({ db_name: alias.dbName, alias: alias.alias, collection: alias.collectionName });
    },
    ListAliases: (request, ctx) => ok({ db_name: ctx.dbName ?? "default", collection_name: request.collection_name ?? "", aliases: service.listAliases(ctx, request.collection_name) }),

    Insert: async (request, ctx) => {
      const columns = columnsFromFieldsData(request.fields_data ?? [], request.num_rows === undefined ? undefined : Number(request.num_rows));
      const result = await service.insert(ctx, request.collection_name, request.partition_name, columns);
      return mutation(result, "insert", service.describeCollection(ctx, request.collection_name).info);
    },
    Upsert: async (request, ctx) => {
      const columns = columnsFromFieldsData(request.fields_data ?? [], request.num_rows === undefined ? undefined : Number(request.num_rows));
      const result = await service.upsert(ctx, request.collection_name, request.partition_name, columns);
      return mutation(result, "upsert", service.describeCollection(ctx, request.collection_name).info);
    },
    Delete: async (request, ctx) => {
      const result = await service.delete(ctx, request.collection_name, request.partition_name, request.expr ?? "", templateValuesOf(request.expr_template_values));
      return mutation(result, "delete", service.describeCollection(ctx, request.collection_name).info);
    },
    Search: async (request, ctx) => {
      if ((request.sub_reqs ?? []).length > 0) throw unsupported("hybrid search (sub_reqs)");
      if (request.search_by_primary_keys === true) throw unsupported("search by primary keys");
      const params = keyValues(request.search_params);
      const extra = params.params === undefined || params.params === "" ? {} : parseJsonObject(params.params, "search params");
      const topk = Number(params.topk ?? params.limit ?? extra.topk ?? 10);
      const offset = Number(params.offset ?? extra.offset ?? 0);
      const efText = extra.ef ?? params.ef;
      const ef = efText === undefined ? undefined : Number(efText);
      const vectors = queryVectors(types.placeholderGroupType, request.placeholder_group);
      const outputFields: string[] = request.output_fields ?? [];
      const result = await service.search(ctx, {
        collectionName: request.collection_name, topk, offset, vectors,
        ...(request.partition_names?.length ? { partitionNames: request.partition_names } : {}),
        ...(params.anns_field ? { annsField: params.anns_field } : {}),
        ...(params.metric_type ? { metricType: params.metric_type } : {}),
        ...(ef === undefined ? {} : { ef }),
        ...(request.dsl ? { filter: request.dsl } : {}),
        templateValues: templateValuesOf(request.expr_template_values),
        outputFields,
        ...(consistencyFrom(request) === undefined ? {} : { consistencyLevel: consistencyFrom(request) as string }),
        ...(request.guarantee_timestamp && request.guarantee_timestamp !== "0" ? { guaranteeTs: BigInt(request.guarantee_timestamp) } : {}),
      });
      const info = result.info;
      const pk = info.schema.fields.find((field) => field.isPrimaryKey) as FieldSchema;
      const outputSchema = expandOutputFields(info, outputFields).filter((field) => !field.isPrimaryKey && !field.isDynamic);
      const flat = flatHits(result.results);
      const rows = flat.map((hit) => ({ ...hit.fields, [pk.name]: hit.primaryKey }));
      const dynamic = dynamicColumn(info, rows);
      return ok({
        results: {
          num_queries: result.results.length, top_k: topk,
          fields_data: [fieldDataOf(pk, rows.map((row) => row[pk.name])), ...fieldDataFromRows(outputSchema, rows), ...dynamic.fieldData],
          scores: flat.map((hit) => hit.distance), distances: [],
          ids: idsOf(info.schema, flat.map((hit) => hit.primaryKey)),
          topks: result.results.map((hits) => hits.length),
          output_fields: [pk.name, ...outputSchema.map((field) => field.name), ...dynamic.keys], primary_field_name: pk.name,
        },
        collection_name: info.name, session_ts: String(result.sessionTs),
      });
    },
    Query: async (request, ctx) => {
      const params = keyValues(request.query_params);
      const outputFields: string[] = request.output_fields ?? [];
      const result = await service.query(ctx, {
        collectionName: request.collection_name, outputFields,
        ...(request.partition_names?.length ? { partitionNames: request.partition_names } : {}),
        ...(request.expr ? { filter: request.expr } : {}),
        templateValues: templateValuesOf(request.expr_template_values),
        ...(params.limit !== undefined ? { limit: Number(params.limit) } : {}),
        ...(params.offset !== undefined ? { offset: Number(params.offset) } : {}),
        ...(consistencyFrom(request) === undefined ? {} : { consistencyLevel: consistencyFrom(request) as string }),
        ...(request.guarantee_timestamp && request.guarantee_timestamp !== "0" ? { guaranteeTs: BigInt(request.guarantee_timestamp) } : {}),
      });
      if (result.count !== undefined) {
        return ok({ fields_data: [{ type: "Int64", field_name: "count(*)", scalars: { long_data: { data: [String(result.count)] } } }], collection_name: result.info.name, output_fields: ["count(*)"] });
      }
      const pk = result.info.schema.fields.find((field) => field.isPrimaryKey) as FieldSchema;
      const fields = [pk, ...expandOutputFields(result.info, outputFields).filter((field) => !field.isPrimaryKey && !field.isDynamic)];
      const dynamic = dynamicColumn(result.info, result.rows);
      return ok({
        fields_data: [...fieldDataFromRows(fields, result.rows), ...dynamic.fieldData], collection_name: result.info.name,
        output_fields: [...fields.map((field) => field.name), ...dynamic.keys],
      });
    },
    Flush: async (request, ctx) => {
      const names: string[] = request.collection_names ?? [];
      const { segments, flushTs } = await service.flush(ctx, names);
      const segIds: Record<string, { data: string[] }> = {};
      const flushTsByCollection: Record<string, string> = {};
      for (const [name, ids] of segments) {
        segIds[name] = { data: ids.map(String) };
        flushTsByCollection[name] = String(flushTs.get(name) ?? 0n);
      }
      return ok({ db_name: ctx.dbName ?? "default", coll_segIDs: segIds, flush_coll_segIDs: segIds, coll_seal_times: {}, coll_flush_ts: flushTsByCollection });
    },
    GetFlushState: (request, ctx) => {
      const segmentIds = ((request.segmentIDs ?? []) as unknown[]).map((id) => parseId(id, "segment id"));
      const flushTs = request.flush_ts === undefined || request.flush_ts === "" ? undefined : parseId(request.flush_ts, "flush_ts");
      return ok({ flushed: service.flushState(ctx, { segmentIds, ...(request.collection_name ? { collectionName: String(request.collection_name) } : {}), ...(flushTs === undefined ? {} : { flushTs }) }) });
    },

    CreateIndex: async (request, ctx) => {
      const params = keyValues(request.extra_params);
      const flat: Record<string, string> = { ...params };
      if (params.params !== undefined && params.params !== "") {
        for (const [key, value] of Object.entries(parseJsonObject(params.params, "index params"))) flat[key] = String(value);
        delete flat.params;
      }
      await service.createIndex(ctx, request.collection_name, request.field_name, request.index_name || undefined, flat);
      return okStatus();
    },
    DescribeIndex: (request, ctx) => {
      const indexes = service.describeIndex(ctx, request.collection_name, request.index_name || request.field_name || undefined);
      return ok({
        index_descriptions: indexes.map(({ definition, progress }) => ({
          index_name: definition.indexName, indexID: String(definition.indexId), field_name: definition.fieldName,
          params: toPairs({ index_type: definition.requestedType, metric_type: definition.metricType, params: JSON.stringify(buildParamsOf(definition)) }),
          indexed_rows: String(progress.indexedRows), total_rows: String(progress.totalRows), pending_index_rows: String(progress.pendingRows),
          state: progress.state, index_state_fail_reason: progress.failReason,
        })),
      });
    },
    DropIndex: async (request, ctx) => {
      await service.dropIndex(ctx, request.collection_name, request.index_name || request.field_name || undefined);
      return okStatus();
    },
    GetIndexState: (request, ctx) => {
      const [first] = service.describeIndex(ctx, request.collection_name, request.index_name || request.field_name || undefined);
      return ok({ state: first?.progress.state ?? "Finished", fail_reason: first?.progress.failReason ?? "" });
    },
    GetIndexBuildProgress: (request, ctx) => {
      const [first] = service.describeIndex(ctx, request.collection_name, request.index_name || request.field_name || undefined);
      return ok({ indexed_rows: String(first?.progress.indexedRows ?? 0), total_rows: String(first?.progress.totalRows ?? 0) });
    },
  };
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw invalidArgument(`${what} must be a JSON object, got ${JSON.stringify(text.slice(0, 80))}`);
}

/** Query vectors from a PlaceholderGroup: each value is one vector of little-endian float32s. */
function queryVectors(type: protobuf.Type, bytes: Uint8Array | undefined): Float32Array[] {
  if (bytes === undefined || bytes.length === 0) throw invalidArgument("search needs query vectors (placeholder_group is empty)");
  let group: { placeholders?: Array<{ type?: number; values?: Uint8Array[] }> };
  try {
    group = type.decode(bytes) as unknown as typeof group;
  } catch (error) {
    throw invalidArgument(`placeholder_group is not a valid PlaceholderGroup: ${errorMessage(error)}`);
  }
  const placeholder = group.placeholders?.[0];
  if (placeholder === undefined || (placeholder.values ?? []).length === 0) throw invalidArgument("placeholder_group holds no query vectors");
  if (placeholder.type !== undefined && placeholder.type !== 101) throw invalidArgument(`query vectors of placeholder type ${placeholder.type} are not supported; send FloatVector queries`);
  return (placeholder.values ?? []).map((value, index) => {
    if (value.byteLength % 4 !== 0) throw invalidArgument(`query vector ${index} is ${value.byteLength} bytes, not a whole number of float32s`);
    const copy = new Uint8Array(value.byteLength);
    copy.set(value);
    return new Float32Array(copy.buffer);
  });
}

function templateValuesOf(wire: Record<string, any> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(wire ?? {})) out[name] = templateValue(value);
  return out;
}

function templateValue(value: Record<string, any>): unknown {
  if (value === null || typeof value !== "object") return value;
  if ("bool_val" in value && value.val === "bool_val") return value.bool_val;
  if (value.val === "int64_val") return BigInt(value.int64_val);
  if (value.val === "float_val") return value.float_val;
  if (value.val === "string_val") return value.string_val;
  if (value.val === "array_val") {
    const array = value.array_val ?? {};
    const inner = array[array.data] ?? {};
    return (inner.data ?? []).map((item: unknown) => (array.data === "long_data" ? BigInt(String(item)) : item));
  }
  return undefined;
}

function expandOutputFields(info: CollectionInfo, names: readonly string[]): FieldSchema[] {
  const out: FieldSchema[] = [];
  for (const name of names) {
    if (name === "*") {
      for (const field of info.schema.fields) if (!out.includes(field)) out.push(field);
      continue;
    }
    const field = info.schema.fields.find((candidate) => candidate.name === name);
    if (field !== undefined && !out.includes(field)) out.push(field);
  }
  return out;
}

/**
 * Keys of result rows that are not schema fields (dynamic-field keys the facade flattened out of
 * `$meta`), packed back into one `$meta` JSON column: the SDKs read such output names from it.
 */
function dynamicColumn(info: CollectionInfo, rows: ReadonlyArray<Record<string, unknown>>): { fieldData: WireFieldData[]; keys: string[] } {
  const meta = info.schema.fields.find((field) => field.isDynamic);
  if (meta === undefined) return { fieldData: [], keys: [] };
  const schemaNames = new Set(info.schema.fields.map((field) => field.name));
  const keys = new Set<string>();
  const objects = rows.map((row) => {
    const object: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(row)) {
      if (schemaNames.has(key)) continue;
      object[key] = value;
      keys.add(key);
    }
    return object;
  });
  if (keys.size === 0) return { fieldData: [], keys: [] };
  return { fieldData: [fieldDataOf(meta, objects)], keys: [...keys] };
}

/** A uint64 id of a request (sent as a decimal string); InvalidArgument when it is not one. */
function parseId(value: unknown, what: string): bigint {
  const text = String(value);
  if (!/^[0-9]{1,20}$/.test(text)) throw invalidArgument(`${what} must be an unsigned integer, got "${text}"`);
  return BigInt(text);
}
