// The entities/* endpoints but search: insert, upsert, delete, get and query, in Milvus REST v2 shapes.
// Rows come in as JSON objects and go out as JSON objects (result-rows.ts); ids given to get and
// delete become a primary-key filter (`id in [...]`), as Milvus's REST server builds it.

import { DataType, primaryKeyField, type CollectionSchema } from "../../common/schema.ts";
import type { MutationResult } from "../proxy.ts";
import { consistencyLevelOf } from "./consistency.ts";
import { jsonType, type RequestBody } from "./request-body.ts";
import { badPrimaryKey, missingField } from "./rest-errors.ts";
import { RowFormatter } from "./result-rows.ts";
import type { RouteContext, RouteResult, RouteTable } from "./route.ts";
import { columnsFromRows } from "./rows-to-columns.ts";
import { search } from "./entity-search.ts";

/** Milvus's REST defaults: a query returns 100 rows and every field unless told otherwise. */
const QUERY_LIMIT_DEFAULT = 100;
const ALL_FIELDS = ["*"];

async function write({ service, body, call, allowInt64 }: RouteContext, mode: "insert" | "upsert"): Promise<RouteResult> {
  const collectionName = body.requiredString("collectionName");
  const partitionName = body.optionalString("partitionName");
  const rows = body.requiredArray("data");
  if (rows.length === 0) throw missingField("data (at least one row)");
  const schema = service.describeCollection(call, collectionName).info.schema;
  const columns = columnsFromRows(schema, rows);
  const result = mode === "insert"
    ? await service.insert(call, collectionName, partitionName, columns)
    : await service.upsert(call, collectionName, partitionName, columns);
  const ids = idsOf(schema, result, allowInt64);
  return mode === "insert"
    ? { data: { insertCount: result.count, insertIds: ids }, extra: { cost: 0 } }
    : { data: { upsertCount: result.count, upsertIds: ids }, extra: { cost: 0 } };
}

function idsOf(schema: CollectionSchema, result: MutationResult, allowInt64: boolean): unknown[] {
  const keys = Array.from(result.primaryKeys as ArrayLike<bigint | string>);
  const formatter = new RowFormatter(schema, allowInt64);
  return primaryKeyField(schema).dataType === DataType.Int64 ? keys.map((key) => formatter.int64(key)) : keys;
}

/** `pk in [...]` for the `id` member of a get or delete (one key or a list, numbers or strings). */
function idFilter(schema: CollectionSchema, body: RequestBody): string {
  const pk = primaryKeyField(schema);
  const given = body.get("id");
  if (given === undefined) throw missingField(body.nameOf("id"));
  const ids = Array.isArray(given) ? given : [given];
  const literals = ids.map((id, index) => {
    if (pk.dataType === DataType.Int64) {
      if (typeof id === "bigint" || (typeof id === "number" && Number.isSafeInteger(id))) return id.toString();
      if (typeof id === "string" && /^-?\d{1,19}$/.test(id)) return id;
      throw badPrimaryKey(`id[${index}] must be an Int64 (a number or a decimal string), got ${jsonType(id)}`);
    }
    if (typeof id === "string") return `"${id.replace(/[\\"]/g, "\\$&")}"`;
    throw badPrimaryKey(`id[${index}] must be a string (the primary key "${pk.name}" is VarChar), got ${jsonType(id)}`);
  });
  return `${pk.name} in [${literals.join(", ")}]`;
}

function templateValuesOf(body: RequestBody): Record<string, unknown> {
  return Object.fromEntries(body.optionalObject("exprParams")?.entries() ?? []);
}

function isCount(outputFields: readonly string[]): boolean {
  return outputFields.length === 1 && outputFields[0]?.trim().toLowerCase() === "count(*)";
}

async function queryRows(context: RouteContext, filter: string | undefined, outputFields: string[], limit: number | undefined, offset: number | undefined): Promise<RouteResult> {
  const { service, body, call, allowInt64 } = context;
  const collectionName = body.requiredString("collectionName");
  const consistencyLevel = consistencyLevelOf(body);
  const partitionNames = body.optionalStringArray("partitionNames");
  const result = await service.query(call, {
    collectionName, outputFields,
    ...(filter === undefined ? {} : { filter }),
    templateValues: templateValuesOf(body),
    ...(partitionNames === undefined || partitionNames.length === 0 ? {} : { partitionNames }),
    ...(limit === undefined || limit === 0 || isCount(outputFields) ? {} : { limit }),
    ...(offset === undefined || offset === 0 ? {} : { offset }),
    ...(consistencyLevel === undefined ? {} : { consistencyLevel }),
  });
  const formatter = new RowFormatter(result.info.schema, allowInt64);
  if (result.count !== undefined) return { data: [{ "count(*)": formatter.int64(result.count) }], extra: { cost: 0 } };
  return { data: result.rows.map((row) => formatter.row(row)), extra: { cost: 0 } };
}

export const entityRoutes: RouteTable = {
  "entities/insert": (context) => write(context, "insert"),
  "entities/upsert": (context) => write(context, "upsert"),

  "entities/delete": async ({ service, body, call }) => {
    const collectionName = body.requiredString("collectionName");
    const partitionName = body.optionalString("partitionName");
    let filter = body.optionalString("filter");
    if (filter === undefined) {
      if (!body.has("id")) throw missingField(body.nameOf("filter"));
      filter = idFilter(service.describeCollection(call, collectionName).info.schema, body);
    }
    const result = await service.delete(call, collectionName, partitionName, filter, templateValuesOf(body));
    return { data: { deleteCount: result.count }, extra: { cost: 0 } };
  },

  "entities/get": (context) => {
    const { service, body, call } = context;
    const schema = service.describeCollection(call, body.requiredString("collectionName")).info.schema;
    return queryRows(context, idFilter(schema, body), body.optionalStringArray("outputFields") ?? ALL_FIELDS, undefined, undefined);
  },

  "entities/query": (context) => {
    const { body } = context;
    const outputFields = body.optionalStringArray("outputFields");
    return queryRows(
      context, body.optionalString("filter"),
      outputFields === undefined || outputFields.length === 0 ? ALL_FIELDS : outputFields,
      body.optionalInteger("limit") ?? QUERY_LIMIT_DEFAULT, body.optionalInteger("offset"),
    );
  },

  "entities/search": search,
};
