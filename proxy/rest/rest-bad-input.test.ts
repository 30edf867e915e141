// Every kind of bad REST request gets a clear answer with Milvus's code and changes nothing: malformed
// JSON, missing and mistyped fields, unknown collections, bad names, wrong vectors, oversized bodies,
// unknown paths and methods.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RestTestClient, type RestReply } from "./rest-test-client.ts";

const BODY_BYTES_MAX = 64 * 1024;
const STRONG = { consistencyLevel: "Strong" };

let client: RestTestClient;
beforeAll(async () => {
  client = await RestTestClient.start("rest-bad-input", { limits: { restBodyBytesMax: BODY_BYTES_MAX } });
  await client.ok("collections/create", { collectionName: "target", dimension: 3 });
  await client.ok("entities/insert", { collectionName: "target", data: [{ id: 1, vector: [1, 0, 0] }, { id: 2, vector: [0, 1, 0] }] });
  await client.ok("collections/create", {
    collectionName: "strict",
    schema: { fields: [{ fieldName: "pk", dataType: "Int64", isPrimary: true }, { fieldName: "v", dataType: "FloatVector", elementTypeParams: { dim: 2 } }] },
    indexParams: [{ fieldName: "v", metricType: "L2" }],
  });
});
afterAll(async () => {
  await client?.close();
});

function expectError(reply: RestReply, code: number, message: RegExp): void {
  expect(reply.status, reply.text).toBe(200);
  expect(reply.envelope.code, reply.text).toBe(code);
  expect(reply.envelope.message, reply.text).toMatch(message);
  expect(reply.envelope.data).toBeUndefined();
}

async function targetCount(): Promise<unknown> {
  const rows = await client.ok("entities/query", { collectionName: "target", outputFields: ["count(*)"], ...STRONG });
  return rows[0]["count(*)"];
}

async function collectionNames(): Promise<string[]> {
  return (await client.ok("collections/list", {})) as string[];
}

describe("REST v2 bad input", () => {
  it("refuses bodies that are not a JSON object with code 1801", async () => {
    expectError(await client.post("collections/describe", '{"collectionName": "target",}'), 1801, /^can only accept json format request, error: .+/);
    expectError(await client.post("collections/describe", '{"collectionName": 12345678901234567890'), 1801, /^can only accept json format request, error: expected ',' or '}' in an object at the end of the input$/);
    expectError(await client.post("collections/describe", ""), 1801, /request body is empty/);
    expectError(await client.post("collections/describe", "[1, 2]"), 1801, /must be a JSON object, got an array/);
    expectError(await client.post("collections/describe", "null"), 1801, /must be a JSON object, got null/);
  });

  it("names missing and mistyped fields", async () => {
    expectError(await client.post("collections/describe", {}), 1802, /^missing required parameters, error: collectionName is required$/);
    expectError(await client.post("collections/describe", { collectionName: "" }), 1802, /collectionName is required/);
    expectError(await client.post("collections/describe", { collectionName: 5 }), 1801, /collectionName must be a string, got number 5/);
    expectError(await client.post("collections/rename", { collectionName: "target" }), 1802, /newCollectionName is required/);
    expectError(await client.post("partitions/load", { collectionName: "target" }), 1802, /partitionNames is required/);
    expectError(await client.post("partitions/load", { collectionName: "target", partitionNames: ["_default", 3] }), 1801, /partitionNames\[1\] must be a string/);
    expectError(await client.post("entities/query", { collectionName: "target", limit: "10" }), 1801, /limit must be an integer/);
    expectError(await client.post("entities/delete", { collectionName: "target" }), 1802, /filter is required/);
    expectError(await client.post("entities/get", { collectionName: "target" }), 1802, /id is required/);
    expectError(await client.post("entities/get", { collectionName: "target", id: [{ x: 1 }] }), 1806, /id\[0\] must be an Int64/);
    expectError(await client.post("collections/create", { collectionName: "c", schema: { fields: [{ fieldName: "pk", isPrimary: true }] } }), 1802, /schema\.fields\[0\]\.dataType is required/);
    expect(await targetCount()).toBe("2");
  });

  it("answers code 100 for a collection that does not exist", async () => {
    for (const [endpoint, body] of [
      ["collections/describe", {}], ["collections/load", {}], ["collections/get_stats", {}], ["collections/get_load_state", {}],
      ["entities/insert", { data: [{ id: 1, vector: [1, 0, 0] }] }], ["entities/search", { data: [[1, 0, 0]] }],
      ["entities/query", { filter: "id in [1]" }], ["entities/get", { id: 1 }], ["entities/delete", { filter: "id in [1]" }],
      ["partitions/create", { partitionName: "p" }], ["indexes/list", {}],
    ] as const) {
      expectError(await client.post(endpoint, { collectionName: "missing_collection", ...body }), 100, /missing_collection/);
    }
  });

  it("refuses bad names and duplicate collections and changes nothing", async () => {
    const before = await collectionNames();
    expectError(await client.post("collections/create", { collectionName: "1bad", dimension: 3 }), 1100, /collection name "1bad" is invalid/);
    expectError(await client.post("collections/create", { collectionName: "bad-name", dimension: 3 }), 1100, /collection name "bad-name" is invalid/);
    expectError(await client.post("collections/create", { collectionName: "target", dimension: 3 }), 1100, /already exists/);
    expectError(await client.post("partitions/create", { collectionName: "target", partitionName: "bad name" }), 1100, /partition name "bad name" is invalid/);
    expectError(await client.post("aliases/create", { collectionName: "target", aliasName: "9alias" }), 1100, /alias name "9alias" is invalid/);
    expectError(await client.post("databases/create", { dbName: "no-dashes" }), 1100, /database name "no-dashes" is invalid/);
    expect(await collectionNames()).toEqual(before);
    expect(await client.ok("partitions/list", { collectionName: "target" })).toEqual(["_default"]);
    expect(await client.ok("aliases/list", {})).toEqual([]);
    expect(await client.ok("databases/list", {})).toEqual(["default"]);
  });

  it("refuses bad create requests whole, leaving no collection behind", async () => {
    const before = await collectionNames();
    expectError(await client.post("collections/create", { collectionName: "nodim" }), 1100, /dimension is required/);
    expectError(await client.post("collections/create", { collectionName: "nodim", dimension: 3, idType: "VarChar" }), 1802, /params\.max_length/);
    expectError(await client.post("collections/create", { collectionName: "nodim", dimension: 3, idType: "Int32" }), 1100, /idType can only be \[Int64, VarChar\]/);
    expectError(await client.post("collections/create", { collectionName: "nodim", dimension: 3, metricType: "HAMMING" }), 1100, /metric type "HAMMING"/);
    expectError(await client.post("collections/create", { collectionName: "nodim", dimension: 3, params: { ttlSeconds: 60 } }), 10, /collection TTL .* not supported/);
    const fields = [{ fieldName: "pk", dataType: "Int64", isPrimary: true }, { fieldName: "v", dataType: "FloatVector", elementTypeParams: { dim: 2 } }];
    expectError(await client.post("collections/create", { collectionName: "nodim", schema: { fields: [...fields, { fieldName: "a", dataType: "Array" }] } }), 10, /data type Array .* not supported/);
    expectError(await client.post("collections/create", { collectionName: "nodim", schema: { fields: [...fields, { fieldName: "a", dataType: "int64" }] } }), 1100, /data type int64 is invalid \(case sensitive\)/);
    expectError(await client.post("collections/create", { collectionName: "nodim", schema: { fields }, indexParams: [{ fieldName: "nope", metricType: "L2" }] }), 1802, /`nope` hasn't defined in schema/);
    expectError(await client.post("collections/create", { collectionName: "nodim", schema: { fields }, indexParams: [{ fieldName: "pk", indexType: "STL_SORT" }] }), 1100, /not a vector field/);
    expectError(await client.post("collections/create", { collectionName: "nodim", schema: { fields }, indexParams: [{ fieldName: "v", indexType: "HNSW", params: { M: 1 } }] }), 1100, /HNSW parameter M must be in \[2, 2048\]/);
    expectError(await client.post("collections/create", { collectionName: "nodim", schema: { fields }, indexParams: [{ fieldName: "v", indexType: "IVF_FLAT", params: { nlist: 128 } }] }), 1100, /index type IVF_FLAT is not supported/);
    expect(await collectionNames()).toEqual(before);
  });

  it("refuses bad index requests with 1100 and changes no index", async () => {
    await client.ok("collections/create", {
      collectionName: "indexed",
      schema: { fields: [{ fieldName: "pk", dataType: "Int64", isPrimary: true }, { fieldName: "v", dataType: "FloatVector", elementTypeParams: { dim: 2 } }, { fieldName: "price", dataType: "Double" }] },
    });
    await client.ok("indexes/create", { collectionName: "indexed", indexParams: [{ fieldName: "v", metricType: "IP", indexType: "HNSW", params: { M: 8, efConstruction: 64 } }] });
    const create = (entry: Record<string, unknown>): Promise<RestReply> => client.post("indexes/create", { collectionName: "indexed", indexParams: [entry] });
    expectError(await create({ fieldName: "v", indexName: "w", indexType: "GRAPH_X" }), 1100, /unknown index type "GRAPH_X"; supported: HNSW \(params M, efConstruction\), FLAT \(exact search\), AUTOINDEX/);
    expectError(await create({ fieldName: "v", indexName: "w", indexType: "DISKANN" }), 1100, /index type DISKANN is not supported/);
    expectError(await create({ fieldName: "v", indexName: "w", indexType: "HNSW", params: { M: 4096 } }), 1100, /M must be in \[2, 2048\] \(hnswMMin, hnswMMax\), got 4096/);
    expectError(await create({ fieldName: "v", indexName: "w", indexType: "HNSW", params: { efConstruction: 12.5 } }), 1100, /efConstruction must be an integer in \[1, 65535\], got "12.5"/);
    expectError(await create({ fieldName: "v", indexName: "w", indexType: "HNSW", params: { efConstruction: "many" } }), 1100, /efConstruction must be an integer/);
    expectError(await create({ fieldName: "v", indexName: "w", indexType: "HNSW", metricType: "JACCARD" }), 1100, /metric type "JACCARD" is not one of L2, IP, COSINE/);
    expectError(await create({ fieldName: "price", indexName: "p", indexType: "HNSW" }), 1100, /field "price" is not a vector field/);
    expectError(await create({ fieldName: "v", metricType: "IP", indexType: "HNSW", params: { M: 16 } }), 1100, /field "v" already has index "v" \(HNSW, IP, M 8, efConstruction 64\); drop it first/);
    expect(await client.ok("indexes/list", { collectionName: "indexed" })).toEqual(["v"]);
    expect(await client.ok("indexes/describe", { collectionName: "indexed", indexName: "v" })).toEqual([{
      indexName: "v", fieldName: "v", indexType: "HNSW", metricType: "IP", totalRows: 0, pendingRows: 0, indexedRows: 0, indexState: "Finished", failReason: "",
    }]);
    await client.ok("collections/drop", { collectionName: "indexed" });
  });

  it("refuses bad rows with code 1804 and writes none of them", async () => {
    expectError(await client.post("entities/insert", { collectionName: "target", data: [{ id: 9, vector: [1, 0, 0] }, { id: 10, vector: [1, 0] }] }), 1804, /data\[1\]\.vector has 2 dimensions, the field's dim is 3/);
    expectError(await client.post("entities/insert", { collectionName: "target", data: [{ id: 9, vector: [1, "x", 0] }] }), 1804, /data\[0\]\.vector\[1\] is the string "x", not a number/);
    expectError(await client.post("entities/insert", { collectionName: "target", data: [{ id: 9, vector: [1, 0, 0] }, { id: 10 }] }), 1804, /data\[1\]\.vector must be an array of 3 numbers/);
    expectError(await client.post("entities/insert", { collectionName: "target", data: [{ id: 9, vector: [1, 0, 0] }, 7] }), 1804, /data\[1\] must be a JSON object/);
    expectError(await client.post("entities/insert", { collectionName: "target", data: [] }), 1802, /data/);
    expectError(await client.post("entities/insert", { collectionName: "target" }), 1802, /data is required/);
    expectError(await client.post("entities/insert", { collectionName: "target", data: { id: 9 } }), 1801, /data must be an array/);
    expectError(await client.post("entities/insert", '{"collectionName": "target", "data": [{"id": 9, "vector": [1, 0, 0], "n": 9007199254740993}]}'), 1804, /data\[0\]\.n: integers beyond 2\^53/);
    expectError(await client.post("entities/insert", { collectionName: "target", data: [{ id: "nine", vector: [1, 0, 0] }] }), 1100, /field "id".*expected a 64-bit integer/);
    expectError(await client.post("entities/insert", { collectionName: "target", data: [{ id: 9 }] }), 1100, /field "vector" is missing/);
    expectError(await client.post("entities/upsert", { collectionName: "target", data: [{ id: 9, vector: [1, 0, 0] }, { id: 9, vector: [0, 1, 0] }] }), 1100, /9/);
    expectError(await client.post("entities/insert", { collectionName: "strict", data: [{ pk: 1, v: [1, 0], extra: true }] }), 1100, /field "extra" is not in the schema/);
    expect(await targetCount()).toBe("2");
    expect(await client.ok("entities/query", { collectionName: "strict", outputFields: ["count(*)"], ...STRONG })).toEqual([{ "count(*)": "0" }]);

    await client.ok("collections/create", { collectionName: "autoids", dimension: 2, autoID: true });
    expectError(await client.post("entities/insert", { collectionName: "autoids", data: [{ id: 5, vector: [1, 0] }] }), 1100, /auto-generated/);
    await client.ok("collections/drop", { collectionName: "autoids" });
  });

  it("refuses bad searches with Milvus's codes", async () => {
    expectError(await client.post("entities/search", { collectionName: "target", data: [[1, 0]] }), 1801, /data\[0\] has 2 dimensions, but vector field "vector" has dim 3/);
    expectError(await client.post("entities/search", { collectionName: "target", data: [[1, 0, "0"]] }), 1801, /data\[0\]\[2\] is the string "0", not a number/);
    expectError(await client.post("entities/search", { collectionName: "target", data: [1, 0, 0] }), 1801, /data\[0\] must be a vector/);
    expectError(await client.post("entities/search", { collectionName: "target", data: [] }), 1801, /no query vectors/);
    expectError(await client.post("entities/search", { collectionName: "target" }), 1802, /data is required/);
    expectError(await client.post("entities/search", { collectionName: "target", annsField: "nope", data: [[1, 0, 0]] }), 1801, /cannot find a vector field named: nope/);
    expectError(await client.post("entities/search", { collectionName: "target", data: [[1, 0, 0]], consistencyLevel: "Strongest" }), 1100, /consistencyLevel can only be/);
    expectError(await client.post("entities/search", { collectionName: "target", data: [[1, 0, 0]], searchParams: { metricType: "L2" } }), 1100, /does not match the index metric COSINE/);
    expectError(await client.post("entities/search", { collectionName: "target", data: [[1, 0, 0]], searchParams: { params: { radius: 0.5 } } }), 10, /range search/);
    expectError(await client.post("entities/search", { collectionName: "target", data: [[1, 0, 0]], limit: 0 }), 1100, /topk/);
  });

  it("answers unknown paths with 404, other methods with 405 and Milvus-only endpoints as unsupported", async () => {
    const unknown = await client.request("POST", "/v2/vectordb/collections/explode", "{}");
    expect(unknown.status).toBe(404);
    expect(unknown.envelope.message).toMatch(/no REST endpoint at \/v2\/vectordb\/collections\/explode/);
    expect((await client.request("POST", "/v1/vector/collections", "{}")).status).toBe(404);
    expect((await client.request("POST", "/", "{}")).status).toBe(404);
    for (const path of ["__proto__", "constructor", "collections/list/", "collections/toString"]) {
      expect((await client.request("POST", `/v2/vectordb/${path}`, "{}")).status, path).toBe(404);
    }

    const response = await fetch(`${client.baseUrl}/v2/vectordb/collections/list`, { method: "GET", headers: { connection: "close" } });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
    expect(JSON.parse(await response.text()).message).toMatch(/accepts POST only, not GET/);

    expectError(await client.post("users/list", {}), 10, /users\/list is not supported by Vela/);
    expectError(await client.post("entities/hybrid_search", {}), 10, /not supported/);
  });

  it("refuses oversized bodies without reading them into memory and keeps serving", async () => {
    const padding = "x".repeat(BODY_BYTES_MAX);
    expectError(await client.post("collections/list", JSON.stringify({ pad: padding })), 1102, new RegExp(`exceeds the limit of ${BODY_BYTES_MAX} bytes \\(restBodyBytesMax\\)`));
    const chunk = `"${"y".repeat(1024)}",`;
    const chunked = await client.postChunked("entities/insert", ['{"collectionName": "target", "pad": [', ...Array.from({ length: 80 }, () => chunk), '""]}']);
    expectError(chunked, 1102, /restBodyBytesMax/);
    expect(await targetCount()).toBe("2");
    expect(await collectionNames()).toContain("target");
  });

  it("reads the headers Milvus defines and refuses a bad Request-Timeout", async () => {
    expect(await client.ok("collections/has", { collectionName: "target" }, { Authorization: "Bearer root:Milvus" })).toEqual({ has: true });
    expectError(await client.post("collections/has", { collectionName: "target" }, { "Request-Timeout": "soon" }), 1100, /Request-Timeout must be a whole number of seconds/);
    expectError(await client.post("collections/has", { collectionName: "target" }, { "Request-Timeout": "0" }), 1100, /Request-Timeout/);
    expectError(await client.post("collections/has", { collectionName: "target" }, { "Request-Timeout": "100000" }), 1100, /restRequestTimeoutMsMax/);
    expect(await client.ok("collections/has", { collectionName: "target" }, { "Request-Timeout": "5" })).toEqual({ has: true });
    expectError(await client.post("collections/list", {}, { "DB-Name": "nowhere" }), 800, /nowhere/);
  });
});
