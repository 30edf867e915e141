// entities/search in Milvus REST v2 shape: `data` is a list of query vectors for `annsField` (or the
// collection's only vector field); the hits of every query come back in one flat list of rows, each
// with its primary key, `distance` and output fields, and `topks` tells how many belong to each query
// (as Milvus 2.4.x/2.5.x answer). Query vectors are checked here, as Milvus's REST server checks
// them, so a malformed vector is error 1801 naming its position.

import { DataType, type FieldSchema } from "../../common/schema.ts";
import type { CollectionInfo } from "../../coord/catalog.ts";
import { unsupported } from "../api/status.ts";
import { consistencyLevelOf } from "./consistency.ts";
import { jsonType, type RequestBody } from "./request-body.ts";
import { badFormat } from "./rest-errors.ts";
import { RowFormatter } from "./result-rows.ts";
import type { RouteHandler } from "./route.ts";
import { flatHits } from "../read-path.ts";

/** Milvus's REST default when a search names no limit. */
const SEARCH_LIMIT_DEFAULT = 100;

export const search: RouteHandler = async ({ service, body, call, allowInt64 }) => {
  const collectionName = body.requiredString("collectionName");
  const data = body.requiredArray("data");
  const info = service.describeCollection(call, collectionName).info;
  const field = vectorFieldOf(info, body.optionalString("annsField"));
  const vectors = queryVectorsOf(data, field);
  const searchParams = body.optionalObject("searchParams");
  refuseRangeSearch(searchParams?.optionalObject("params"));
  refuseRangeSearch(body.optionalObject("params"));
  if (body.optionalString("groupingField") !== undefined) throw unsupported("grouping search (groupingField)");
  const metricType = searchParams?.optionalString("metricType");
  const ef = searchParams?.optionalObject("params")?.optionalInteger("ef");
  const filter = body.optionalString("filter");
  const partitionNames = body.optionalStringArray("partitionNames");
  const consistencyLevel = consistencyLevelOf(body);
  const result = await service.search(call, {
    collectionName, annsField: field.name, vectors,
    topk: body.optionalInteger("limit") ?? SEARCH_LIMIT_DEFAULT,
    offset: body.optionalInteger("offset") ?? 0,
    outputFields: body.optionalStringArray("outputFields") ?? [],
    templateValues: Object.fromEntries(body.optionalObject("exprParams")?.entries() ?? []),
    ...(metricType === undefined ? {} : { metricType }),
    ...(ef === undefined ? {} : { ef }),
    ...(filter === undefined ? {} : { filter }),
    ...(partitionNames === undefined || partitionNames.length === 0 ? {} : { partitionNames }),
    ...(consistencyLevel === undefined ? {} : { consistencyLevel }),
  });
  const formatter = new RowFormatter(info.schema, allowInt64);
  const rows = flatHits(result.results).map((hit) => formatter.hit(hit));
  if (rows.length === 0) return { data: [], extra: { cost: 0 } };
  return { data: rows, extra: { cost: 0, topks: result.results.map((hits) => hits.length) } };
};

function vectorFieldOf(info: CollectionInfo, annsField: string | undefined): FieldSchema {
  const vectorFields = info.schema.fields.filter((field) => field.dataType === DataType.FloatVector);
  if (annsField === undefined) {
    const [only, second] = vectorFields;
    if (only === undefined) throw badFormat(`collection "${info.name}" has no vector field`);
    if (second !== undefined) throw badFormat(`search without annsField, but collection "${info.name}" has several vector fields: ${vectorFields.map((field) => field.name).join(", ")}`);
    return only;
  }
  const field = vectorFields.find((candidate) => candidate.name === annsField);
  if (field === undefined) throw badFormat(`cannot find a vector field named: ${annsField}`);
  return field;
}

/** `data` as nq × dim float32s; every vector an array of exactly dim numbers. */
function queryVectorsOf(data: readonly unknown[], field: FieldSchema): Float32Array {
  const dim = field.dim as number;
  if (data.length === 0) throw badFormat("data holds no query vectors");
  const out = new Float32Array(data.length * dim);
  data.forEach((vector, q) => {
    if (!Array.isArray(vector)) throw badFormat(`data[${q}] must be a vector (an array of ${dim} numbers), got ${jsonType(vector)}`);
    if (vector.length !== dim) throw badFormat(`data[${q}] has ${vector.length} dimensions, but vector field "${field.name}" has dim ${dim}`);
    for (let i = 0; i < dim; i++) {
      const value: unknown = vector[i];
      if (typeof value === "number") out[q * dim + i] = value;
      else if (typeof value === "bigint") out[q * dim + i] = Number(value);
      else throw badFormat(`data[${q}][${i}] is ${jsonType(value)}, not a number`);
    }
  });
  return out;
}

function refuseRangeSearch(params: RequestBody | undefined): void {
  if (params !== undefined && (params.has("radius") || params.has("range_filter"))) throw unsupported("range search (radius, range_filter)");
}
