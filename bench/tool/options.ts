// `vela bench` options: flags in, one validated settings object out (benchDefaults for everything not
// given). `--reference` runs the documented reference workload and refuses flags that would change
// what it measures, so a figure labelled "reference" always means the same workload.

import { parseArgs } from "node:util";
import { benchDefaults, workerPoolDefaults } from "../../common/config.ts";
import { invalidArgument } from "../../common/errors.ts";
import { isMetricType, type MetricType } from "../../querynode/compute/metric.ts";
import type { ConsistencyName, IndexKind } from "./vela-driver.ts";

export const phaseNames = ["ingest", "build", "search", "efsweep", "filtered", "mixed", "ceiling"] as const;
export type PhaseName = (typeof phaseNames)[number];
export const peerNames = ["hnswlib", "lancedb"] as const;
export type PeerName = (typeof peerNames)[number];

export interface BenchSettings {
  workload: "reference" | "custom";
  /** A running Vela to drive; undefined: start a standalone child process. */
  address?: string;
  collection: string;
  phases: PhaseName[];
  peers: PeerName[];
  data: { kind: "generated"; rows: number; dim: number; clusters: number; spread: number; seed: number; queries: number }
    | { kind: "files"; base: string; queries: string; groundTruth?: string; rowsMax?: number; queryCountMax: number };
  metric: MetricType;
  indexType: IndexKind;
  M: number;
  efConstruction: number;
  ef: number;
  k: number;
  consistency: ConsistencyName;
  insertBatchRows: number;
  insertConcurrency: number;
  insertThreads: number;
  /** SDK clients in worker threads each search level spreads its clients over (1: the tool's own thread). */
  searchThreads: number;
  insertRowsPerSecond: number;
  concurrencyLevels: number[];
  referenceConcurrency: number;
  nq: number;
  levelSeconds: number;
  levelRequestsMax: number;
  efSweep: number[];
  filterKeepPercent: number;
  mixedSeconds: number;
  mixedInsertRowsPerSecond: number;
  mixedSearchConcurrency: number;
  /** hnswlib per-core peer's workers; 0 = one per core. */
  peerWorkers: number;
  outDir?: string;
  cacheDir: string;
  keepCollection: boolean;
  keepData: boolean;
  quiet: boolean;
}

export const benchUsage = `usage: vela bench [options]

Drives Vela through the official Milvus SDK (a running one with --address, or a standalone it starts as
a child process), beside raw hnswlib-node and LanceDB on the same vectors; writes result.json and a
self-contained report.html. See docs/benchmarks.md.

  --reference              the reference workload (100,000 × 128, 100 clusters, seed 42, HNSW M 16,
                           efConstruction 200, ef 64, k 10, 16 clients); refuses flags that change it
  --address HOST:PORT      drive a running Vela (default: start a standalone one)
  --collection NAME        collection to (re)create (default vela_bench)
  --phases LIST            of ingest,build,search,efsweep,filtered,mixed,ceiling (default all); ceiling
                           drives a null server (no database work) with the same settings, after Vela
                           has stopped: the SDK client's own limit on this machine
  --peers LIST             of hnswlib,lancedb, or none (default hnswlib,lancedb)
 data
  --rows N --dim N --clusters N --spread X --seed N --queries N
                           generated clustered-Gaussian data (defaults ${benchDefaults.generatedRows}, ${benchDefaults.generatedDim}, ${benchDefaults.generatedClusters}, ${benchDefaults.generatedClusterSpread}, ${benchDefaults.seed}, ${benchDefaults.queryCount})
  --base FILE --query-file FILE [--ground-truth FILE]
                           vectors from .fvecs/.bvecs/.npy files (ground truth .ivecs); --rows takes a prefix
  --metric L2|IP|COSINE    (default L2)
 index and search
  --index HNSW|FLAT|AUTOINDEX  (default HNSW)
  --m N --ef-construction N --ef N --k N   (defaults ${benchDefaults.hnswM}, ${benchDefaults.hnswEfConstruction}, ${benchDefaults.hnswEf}, ${benchDefaults.topK})
  --consistency LEVEL      Strong, Bounded, Session or Eventually for the search phases (default Bounded)
  --concurrency LIST       search levels (default ${benchDefaults.searchConcurrencyLevels.join(",")})
  --reference-concurrency N  clients of the ef sweep, filtered search and ratios (default ${benchDefaults.referenceConcurrency})
  --nq N                   query vectors per search request (default ${benchDefaults.searchNq})
  --level-seconds N        seconds per search level (default ${benchDefaults.searchLevelSeconds})
  --ef-sweep LIST          (default ${benchDefaults.efSweep.join(",")})
  --filter-percent N       filtered search keeps tag < N, N% of the rows (default ${benchDefaults.filterKeepPercent})
 ingest and mixed
  --batch N                rows per insert (default ${benchDefaults.insertBatchRows})
  --insert-concurrency N   inserts in flight (default ${benchDefaults.insertConcurrency})
  --insert-threads N       spread them over N SDK clients in worker threads (default ${benchDefaults.insertThreads}: this thread)
  --search-threads N       spread each search level's clients over N SDK clients in worker threads
                           (default ${benchDefaults.searchThreads}: this thread; one SDK thread tops out near 1,000 queries/s)
  --insert-rate N          pace ingest to N rows/s (default unpaced)
  --mixed-seconds N --mixed-insert-rate N --mixed-search-concurrency N
                           (defaults ${benchDefaults.mixedSeconds}, ${benchDefaults.mixedInsertRowsPerSecond}, ${benchDefaults.mixedSearchConcurrency})
 output
  --out DIR                where result.json and report.html go (default bench-results/<time>-<workload>)
  --cache-dir DIR          ground-truth cache (default .vela-bench-cache)
  --peer-workers N         threads of the per-core hnswlib peer (default one per core)
  --keep-collection        leave the collection in Vela afterwards
  --keep-data              keep the started standalone's data directory
  --quiet                  no progress output
`;

/** Flags that change what the reference workload measures. */
const workloadFlags = ["rows", "dim", "clusters", "spread", "seed", "queries", "base", "query-file", "ground-truth", "metric", "index", "m", "ef-construction", "ef", "k", "concurrency", "reference-concurrency", "nq", "batch", "insert-concurrency", "insert-threads", "search-threads", "insert-rate", "phases", "peers", "consistency"];

function integer(text: string | undefined, flag: string, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw invalidArgument(`--${flag} must be an integer ≥ ${min}, got "${text}"`);
  return value;
}

/** A number of SDK client threads: 1 (the tool's own) up to the worker pool's bound. */
function threadCount(text: string | undefined, flag: string, fallback: number): number {
  const value = integer(text, flag, fallback);
  if (value > workerPoolDefaults.workerCountMax) throw invalidArgument(`--${flag} must be at most ${workerPoolDefaults.workerCountMax} (workerCountMax), got "${text}"`);
  return value;
}

function positive(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw invalidArgument(`--${flag} must be a positive number, got "${text}"`);
  return value;
}

function integerList(text: string | undefined, flag: string, fallback: readonly number[]): number[] {
  if (text === undefined) return [...fallback];
  const values = text.split(",").map((part) => part.trim()).filter((part) => part !== "").map((part) => integer(part, flag, 0));
  if (values.length === 0) throw invalidArgument(`--${flag} needs at least one value`);
  return values;
}

function nameList<T extends string>(text: string | undefined, flag: string, known: readonly T[], fallback: readonly T[]): T[] {
  if (text === undefined) return [...fallback];
  if (text === "none" || text === "") return [];
  const names = text.split(",").map((part) => part.trim());
  for (const name of names) if (!(known as readonly string[]).includes(name)) throw invalidArgument(`--${flag}: unknown "${name}"; expected some of ${known.join(", ")}`);
  return known.filter((name) => names.includes(name));
}

export function parseBenchArgs(argv: string[]): BenchSettings | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      help: { type: "boolean", short: "h" }, reference: { type: "boolean" }, workload: { type: "string" },
      address: { type: "string" }, collection: { type: "string" }, phases: { type: "string" }, peers: { type: "string" },
      rows: { type: "string" }, dim: { type: "string" }, clusters: { type: "string" }, spread: { type: "string" }, seed: { type: "string" }, queries: { type: "string" },
      base: { type: "string" }, "query-file": { type: "string" }, "ground-truth": { type: "string" }, metric: { type: "string" },
      index: { type: "string" }, m: { type: "string" }, "ef-construction": { type: "string" }, ef: { type: "string" }, k: { type: "string" }, consistency: { type: "string" },
      concurrency: { type: "string" }, "reference-concurrency": { type: "string" }, nq: { type: "string" }, "level-seconds": { type: "string" }, "ef-sweep": { type: "string" },
      "filter-percent": { type: "string" }, batch: { type: "string" }, "insert-concurrency": { type: "string" }, "insert-threads": { type: "string" }, "search-threads": { type: "string" }, "insert-rate": { type: "string" },
      "mixed-seconds": { type: "string" }, "mixed-insert-rate": { type: "string" }, "mixed-search-concurrency": { type: "string" },
      out: { type: "string" }, "cache-dir": { type: "string" }, "peer-workers": { type: "string" },
      "keep-collection": { type: "boolean" }, "keep-data": { type: "boolean" }, quiet: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help === true) return "help";
  if (values.workload !== undefined && values.workload !== "reference" && values.workload !== "custom") throw invalidArgument(`--workload must be reference or custom, got "${values.workload}"`);
  const reference = values.reference === true || values.workload === "reference";
  if (reference) {
    const changed = workloadFlags.filter((flag) => (values as Record<string, unknown>)[flag] !== undefined);
    if (changed.length > 0) throw invalidArgument(`--reference runs the documented reference workload; it cannot be combined with ${changed.map((flag) => `--${flag}`).join(", ")} (leave out --reference for a custom run)`);
  }
  const metric = (values.metric ?? "L2").toUpperCase();
  if (!isMetricType(metric)) throw invalidArgument(`--metric must be L2, IP or COSINE, got "${values.metric}"`);
  const indexType = (values.index ?? "HNSW").toUpperCase();
  if (indexType !== "HNSW" && indexType !== "FLAT" && indexType !== "AUTOINDEX") throw invalidArgument(`--index must be HNSW, FLAT or AUTOINDEX, got "${values.index}"`);
  const consistency = values.consistency ?? "Bounded";
  if (!["Strong", "Bounded", "Session", "Eventually"].includes(consistency)) throw invalidArgument(`--consistency must be Strong, Bounded, Session or Eventually, got "${consistency}"`);
  const queries = integer(values.queries, "queries", benchDefaults.queryCount);
  let data: BenchSettings["data"];
  if (values.base !== undefined || values["query-file"] !== undefined) {
    if (values.base === undefined || values["query-file"] === undefined) throw invalidArgument("--base and --query-file go together");
    for (const flag of ["dim", "clusters", "spread", "seed"]) if ((values as Record<string, unknown>)[flag] !== undefined) throw invalidArgument(`--${flag} describes generated data; it cannot be combined with --base`);
    data = {
      kind: "files", base: values.base, queries: values["query-file"], queryCountMax: queries,
      ...(values["ground-truth"] === undefined ? {} : { groundTruth: values["ground-truth"] }),
      ...(values.rows === undefined ? {} : { rowsMax: integer(values.rows, "rows", 0) }),
    };
  } else {
    if (values["ground-truth"] !== undefined) throw invalidArgument("--ground-truth goes with --base and --query-file");
    data = {
      kind: "generated", rows: integer(values.rows, "rows", benchDefaults.generatedRows), dim: integer(values.dim, "dim", benchDefaults.generatedDim, 2),
      clusters: integer(values.clusters, "clusters", benchDefaults.generatedClusters), spread: positive(values.spread, "spread", benchDefaults.generatedClusterSpread),
      seed: integer(values.seed, "seed", benchDefaults.seed, 0), queries,
    };
  }
  const k = integer(values.k, "k", benchDefaults.topK);
  const ef = integer(values.ef, "ef", benchDefaults.hnswEf);
  if (ef < k) throw invalidArgument(`--ef (${ef}) must be at least --k (${k})`);
  const settings: BenchSettings = {
    workload: reference ? "reference" : "custom",
    ...(values.address === undefined ? {} : { address: values.address }),
    collection: values.collection ?? "vela_bench",
    phases: nameList(values.phases, "phases", phaseNames, phaseNames),
    peers: nameList(values.peers, "peers", peerNames, peerNames),
    data, metric, indexType, k, ef,
    M: integer(values.m, "m", benchDefaults.hnswM, 2),
    efConstruction: integer(values["ef-construction"], "ef-construction", benchDefaults.hnswEfConstruction),
    consistency: consistency as ConsistencyName,
    insertBatchRows: integer(values.batch, "batch", benchDefaults.insertBatchRows),
    insertConcurrency: integer(values["insert-concurrency"], "insert-concurrency", benchDefaults.insertConcurrency),
    insertThreads: threadCount(values["insert-threads"], "insert-threads", benchDefaults.insertThreads),
    searchThreads: threadCount(values["search-threads"], "search-threads", benchDefaults.searchThreads),
    insertRowsPerSecond: values["insert-rate"] === undefined ? benchDefaults.insertRateRowsPerSecond : positive(values["insert-rate"], "insert-rate", 0),
    concurrencyLevels: integerList(values.concurrency, "concurrency", benchDefaults.searchConcurrencyLevels),
    referenceConcurrency: integer(values["reference-concurrency"], "reference-concurrency", benchDefaults.referenceConcurrency),
    nq: integer(values.nq, "nq", benchDefaults.searchNq),
    levelSeconds: positive(values["level-seconds"], "level-seconds", benchDefaults.searchLevelSeconds),
    levelRequestsMax: benchDefaults.searchLevelRequestsMax,
    efSweep: integerList(values["ef-sweep"], "ef-sweep", benchDefaults.efSweep),
    filterKeepPercent: integer(values["filter-percent"], "filter-percent", benchDefaults.filterKeepPercent),
    mixedSeconds: positive(values["mixed-seconds"], "mixed-seconds", benchDefaults.mixedSeconds),
    mixedInsertRowsPerSecond: positive(values["mixed-insert-rate"], "mixed-insert-rate", benchDefaults.mixedInsertRowsPerSecond),
    mixedSearchConcurrency: integer(values["mixed-search-concurrency"], "mixed-search-concurrency", benchDefaults.mixedSearchConcurrency),
    peerWorkers: integer(values["peer-workers"], "peer-workers", 0, 0),
    ...(values.out === undefined ? {} : { outDir: values.out }),
    cacheDir: values["cache-dir"] ?? ".vela-bench-cache",
    keepCollection: values["keep-collection"] === true,
    keepData: values["keep-data"] === true,
    quiet: values.quiet === true,
  };
  if (settings.filterKeepPercent > 100) throw invalidArgument(`--filter-percent must be at most 100, got ${settings.filterKeepPercent}`);
  if (settings.nq > queries) throw invalidArgument(`--nq ${settings.nq} is more than the ${queries} queries of the run`);
  return settings;
}
