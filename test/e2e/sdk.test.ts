// End to end through the official Milvus Node SDK (@zilliz/milvus2-sdk-node) against a standalone Vela
// serving gRPC on its public port: the whole flow of a user, and the error cases a user meets.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataType, MilvusClient } from "@zilliz/milvus2-sdk-node";
import { Standalone } from "../../cluster/standalone.ts";
import { scratchDir } from "../servers/ports.ts";

let vela: Standalone;
let client: MilvusClient;
let port = 0;

beforeAll(async () => {
  vela = await Standalone.start({ dataDir: scratchDir("sdk"), fsync: false, computePoolLimits: { workerCount: 1 }, timeSyncLimits: { tickIntervalMs: 50 } });
  const server = await vela.listen({ port: 0, host: "127.0.0.1", httpHandler: (_request, response) => { response.writeHead(404); response.end(); } });
  port = server.port;
  client = new MilvusClient({ address: `127.0.0.1:${port}`, logLevel: "error" });
  await client.connectPromise;
});

afterAll(async () => {
  await client?.closeConnection();
  await vela?.close();
});

const STRONG = "Strong" as never;

function vectorOf(i: number): number[] {
  return [Math.cos(i), Math.sin(i), i / 10, 1];
}

describe("a user's whole flow through the SDK", () => {
  it("creates, indexes, loads, writes, searches, queries, counts, deletes, upserts, and drops", async () => {
    const created = await client.createCollection({
      collection_name: "books",
      fields: [
        { name: "id", data_type: DataType.Int64, is_primary_key: true },
        { name: "vector", data_type: DataType.FloatVector, dim: 4 },
        { name: "title", data_type: DataType.VarChar, max_length: 64 },
        { name: "year", data_type: DataType.Int32 },
        { name: "price", data_type: DataType.Double },
        { name: "in_stock", data_type: DataType.Bool },
        { name: "tags", data_type: DataType.JSON },
      ],
      enable_dynamic_field: true,
      consistency_level: "Strong" as never,
    });
    expect(created.error_code).toBe("Success");

    const description = await client.describeCollection({ collection_name: "books" });
    expect(description.status.error_code).toBe("Success");
    expect(description.schema.fields.map((field) => field.name)).toEqual(["id", "vector", "title", "year", "price", "in_stock", "tags"]);
    expect(description.schema.fields.find((field) => field.name === "vector")?.type_params).toEqual(expect.arrayContaining([{ key: "dim", value: "4" }]));
    expect(description.schema.fields[0]?.fieldID).toBe("100");
    expect(description.consistency_level).toBe("Strong");
    expect(Number(description.collectionID)).toBeGreaterThan(0);

    expect((await client.createIndex({ collection_name: "books", field_name: "vector", index_type: "FLAT", metric_type: "L2" })).error_code).toBe("Success");
    const index = await client.describeIndex({ collection_name: "books", field_name: "vector" });
    expect(index.index_descriptions[0]?.index_name).toBe("vector");
    expect((await client.loadCollectionSync({ collection_name: "books" })).error_code).toBe("Success");
    expect((await client.getLoadState({ collection_name: "books" })).state).toBe("LoadStateLoaded");

    const rows = Array.from({ length: 30 }, (_, i) => ({
      id: i + 1, vector: vectorOf(i + 1), title: `book ${i + 1}`, year: 1990 + i, price: 10 + i / 2, in_stock: i % 2 === 0,
      tags: { genre: i % 3 === 0 ? "sf" : "crime", n: i }, shelf: `s${i % 4}`,
    }));
    const inserted = await client.insert({ collection_name: "books", data: rows });
    expect(inserted.status.error_code).toBe("Success");
    expect(Number(inserted.insert_cnt)).toBe(30);
    expect((inserted.IDs as unknown as { int_id: { data: string[] } }).int_id.data.map(Number)).toEqual(rows.map((row) => row.id));

    // L2 (the index metric): the nearest of vectorOf(7) is id 7 itself, at distance 0.
    const l2 = await client.search({ collection_name: "books", data: vectorOf(7), limit: 3, output_fields: ["title", "year", "tags", "shelf"], consistency_level: STRONG });
    expect(l2.status.error_code).toBe("Success");
    expect(l2.results[0]).toMatchObject({ id: "7", title: "book 7", year: 1996, shelf: "s2" });
    expect(l2.results[0]?.score).toBeCloseTo(0, 5);
    expect(l2.results[0]?.tags).toEqual({ genre: "sf", n: 6 });
    expect(l2.results.map((hit) => hit.score)).toEqual([...l2.results.map((hit) => hit.score)].sort((a, b) => a - b));

    // nq > 1 with an offset, every metric; IP and COSINE need their own index, so use a second collection.
    const twoQueries = await client.search({ collection_name: "books", data: [vectorOf(3), vectorOf(20)], limit: 2, offset: 1, consistency_level: STRONG });
    expect(twoQueries.results).toHaveLength(2);
    expect((twoQueries.results as unknown as Array<Array<{ id: string }>>).map((hits) => hits.length)).toEqual([2, 2]);
    expect((twoQueries.results as unknown as Array<Array<{ id: string }>>)[0]?.[0]?.id).not.toBe("3");

    const query = await client.query({ collection_name: "books", filter: "id in [2, 4, 999]", output_fields: ["title", "price", "in_stock", "vector"], consistency_level: STRONG });
    expect(query.status.error_code).toBe("Success");
    expect(query.data.map((row) => row.id)).toEqual(["2", "4"]);
    expect(query.data[0]).toMatchObject({ title: "book 2", price: 10.5, in_stock: false });
    expect((query.data[0]?.vector as number[]).map((x) => Number(x.toFixed(5)))).toEqual(vectorOf(2).map((x) => Number(Math.fround(x).toFixed(5))));

    expect((await client.count({ collection_name: "books" })).data).toBe(30);
    const deleted = await client.delete({ collection_name: "books", filter: "id in [1, 2, 3]" });
    expect(deleted.status.error_code).toBe("Success");
    expect(Number(deleted.delete_cnt)).toBe(3);
    expect((await client.count({ collection_name: "books" })).data).toBe(27);

    const upserted = await client.upsert({ collection_name: "books", data: [{ ...rows[9]!, title: "renamed", year: 2024 }, { ...rows[0]!, title: "back" }] });
    expect(upserted.status.error_code).toBe("Success");
    expect((await client.count({ collection_name: "books" })).data).toBe(28);
    const afterUpsert = await client.query({ collection_name: "books", filter: "id in [10, 1]", output_fields: ["title", "year"], consistency_level: STRONG });
    expect(afterUpsert.data.map((row) => [row.id, row.title, row.year]).sort()).toEqual([["1", "back", 1990], ["10", "renamed", 2024]]);

    const stats = await client.getCollectionStatistics({ collection_name: "books" });
    expect(stats.status.error_code).toBe("Success");
    expect(Number(stats.data.row_count)).toBe(28);

    const flush = await client.flushSync({ collection_names: ["books"] });
    expect(flush.status.error_code).toBe("Success");

    // Partitions.
    expect((await client.createPartition({ collection_name: "books", partition_name: "archive" })).error_code).toBe("Success");
    expect((await client.hasPartition({ collection_name: "books", partition_name: "archive" })).value).toBe(true);
    const partitions = await client.showPartitions({ collection_name: "books" });
    expect(partitions.partition_names).toEqual(["_default", "archive"]);
    await client.insert({ collection_name: "books", partition_name: "archive", data: [{ id: 100, vector: vectorOf(100), title: "old", year: 1900, price: 1, in_stock: false, tags: {} }] });
    const inArchive = await client.query({ collection_name: "books", partition_names: ["archive"], filter: "id in [100, 4]", output_fields: ["title"], consistency_level: STRONG });
    expect(inArchive.data.map((row) => row.id)).toEqual(["100"]);
    expect((await client.count({ collection_name: "books" })).data).toBe(29);

    // Aliases.
    expect((await client.createAlias({ collection_name: "books", alias: "library" })).error_code).toBe("Success");
    const viaAlias = await client.query({ collection_name: "library", filter: "id == 4", output_fields: ["title"], consistency_level: STRONG });
    expect(viaAlias.data).toEqual([{ id: "4", title: "book 4" }]);
    expect((await client.describeAlias({ alias: "library", collection_name: "books" })).collection).toBe("books");
    expect((await client.listAliases({ collection_name: "books" })).aliases).toEqual(["library"]);
    expect((await client.dropAlias({ alias: "library" })).error_code).toBe("Success");

    // Listing and renaming.
    const listed = await client.showCollections();
    expect(listed.data.map((collection) => collection.name)).toContain("books");
    expect((await client.hasCollection({ collection_name: "books" })).value).toBe(true);

    // Release, drop index and collection.
    expect((await client.releaseCollection({ collection_name: "books" })).error_code).toBe("Success");
    expect((await client.getLoadState({ collection_name: "books" })).state).toBe("LoadStateNotLoad");
    expect((await client.dropIndex({ collection_name: "books", field_name: "vector" })).error_code).toBe("Success");
    expect((await client.renameCollection({ collection_name: "books", new_collection_name: "novels" })).error_code).toBe("Success");
    expect((await client.hasCollection({ collection_name: "novels" })).value).toBe(true);
    expect((await client.dropCollection({ collection_name: "novels" })).error_code).toBe("Success");
    expect((await client.hasCollection({ collection_name: "novels" })).value).toBe(false);
  });

  it("searches with each metric, ordered as Milvus orders it", async () => {
    for (const metric of ["L2", "IP", "COSINE"] as const) {
      const name = `metric_${metric.toLowerCase()}`;
      await client.createCollection({ collection_name: name, fields: [{ name: "id", data_type: DataType.Int64, is_primary_key: true }, { name: "v", data_type: DataType.FloatVector, dim: 3 }] });
      await client.createIndex({ collection_name: name, field_name: "v", index_type: "FLAT", metric_type: metric });
      await client.loadCollectionSync({ collection_name: name });
      await client.insert({ collection_name: name, data: [{ id: 1, v: [1, 0, 0] }, { id: 2, v: [2, 2, 0] }, { id: 3, v: [-1, 0, 0] }, { id: 4, v: [0.9, 0.1, 0] }] });
      const result = await client.search({ collection_name: name, data: [1, 0, 0], limit: 4, consistency_level: STRONG });
      const ids = result.results.map((hit) => hit.id);
      const scores = result.results.map((hit) => hit.score);
      if (metric === "L2") {
        expect(ids).toEqual(["1", "4", "3", "2"]);
        expect(scores[0]).toBeCloseTo(0, 5);
        expect(scores[2]).toBeCloseTo(4, 5);
      } else if (metric === "IP") {
        expect(ids).toEqual(["2", "1", "4", "3"]);
        expect(scores[0]).toBeCloseTo(2, 5);
        expect(scores[3]).toBeCloseTo(-1, 5);
      } else {
        expect(ids).toEqual(["1", "4", "2", "3"]);
        expect(scores[0]).toBeCloseTo(1, 5);
        expect(scores[2]).toBeCloseTo(Math.SQRT1_2, 5);
      }
    }
  });

  it("selects databases with the db_name and dbname header", async () => {
    expect((await client.createDatabase({ db_name: "analytics" })).error_code).toBe("Success");
    expect((await client.listDatabases()).db_names).toEqual(["default", "analytics"]);
    const other = new MilvusClient({ address: `127.0.0.1:${port}`, database: "analytics", logLevel: "error" });
    await other.connectPromise;
    await other.createCollection({ collection_name: "events", dimension: 2 } as never);
    expect((await other.hasCollection({ collection_name: "events" })).value).toBe(true);
    expect((await client.hasCollection({ collection_name: "events" })).value).toBe(false);
    await other.dropCollection({ collection_name: "events" });
    await other.closeConnection();
    expect((await client.dropDatabase({ db_name: "analytics" })).error_code).toBe("Success");
  });

  it("assigns auto IDs on insert and returns them", async () => {
    await client.createCollection({ collection_name: "auto_ids", fields: [{ name: "pk", data_type: DataType.Int64, is_primary_key: true, autoID: true }, { name: "v", data_type: DataType.FloatVector, dim: 2 }] });
    await client.loadCollectionSync({ collection_name: "auto_ids" });
    const inserted = await client.insert({ collection_name: "auto_ids", data: [{ v: [1, 2] }, { v: [3, 4] }, { v: [5, 6] }] });
    expect(inserted.status.error_code).toBe("Success");
    const ids = (inserted.IDs as unknown as { int_id: { data: string[] } }).int_id.data;
    expect(new Set(ids).size).toBe(3);
    const query = await client.query({ collection_name: "auto_ids", filter: `pk in [${ids.join(", ")}]`, output_fields: ["v"], consistency_level: STRONG });
    expect(query.data.map((row) => [row.pk, row.v])).toEqual(ids.map((id, i) => [id, [1 + 2 * i, 2 + 2 * i]]));
  });

  it("filters search, query, count and delete with expressions", async () => {
    await client.createCollection({
      collection_name: "films",
      fields: [
        { name: "id", data_type: DataType.Int64, is_primary_key: true },
        { name: "v", data_type: DataType.FloatVector, dim: 2 },
        { name: "title", data_type: DataType.VarChar, max_length: 64 },
        { name: "year", data_type: DataType.Int32 },
        { name: "meta", data_type: DataType.JSON },
      ],
      enable_dynamic_field: true,
    });
    await client.createIndex({ collection_name: "films", field_name: "v", index_type: "FLAT", metric_type: "L2" });
    await client.loadCollectionSync({ collection_name: "films" });
    const films = Array.from({ length: 20 }, (_, i) => ({
      id: i + 1, v: [i, 0], title: i % 2 === 0 ? `Alien ${i}` : `Brazil ${i}`, year: 1980 + i, meta: { brand: i < 10 ? "Acme" : "Zeta", rating: i % 5 }, color: i % 3 === 0 ? "red" : "blue",
    }));
    await client.insert({ collection_name: "films", data: films });
    const expected = (test: (film: (typeof films)[number]) => boolean): string[] => films.filter(test).map((film) => String(film.id));

    const query = await client.query({ collection_name: "films", filter: 'title like "Alien%" and 1985 <= year < 1995 and meta["brand"] == "Acme"', output_fields: ["title"], consistency_level: STRONG });
    expect(query.data.map((row) => row.id).sort()).toEqual(expected((f) => f.title.startsWith("Alien") && f.year >= 1985 && f.year < 1995 && f.meta.brand === "Acme").sort());
    const templated = await client.query({ collection_name: "films", filter: "color in {colors} and year > {after}", exprValues: { colors: ["red"], after: 1990 }, output_fields: ["color"], consistency_level: STRONG } as never);
    expect(templated.data.map((row) => row.id).sort()).toEqual(expected((f) => f.color === "red" && f.year > 1990).sort());
    expect((await client.count({ collection_name: "films", expr: "meta[\"rating\"] >= 3" } as never)).data).toBe(films.filter((f) => f.meta.rating >= 3).length);

    const search = await client.search({ collection_name: "films", data: [0, 0], limit: 3, filter: "year % 2 == 1", consistency_level: STRONG });
    expect(search.results.map((hit) => hit.id)).toEqual(["2", "4", "6"]);

    const deleted = await client.delete({ collection_name: "films", filter: 'meta["brand"] == "Zeta" or title like "%9"' });
    expect(Number(deleted.delete_cnt)).toBe(films.filter((f) => f.meta.brand === "Zeta" || f.title.endsWith("9")).length);
    expect((await client.count({ collection_name: "films" })).data).toBe(films.filter((f) => !(f.meta.brand === "Zeta" || f.title.endsWith("9"))).length);

    const malformed = await client.query({ collection_name: "films", filter: "year >", output_fields: ["title"] });
    expect(malformed.status.code).toBe(1100);
    expect(malformed.status.reason).toMatch(/^at \d+: /);
  });

  it("answers health and version calls", async () => {
    expect((await client.checkHealth()).isHealthy).toBe(true);
    expect((await client.getVersion()).version).toMatch(/^v\d+\.\d+\.\d+/);
  });
});

describe("errors through the SDK", () => {
  it("reports an unknown collection as CollectionNotExists with code 100", async () => {
    const described = await client.describeCollection({ collection_name: "missing" });
    expect(described.status).toMatchObject({ error_code: "CollectionNotExists", code: 100 });
    expect(described.status.reason).toMatch(/collection "missing" not found/);
    const dropped = await client.dropCollection({ collection_name: "missing" });
    expect(dropped).toMatchObject({ error_code: "CollectionNotExists", code: 100 });
  });

  it("rejects a wrong dimension, bad names, and missing indexes with clear statuses, changing nothing", async () => {
    await client.createCollection({ collection_name: "strict", fields: [{ name: "id", data_type: DataType.Int64, is_primary_key: true }, { name: "v", data_type: DataType.FloatVector, dim: 3 }] });
    await client.loadCollectionSync({ collection_name: "strict" });
    const wrongDim = await client.insert({ collection_name: "strict", data: [{ id: 1, v: [1, 2] }] });
    expect(wrongDim.status.code).toBe(1100);
    expect(wrongDim.status.reason).toMatch(/dim/);
    expect((await client.count({ collection_name: "strict" })).data).toBe(0);

    // The SDK throws the status of a failed CreateCollection.
    await expect(client.createCollection({ collection_name: "bad-name", fields: [{ name: "id", data_type: DataType.Int64, is_primary_key: true }, { name: "v", data_type: DataType.FloatVector, dim: 3 }] }))
      .rejects.toMatchObject({ error_code: "UnexpectedError", code: 1100, reason: expect.stringMatching(/collection name "bad-name" is invalid/) });
    expect((await client.hasCollection({ collection_name: "bad-name" })).value).toBe(false);

    const noIndex = await client.describeIndex({ collection_name: "strict", field_name: "v" });
    expect(noIndex.status).toMatchObject({ error_code: "IndexNotExist", code: 700 });

    const badSearch = await client.search({ collection_name: "strict", data: [1, 2], limit: 1 });
    expect(badSearch.status.code).toBe(1100);
    expect(badSearch.status.reason).toMatch(/dim/);
  });

  it("creates HNSW and AUTOINDEX indexes, reports their state and progress, and refuses bad index requests with 1100", async () => {
    await client.createCollection({
      collection_name: "graphs",
      fields: [{ name: "id", data_type: DataType.Int64, is_primary_key: true }, { name: "v", data_type: DataType.FloatVector, dim: 4 }, { name: "w", data_type: DataType.FloatVector, dim: 4 }, { name: "n", data_type: DataType.Int32 }],
    });
    const created = await client.createIndex({ collection_name: "graphs", field_name: "v", index_name: "v_hnsw", index_type: "HNSW", metric_type: "IP", params: { M: 8, efConstruction: 64 } });
    expect(created.error_code).toBe("Success");
    expect((await client.createIndex({ collection_name: "graphs", field_name: "w", index_type: "AUTOINDEX", metric_type: "L2" })).error_code).toBe("Success");
    const described = await client.describeIndex({ collection_name: "graphs", index_name: "v_hnsw" });
    expect(described.status.error_code).toBe("Success");
    const [description] = described.index_descriptions;
    expect(description).toMatchObject({ index_name: "v_hnsw", field_name: "v", state: "Finished", indexed_rows: "0", total_rows: "0", pending_index_rows: "0", index_state_fail_reason: "" });
    const params = Object.fromEntries((description?.params ?? []).map((pair) => [pair.key, pair.value]));
    expect(params).toEqual({ index_type: "HNSW", metric_type: "IP", params: '{"M":8,"efConstruction":64}' });
    const auto = (await client.describeIndex({ collection_name: "graphs", field_name: "w" })).index_descriptions[0];
    expect(Object.fromEntries((auto?.params ?? []).map((pair) => [pair.key, pair.value]))).toEqual({ index_type: "AUTOINDEX", metric_type: "L2", params: "{}" });
    expect(await client.getIndexState({ collection_name: "graphs", field_name: "v" })).toMatchObject({ status: { error_code: "Success" }, state: "Finished", fail_reason: "" });
    expect(await client.getIndexBuildProgress({ collection_name: "graphs", field_name: "v" })).toMatchObject({ status: { error_code: "Success" }, indexed_rows: "0", total_rows: "0" });

    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ field_name: "v", index_name: "x", index_type: "IVF_SQ8", metric_type: "IP", params: { nlist: 128 } }, /index type IVF_SQ8 is not supported/],
      [{ field_name: "v", index_name: "x", index_type: "NSG", metric_type: "IP" }, /unknown index type "NSG"/],
      [{ field_name: "v", index_name: "x", index_type: "HNSW", metric_type: "IP", params: { M: 0 } }, /M must be in \[2, 2048\]/],
      [{ field_name: "v", index_name: "x", index_type: "HNSW", metric_type: "IP", params: { efConstruction: "x" } }, /efConstruction must be an integer/],
      [{ field_name: "v", index_name: "x", index_type: "HNSW", metric_type: "BM25" }, /metric type "BM25" is not one of L2, IP, COSINE/],
      [{ field_name: "n", index_name: "x", index_type: "HNSW", metric_type: "L2" }, /field "n" is not a vector field/],
      [{ field_name: "v", index_name: "v_hnsw", index_type: "HNSW", metric_type: "IP", params: { M: 16, efConstruction: 64 } }, /field "v" already has index "v_hnsw" \(HNSW, IP, M 8, efConstruction 64\)/],
    ];
    for (const [request, reason] of bad) {
      const status = await client.createIndex({ collection_name: "graphs", ...request } as never);
      expect(status, JSON.stringify(request)).toMatchObject({ error_code: "UnexpectedError", code: 1100 });
      expect(status.reason).toMatch(reason);
    }
    expect((await client.describeIndex({ collection_name: "graphs" })).index_descriptions.map((index) => index.index_name).sort()).toEqual(["v_hnsw", "w"]);
    expect((await client.getIndexState({ collection_name: "graphs", field_name: "n" })).status).toMatchObject({ error_code: "IndexNotExist", code: 700 });
    expect((await client.dropIndex({ collection_name: "graphs", field_name: "v" })).error_code).toBe("Success");
    expect((await client.dropCollection({ collection_name: "graphs" })).error_code).toBe("Success");
  });

  it("answers an RPC Vela does not implement with a clear not-supported status, without hanging", async () => {
    const result = await client.listResourceGroups();
    expect(result.status.error_code).toBe("UnexpectedError");
    expect(result.status.reason).toMatch(/RPC ListResourceGroups is not supported by Vela/);
    const compaction = await client.compact({ collection_name: "strict" });
    expect(compaction.status.reason).toMatch(/not supported/);
  });

  it("refuses to search a collection that is not loaded", async () => {
    await client.createCollection({ collection_name: "cold", fields: [{ name: "id", data_type: DataType.Int64, is_primary_key: true }, { name: "v", data_type: DataType.FloatVector, dim: 2 }] });
    const result = await client.search({ collection_name: "cold", data: [1, 2], limit: 1 });
    expect(result.status.code).toBe(101);
    expect(result.status.reason).toMatch(/not loaded/);
  });
});
