// Index definitions (DESIGN §1, §9): what an index on a vector field is, and how a CreateIndex
// request's parameters become one. Stored as JSON under `index/<collectionId>/<indexId>`.
//
// What Vela builds: HNSW (M, efConstruction, from hnswlib-node, in index nodes) and FLAT (exact search
// on the raw vectors, nothing to build). AUTOINDEX is HNSW at the default parameters. Milvus's other
// vector index types are refused by name (see docs/indexes.md for why they are not mapped).
//
// Invariant: a definition returned by resolveIndexRequest is complete and in range — every bound
// checked against the named limits of hnswDefaults — so the index node never sees a parameter it
// would refuse.

import { hnswDefaults } from "../common/config.ts";
import { invalidArgument } from "../common/errors.ts";
import { DataType, type FieldSchema } from "../common/schema.ts";
import type { Timestamp } from "../common/timestamp.ts";
import { MetricType, isMetricType } from "../querynode/compute/metric.ts";

/** What Vela builds for a field. */
export type IndexType = "FLAT" | "HNSW";

/** The index types a user may ask for. */
export const SUPPORTED_INDEX_TYPES = ["HNSW", "FLAT", "AUTOINDEX"] as const;

/** The build parameters of an HNSW index, resolved and in range. */
export interface HnswBuildParams {
  M: number;
  efConstruction: number;
}

export interface IndexDefinition {
  indexId: bigint;
  collectionId: bigint;
  fieldId: number;
  fieldName: string;
  /** Dimension of the field's vectors. */
  dim: number;
  indexName: string;
  /** What Vela builds. */
  indexType: IndexType;
  /** What the user asked for (AUTOINDEX stays visible as such). */
  requestedType: string;
  metricType: MetricType;
  /** HNSW only: M and efConstruction as built. */
  build?: HnswBuildParams;
  /** Every parameter as resolved (index_type, metric_type and the index's own), for DescribeIndex. */
  params: Record<string, string>;
  createdTs: Timestamp;
}

/** Milvus index types Vela does not build, with the reason given to the user. */
const REFUSED_TYPES: Record<string, string> = {
  IVF_FLAT: "inverted-file indexes are not built by Vela",
  IVF_SQ8: "inverted-file and quantised indexes are not built by Vela",
  IVF_PQ: "inverted-file and quantised indexes are not built by Vela",
  DISKANN: "disk-resident indexes are not built by Vela",
  SCANN: "quantised indexes are not built by Vela",
};

const SUPPORTED_TEXT = "supported: HNSW (params M, efConstruction), FLAT (exact search), AUTOINDEX (HNSW with M 16, efConstruction 200)";

/** The part of a CreateIndex request that decides the definition. */
export interface IndexRequestShape {
  field: FieldSchema;
  /** index_type, metric_type and the index's own params (M, efConstruction, ...), all as strings. */
  params: Record<string, string>;
}

/** A resolved request: everything of a definition but its ids, names and timestamp. */
export type ResolvedIndexRequest = Pick<IndexDefinition, "indexType" | "requestedType" | "metricType" | "params" | "dim"> & { build?: HnswBuildParams };

/**
 * Checks a CreateIndex request and resolves its defaults. InvalidArgument, naming what is wrong and
 * what is accepted, for: a field that is not a FloatVector, an index type Vela does not build, a
 * metric other than L2/IP/COSINE, M or efConstruction that is not an integer or out of bounds.
 * Parameters an index type does not use are ignored, as Milvus does.
 */
export function resolveIndexRequest(request: IndexRequestShape): ResolvedIndexRequest {
  const { field, params } = request;
  if (field.dataType !== DataType.FloatVector || field.dim === undefined) {
    throw invalidArgument(`field "${field.name}" is not a vector field; Vela indexes FloatVector fields only (scalar filters scan columns)`);
  }
  const requestedType = (params.index_type ?? "AUTOINDEX").trim().toUpperCase();
  const refused = REFUSED_TYPES[requestedType];
  if (refused !== undefined) throw invalidArgument(`index type ${requestedType} is not supported: ${refused}; ${SUPPORTED_TEXT}`);
  if (!(SUPPORTED_INDEX_TYPES as readonly string[]).includes(requestedType)) {
    throw invalidArgument(`unknown index type "${requestedType}"; ${SUPPORTED_TEXT}`);
  }
  const metricText = (params.metric_type ?? MetricType.COSINE).trim().toUpperCase();
  if (!isMetricType(metricText)) throw invalidArgument(`metric type "${metricText}" is not one of L2, IP, COSINE`);
  const shown: Record<string, string> = { index_type: requestedType, metric_type: metricText };
  const base = { requestedType, metricType: metricText, dim: field.dim };
  if (requestedType === "FLAT") return { ...base, indexType: "FLAT", params: shown };
  if (requestedType === "AUTOINDEX") {
    // Milvus decides AUTOINDEX's parameters itself and ignores the user's; Vela does the same.
    const build = { M: hnswDefaults.hnswMDefault, efConstruction: hnswDefaults.hnswEfConstructionDefault };
    return { ...base, indexType: "HNSW", build, params: shown };
  }
  const build = {
    M: integerParam(params, "M", hnswDefaults.hnswMDefault, hnswDefaults.hnswMMin, hnswDefaults.hnswMMax, "hnswMMin, hnswMMax"),
    efConstruction: integerParam(
      params, "efConstruction", hnswDefaults.hnswEfConstructionDefault,
      hnswDefaults.hnswEfConstructionMin, hnswDefaults.hnswEfConstructionMax, "hnswEfConstructionMin, hnswEfConstructionMax",
    ),
  };
  return { ...base, indexType: "HNSW", build, params: { ...shown, M: String(build.M), efConstruction: String(build.efConstruction) } };
}

const INTEGER_TEXT = /^[+-]?[0-9]+$/;

function integerParam(params: Record<string, string>, name: string, fallback: number, min: number, max: number, boundNames: string): number {
  const text = params[name];
  if (text === undefined) return fallback;
  const trimmed = text.trim();
  if (!INTEGER_TEXT.test(trimmed)) throw invalidArgument(`HNSW parameter ${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(text)}`);
  const value = Number(trimmed);
  if (value < min || value > max) throw invalidArgument(`HNSW parameter ${name} must be in [${min}, ${max}] (${boundNames}), got ${trimmed}`);
  return value;
}

/** True when an existing definition answers the same request (CreateIndex is then a no-op). */
export function sameIndex(existing: IndexDefinition, indexName: string, resolved: ResolvedIndexRequest): boolean {
  return existing.indexName === indexName
    && existing.requestedType === resolved.requestedType
    && existing.metricType === resolved.metricType
    && existing.build?.M === resolved.build?.M
    && existing.build?.efConstruction === resolved.build?.efConstruction;
}

/** "HNSW, L2, M 16, efConstruction 200": a definition as error messages name it. */
export function describeDefinition(definition: Pick<IndexDefinition, "requestedType" | "metricType" | "build">): string {
  const build = definition.build === undefined ? "" : `, M ${definition.build.M}, efConstruction ${definition.build.efConstruction}`;
  return `${definition.requestedType}, ${definition.metricType}${build}`;
}

/** The index's own parameters, without index_type and metric_type (the `params` JSON of DescribeIndex). */
export function buildParamsOf(definition: IndexDefinition): Record<string, number> {
  if (definition.requestedType !== "HNSW" || definition.build === undefined) return {};
  return { M: definition.build.M, efConstruction: definition.build.efConstruction };
}
