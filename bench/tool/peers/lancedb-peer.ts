// The LanceDB peer (embedded, `@lancedb/lancedb`, an optional dependency): the same vectors in a local
// table, its HNSW index with the same M and efConstruction, searched with the same ef, k and
// concurrency levels as Vela. LanceDB's HNSW variants all quantize; IVF_HNSW_SQ with one partition is
// the closest to a plain HNSW graph (one graph over all rows, 8-bit scalar-quantized distances, no
// refine step), and the report says so. When the package is not installed the peer is skipped, not
// failed: this is a benchmark, and the other figures stand on their own.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MetricType } from "../../../querynode/compute/metric.ts";
import { runLoad } from "../load.ts";
import type { EfPoint, PeerFigures, SearchLevel } from "../result.ts";
import { perSecond, recallAtK } from "../stats.ts";
import type { PeerWorkload } from "./peer-workload.ts";

/** The part of LanceDB's API this peer uses (typed here, so the tool compiles without the package). */
interface LanceVectorQuery {
  distanceType(type: string): LanceVectorQuery;
  limit(limit: number): LanceVectorQuery;
  ef(ef: number): LanceVectorQuery;
  select(columns: string[]): LanceVectorQuery;
  toArray(): Promise<Array<{ id: number }>>;
}
interface LanceTable {
  createIndex(column: string, options: { config: unknown }): Promise<void>;
  countRows(): Promise<number>;
  query(): { nearestTo(vector: Float32Array | number[]): LanceVectorQuery };
  close(): void;
}
interface LanceConnection {
  createTable(name: string, data: unknown): Promise<LanceTable>;
  close(): void;
}
interface LanceModule {
  connect(uri: string): Promise<LanceConnection>;
  makeArrowTable(rows: Array<Record<string, unknown>>, options?: Record<string, unknown>): unknown;
  Index: { hnswSq(options: Record<string, unknown>): unknown };
}

export interface LancePeerOptions extends PeerWorkload {
  concurrencyLevels: readonly number[];
  referenceConcurrency: number;
}

export const lancePeerName = "LanceDB (embedded)";
/** The module specifier, in a variable so TypeScript does not require the optional package. */
const lanceModuleName = "@lancedb/lancedb";

async function importLance(): Promise<LanceModule | undefined> {
  try {
    return (await import(lanceModuleName)) as LanceModule;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") return undefined;
    throw error;
  }
}

function lanceDistance(metric: MetricType): string {
  return metric === "L2" ? "l2" : metric === "IP" ? "dot" : "cosine";
}

export async function runLancePeer(options: LancePeerOptions): Promise<PeerFigures> {
  const { dataSet, metric, M, efConstruction, progress } = options;
  const index = `IVF_HNSW_SQ (1 partition: one HNSW graph, 8-bit scalar quantization, no refine), M ${M}, efConstruction ${efConstruction}, ${lanceDistance(metric)}`;
  const figures: PeerFigures = { name: lancePeerName, status: "ran", index, search: [], efSweep: [] };
  const lance = await importLance();
  if (lance === undefined) return { ...figures, status: "skipped", reason: "LanceDB peer skipped: package not installed" };
  const directory = mkdtempSync(join(tmpdir(), "vela-bench-lancedb-"));
  try {
    const { rows, dim, vectors } = dataSet;
    progress.start("LanceDB table", rows, "rows");
    let started = performance.now();
    const records = new Array<Record<string, unknown>>(rows);
    for (let row = 0; row < rows; row++) records[row] = { id: row, vector: vectors.slice(row * dim, (row + 1) * dim) };
    const connection = await lance.connect(directory);
    const table = await connection.createTable("bench", lance.makeArrowTable(records, { vectorColumns: { vector: {} } }));
    figures.ingestMs = performance.now() - started;
    progress.finish(`${await table.countRows()} rows`);

    progress.start("LanceDB index build (IVF_HNSW_SQ)", 1, "index");
    started = performance.now();
    await table.createIndex("vector", { config: lance.Index.hnswSq({ distanceType: lanceDistance(metric), numPartitions: 1, m: M, efConstruction }) });
    figures.buildMs = performance.now() - started;
    progress.finish();

    const queries = Array.from({ length: dataSet.queryCount }, (_, q) => dataSet.queries.slice(q * dim, (q + 1) * dim));
    const searchOnce = async (q: number, ef: number): Promise<number[]> => {
      const hits = await table.query().nearestTo(queries[q] as Float32Array).distanceType(lanceDistance(metric)).limit(options.k).ef(ef).select(["id", "_distance"]).toArray();
      return hits.map((hit) => Number(hit.id));
    };
    for (const concurrency of options.concurrencyLevels) {
      figures.search.push(await lanceLevel(searchOnce, options, concurrency, options.ef, options.levelSeconds * 1000, options.requestsMax, `LanceDB search, ${concurrency} clients`));
    }
    for (const ef of options.efSweep) {
      if (ef < options.k) continue;
      const level = await lanceLevel(searchOnce, options, options.referenceConcurrency, ef, Number.POSITIVE_INFINITY, dataSet.queryCount, `LanceDB ef ${ef}`);
      figures.efSweep.push({ ef, recall: level.recall, queriesPerSecond: level.queriesPerSecond, latency: level.latency } satisfies EfPoint);
    }
    table.close();
    connection.close();
    return figures;
  } catch (error) {
    progress.finish("failed");
    return { ...figures, status: "failed", reason: `LanceDB peer failed: ${String(error)}` };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

async function lanceLevel(searchOnce: (q: number, ef: number) => Promise<number[]>, options: LancePeerOptions, concurrency: number, ef: number, durationMs: number, requestsMax: number, label: string): Promise<SearchLevel> {
  const { progress, dataSet } = options;
  const answers: Array<number[] | undefined> = new Array(dataSet.queryCount);
  const finite = Number.isFinite(durationMs);
  progress.start(label, finite ? durationMs / 1000 : requestsMax, finite ? "s" : "queries");
  const started = performance.now();
  const outcome = await runLoad({
    concurrency, ...(finite ? { durationMs } : {}), operationsMax: requestsMax,
    operation: async (sequence) => {
      const q = sequence % dataSet.queryCount;
      const ids = await searchOnce(q, ef);
      if (answers[q] === undefined) answers[q] = ids;
    },
    onProgress: (answered) => progress.update(finite ? (performance.now() - started) / 1000 : answered),
  });
  const level: SearchLevel = {
    concurrency, nq: 1, requests: outcome.succeeded, durationMs: outcome.durationMs, queriesPerSecond: perSecond(outcome.succeeded, outcome.durationMs),
    latency: outcome.latency.summary(), recall: recallAtK(answers, options.truth.ids, options.truth.width, options.k), errors: outcome.errors.summary(),
  };
  progress.finish(`${level.queriesPerSecond} queries/s, recall ${level.recall.toFixed(4)}`);
  return level;
}
