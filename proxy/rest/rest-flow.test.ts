// The REST v2 API end to end on a standalone node: the user flow of Milvus's REST docs (quick create,
// insert, search per metric, query, count, get, delete, upsert, partitions, aliases, indexes,
// databases, describe, list, release, drop) with exact ids, values and distances.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RestTestClient } from "./rest-test-client.ts";

let client: RestTestClient;
beforeAll(async () => {
  client = await RestTestClient.start("rest-flow");
});
afterAll(async () => {
  await client?.close();
});

const STRONG = { consistencyLevel: "Strong" };

function ids(rows: Array<Record<string, unknown>>, key = "id"): unknown[] {
  return rows.map((row) => row[key]);
}

describe("REST v2 user flow", () => {
  it("quick-creates a collection, writes and reads it, releases and drops it", async () => {
    expect(await client.ok("collections/create", { collectionName: "books", dimension: 4, metricType: "L2" })).toEqual({});
    // A Strong read waits until the load has caught up with the log, so the state below is settled.
    expect(await client.ok("entities/query", { collectionName: "books", outputFields: ["count(*)"], ...STRONG })).toEqual([{ "count(*)": "0" }]);
    const described = await client.ok("collections/describe", { collectionName: "books" });
    expect(described).toMatchObject({
      collectionName: "books", autoId: false, enableDynamicField: true, load: "LoadStateLoaded", shardsNum: 1, partitionsNum: 1,
      consistencyLevel: "Bounded", aliases: [], indexes: [{ indexName: "vector", fieldName: "vector", metricType: "L2" }],
    });
    expect(typeof described.collectionID).toBe("number");
    expect(described.fields).toEqual([
      { name: "id", id: 100, type: "Int64", primaryKey: true, partitionKey: false, clusteringKey: false, autoId: false, description: "", nullable: false },
      { name: "vector", id: 101, type: "FloatVector", primaryKey: false, partitionKey: false, clusteringKey: false, autoId: false, description: "", nullable: false, params: [{ key: "dim", value: "4" }] },
    ]);
    expect(await client.ok("collections/get_load_state", { collectionName: "books" })).toEqual({ loadState: "LoadStateLoaded", loadProgress: 100 });
    expect(await client.ok("collections/has", { collectionName: "books" })).toEqual({ has: true });
    expect(await client.ok("collections/has", { collectionName: "nothing_here" })).toEqual({ has: false });
    expect(await client.ok("collections/list", {})).toContain("books");

    // Ids as numbers and as a decimal string beyond 2^53; extra keys go to the dynamic field.
    const inserted = await client.post("entities/insert", {
      collectionName: "books",
      data: [
        { id: 1, vector: [1, 0, 0, 0], title: "one", tags: ["a"] },
        { id: 2, vector: [0, 1, 0, 0], title: "two" },
        { id: 3, vector: [0, 0, 1, 0], title: "three" },
        { id: 4, vector: [0.5, 0.5, 0, 0], title: "four" },
        { id: "9007199254740993", vector: [0.9, 0.1, 0, 0], title: "big" },
      ],
    });
    expect(inserted.envelope).toEqual({ code: 0, cost: 0, data: { insertCount: 5, insertIds: ["1", "2", "3", "4", "9007199254740993"] } });

    const searched = await client.post("entities/search", { collectionName: "books", data: [[1, 0, 0, 0]], limit: 3, outputFields: ["title"], ...STRONG });
    expect(searched.envelope.code).toBe(0);
    expect(searched.envelope.topks).toEqual([3]);
    expect(searched.envelope.data.map((row: any) => [row.id, row.title])).toEqual([["1", "one"], ["9007199254740993", "big"], ["4", "four"]]);
    expect(searched.envelope.data.map((row: any) => Object.keys(row).sort())).toEqual([["distance", "id", "title"], ["distance", "id", "title"], ["distance", "id", "title"]]);
    [0, 0.02, 0.5].forEach((distance, index) => expect(searched.envelope.data[index].distance).toBeCloseTo(distance, 6));

    const twoQueries = await client.ok("entities/search", { collectionName: "books", data: [[0, 1, 0, 0], [0, 0, 1, 0]], limit: 1, ...STRONG });
    expect(ids(twoQueries)).toEqual(["2", "3"]);

    const queried = await client.ok("entities/query", { collectionName: "books", filter: "id in [3, 1]", outputFields: ["id", "title", "vector", "tags"], ...STRONG });
    expect([...queried].sort((a: any, b: any) => Number(a.id) - Number(b.id))).toEqual([
      { id: "1", title: "one", tags: ["a"], vector: [1, 0, 0, 0] },
      { id: "3", title: "three", vector: [0, 0, 1, 0] },
    ]);

    expect(await client.ok("entities/query", { collectionName: "books", outputFields: ["count(*)"], ...STRONG })).toEqual([{ "count(*)": "5" }]);
    const exactCount = await client.post("entities/query", { collectionName: "books", outputFields: ["count(*)"], ...STRONG }, { "Accept-Type-Allow-Int64": "true" });
    expect(exactCount.text).toContain('"count(*)":5');

    const got = await client.ok("entities/get", { collectionName: "books", id: ["9007199254740993", 2], outputFields: ["id", "title"], ...STRONG });
    expect([...got].sort((a: any, b: any) => a.title.localeCompare(b.title))).toEqual([{ id: "9007199254740993", title: "big" }, { id: "2", title: "two" }]);
    // With Accept-Type-Allow-Int64 the same id is an exact JSON number, never a rounded double.
    const exactGet = await client.post("entities/get", { collectionName: "books", id: "9007199254740993", outputFields: ["id"], ...STRONG }, { "Accept-Type-Allow-Int64": "true" });
    expect(exactGet.text).toBe('{"code":0,"cost":0,"data":[{"id":9007199254740993}]}');

    expect(await client.ok("entities/delete", { collectionName: "books", filter: "id in [2]" })).toEqual({ deleteCount: 1 });
    expect(await client.ok("entities/get", { collectionName: "books", id: 2, ...STRONG })).toEqual([]);
    expect(await client.ok("entities/query", { collectionName: "books", outputFields: ["count(*)"], ...STRONG })).toEqual([{ "count(*)": "4" }]);

    const upserted = await client.ok("entities/upsert", { collectionName: "books", data: [{ id: 1, vector: [1, 0, 0, 0], title: "one, revised" }] });
    expect(upserted).toEqual({ upsertCount: 1, upsertIds: ["1"] });
    expect(await client.ok("entities/get", { collectionName: "books", id: [1], outputFields: ["title"], ...STRONG })).toEqual([{ id: "1", title: "one, revised" }]);
    expect(await client.ok("entities/query", { collectionName: "books", outputFields: ["count(*)"], ...STRONG })).toEqual([{ "count(*)": "4" }]);
    expect(await client.ok("collections/get_stats", { collectionName: "books" })).toEqual({ rowCount: 4 });

    // Query without outputFields returns every field, dynamic keys flattened.
    const whole = await client.ok("entities/query", { collectionName: "books", filter: "id == 4", ...STRONG });
    expect(whole).toEqual([{ id: "4", vector: [0.5, 0.5, 0, 0], title: "four" }]);

    expect(await client.ok("collections/release", { collectionName: "books" })).toEqual({});
    expect(await client.ok("collections/get_load_state", { collectionName: "books" })).toEqual({ loadState: "LoadStateNotLoad" });
    const unloaded = await client.post("entities/search", { collectionName: "books", data: [[1, 0, 0, 0]] });
    expect(unloaded.envelope.code).toBe(101);
    expect(await client.ok("collections/load", { collectionName: "books" })).toEqual({});
    expect(await client.ok("entities/get", { collectionName: "books", id: 3, outputFields: ["title"], ...STRONG })).toEqual([{ id: "3", title: "three" }]);

    expect(await client.ok("collections/drop", { collectionName: "books" })).toEqual({});
    expect(await client.ok("collections/has", { collectionName: "books" })).toEqual({ has: false });
    expect(await client.ok("collections/list", {})).not.toContain("books");
  });

  it("orders hits by each metric and reports its distances", async () => {
    const rows = [
      { id: 1, vector: [1, 0] }, { id: 2, vector: [2, 0.2] }, { id: 3, vector: [0, 1] }, { id: 4, vector: [0.5, 0.5] },
    ];
    const expected: Record<string, { ids: string[]; distances: number[] }> = {
      L2: { ids: ["1", "4", "2", "3"], distances: [0, 0.5, 1.04, 2] },
      IP: { ids: ["2", "1", "4", "3"], distances: [2, 1, 0.5, 0] },
      COSINE: { ids: ["1", "2", "4", "3"], distances: [1, 2 / Math.sqrt(4.04), Math.SQRT1_2, 0] },
    };
    for (const [metric, want] of Object.entries(expected)) {
      const name = `metric_${metric.toLowerCase()}`;
      await client.ok("collections/create", { collectionName: name, dimension: 2, metricType: metric });
      await client.ok("entities/insert", { collectionName: name, data: rows });
      const hits = await client.ok("entities/search", { collectionName: name, data: [[1, 0]], limit: 4, searchParams: { metricType: metric }, ...STRONG });
      expect(ids(hits), metric).toEqual(want.ids);
      hits.forEach((hit: any, index: number) => expect(hit.distance, `${metric} hit ${index}`).toBeCloseTo(want.distances[index] as number, 5));
      const offset = await client.ok("entities/search", { collectionName: name, data: [[1, 0]], limit: 2, offset: 1, ...STRONG });
      expect(ids(offset), `${metric} with offset`).toEqual(want.ids.slice(1, 3));
      await client.ok("collections/drop", { collectionName: name });
    }
  });

  it("creates a collection from a schema with indexParams and round-trips every field type", async () => {
    await client.ok("collections/create", {
      collectionName: "articles",
      schema: {
        autoID: false, enableDynamicField: false,
        fields: [
          { fieldName: "article_id", dataType: "Int64", isPrimary: true },
          { fieldName: "embedding", dataType: "FloatVector", elementTypeParams: { dim: "3" } },
          { fieldName: "title", dataType: "VarChar", elementTypeParams: { max_length: 64 } },
          { fieldName: "score", dataType: "Float" },
          { fieldName: "rank", dataType: "Int32" },
          { fieldName: "weight", dataType: "Double" },
          { fieldName: "meta", dataType: "JSON" },
          { fieldName: "flag", dataType: "Bool" },
          { fieldName: "views", dataType: "Int64", nullable: true },
        ],
      },
      indexParams: [{ fieldName: "embedding", indexName: "emb_idx", metricType: "IP", params: { index_type: "AUTOINDEX" } }],
    });
    const described = await client.ok("collections/describe", { collectionName: "articles" });
    expect(["LoadStateLoading", "LoadStateLoaded"]).toContain(described.load);
    expect(described.enableDynamicField).toBe(false);
    expect(described.fields.map((field: any) => [field.name, field.type])).toEqual([
      ["article_id", "Int64"], ["embedding", "FloatVector"], ["title", "VarChar"], ["score", "Float"], ["rank", "Int32"],
      ["weight", "Double"], ["meta", "JSON"], ["flag", "Bool"], ["views", "Int64"],
    ]);
    expect(described.fields[2].params).toEqual([{ key: "max_length", value: "64" }]);
    expect(await client.ok("indexes/list", { collectionName: "articles" })).toEqual(["emb_idx"]);
    expect(await client.ok("indexes/describe", { collectionName: "articles", indexName: "emb_idx" })).toEqual([{
      indexName: "emb_idx", fieldName: "embedding", indexType: "AUTOINDEX", metricType: "IP", totalRows: 0, pendingRows: 0, indexedRows: 0, indexState: "Finished", failReason: "",
    }]);

    // Int64 values beyond 2^53 as JSON numbers; a JSON field as an object or as JSON text.
    await client.ok("entities/insert", `{"collectionName": "articles", "data": [
      {"article_id": 9223372036854775807, "embedding": [0.1, 0.2, 0.3], "title": "max", "score": 0.1, "rank": -7, "weight": 0.1,
       "meta": {"n": 1, "tags": ["x"]}, "flag": true, "views": 9007199254740993},
      {"article_id": -5, "embedding": [1, 1, 1], "title": "neg", "score": 2.5, "rank": 0, "weight": 1e-300, "meta": "[1,2]", "flag": false, "views": null}]}`);
    const rows = await client.ok("entities/query", { collectionName: "articles", filter: "article_id in [9223372036854775807, -5]", ...STRONG });
    const byId = Object.fromEntries(rows.map((row: any) => [row.article_id, row]));
    expect(byId["9223372036854775807"]).toEqual({
      article_id: "9223372036854775807", embedding: [0.1, 0.2, 0.3], title: "max", score: 0.1, rank: -7, weight: 0.1,
      meta: '{"n":1,"tags":["x"]}', flag: true, views: "9007199254740993",
    });
    // Float values are written as float32 decimals, as Milvus writes them.
    const raw = await client.post("entities/get", { collectionName: "articles", id: "9223372036854775807", outputFields: ["score", "embedding"], ...STRONG });
    expect(raw.text).toContain('"score":0.1');
    expect(raw.text).toContain('"embedding":[0.1,0.2,0.3]');
    expect(byId["-5"]).toEqual({ article_id: "-5", embedding: [1, 1, 1], title: "neg", score: 2.5, rank: 0, weight: 1e-300, meta: "[1,2]", flag: false, views: null });

    const hits = await client.ok("entities/search", { collectionName: "articles", annsField: "embedding", data: [[1, 1, 1]], limit: 2, outputFields: ["title"], ...STRONG });
    expect(hits.map((hit: any) => [hit.article_id, hit.title])).toEqual([["-5", "neg"], ["9223372036854775807", "max"]]);
    expect(hits[0].distance).toBeCloseTo(3, 5);
    expect(hits[1].distance).toBeCloseTo(0.6, 5);
    await client.ok("collections/drop", { collectionName: "articles" });
  });

  it("sends integers beyond 2^53 as JSON numbers and keeps them exact", async () => {
    await client.ok("collections/create", { collectionName: "exact", dimension: 2 });
    const body = '{"collectionName": "exact", "data": [{"id": 9223372036854775807, "vector": [1, 2]}, {"id": -9223372036854775808, "vector": [2, 1]}]}';
    const inserted = await client.post("entities/insert", body, { "Accept-Type-Allow-Int64": "true" });
    expect(inserted.text).toBe('{"code":0,"cost":0,"data":{"insertCount":2,"insertIds":[9223372036854775807,-9223372036854775808]}}');
    const got = await client.post("entities/get", '{"collectionName": "exact", "id": [9223372036854775807], "outputFields": ["id"], "consistencyLevel": "Strong"}');
    expect(got.envelope.data).toEqual([{ id: "9223372036854775807" }]);
    const deleted = await client.ok("entities/delete", '{"collectionName": "exact", "filter": "id in [-9223372036854775808]"}');
    expect(deleted).toEqual({ deleteCount: 1 });
    expect(await client.ok("entities/query", { collectionName: "exact", outputFields: ["count(*)"], ...STRONG })).toEqual([{ "count(*)": "1" }]);
    await client.ok("collections/drop", { collectionName: "exact" });
  });

  it("quick-creates VarChar keys and auto ids", async () => {
    await client.ok("collections/create", { collectionName: "named", dimension: 2, idType: "VarChar", primaryFieldName: "key", vectorFieldName: "emb", params: { max_length: 16 } });
    expect(await client.ok("entities/insert", { collectionName: "named", data: [{ key: 'a"b', emb: [1, 0] }, { key: "c\\d", emb: [0, 1] }] })).toEqual({ insertCount: 2, insertIds: ['a"b', "c\\d"] });
    const got = await client.ok("entities/get", { collectionName: "named", id: ['a"b', "c\\d"], outputFields: ["key"], ...STRONG });
    expect(got.map((row: any) => row.key).sort()).toEqual(['a"b', "c\\d"]);
    const hits = await client.ok("entities/search", { collectionName: "named", data: [[0, 1]], limit: 1, ...STRONG });
    expect(hits).toEqual([{ key: "c\\d", distance: 1 }]);

    await client.ok("collections/create", { collectionName: "auto", dimension: 2, autoId: true });
    const auto = await client.ok("entities/insert", { collectionName: "auto", data: [{ vector: [1, 0] }, { vector: [0, 1] }] });
    expect(auto.insertCount).toBe(2);
    expect(auto.insertIds).toHaveLength(2);
    for (const id of auto.insertIds) expect(id).toMatch(/^\d+$/);
    expect(await client.ok("entities/get", { collectionName: "auto", id: auto.insertIds, outputFields: ["vector"], ...STRONG })).toHaveLength(2);
    await client.ok("collections/drop", { collectionName: "named" });
    await client.ok("collections/drop", { collectionName: "auto" });
  });

  it("manages partitions", async () => {
    await client.ok("collections/create", { collectionName: "shelves", dimension: 2 });
    expect(await client.ok("partitions/create", { collectionName: "shelves", partitionName: "top" })).toEqual({});
    expect(await client.ok("partitions/has", { collectionName: "shelves", partitionName: "top" })).toEqual({ has: true });
    expect(await client.ok("partitions/has", { collectionName: "shelves", partitionName: "bottom" })).toEqual({ has: false });
    expect(await client.ok("partitions/list", { collectionName: "shelves" })).toEqual(["_default", "top"]);
    await client.ok("entities/insert", { collectionName: "shelves", partitionName: "top", data: [{ id: 1, vector: [1, 0] }, { id: 2, vector: [0, 1] }] });
    await client.ok("entities/insert", { collectionName: "shelves", data: [{ id: 3, vector: [1, 1] }] });
    const top = await client.ok("entities/query", { collectionName: "shelves", partitionNames: ["top"], outputFields: ["id"], ...STRONG });
    expect(ids(top).sort()).toEqual(["1", "2"]);
    const hits = await client.ok("entities/search", { collectionName: "shelves", partitionNames: ["_default"], data: [[1, 0]], limit: 5, ...STRONG });
    expect(ids(hits)).toEqual(["3"]);
    expect(await client.ok("partitions/get_stats", { collectionName: "shelves", partitionName: "top" })).toEqual({ rowCount: 2 });

    const loadedDrop = await client.post("partitions/drop", { collectionName: "shelves", partitionName: "top" });
    expect(loadedDrop.envelope.code).toBe(1100);
    expect(await client.ok("partitions/release", { collectionName: "shelves", partitionNames: ["top"] })).toEqual({});
    expect(await client.ok("collections/get_load_state", { collectionName: "shelves", partitionNames: ["top"] })).toEqual({ loadState: "LoadStateNotLoad" });
    expect(await client.ok("partitions/load", { collectionName: "shelves", partitionNames: ["top"] })).toEqual({});
    expect(ids(await client.ok("entities/get", { collectionName: "shelves", id: [1, 3], outputFields: ["id"], ...STRONG })).sort()).toEqual(["1", "3"]);
    expect(await client.ok("collections/get_load_state", { collectionName: "shelves", partitionNames: ["top"] })).toEqual({ loadState: "LoadStateLoaded", loadProgress: 100 });
    await client.ok("collections/release", { collectionName: "shelves" });
    expect(await client.ok("partitions/drop", { collectionName: "shelves", partitionName: "top" })).toEqual({});
    expect(await client.ok("partitions/list", { collectionName: "shelves" })).toEqual(["_default"]);
    await client.ok("collections/drop", { collectionName: "shelves" });
  });

  it("manages aliases, renames collections and reads through an alias", async () => {
    await client.ok("collections/create", { collectionName: "first", dimension: 2 });
    await client.ok("collections/create", { collectionName: "second", dimension: 2 });
    await client.ok("entities/insert", { collectionName: "first", data: [{ id: 10, vector: [1, 0] }] });
    await client.ok("entities/insert", { collectionName: "second", data: [{ id: 20, vector: [1, 0] }] });
    expect(await client.ok("aliases/create", { collectionName: "first", aliasName: "current" })).toEqual({});
    expect(await client.ok("aliases/describe", { aliasName: "current" })).toEqual({ dbName: "default", collectionName: "first", aliasName: "current" });
    expect(await client.ok("aliases/list", {})).toEqual(["current"]);
    expect(await client.ok("aliases/list", { collectionName: "second" })).toEqual([]);
    expect(ids(await client.ok("entities/search", { collectionName: "current", data: [[1, 0]], ...STRONG }))).toEqual(["10"]);
    expect((await client.ok("collections/describe", { collectionName: "first" })).aliases).toEqual(["current"]);

    expect(await client.ok("aliases/alter", { collectionName: "second", aliasName: "current" })).toEqual({});
    expect(ids(await client.ok("entities/search", { collectionName: "current", data: [[1, 0]], ...STRONG }))).toEqual(["20"]);
    expect(await client.ok("aliases/drop", { aliasName: "current" })).toEqual({});
    expect((await client.post("aliases/describe", { aliasName: "current" })).envelope.code).toBe(1600);

    expect(await client.ok("collections/rename", { collectionName: "first", newCollectionName: "renamed" })).toEqual({});
    expect(await client.ok("collections/has", { collectionName: "first" })).toEqual({ has: false });
    expect(ids(await client.ok("entities/get", { collectionName: "renamed", id: 10, ...STRONG }))).toEqual(["10"]);
    await client.ok("collections/drop", { collectionName: "renamed" });
    await client.ok("collections/drop", { collectionName: "second" });
  });

  it("creates, describes and drops indexes", async () => {
    await client.ok("collections/create", {
      collectionName: "plain",
      schema: { fields: [{ fieldName: "pk", dataType: "Int64", isPrimary: true }, { fieldName: "v", dataType: "FloatVector", elementTypeParams: { dim: 2 } }] },
    });
    expect(await client.ok("collections/get_load_state", { collectionName: "plain" })).toEqual({ loadState: "LoadStateNotLoad" });
    expect(await client.ok("indexes/list", { collectionName: "plain" })).toEqual([]);
    expect(await client.ok("indexes/create", { collectionName: "plain", indexParams: [{ fieldName: "v", metricType: "L2", indexType: "FLAT" }] })).toEqual({});
    expect(await client.ok("indexes/list", { collectionName: "plain" })).toEqual(["v"]);
    expect(await client.ok("indexes/describe", { collectionName: "plain", indexName: "v" })).toMatchObject([{ indexName: "v", fieldName: "v", indexType: "FLAT", metricType: "L2" }]);
    expect(await client.ok("indexes/drop", { collectionName: "plain", indexName: "v" })).toEqual({});
    expect(await client.ok("indexes/list", { collectionName: "plain" })).toEqual([]);
    expect((await client.post("indexes/describe", { collectionName: "plain", indexName: "v" })).envelope.code).toBe(700);
    await client.ok("collections/drop", { collectionName: "plain" });
  });

  it("manages databases and scopes collections by dbName or the DB-Name header", async () => {
    expect(await client.ok("databases/create", { dbName: "library", properties: { "database.replica.number": 1 } })).toEqual({});
    expect(await client.ok("databases/list", {})).toEqual(["default", "library"]);
    const described = await client.ok("databases/describe", { dbName: "library" });
    expect(described.dbName).toBe("library");
    expect(typeof described.dbID).toBe("number");
    await client.ok("collections/create", { dbName: "library", collectionName: "shelved", dimension: 2 });
    await client.ok("collections/create", { collectionName: "headed", dimension: 2 }, { "DB-Name": "library" });
    expect(await client.ok("collections/list", { dbName: "library" })).toEqual(["shelved", "headed"]);
    expect(await client.ok("collections/list", {})).not.toContain("shelved");
    expect(await client.ok("collections/has", { collectionName: "headed" })).toEqual({ has: false });

    const notEmpty = await client.post("databases/drop", { dbName: "library" });
    expect(notEmpty.envelope.code).toBe(1100);
    await client.ok("collections/drop", { dbName: "library", collectionName: "shelved" });
    await client.ok("collections/drop", { collectionName: "headed" }, { "DB-Name": "library" });
    expect(await client.ok("databases/drop", { dbName: "library" })).toEqual({});
    expect(await client.ok("databases/list", {})).toEqual(["default"]);
    expect((await client.post("databases/describe", { dbName: "library" })).envelope.code).toBe(800);
    expect((await client.post("collections/list", { dbName: "library" })).envelope.code).toBe(800);
  });
});
