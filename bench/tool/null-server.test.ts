// The null Milvus server of the `ceiling` phase: its wire reader against requests encoded by protobufjs
// (random shapes, a model of what Vela reads), and the server itself, started as the child process the
// tool starts and driven by the tool's driver, against a standalone Vela given the same calls: the
// answers must have the same shape (fields, types, lengths), or the ceiling would measure a different
// client path than the one Vela is measured through.

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { promisify, buildSearchRequest } from "@zilliz/milvus2-sdk-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { MILVUS_LOADER_OPTIONS, milvusDescriptor, milvusType } from "../../proxy/grpc/milvus-protocol.ts";
import { insertRowCountOf, searchShapeOf, startNullServer, type StartedNullServer } from "./null-server.ts";
import { VelaDriver } from "./vela-driver.ts";
import { startStandaloneVela, type StartedVela } from "./vela-server.ts";

const seed = testSeed();
console.log(`null-server.test seed ${seed} (VELA_SEED to replay)`);

const searchRequestType = milvusType("milvus.proto.milvus.SearchRequest");
const placeholderGroupType = milvusType("milvus.proto.common.PlaceholderGroup");
const insertRequestType = milvusType("milvus.proto.milvus.InsertRequest");

describe("null server wire reader", () => {
  it("reads nq (the first placeholder's vectors) and topk (else limit, else 10) from random SearchRequests", () => {
    const random = new SeededRandom(seed);
    for (let round = 0; round < 200; round++) {
      const dim = random.int(1, 64);
      const placeholders = Array.from({ length: random.int(1, 3) }, () => ({
        tag: "$0", type: 101, values: Array.from({ length: random.int(1, 20) }, () => random.bytes(dim * 4)),
      }));
      const group = placeholderGroupType.encode(placeholderGroupType.fromObject({ placeholders })).finish();
      const params: Array<{ key: string; value: string }> = [
        { key: "anns_field", value: "vector" }, { key: "params", value: JSON.stringify({ ef: random.int(1, 512) }) },
        { key: "metric_type", value: random.pick(["L2", "IP", ""]) }, { key: "offset", value: String(random.int(0, 9)) },
      ];
      const topk = random.bool(0.7) ? random.int(1, 16_384) : undefined;
      const limit = random.bool(0.5) ? random.int(1, 16_384) : undefined;
      if (topk !== undefined) params.push({ key: "topk", value: String(topk) });
      if (limit !== undefined) params.push({ key: "limit", value: String(limit) });
      params.sort(() => random.next() - 0.5);
      const bytes = searchRequestType.encode(searchRequestType.fromObject({
        collection_name: `c${random.int(0, 1_000)}`, dsl: random.bool() ? `tag < ${random.int(0, 100)}` : "", placeholder_group: group,
        output_fields: random.bool() ? ["tag"] : [], search_params: params, guarantee_timestamp: String(random.int(0, 2 ** 30) * 2 ** 18),
        nq: String(random.int(1, 50)), consistency_level: random.pick(["Strong", "Bounded", "Eventually"]), use_default_consistency: random.bool(),
      })).finish();
      expect(searchShapeOf(bytes), `round ${round}`).toEqual({ nq: placeholders[0]?.values.length, topk: topk ?? limit ?? 10 });
    }
  });

  it("reads num_rows from random InsertRequests and refuses truncated ones", () => {
    const random = new SeededRandom(seed + 1);
    for (let round = 0; round < 100; round++) {
      const rows = random.int(1, 5_000);
      const dim = random.int(1, 16);
      const bytes = insertRequestType.encode(insertRequestType.fromObject({
        collection_name: "c", num_rows: rows, hash_keys: [],
        fields_data: [
          { type: "Int64", field_name: "id", scalars: { long_data: { data: Array.from({ length: rows }, (_, i) => String(i * 1_000_003)) } } },
          { type: "FloatVector", field_name: "vector", vectors: { dim: String(dim), float_vector: { data: Array.from({ length: rows * dim }, () => random.next()) } } },
        ],
      })).finish();
      expect(insertRowCountOf(bytes)).toBe(rows);
      expect(() => insertRowCountOf(bytes.subarray(0, random.int(1, bytes.length - 1)))).toThrow(RangeError);
    }
  });
});

/** A value's shape: leaves become their type, arrays their length and their first element's shape. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return { length: value.length, first: value.length === 0 ? null : shapeOf(value[0]) };
  if (value === null || value === undefined) return String(value);
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([key, inner]) => [key, shapeOf(inner)]));
  return typeof value;
}

describe("null server against Vela", () => {
  const random = new SeededRandom(seed + 2);
  const dim = random.int(2, 32);
  const rows = 200;
  const vectors = Float32Array.from({ length: rows * dim }, () => random.gaussian());
  let vela: StartedVela;
  let nullServer: StartedNullServer;
  let velaDriver: VelaDriver;
  let nullDriver: VelaDriver;

  beforeAll(async () => {
    [vela, nullServer] = await Promise.all([startStandaloneVela(), startNullServer({ dim, rows })]);
    velaDriver = await VelaDriver.connect(vela.address, "null_server_twin");
    nullDriver = await VelaDriver.connect(nullServer.address, "null_server_twin");
    await velaDriver.recreateCollection(dim);
  }, 90_000);

  afterAll(async () => {
    await velaDriver?.close();
    await nullDriver?.close();
    await vela?.stop();
    await nullServer?.stop();
  });

  it("describes the collection the tool creates as Vela does", async () => {
    const describe = (driver: VelaDriver) => driver.client.describeCollection({ collection_name: "null_server_twin" });
    const [fromVela, fromNull] = await Promise.all([describe(velaDriver), describe(nullDriver)]);
    const essentials = (answer: typeof fromVela) => ({
      fields: answer.schema.fields.map((field) => ({ ...field })), autoID: answer.schema.autoID, enableDynamicField: answer.schema.enable_dynamic_field,
      consistency: answer.consistency_level, properties: answer.properties, shards: answer.shards_num, partitions: answer.num_partitions, status: answer.status,
    });
    expect(essentials(fromNull)).toEqual(essentials(fromVela));
    expect(shapeOf(fromNull)).toEqual(shapeOf(fromVela));
  });

  it("acknowledges an insert with the row count, in the shape Vela does", async () => {
    const count = random.int(10, rows);
    expect(await nullDriver.insertRows(vectors, dim, 0, count)).toBe(count);
    const data = Array.from({ length: count }, (_, row) => ({ id: row, vector: Array.from(vectors.subarray(row * dim, (row + 1) * dim)), tag: row % 100 }));
    const insert = (driver: VelaDriver) => driver.client.insert({ collection_name: "null_server_twin", data });
    const [fromVela, fromNull] = await Promise.all([insert(velaDriver), insert(nullDriver)]);
    expect(fromNull.insert_cnt).toBe(String(count));
    expect(fromNull.succ_index).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(shapeOf(fromNull)).toEqual(shapeOf(fromVela));
  });

  it("answers a search with k hits per query, in the shape Vela does", async () => {
    await velaDriver.insertRows(vectors, dim, 0, rows, rows); // keys rows..2·rows-1: none repeats the insert test's
    await velaDriver.flush();
    await velaDriver.createIndex("FLAT", "L2", { M: 16, efConstruction: 200 }, 60_000);
    await velaDriver.load();
    const nq = random.int(2, 6);
    const k = random.int(1, 20);
    const queries = Array.from({ length: nq }, (_, q) => Array.from(vectors.subarray(q * dim, (q + 1) * dim)));

    const hits = await nullDriver.search({ vectors: queries, topk: k, consistency: "Bounded", ef: 64 });
    expect(hits).toHaveLength(nq);
    for (const ids of hits) {
      expect(ids).toHaveLength(k);
      expect(new Set(ids).size).toBe(k);
      for (const id of ids) expect(id >= 0 && id < rows).toBe(true);
    }
    expect(await nullDriver.search({ vectors: [queries[0] as number[]], topk: k, consistency: "Strong" })).toEqual([hits[0]]);

    // The raw answers (before the SDK formats them), for nq queries and k hits.
    const raw = await Promise.all([velaDriver, nullDriver].map(async (driver) => {
      const described = await driver.client.describeCollection({ collection_name: "null_server_twin" });
      const { request } = buildSearchRequest({ collection_name: "null_server_twin", data: queries, limit: k, output_fields: [], params: { ef: 64 }, consistency_level: "Strong" } as never, described, (driver.client as any).milvusProto);
      return promisify((driver.client as any).channelPool, "Search", request, 10_000) as Promise<Record<string, any>>;
    }));
    const [fromVela, fromNull] = raw as [Record<string, any>, Record<string, any>];
    expect(fromVela.results.scores).toHaveLength(nq * k); // Vela had k rows to return
    expect(shapeOf(fromNull)).toEqual(shapeOf(fromVela));
    expect(fromNull.results.topks).toEqual(fromVela.results.topks);
    expect(fromNull.results.output_fields).toEqual(fromVela.results.output_fields);
    expect(fromNull.results.primary_field_name).toBe("id");
  });

  it("answers what it does not implement with UNIMPLEMENTED, and counts every call", async () => {
    // A plain gRPC client: the SDK turns a failed call into an empty answer.
    const loaded = grpc.loadPackageDefinition(protoLoader.fromJSON(milvusDescriptor, MILVUS_LOADER_OPTIONS)) as any;
    const client = new (loaded.milvus.proto.milvus.MilvusService as grpc.ServiceClientConstructor)(nullServer.address, grpc.credentials.createInsecure());
    const failure = await new Promise<grpc.ServiceError | null>((resolve) => {
      (client as any).GetVersion({}, (error: grpc.ServiceError | null) => resolve(error));
    });
    client.close();
    expect(failure?.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(failure?.details).toMatch(/not GetVersion/);
    const exit = await nullServer.stop();
    expect(exit.exitCode).toBe(0);
    expect(exit.calls.Search).toBe(3);
    expect(exit.calls.Insert).toBe(2);
    expect(exit.calls.GetVersion).toBe(1);
  });
});
