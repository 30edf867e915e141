// Benchmark (a script, not a test): sustained, durable ingest through the official SDK into a
// standalone Vela running as its own process (embedded seams, fsync on), 128-dim vectors in batches
// of 1,000 rows, at several client concurrencies. After the ingest a Flush (flushSync) writes every
// segment to binlogs; the data node's own counters (from /metrics) give the binlog bytes written and
// the time spent writing them, hence binlog MB/s.
//
//   npx tsx bench/ingest-sdk.ts
//   BENCH_ROWS=300000 BENCH_CONCURRENCY=1,4,16 npx tsx bench/ingest-sdk.ts
import { DataType, MilvusClient } from "@zilliz/milvus2-sdk-node";
import { SeededRandom } from "../common/random.ts";
import { startStandaloneVela } from "./tool/vela-server.ts";

const dim = 128;
const batchRows = 1_000;
const totalRows = Number(process.env.BENCH_ROWS ?? "200000");
const concurrencies = (process.env.BENCH_CONCURRENCY ?? "1,4,16").split(",").map(Number);


async function metric(metricsPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(" ")[1]);
}

const random = new SeededRandom(42);
// One pool of batches, reused: the client's cost of building rows stays out of the measured loop.
const batches = Array.from({ length: 8 }, (_, b) => Array.from({ length: batchRows }, (_, row) => ({
  id: b * batchRows + row, v: Array.from({ length: dim }, () => random.gaussian()),
})));

const vela = await startStandaloneVela();
const metricsPort = Number(vela.metricsAddress.split(":").pop());
try {
  const client = new MilvusClient({ address: vela.address, logLevel: "error" });
  await client.connectPromise;
  console.log(`ingest through the SDK: ${totalRows} rows × ${dim} dims per run, batches of ${batchRows}, standalone with fsync (data in ${vela.dataDir})`);
  for (const concurrency of concurrencies) {
    const name = `ingest_c${concurrency}`;
    await client.createCollection({ collection_name: name, fields: [{ name: "id", data_type: DataType.Int64, is_primary_key: true }, { name: "v", data_type: DataType.FloatVector, dim }] });
    let next = 0;
    let sent = 0;
    const bytesBefore = await metric(metricsPort, "vela_datanode_binlog_bytes_total");
    const secondsBefore = await metric(metricsPort, "vela_datanode_binlog_write_seconds_total");
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (sent < totalRows) {
        sent += batchRows;
        const base = batches[next++ % batches.length] as Array<{ id: number; v: number[] }>;
        const offset = sent * 10;
        const result = await client.insert({ collection_name: name, data: base.map((row) => ({ id: row.id + offset, v: row.v })) });
        if (result.status.error_code !== "Success") throw new Error(`insert failed: ${result.status.reason}`);
      }
    }));
    const ingestSeconds = (performance.now() - started) / 1000;
    const flushStarted = performance.now();
    await client.flushSync({ collection_names: [name] });
    const flushSeconds = (performance.now() - flushStarted) / 1000;
    const bytes = (await metric(metricsPort, "vela_datanode_binlog_bytes_total")) - bytesBefore;
    const writeSeconds = (await metric(metricsPort, "vela_datanode_binlog_write_seconds_total")) - secondsBefore;
    console.log(
      `concurrency ${String(concurrency).padStart(2)}: ${Math.round(sent / ingestSeconds).toLocaleString("en-US")} vectors/s acknowledged (durable in the log), `
      + `flushSync ${flushSeconds.toFixed(2)} s after; binlogs ${(bytes / 1e6).toFixed(1)} MB written at ${(bytes / 1e6 / Math.max(writeSeconds, 1e-9)).toFixed(0)} MB/s of data node write time`,
    );
    await client.dropCollection({ collection_name: name });
  }
  await client.closeConnection();
} finally {
  await vela.stop();
}
