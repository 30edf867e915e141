// Benchmark (a script, not a test): bytes a query node holds per row of growing data, against the raw
// size of the same rows (vector floats + primary key + timestamp). Run: npx tsx bench/querynode-memory.ts [rows] [dim]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SeededRandom } from "../common/random.ts";
import { DataType } from "../common/schema.ts";
import { Standalone } from "../cluster/standalone.ts";

const rows = Number(process.argv[2] ?? 200_000);
const dim = Number(process.argv[3] ?? 128);
const batch = 2_000;
const dataDir = mkdtempSync(join(tmpdir(), "vela-bench-mem-"));
const random = new SeededRandom(42);

const vela = await Standalone.start({ dataDir, fsync: false });
try {
  await vela.rootCoord.createCollection({
    schema: { name: "bench", fields: [
      { name: "id", dataType: DataType.Int64, isPrimaryKey: true },
      { name: "vector", dataType: DataType.FloatVector, dim },
      { name: "category", dataType: DataType.Int32 },
    ] },
  });
  await vela.queryCoord.loadCollection("default", "bench");
  const heapBefore = process.memoryUsage();
  for (let start = 0; start < rows; start += batch) {
    const count = Math.min(batch, rows - start);
    const vectors = new Float32Array(count * dim);
    for (let i = 0; i < vectors.length; i++) vectors[i] = random.gaussian();
    await vela.proxy.insert({
      collectionName: "bench",
      columns: { id: Array.from({ length: count }, (_, i) => start + i), vector: vectors, category: Array.from({ length: count }, () => random.int(0, 99)) },
    });
  }
  const counted = await vela.reader.count({ collectionName: "bench", consistencyLevel: "Strong" });
  const usage = vela.queryNode.memoryUsage();
  const heapAfter = process.memoryUsage();
  const rawPerRow = dim * 4 + 8 + 4 + 8; // vector, Int64 key, Int32 scalar, timestamp
  const rssDelta = (heapAfter.rss - heapBefore.rss) / counted.count;
  console.log(`rows ${counted.count}, dim ${dim}, segments ${usage.segments}`);
  console.log(`raw bytes/row                      ${rawPerRow}`);
  console.log(`query node accounted bytes/row     ${(usage.bytes / counted.count).toFixed(1)}  (${(usage.bytes / counted.count / rawPerRow).toFixed(2)}x raw)`);
  console.log(`process RSS growth bytes/row       ${rssDelta.toFixed(1)}  (${(rssDelta / rawPerRow).toFixed(2)}x raw; includes the log's page cache and allocator slack)`);
} finally {
  await vela.close();
  rmSync(dataDir, { recursive: true, force: true });
}
