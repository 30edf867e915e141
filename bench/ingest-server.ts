// Benchmark (a script, not a test): what one insert costs Vela itself, apart from the client. Batches
// of 1,000 rows × 128 dims (the reference workload's shape: `id` Int64 key, `vector`, `tag` Int32) go
// to a fresh collection of a standalone Vela (embedded seams, fsync on) from two kinds of client:
//
//   raw  a plain @grpc/grpc-js client sending InsertRequests encoded up front, so that its per-call
//        work is a write and the decode of a small answer: Vela's own cost decides the figures;
//   sdk  the official Node SDK, as `vela bench` drives Vela.
//
// For each client and concurrency it prints vectors/s acknowledged (durable in the log), p50/p99 per
// request, and the CPU per 1,000 rows of the Vela process (all its threads, from /proc) and of this one.
//
//   npx tsx bench/ingest-server.ts
//   VELA_BENCH_SECONDS=10 VELA_BENCH_CONCURRENCY=1,4,16 VELA_BENCH_CLIENTS=raw,sdk npx tsx bench/ingest-server.ts

import { loadavg } from "node:os";
import { cpuUsage } from "node:process";
import * as grpc from "@grpc/grpc-js";
import { milvusType } from "../proxy/grpc/milvus-protocol.ts";
import { generateDataSet } from "./tool/dataset.ts";
import { runLoad } from "./tool/load.ts";
import { VelaDriver } from "./tool/vela-driver.ts";
import { processCpuSeconds, startStandaloneVela } from "./tool/vela-server.ts";

const dim = 128;
const batchRows = 1_000;
const seconds = Number(process.env.VELA_BENCH_SECONDS ?? "10");
const concurrencies = (process.env.VELA_BENCH_CONCURRENCY ?? "1,4,16").split(",").map(Number);
const clients = (process.env.VELA_BENCH_CLIENTS ?? "raw,sdk").split(",");
// Distinct batches prepared up front (keys are made unique per request by an offset for the SDK; the
// raw client has one encoded request per batch it may send, so it stops at this many).
const batchesMax = Number(process.env.VELA_BENCH_BATCHES ?? "400");

const InsertRequest = milvusType("milvus.proto.milvus.InsertRequest");
const MutationResult = milvusType("milvus.proto.milvus.MutationResult");

const dataSet = generateDataSet({ rows: 8 * batchRows, dim, clusters: 100, spread: 0.5, queries: 1, seed: 42 });
const vectorBatches = Array.from({ length: 8 }, (_, b) => dataSet.vectors.slice(b * batchRows * dim, (b + 1) * batchRows * dim));

/** InsertRequest bytes for batch `b`: keys b·1000 … b·1000 + 999. */
function encodedBatch(collection: string, b: number): Buffer {
  const ids = Array.from({ length: batchRows }, (_, row) => b * batchRows + row);
  return Buffer.from(InsertRequest.encode(InsertRequest.fromObject({
    collection_name: collection, num_rows: batchRows,
    fields_data: [
      { type: 5, field_name: "id", scalars: { long_data: { data: ids } } },
      { type: 101, field_name: "vector", vectors: { dim, float_vector: { data: Array.from(vectorBatches[b % 8] as Float32Array) } } },
      { type: 4, field_name: "tag", scalars: { int_data: { data: ids.map((id) => id % 100) } } },
    ],
  })).finish());
}

const vela = await startStandaloneVela();
const raw = new grpc.Client(vela.address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1, "grpc.max_send_message_length": 64 * 1024 * 1024 });
const identity = (buffer: Buffer): Buffer => buffer;
try {
  console.log(`insert batches of ${batchRows} × ${dim}, ${seconds} s per level, standalone Vela (pid ${vela.pid}); load average ${loadavg().map((value) => value.toFixed(2)).join(" ")}`);
  console.log("client  in flight  vectors/s   p50 ms   p99 ms  Vela ms/1000 rows  client ms/1000 rows");
  let run = 0;
  for (const concurrency of concurrencies) {
    for (const client of clients) {
      const collection = `ingest_${client}_${run++}`;
      const driver = await VelaDriver.connect(vela.address, collection);
      await driver.recreateCollection(dim);
      let insert: (sequence: number) => Promise<void>;
      if (client === "raw") {
        const requests = Array.from({ length: batchesMax }, (_, b) => encodedBatch(collection, b));
        insert = (sequence) => new Promise((resolve, reject) => {
          const request = requests[sequence];
          if (request === undefined) {
            reject(new Error(`only ${batchesMax} batches prepared (VELA_BENCH_BATCHES)`));
            return;
          }
          raw.makeUnaryRequest("/milvus.proto.milvus.MilvusService/Insert", identity, identity, request, (error, answer) => {
            if (error !== null || answer === undefined) {
              reject(error ?? new Error("no answer"));
              return;
            }
            const decoded = MutationResult.decode(answer) as unknown as { status?: { code?: number; reason?: string }; insert_cnt?: number | { toNumber(): number } };
            const count = typeof decoded.insert_cnt === "number" ? decoded.insert_cnt : decoded.insert_cnt?.toNumber();
            if ((decoded.status?.code ?? 0) !== 0 || count !== batchRows) reject(new Error(decoded.status?.reason ?? `${String(count)} rows acknowledged`));
            else resolve();
          });
        });
      } else {
        const rows = vectorBatches.map((vectors, b) => Array.from({ length: batchRows }, (_, row) => ({
          id: 0, vector: Array.from(vectors.subarray(row * dim, (row + 1) * dim)), tag: (b * batchRows + row) % 100,
        })));
        insert = async (sequence) => {
          const batch = (rows[sequence % 8] as Array<{ id: number; vector: number[]; tag: number }>).map((row, index) => ({ ...row, id: sequence * batchRows + index }));
          await driver.insertPrepared(batch);
        };
      }
      const velaBefore = processCpuSeconds(vela.pid);
      const clientBefore = cpuUsage();
      const outcome = await runLoad({ concurrency, durationMs: seconds * 1000, operationsMax: batchesMax, operation: insert });
      const clientCpu = cpuUsage(clientBefore);
      const velaAfter = processCpuSeconds(vela.pid);
      const thousands = (outcome.succeeded * batchRows) / 1000;
      const latency = outcome.latency.summary();
      console.log([
        client.padEnd(6), String(concurrency).padStart(10), Math.round((outcome.succeeded * batchRows * 1000) / outcome.durationMs).toLocaleString("en-US").padStart(10),
        latency.p50Ms.toFixed(1).padStart(8), latency.p99Ms.toFixed(1).padStart(8),
        (velaBefore === undefined || velaAfter === undefined ? Number.NaN : ((velaAfter - velaBefore) * 1000) / thousands).toFixed(1).padStart(18),
        ((clientCpu.user + clientCpu.system) / 1000 / thousands).toFixed(1).padStart(20),
        outcome.failed > 0 ? `  ${outcome.failed} errors: ${outcome.errors.summary().first.join("; ")}` : "",
      ].join(" "));
      await driver.dropCollection();
      await driver.close();
    }
  }
  console.log(`load average at the end ${loadavg().map((value) => value.toFixed(2)).join(" ")}`);
} finally {
  raw.close();
  await vela.stop();
}
