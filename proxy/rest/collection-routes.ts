// The collections/* endpoints in Milvus REST v2 shapes (create lives in collection-create.ts):
// drop, has, describe, list, get_stats, get_load_state, load, release, rename, flush.

import { isVelaError, ErrorCode, VelaError } from "../../common/errors.ts";
import { DataType, dataTypeName, type FieldSchema } from "../../common/schema.ts";
import type { CallContext, VelaService } from "../api/vela-service.ts";
import { createCollection } from "./collection-create.ts";
import { EMPTY, type RouteTable } from "./route.ts";

export const collectionRoutes: RouteTable = {
  "collections/create": createCollection,

  "collections/drop": async ({ service, body, call }) => {
    await service.dropCollection(call, body.requiredString("collectionName"));
    return EMPTY;
  },

  "collections/has": ({ service, body, call }) => ({ data: { has: service.hasCollection(call, body.requiredString("collectionName")) } }),

  "collections/describe": ({ service, body, call }) => ({ data: describe(service, call, body.requiredString("collectionName")) }),

  "collections/list": ({ service, call }) => ({ data: service.listCollections(call).map((entry) => entry.info.name) }),

  "collections/get_stats": async ({ service, body, call }) => ({ data: { rowCount: await service.rowCount(call, body.requiredString("collectionName")) } }),

  "collections/get_load_state": ({ service, body, call }) => {
    const name = body.requiredString("collectionName");
    const partitionNames = body.optionalStringArray("partitionNames");
    const state = service.loadState(call, name, partitionNames);
    if (state === "LoadStateNotExist") throw new VelaError(ErrorCode.CollectionNotFound, `collection "${name}" not found`);
    if (state === "LoadStateNotLoad") return { data: { loadState: state } };
    const progress = service.loadingProgress(call, name);
    return { data: { loadState: progress >= 100 ? "LoadStateLoaded" : "LoadStateLoading", loadProgress: progress } };
  },

  "collections/load": async ({ service, body, call }) => {
    await service.loadCollection(call, body.requiredString("collectionName"));
    return EMPTY;
  },

  "collections/release": async ({ service, body, call }) => {
    await service.releaseCollection(call, body.requiredString("collectionName"));
    return EMPTY;
  },

  "collections/rename": async ({ service, body, call }) => {
    const name = body.requiredString("collectionName");
    const newName = body.requiredString("newCollectionName");
    await service.renameCollection(call, name, newName, body.optionalString("newDbName"));
    return EMPTY;
  },

  "collections/flush": async ({ service, body, call }) => {
    await service.flush(call, [body.requiredString("collectionName")]);
    return EMPTY;
  },
};

/** The describe answer of Milvus's REST server (getCollectionDetails). */
function describe(service: VelaService, call: CallContext, name: string): Record<string, unknown> {
  const description = service.describeCollection(call, name);
  const info = description.info;
  let indexes: Array<Record<string, unknown>> = [];
  try {
    indexes = service.describeIndex(call, name).map(({ definition }) => ({ indexName: definition.indexName, fieldName: definition.fieldName, metricType: definition.metricType }));
  } catch (error) {
    if (!isVelaError(error, ErrorCode.IndexNotFound)) throw error;
  }
  return {
    collectionName: info.name,
    collectionID: info.id,
    description: info.schema.description,
    autoId: info.schema.fields.some((field) => field.isPrimaryKey && field.autoId),
    fields: info.schema.fields.filter((field) => !field.isDynamic).map(fieldOf),
    functions: [],
    aliases: description.aliases,
    indexes,
    load: service.loadState(call, name),
    shardsNum: info.shardsNum,
    partitionsNum: description.partitions.length,
    consistencyLevel: info.consistencyLevel,
    enableDynamicField: info.schema.enableDynamicField,
    properties: Object.entries(info.properties).map(([key, value]) => ({ key, value })),
  };
}

function fieldOf(field: FieldSchema): Record<string, unknown> {
  const params: Array<{ key: string; value: string }> = [];
  if (field.dataType === DataType.FloatVector) params.push({ key: "dim", value: String(field.dim) });
  if (field.dataType === DataType.VarChar) params.push({ key: "max_length", value: String(field.maxLength) });
  return {
    name: field.name, id: field.fieldId, type: dataTypeName(field.dataType), primaryKey: field.isPrimaryKey,
    partitionKey: false, clusteringKey: false, autoId: field.autoId, description: field.description, nullable: field.nullable,
    ...(params.length === 0 ? {} : { params }),
  };
}
