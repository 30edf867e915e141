// collections/create, both of Milvus's forms:
//   quick setup (no schema.fields): primary key `primaryFieldName` ("id"; Int64, or VarChar with
//     params.max_length when idType says so), FloatVector `vectorFieldName` ("vector") of `dimension`,
//     dynamic field on (params.enableDynamicField), then an index on the vector field named after it
//     (AUTOINDEX, metricType, default COSINE) and a load — as Milvus's quick setup does;
//   custom setup (schema + optional indexParams): the fields as given; with indexParams the indexes
//     are created and the collection loaded, without them it is only created.
//
// Invariant: the request changes nothing or everything. The request is checked whole before the
// collection is created, and if an index or the load then fails the collection is dropped again.

import { invalidArgument } from "../../common/errors.ts";
import { DataType, type CollectionSchemaInput, type FieldSchemaInput } from "../../common/schema.ts";
import { unsupported } from "../api/status.ts";
import { indexRequestOf, paramText, type IndexRequest } from "./index-params.ts";
import type { RequestBody } from "./request-body.ts";
import { badFormat, missingField, RestErrorCode, RestRequestError } from "./rest-errors.ts";
import { EMPTY, type RouteHandler } from "./route.ts";

const DEFAULT_PRIMARY_FIELD = "id";
const DEFAULT_VECTOR_FIELD = "vector";
const DEFAULT_METRIC = "COSINE";

/** Milvus data type names Vela does not store (named so the refusal says "not supported"). */
const UNSUPPORTED_TYPES = new Set(["String", "Array", "BinaryVector", "Float16Vector", "BFloat16Vector", "SparseFloatVector", "Int8Vector", "Geometry", "Text", "Timestamptz", "ArrayOfVector", "ArrayOfStruct", "Struct"]);

/** Collection parameters (`params`) Milvus accepts and Vela does not implement. */
const UNSUPPORTED_PARAMS: Record<string, string> = {
  ttlSeconds: "collection TTL (params.ttlSeconds)",
  partitionsNum: "partition keys (params.partitionsNum)",
  partitionKeyIsolation: "partition key isolation (params.partitionKeyIsolation)",
};

interface CreatePlan {
  schema: CollectionSchemaInput;
  indexes: IndexRequest[];
}

export const createCollection: RouteHandler = async ({ service, body, call }) => {
  const collectionName = body.requiredString("collectionName");
  const params = body.optionalObject("params");
  for (const [name, what] of Object.entries(UNSUPPORTED_PARAMS)) if (params?.has(name)) throw unsupported(what);
  const schemaBody = body.optionalObject("schema");
  const fields = schemaBody?.optionalArray("fields") ?? [];
  const plan = fields.length === 0 || schemaBody === undefined
    ? quickSetup(body, collectionName, params)
    : customSetup(body, schemaBody, fields, collectionName);
  const shardsNum = params === undefined ? undefined : integerParam(params, "shardsNum");
  const consistencyLevel = params?.has("consistencyLevel") === true ? paramText(params.nameOf("consistencyLevel"), params.get("consistencyLevel")) : undefined;
  await service.createCollection(call, {
    schema: plan.schema,
    ...(shardsNum === undefined ? {} : { shardsNum }),
    ...(consistencyLevel === undefined ? {} : { consistencyLevel }),
  });
  if (plan.indexes.length === 0) return EMPTY;
  try {
    for (const index of plan.indexes) await service.createIndex(call, collectionName, index.fieldName, index.indexName, index.params);
    await service.loadCollection(call, collectionName);
  } catch (error) {
    await service.dropCollection(call, collectionName).catch(() => undefined);
    throw error;
  }
  return EMPTY;
};

function quickSetup(body: RequestBody, collectionName: string, params: RequestBody | undefined): CreatePlan {
  const dimension = body.optionalInteger("dimension");
  if (dimension === undefined || dimension === 0) {
    throw invalidArgument(`dimension is required to create collection "${collectionName}" without a schema (quick setup, default metric type ${DEFAULT_METRIC})`);
  }
  const primaryName = body.optionalString("primaryFieldName") ?? DEFAULT_PRIMARY_FIELD;
  const vectorName = body.optionalString("vectorFieldName") ?? DEFAULT_VECTOR_FIELD;
  const idType = body.optionalString("idType") ?? "Int64";
  const primary: FieldSchemaInput = { name: primaryName, dataType: DataType.Int64, isPrimaryKey: true, autoId: body.optionalBoolean("autoID") ?? false };
  if (idType === "VarChar" || idType === "Varchar") {
    primary.dataType = DataType.VarChar;
    const maxLength = params === undefined ? undefined : integerParam(params, "max_length");
    if (maxLength === undefined) throw missingField("params.max_length (idType is VarChar)");
    primary.maxLength = maxLength;
  } else if (idType !== "Int64" && idType !== "int64") {
    throw invalidArgument(`idType can only be [Int64, VarChar], default: Int64; got ${JSON.stringify(idType)}`);
  }
  const dynamic = params?.has("enableDynamicField") === true ? booleanParam(params, "enableDynamicField") : true;
  const metricType = body.optionalString("metricType") ?? DEFAULT_METRIC;
  const description = body.optionalString("description");
  return {
    schema: {
      name: collectionName, fields: [primary, { name: vectorName, dataType: DataType.FloatVector, dim: dimension }],
      enableDynamicField: dynamic, ...(description === undefined ? {} : { description }),
    },
    indexes: [{ fieldName: vectorName, indexName: vectorName, params: { metric_type: metricType } }],
  };
}

function customSetup(body: RequestBody, schemaBody: RequestBody, fieldItems: readonly unknown[], collectionName: string): CreatePlan {
  const autoId = schemaBody.optionalBoolean("autoID") ?? false;
  const fields = schemaBody.objectsOf("fields", fieldItems).map((field) => fieldOf(field, autoId));
  if (schemaBody.has("functions") && (schemaBody.optionalArray("functions") ?? []).length > 0) throw unsupported("schema functions");
  const description = body.optionalString("description");
  const indexes = body.objectsOf("indexParams", body.optionalArray("indexParams") ?? []).map((entry) => {
    const index = indexRequestOf(entry);
    if (!fields.some((field) => field.name === index.fieldName)) {
      throw new RestRequestError(RestErrorCode.MissingRequiredParameters, `\`${index.fieldName}\` hasn't defined in schema`);
    }
    return index;
  });
  return {
    schema: {
      name: collectionName, fields, enableDynamicField: schemaBody.optionalBoolean("enableDynamicField") ?? false,
      ...(description === undefined ? {} : { description }),
    },
    indexes,
  };
}

function fieldOf(field: RequestBody, autoId: boolean): FieldSchemaInput {
  const name = field.requiredString("fieldName");
  const typeName = field.requiredString("dataType");
  const dataType = (DataType as Record<string, number>)[typeName];
  if (dataType === undefined || !Object.hasOwn(DataType, typeName)) {
    if (UNSUPPORTED_TYPES.has(typeName)) throw unsupported(`data type ${typeName} (field "${name}")`);
    throw invalidArgument(`field "${name}": data type ${typeName} is invalid (case sensitive); supported: ${Object.keys(DataType).join(", ")}`);
  }
  if (field.optionalBoolean("isPartitionKey") === true) throw unsupported(`partition keys (field "${name}")`);
  if (field.optionalBoolean("isClusteringKey") === true) throw unsupported(`clustering keys (field "${name}")`);
  if (field.has("defaultValue")) throw unsupported(`default values (field "${name}")`);
  const isPrimaryKey = field.optionalBoolean("isPrimary") ?? false;
  const out: FieldSchemaInput = { name, dataType, isPrimaryKey, autoId: isPrimaryKey && autoId, nullable: field.optionalBoolean("nullable") ?? false };
  const description = field.optionalString("description");
  if (description !== undefined) out.description = description;
  const typeParams = field.optionalObject("elementTypeParams");
  for (const [key] of typeParams?.entries() ?? []) {
    if (key === "dim") out.dim = integerParam(typeParams as RequestBody, key);
    else if (key === "max_length") out.maxLength = integerParam(typeParams as RequestBody, key);
    else throw unsupported(`element type parameter ${key} (field "${name}")`);
  }
  return out;
}

/** An integer parameter given as a JSON number or a decimal string (Milvus prints either with %v). */
function integerParam(params: RequestBody, name: string): number | undefined {
  const value = params.get(name);
  if (value === undefined) return undefined;
  const number = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number)) throw badFormat(`${params.nameOf(name)} must be an integer, got ${JSON.stringify(String(value))}`);
  return number;
}

/** A boolean parameter as Go's strconv.ParseBool reads it. */
function booleanParam(params: RequestBody, name: string): boolean {
  const value = params.get(name);
  if (typeof value === "boolean") return value;
  const text = String(value);
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  throw badFormat(`${params.nameOf(name)} must be a boolean, got ${JSON.stringify(text)}`);
}
