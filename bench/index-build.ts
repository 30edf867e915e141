// Benchmark of index building through an index node (insert binlogs in the object store → HNSW built
// in a worker → index file in the object store) against raw hnswlib-node on the same vectors in the
// same run, and of loading the stored index against building it. Clustered Gaussian vectors, 128 dims,
// L2, M 16, efConstruction 200. Phases run one after another, never side by side. Prints figures
// only; nothing here is asserted.
//
//   npx tsx bench/index-build.ts   (VELA_BENCH_ROWS rows per segment, default 20000; VELA_BENCH_SEGMENTS,
//                                   default 2; VELA_BENCH_SLOTS builds at once in the parallel phase,
//                                   default cores − 1 (at least 2 segments' worth is needed to see it);
//                                   VELA_BENCH_ROUNDS, default 2, the best of which is reported;
//                                   VELA_SEED to fix the data set)

import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import hnswlib from "hnswlib-node";
import { systemClock } from "../common/clock.ts";
import { testSeed } from "../common/random.ts";
import { Session } from "../cluster/session.ts";
import { clusteredDataSet } from "../indexnode/hnsw/clustered-vectors.ts";
import { hnswSpaceName } from "../indexnode/hnsw/hnsw-engine.ts";
import { createHnswPool, loadHnsw, releaseHnsw, searchHnsw } from "../indexnode/hnsw/hnsw-pool.ts";
import { IndexNode } from "../indexnode/index-node.ts";
import { bruteForceTopK } from "../querynode/compute/brute-force.ts";
import type { MetricType } from "../querynode/compute/metric.ts";
import { EmbeddedMetaStore } from "../storage/meta/embedded-meta-store.ts";
import { LocalObjectStore } from "../storage/object/local-object-store.ts";
import { writeVectorSegment } from "../test/fakes/fake-data-coord.ts";
import type { SegmentInfo } from "../types/data-coord.ts";
import { INDEX_NODE_ROLE, type IndexBuildTask } from "../types/index-node.ts";

const rowsPerSegment = Number(process.env.VELA_BENCH_ROWS ?? "20000");
const segmentCount = Number(process.env.VELA_BENCH_SEGMENTS ?? "2");
const parallelSlots = Number(process.env.VELA_BENCH_SLOTS ?? String(Math.max(1, availableParallelism() - 1)));
const rounds = Number(process.env.VELA_BENCH_ROUNDS ?? "2");
const dim = 128;
const M = 16;
const efConstruction = 200;
const metric: MetricType = "L2";
const seed = testSeed();
const flushRows = [Math.floor(rowsPerSegment / 2), rowsPerSegment - Math.floor(rowsPerSegment / 2)];

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function taskFor(segment: SegmentInfo, buildId: bigint): IndexBuildTask {
  return {
    buildId, attempt: 1, indexId: 1n, collectionId: segment.collectionId, partitionId: segment.partitionId, segmentId: segment.id, fieldId: 101,
    indexType: "HNSW", metricType: metric, dim, M, efConstruction,
    insertLogs: segment.insertLogs.filter((log) => log.fieldId === 101), rowCount: segment.numRows,
  };
}

async function main(): Promise<void> {
  console.log(`index build benchmark: ${segmentCount} segments × ${rowsPerSegment} rows × ${dim} dims (clustered), ${metric}, M ${M}, efConstruction ${efConstruction}`);
  console.log(`seed ${seed} (VELA_SEED to replay); ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  const dir = mkdtempSync(join(tmpdir(), "vela-bench-index-"));
  const metaStore = await EmbeddedMetaStore.open({ dir: join(dir, "meta"), fsync: false });
  const store = await LocalObjectStore.open({ dir: join(dir, "objects") });
  const nodes: IndexNode[] = [];
  try {
    const { vectors, queries } = clusteredDataSet(seed, { rows: segmentCount * rowsPerSegment, dim, clusters: 100, spread: 0.5, queries: 100 });
    const segments: SegmentInfo[] = [];
    for (let s = 0; s < segmentCount; s++) {
      segments.push(await writeVectorSegment(store, {
        collectionId: 1n, partitionId: 2n, segmentId: BigInt(100 + s), primaryKeyFieldId: 100, vectorFieldId: 101, dim,
        vectors: vectors.slice(s * rowsPerSegment * dim, (s + 1) * rowsPerSegment * dim), flushRows, firstLogId: BigInt(1000 + 10 * s), firstKey: BigInt(s * rowsPerSegment),
      }));
    }
    const binlogMiB = segments.reduce((sum, segment) => sum + segment.insertLogs.filter((log) => log.fieldId === 101).reduce((bytes, log) => bytes + log.sizeBytes, 0), 0) / 1024 / 1024;
    console.log(`vector binlogs written: ${segments.length * flushRows.length} files, ${binlogMiB.toFixed(1)} MiB`);

    const startNode = async (nodeId: string, slots: number): Promise<IndexNode> => {
      const session = await Session.create({ metaStore, clock: systemClock, role: INDEX_NODE_ROLE, nodeId, ttlSeconds: 60, fenceFraction: 2 / 3 });
      const node = new IndexNode({ nodeId, session, objectStore: store, limits: { indexBuildConcurrency: slots } });
      nodes.push(node);
      return node;
    };
    const runBuilds = async (node: IndexNode, firstBuildId: bigint): Promise<{ ms: number; files: string[] }> => {
      const started = performance.now();
      for (const [index, segment] of segments.entries()) await node.createJob(taskFor(segment, firstBuildId + BigInt(index)));
      await node.whenIdle();
      const ms = performance.now() - started;
      const reports = await node.queryJobs(segments.map((_, index) => firstBuildId + BigInt(index)));
      for (const report of reports) if (report.state !== "Finished") throw new Error(`build ${report.buildId} ended ${report.state}: ${report.error ?? ""}`);
      return { ms, files: reports.map((report) => report.files?.[0]?.path ?? "") };
    };

    // Warm-up: a node's workers load their modules (tsx, hnswlib, apache-arrow) before any timed build;
    // the warm-up segment is above inlineCodecBytesMax so that the binlog worker is started too.
    const warmUpRows = 2_200;
    const warmUp = await writeVectorSegment(store, {
      collectionId: 1n, partitionId: 2n, segmentId: 99n, primaryKeyFieldId: 100, vectorFieldId: 101, dim,
      vectors: vectors.slice(0, warmUpRows * dim), flushRows: [warmUpRows], firstLogId: 990n, firstKey: 0n,
    });
    const warmedNode = async (nodeId: string, slots: number): Promise<IndexNode> => {
      const node = await startNode(nodeId, slots);
      for (let slot = 0; slot < slots; slot++) await node.createJob(taskFor(warmUp, BigInt(1 + slot)));
      await node.whenIdle();
      return node;
    };
    const serial = await warmedNode("bench-serial", 1);

    // Rounds alternate the node and raw hnswlib, and each reports its best round: the machine may be
    // shared, and alternating spreads other load over both.
    const rawBuildMs = (): number => {
      const started = performance.now();
      for (let s = 0; s < segmentCount; s++) {
        const raw = new hnswlib.HierarchicalNSW(hnswSpaceName(metric), dim);
        raw.initIndex({ maxElements: rowsPerSegment, m: M, efConstruction, randomSeed: 100 });
        const point = new Array<number>(dim); // as the worker does: one scratch array, hnswlib copies each point
        const base = s * rowsPerSegment;
        for (let row = 0; row < rowsPerSegment; row++) {
          for (let i = 0; i < dim; i++) point[i] = vectors[(base + row) * dim + i] as number;
          raw.addPoint(point, row);
        }
      }
      return performance.now() - started;
    };
    let nodeSerial = { ms: Number.POSITIVE_INFINITY, files: [] as string[] };
    let rawMs = Number.POSITIVE_INFINITY;
    for (let round = 0; round < rounds; round++) {
      const run = await runBuilds(serial, 10n + BigInt(round * segmentCount));
      if (run.ms < nodeSerial.ms) nodeSerial = run;
      rawMs = Math.min(rawMs, rawBuildMs());
      console.log(`  round ${round + 1}: index node ${seconds(run.ms)}, raw ${seconds(rawMs)} (best so far)`);
    }
    const rows = segmentCount * rowsPerSegment;
    console.log(`index node, 1 build at a time:  ${seconds(nodeSerial.ms)} for ${segmentCount} segments (${(rows / (nodeSerial.ms / 1000)).toFixed(0)} rows/s; binlog reads + HNSW build in a worker + index and params files written)`);
    console.log(`raw hnswlib-node, main thread:  ${seconds(rawMs)} for ${segmentCount} segments (${(rows / (rawMs / 1000)).toFixed(0)} rows/s; vectors already in memory, nothing written, the event loop blocked throughout)`);
    console.log(`index node / raw:               ${(nodeSerial.ms / rawMs).toFixed(3)}`);

    if (parallelSlots > 1) {
      const parallel = await warmedNode("bench-parallel", parallelSlots);
      const nodeParallel = await runBuilds(parallel, 1000n);
      console.log(`index node, ${parallelSlots} builds at once:  ${seconds(nodeParallel.ms)} (${(nodeSerial.ms / nodeParallel.ms).toFixed(2)}× the serial node)`);
    } else {
      console.log(`index node, builds at once: skipped (VELA_BENCH_SLOTS = ${parallelSlots}; one core is left to the event loop)`);
    }

    const pool = createHnswPool({ workerCount: 1, name: "bench load pool" });
    try {
      await loadHnsw(pool, await store.get(nodeSerial.files[0] ?? "")).then((handle) => releaseHnsw(pool, handle)); // warm-up
      let loadMs = 0;
      let recallFound = 0;
      for (const [s, path] of nodeSerial.files.entries()) {
        const started = performance.now();
        const bytes = await store.get(path);
        const handle = await loadHnsw(pool, bytes);
        loadMs += performance.now() - started;
        const found = await searchHnsw(pool, handle, { queries, topk: 10, ef: 64 });
        const exact = bruteForceTopK({ metric, dim, vectors: vectors.subarray(s * rowsPerSegment * dim, (s + 1) * rowsPerSegment * dim), queries, topk: 10 });
        for (let q = 0; q < exact.nq; q++) {
          const truth = new Set(exact.rows.subarray(q * 10, q * 10 + 10));
          for (let i = 0; i < (found.counts[q] as number); i++) if (truth.has(found.rows[q * 10 + i] as number)) recallFound += 1;
        }
        if (s === 0) console.log(`index file: ${(bytes.byteLength / 1024 / 1024).toFixed(1)} MiB per ${rowsPerSegment}-row segment`);
        await releaseHnsw(pool, handle);
      }
      console.log(`load (object get + CRC + readIndex): ${(loadMs / segmentCount).toFixed(0)} ms per segment = ${((loadMs / nodeSerial.ms) * 100).toFixed(1)}% of the node's build time`);
      console.log(`recall@10 of the loaded indexes at ef 64 (${queries.length / dim} queries per segment vs brute force): ${(recallFound / (segmentCount * (queries.length / dim) * 10)).toFixed(4)}`);
    } finally {
      await pool.close();
    }
  } finally {
    for (const node of nodes) await node.close();
    await store.close();
    await metaStore.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
