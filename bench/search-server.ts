// Benchmark (a script, not a test): what one search costs Vela itself, apart from the client. The
// reference data set (100,000 × 128, 100 clusters, seed 42, HNSW M 16 / efConstruction 200) is
// searched at ef 64, k 10 by two kinds of client against the same standalone:
//
//   raw  a plain @grpc/grpc-js client sending SearchRequests encoded once up front and decoding only
//        the ids of the answers: next to nothing per call, so Vela's own cost decides the figures;
//   sdk  the official Node SDK, as `vela bench` drives Vela (it costs the client about 2 ms per search).
//
// For each client and concurrency it prints queries/s, p50/p99, recall@10, and the CPU per search of
// the Vela process (all its threads, from /proc) and of this process.
//
//   npx tsx bench/search-server.ts                   # starts a standalone, ingests, builds (minutes)
//   VELA_BENCH_DATA_DIR=/tmp/vela-search npx tsx bench/search-server.ts   # keep the data for reruns
//   VELA_BENCH_ADDRESS=127.0.0.1:19530 VELA_BENCH_PID=1234 npx tsx bench/search-server.ts
//
// Environment: VELA_BENCH_SECONDS per level (10), VELA_BENCH_CONCURRENCY (1,16), VELA_BENCH_COLLECTION,
// VELA_BENCH_CLIENTS (raw,sdk), VELA_BENCH_ROUNDS (1: each level once; more interleave the clients).

import { cpuUsage } from "node:process";
import * as grpc from "@grpc/grpc-js";
import { loadavg } from "node:os";
import { milvusType } from "../proxy/grpc/milvus-protocol.ts";
import { generateDataSet } from "./tool/dataset.ts";
import { groundTruthFor } from "./tool/ground-truth.ts";
import { runLoad } from "./tool/load.ts";
import { recallAtK } from "./tool/stats.ts";
import { VelaDriver, queryPointsOf } from "./tool/vela-driver.ts";
import { processCpuSeconds, startStandaloneVela, type StartedVela } from "./tool/vela-server.ts";

const collection = process.env.VELA_BENCH_COLLECTION ?? "vela_search_bench";
const k = 10;
const ef = 64;
const seconds = Number(process.env.VELA_BENCH_SECONDS ?? "10");
const concurrencies = (process.env.VELA_BENCH_CONCURRENCY ?? "1,16").split(",").map(Number);
const clients = (process.env.VELA_BENCH_CLIENTS ?? "raw,sdk").split(",");
const rounds = Number(process.env.VELA_BENCH_ROUNDS ?? "1");

const SearchRequest = milvusType("milvus.proto.milvus.SearchRequest");
const SearchResults = milvusType("milvus.proto.milvus.SearchResults");
const PlaceholderGroup = milvusType("milvus.proto.common.PlaceholderGroup");

const dataSet = generateDataSet({ rows: 100_000, dim: 128, clusters: 100, spread: 0.5, queries: 1_000, seed: 42 });
const { dim, queryCount } = dataSet;
const truth = (await groundTruthFor({ dataSet, metric: "L2", k, cacheDir: ".vela-bench-cache" })).truth;

let server: StartedVela | undefined;
let address = process.env.VELA_BENCH_ADDRESS;
let pid = Number(process.env.VELA_BENCH_PID ?? "0");
if (address === undefined) {
  server = await startStandaloneVela({ ...(process.env.VELA_BENCH_DATA_DIR === undefined ? {} : { dataDir: process.env.VELA_BENCH_DATA_DIR }) });
  address = server.address;
  pid = server.pid;
}

const driver = await VelaDriver.connect(address, collection);
try {
  if (!(await driver.collectionExists()) || (await driver.count().catch(() => 0)) !== dataSet.rows) {
    console.log(`preparing ${collection}: ingest ${dataSet.rows} rows, flush, HNSW build, load (minutes)`);
    await driver.recreateCollection(dim);
    for (let first = 0; first < dataSet.rows; first += 1_000) await driver.insertRows(dataSet.vectors, dim, first, Math.min(1_000, dataSet.rows - first));
    await driver.flush();
    await driver.createIndex("HNSW", "L2", { M: 16, efConstruction: 200 }, 30 * 60_000);
  }
  await driver.load();

  // Every query's request, encoded once: the raw client's per-call work is a write and a decode of ids.
  const requests = Array.from({ length: queryCount }, (_, q) => {
    const vector = Buffer.from(dataSet.queries.slice(q * dim, (q + 1) * dim).buffer);
    const placeholder = PlaceholderGroup.encode({ placeholders: [{ tag: "$0", type: 101, values: [vector] }] }).finish();
    return Buffer.from(SearchRequest.encode(SearchRequest.fromObject({
      collection_name: collection, dsl: "", dsl_type: 1, placeholder_group: placeholder, nq: 1, output_fields: [],
      search_params: [
        { key: "anns_field", value: "vector" }, { key: "topk", value: String(k) }, { key: "metric_type", value: "L2" },
        { key: "params", value: JSON.stringify({ ef }) }, { key: "round_decimal", value: "-1" },
      ],
      consistency_level: 2, // Bounded
    })).finish());
  });
  const raw = new grpc.Client(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  const identity = (buffer: Buffer): Buffer => buffer;
  const rawSearch = (q: number): Promise<number[]> => new Promise((resolve, reject) => {
    raw.makeUnaryRequest("/milvus.proto.milvus.MilvusService/Search", identity, identity, requests[q] as Buffer, (error, answer) => {
      if (error !== null || answer === undefined) {
        reject(error ?? new Error("no answer"));
        return;
      }
      const decoded = SearchResults.decode(answer) as unknown as { status?: { code?: number; reason?: string }; results?: { ids?: { int_id?: { data?: Array<number | { toNumber(): number }> } } } };
      if ((decoded.status?.code ?? 0) !== 0) {
        reject(new Error(decoded.status?.reason ?? "search failed"));
        return;
      }
      resolve((decoded.results?.ids?.int_id?.data ?? []).map((id) => (typeof id === "number" ? id : id.toNumber())));
    });
  });
  const queryPoints = queryPointsOf(dataSet.queries, dim);
  const sdkSearch = async (q: number): Promise<number[]> => (await driver.search({ vectors: [queryPoints[q] as number[]], topk: k, consistency: "Bounded", ef }))[0] ?? [];

  console.log(`search at ef ${ef}, k ${k}, ${seconds} s per level; Vela at ${address}${pid === 0 ? " (its CPU not measured: set VELA_BENCH_PID)" : ` (pid ${pid})`}; load average ${loadavg().map((value) => value.toFixed(2)).join(" ")}`);
  console.log("client  clients  queries/s   p50 ms   p99 ms  recall@10  Vela ms/search  client ms/search");
  for (let round = 0; round < rounds; round++) {
    for (const concurrency of concurrencies) {
      for (const client of clients) {
        const search = client === "raw" ? rawSearch : sdkSearch;
        for (let q = 0; q < 50; q++) await search(q); // warm both ends
        const answers: Array<number[] | undefined> = new Array(queryCount);
        const velaBefore = processCpuSeconds(pid);
        const clientBefore = cpuUsage();
        const outcome = await runLoad({
          concurrency, durationMs: seconds * 1000,
          operation: async (sequence) => {
            const q = sequence % queryCount;
            const ids = await search(q);
            if (answers[q] === undefined) answers[q] = ids;
          },
        });
        const clientCpu = cpuUsage(clientBefore);
        const velaAfter = processCpuSeconds(pid);
        const velaMs = velaBefore === undefined || velaAfter === undefined ? Number.NaN : ((velaAfter - velaBefore) * 1000) / outcome.succeeded;
        const clientMs = (clientCpu.user + clientCpu.system) / 1000 / outcome.succeeded;
        const latency = outcome.latency.summary();
        console.log([
          client.padEnd(6), String(concurrency).padStart(8), ((outcome.succeeded * 1000) / outcome.durationMs).toFixed(1).padStart(10),
          latency.p50Ms.toFixed(2).padStart(8), latency.p99Ms.toFixed(2).padStart(8), recallAtK(answers, truth.ids, truth.width, k).toFixed(4).padStart(10),
          velaMs.toFixed(3).padStart(15), clientMs.toFixed(3).padStart(17), outcome.failed > 0 ? `  ${outcome.failed} errors: ${outcome.errors.summary().first.join("; ")}` : "",
        ].join(" "));
      }
    }
  }
  console.log(`load average at the end ${loadavg().map((value) => value.toFixed(2)).join(" ")}`);
  raw.close();
} finally {
  await driver.close();
  await server?.stop();
}
