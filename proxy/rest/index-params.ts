// One `indexParams` entry of a REST request ({fieldName, indexName, metricType, indexType, params})
// turned into the flat string parameters the facade's createIndex takes, as Milvus's
// convertToExtraParams does: index_type from indexType or params.index_type, metric_type from
// metricType, then every other params member. Used by indexes/create and collections/create.

import type { RequestBody } from "./request-body.ts";
import { badFormat } from "./rest-errors.ts";
import { serializeJson } from "./json-serialize.ts";

export interface IndexRequest {
  fieldName: string;
  indexName?: string;
  params: Record<string, string>;
}

export function indexRequestOf(entry: RequestBody): IndexRequest {
  const fieldName = entry.requiredString("fieldName");
  const indexName = entry.optionalString("indexName");
  const metricType = entry.optionalString("metricType");
  const indexType = entry.optionalString("indexType");
  const params: Record<string, string> = {};
  for (const [key, value] of entry.optionalObject("params")?.entries() ?? []) params[key] = paramText(entry.nameOf(`params.${key}`), value);
  if (indexType !== undefined) params.index_type = indexType;
  if (metricType !== undefined) params.metric_type = metricType;
  return { fieldName, ...(indexName === undefined ? {} : { indexName }), params };
}

/** A parameter value as text: strings as they are, numbers and booleans printed, objects as JSON. */
export function paramText(name: string, value: unknown): string {
  switch (typeof value) {
    case "string": return value;
    case "number": case "boolean": case "bigint": return String(value);
    case "object": return serializeJson(value);
    default: throw badFormat(`${name} must be a string, number, boolean or object`);
  }
}
