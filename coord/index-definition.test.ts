// CreateIndex parameters → definitions: the supported types and their defaults, AUTOINDEX as HNSW,
// refused Milvus types named with what is supported, every bound of M and efConstruction, metrics,
// scalar fields.

import { describe, expect, it } from "vitest";
import { hnswDefaults } from "../common/config.ts";
import { ErrorCode, VelaError } from "../common/errors.ts";
import { DataType, type FieldSchema } from "../common/schema.ts";
import { buildParamsOf, resolveIndexRequest, sameIndex, type IndexDefinition } from "./index-definition.ts";

const vectorField: FieldSchema = { fieldId: 101, name: "v", description: "", dataType: DataType.FloatVector, isPrimaryKey: false, autoId: false, dim: 8, nullable: false, isDynamic: false };
const scalarField: FieldSchema = { fieldId: 102, name: "price", description: "", dataType: DataType.Double, isPrimaryKey: false, autoId: false, nullable: false, isDynamic: false };

function refusal(params: Record<string, string>, field: FieldSchema = vectorField): VelaError {
  try {
    resolveIndexRequest({ field, params });
  } catch (error) {
    expect(error).toBeInstanceOf(VelaError);
    expect((error as VelaError).code).toBe(ErrorCode.InvalidArgument);
    return error as VelaError;
  }
  throw new Error(`expected ${JSON.stringify(params)} to be refused`);
}

describe("index definitions", () => {
  it("resolves HNSW with its parameters, defaults, metrics in any case, and ignores parameters it does not use", () => {
    expect(resolveIndexRequest({ field: vectorField, params: { index_type: "hnsw", metric_type: "l2", M: "32", efConstruction: " 100 ", nlist: "7" } })).toEqual({
      indexType: "HNSW", requestedType: "HNSW", metricType: "L2", dim: 8, build: { M: 32, efConstruction: 100 },
      params: { index_type: "HNSW", metric_type: "L2", M: "32", efConstruction: "100" },
    });
    const defaults = resolveIndexRequest({ field: vectorField, params: { index_type: "HNSW", metric_type: "IP" } });
    expect(defaults.build).toEqual({ M: hnswDefaults.hnswMDefault, efConstruction: hnswDefaults.hnswEfConstructionDefault });
    expect(resolveIndexRequest({ field: vectorField, params: { index_type: "HNSW", M: "2", efConstruction: "1" } }).build).toEqual({ M: 2, efConstruction: 1 });
    expect(resolveIndexRequest({ field: vectorField, params: { index_type: "HNSW", M: "2048", efConstruction: "65535" } }).build).toEqual({ M: 2048, efConstruction: 65535 });
  });

  it("maps AUTOINDEX (also when no type is given) to HNSW with M 16 and efConstruction 200, and FLAT to nothing to build", () => {
    for (const params of [{ index_type: "AUTOINDEX", metric_type: "COSINE", M: "64" }, {}] as Record<string, string>[]) {
      const resolved = resolveIndexRequest({ field: vectorField, params });
      expect(resolved).toMatchObject({ indexType: "HNSW", requestedType: "AUTOINDEX", metricType: "COSINE", build: { M: 16, efConstruction: 200 } });
    }
    const flat = resolveIndexRequest({ field: vectorField, params: { index_type: "FLAT", metric_type: "IP", M: "8" } });
    expect(flat).toEqual({ indexType: "FLAT", requestedType: "FLAT", metricType: "IP", dim: 8, params: { index_type: "FLAT", metric_type: "IP" } });
  });

  it("refuses Milvus index types Vela does not build, naming what is supported, and unknown types", () => {
    for (const type of ["IVF_FLAT", "IVF_SQ8", "IVF_PQ", "DISKANN", "SCANN"]) {
      const error = refusal({ index_type: type });
      expect(error.message).toContain(`index type ${type} is not supported`);
      expect(error.message).toContain("supported: HNSW (params M, efConstruction), FLAT");
    }
    expect(refusal({ index_type: "BTREE" }).message).toMatch(/unknown index type "BTREE"; supported: HNSW/);
  });

  it("refuses M and efConstruction out of their named bounds or not integers, and metrics other than L2, IP, COSINE", () => {
    expect(refusal({ index_type: "HNSW", M: "1" }).message).toBe("HNSW parameter M must be in [2, 2048] (hnswMMin, hnswMMax), got 1");
    expect(refusal({ index_type: "HNSW", M: "2049" }).message).toContain("must be in [2, 2048]");
    expect(refusal({ index_type: "HNSW", M: "-4" }).message).toContain("got -4");
    expect(refusal({ index_type: "HNSW", efConstruction: "0" }).message).toBe("HNSW parameter efConstruction must be in [1, 65535] (hnswEfConstructionMin, hnswEfConstructionMax), got 0");
    expect(refusal({ index_type: "HNSW", efConstruction: "65536" }).message).toContain("[1, 65535]");
    for (const bad of ["1.5", "abc", "", "1e3", "0x10"]) {
      expect(refusal({ index_type: "HNSW", efConstruction: bad }).message).toBe(`HNSW parameter efConstruction must be an integer in [1, 65535], got ${JSON.stringify(bad)}`);
    }
    expect(refusal({ index_type: "HNSW", metric_type: "HAMMING" }).message).toBe('metric type "HAMMING" is not one of L2, IP, COSINE');
  });

  it("refuses an index on a scalar field", () => {
    expect(refusal({ index_type: "STL_SORT" }, scalarField).message).toContain('field "price" is not a vector field');
    expect(refusal({ index_type: "HNSW" }, scalarField).message).toContain("FloatVector fields only");
  });

  it("tells the same request from a different one, and shows HNSW's own params only for HNSW", () => {
    const resolved = resolveIndexRequest({ field: vectorField, params: { index_type: "HNSW", metric_type: "L2", M: "8" } });
    const definition: IndexDefinition = { indexId: 1n, collectionId: 2n, fieldId: 101, fieldName: "v", indexName: "v", createdTs: 3n, ...resolved };
    expect(sameIndex(definition, "v", resolved)).toBe(true);
    expect(sameIndex(definition, "other", resolved)).toBe(false);
    expect(sameIndex(definition, "v", resolveIndexRequest({ field: vectorField, params: { index_type: "HNSW", metric_type: "L2", M: "9" } }))).toBe(false);
    expect(sameIndex(definition, "v", resolveIndexRequest({ field: vectorField, params: { index_type: "HNSW", metric_type: "IP", M: "8" } }))).toBe(false);
    expect(buildParamsOf(definition)).toEqual({ M: 8, efConstruction: 200 });
    expect(buildParamsOf({ ...definition, requestedType: "AUTOINDEX" })).toEqual({});
  });
});
