// The shape of a benchmark run's result file (result.json), which the HTML report is drawn from, and the
// reference workload's targets evaluated against it. Every figure carries its unit in its name.

import type { ErrorSummary, LatencySummary } from "./stats.ts";

/** CPU used during a phase, in cores (1 = one core busy throughout); Vela's only when it is our child. */
export interface CpuFigures {
  toolCores: number;
  velaCores?: number;
}

export interface IngestFigures {
  rows: number;
  batchRows: number;
  concurrency: number;
  /** SDK clients, each on its own thread (1: the tool's thread). */
  threads: number;
  /** Requested pace, 0 = unpaced. */
  targetRowsPerSecond: number;
  durationMs: number;
  vectorsPerSecond: number;
  requestsPerSecond: number;
  latency: LatencySummary;
  errors: ErrorSummary;
  cpu: CpuFigures;
}

export interface BuildFigures {
  indexType: string;
  indexParams: Record<string, number>;
  flushMs: number;
  indexMs: number;
  loadMs: number;
  totalMs: number;
  /** Rows Vela counts after loading (a check that ingest was complete). */
  rowsCounted?: number;
}

export interface SearchLevel {
  /** SDK clients in worker threads the level ran on (absent: the tool's own thread). */
  threads?: number;
  concurrency: number;
  nq: number;
  requests: number;
  durationMs: number;
  /** Query vectors answered per second (requests × nq). */
  queriesPerSecond: number;
  latency: LatencySummary;
  /** Mean recall@k over the queries answered in this level. */
  recall: number;
  errors: ErrorSummary;
  cpu?: CpuFigures;
}

export interface EfPoint {
  ef: number;
  recall: number;
  queriesPerSecond: number;
  latency: LatencySummary;
}

export interface FreshnessFigures {
  consistency: string;
  probes: number;
  /** From an insert's acknowledgement until a search at this level returned the row. */
  delay: LatencySummary;
  /** Searches per probe until the row was returned, mean. */
  pollsMean: number;
  errors: ErrorSummary;
}

export interface MixedFigures {
  durationMs: number;
  insertedRows: number;
  insertVectorsPerSecond: number;
  insertLatency: LatencySummary;
  insertErrors: ErrorSummary;
  searchQueriesPerSecond: number;
  searchLatency: LatencySummary;
  searchErrors: ErrorSummary;
  freshness: FreshnessFigures[];
  cpu: CpuFigures;
}

export interface VelaFigures {
  address: string;
  /** True when the tool started this Vela as its own child process. */
  startedByTool: boolean;
  indexType: string;
  consistency: string;
  ingest?: IngestFigures;
  build?: BuildFigures;
  search?: SearchLevel[];
  efSweep?: EfPoint[];
  filtered?: SearchLevel & { filter: string; keptFraction: number };
  mixed?: MixedFigures;
  /** Why the run stopped early (an index Vela refused, a lost server), if it did. */
  failure?: string;
  /** Set when the standalone the tool started did not exit cleanly on SIGTERM. */
  shutdown?: string;
}

/** CPU of the `ceiling` phase's parts: the tool (the SDK client) and the null server, in cores and per unit of work. */
export interface CeilingCpu {
  toolCores: number;
  /** The null server's cores (undefined where /proc cannot be read). */
  serverCores?: number;
}

/**
 * The client ceiling: the tool's own SDK driver, with the Vela phases' settings, against a server that
 * does no work (null-server.ts). No server can show more than this through the SDK on this machine.
 */
export interface CeilingFigures {
  /** What answered: the null server, a child process of the tool. */
  server: string;
  address: string;
  /** Searches at the reference concurrency, the Vela search phase's nq, k, ef and consistency. */
  search?: Pick<SearchLevel, "concurrency" | "nq" | "requests" | "durationMs" | "queriesPerSecond" | "latency" | "errors"> & {
    cpu: CeilingCpu;
    /** CPU per query vector answered, over the level's measured stretch (threads' start-up excluded). */
    toolCpuMsPerQuery?: number;
    serverCpuMsPerQuery?: number;
  };
  /** Inserts with the ingest phase's batch size, concurrency and SDK threads, unpaced. */
  ingest?: {
    rows: number;
    batchRows: number;
    concurrency: number;
    threads: number;
    durationMs: number;
    vectorsPerSecond: number;
    requestsPerSecond: number;
    latency: LatencySummary;
    errors: ErrorSummary;
    cpu: CeilingCpu;
    /** CPU per 1,000 rows inserted (over the whole phase, starting the SDK threads included). */
    toolCpuSecondsPerThousandRows?: number;
    serverCpuSecondsPerThousandRows?: number;
  };
  /** Calls the null server answered, by method (UNIMPLEMENTED ones included). */
  serverCalls?: Record<string, number>;
  /** Why the phase stopped early, if it did. */
  failure?: string;
}

export interface PeerFigures {
  name: string;
  status: "ran" | "skipped" | "failed";
  reason?: string;
  /** The index and its parameters as this peer built it. */
  index: string;
  /** Loading the vectors into the peer (LanceDB's table), if it has such a step. */
  ingestMs?: number;
  buildMs?: number;
  threads?: number;
  search: SearchLevel[];
  efSweep: EfPoint[];
}

export interface Comparison {
  what: string;
  vela: number;
  peer: number;
  peerName: string;
  /** vela / peer. */
  ratio: number;
}

export interface TargetCheck {
  name: string;
  requirement: string;
  measured: string;
  /** undefined: not measured in this run. */
  met?: boolean;
  /**
   * The same figure for the client ceiling (the SDK against a server that does no work), when this run
   * measured it: a target the ceiling does not reach cannot be met through the SDK on this machine.
   */
  ceiling?: { measured: string; ratio: number; reachable: boolean };
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  platform: string;
  node: string;
  loadAverageAtStart: number[];
  /** Other work on the machine shows here: a 2-core machine with a load average above 2 was shared. */
  loadAverageAtEnd?: number[];
}

export interface BenchResult {
  tool: "vela bench";
  formatVersion: 1;
  workload: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  command: string;
  machine: MachineInfo;
  settings: Record<string, unknown>;
  dataSet: { description: string; rows: number; dim: number; queries: number; metric: string; k: number; prepareMs: number; groundTruth: { source: string; cached: boolean; computeMs: number } };
  vela: VelaFigures;
  peers: PeerFigures[];
  comparisons: Comparison[];
  targets: TargetCheck[];
  /** The `ceiling` phase, when it ran. */
  ceiling?: CeilingFigures;
}

/** The search level at `concurrency`, if measured. */
export function levelAt(levels: readonly SearchLevel[] | undefined, concurrency: number): SearchLevel | undefined {
  return levels?.find((level) => level.concurrency === concurrency);
}

/** The best throughput of a peer's levels (hnswlib's single thread has one level). */
function bestLevel(levels: readonly SearchLevel[]): SearchLevel | undefined {
  let best: SearchLevel | undefined;
  for (const level of levels) if (best === undefined || level.queriesPerSecond > best.queriesPerSecond) best = level;
  return best;
}

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** Vela beside each peer at the reference concurrency: throughput and recall ratios. */
export function compare(vela: VelaFigures, peers: readonly PeerFigures[], referenceConcurrency: number): Comparison[] {
  const velaLevel = levelAt(vela.search, referenceConcurrency);
  if (velaLevel === undefined) return [];
  const comparisons: Comparison[] = [];
  for (const peer of peers) {
    if (peer.status !== "ran") continue;
    const peerLevel = levelAt(peer.search, referenceConcurrency) ?? bestLevel(peer.search);
    if (peerLevel === undefined) continue;
    const at = peerLevel.concurrency === referenceConcurrency
      ? ` at ${referenceConcurrency} clients`
      : `, Vela at ${referenceConcurrency} clients, the peer on ${peerLevel.concurrency} ${peerLevel.concurrency === 1 ? "thread" : "threads"}`;
    comparisons.push({ what: `search throughput (queries/s)${at}`, vela: velaLevel.queriesPerSecond, peer: peerLevel.queriesPerSecond, peerName: peer.name, ratio: round(velaLevel.queriesPerSecond / peerLevel.queriesPerSecond) });
    comparisons.push({ what: `recall@k${at}`, vela: round(velaLevel.recall, 4), peer: round(peerLevel.recall, 4), peerName: peer.name, ratio: round(velaLevel.recall / peerLevel.recall, 3) });
    comparisons.push({ what: `p99 latency (ms)${at}`, vela: velaLevel.latency.p99Ms, peer: peerLevel.latency.p99Ms, peerName: peer.name, ratio: round(velaLevel.latency.p99Ms / peerLevel.latency.p99Ms) });
    if (peer.buildMs !== undefined && vela.build !== undefined && vela.build.indexType === "HNSW") {
      comparisons.push({ what: "index build (ms)", vela: round(vela.build.indexMs, 0), peer: round(peer.buildMs, 0), peerName: peer.name, ratio: round(vela.build.indexMs / peer.buildMs) });
    }
  }
  return comparisons;
}

/**
 * The reference workload's targets (issue #9), each checked when this run measured it; the throughput
 * targets also against the client ceiling, when it was measured.
 */
export function checkTargets(vela: VelaFigures, peers: readonly PeerFigures[], referenceConcurrency: number, ceiling?: CeilingFigures): TargetCheck[] {
  const level = levelAt(vela.search, referenceConcurrency);
  const hnswlib = peers.find((peer) => peer.name === "hnswlib-node, 1 thread" && peer.status === "ran");
  const hnswlibLevel = hnswlib === undefined ? undefined : bestLevel(hnswlib.search);
  const lancedb = peers.find((peer) => peer.name.startsWith("LanceDB") && peer.status === "ran");
  const lancedbLevel = lancedb === undefined ? undefined : levelAt(lancedb.search, referenceConcurrency);
  const strong = vela.mixed?.freshness.find((figures) => figures.consistency === "Strong");
  const eventually = vela.mixed?.freshness.find((figures) => figures.consistency === "Eventually");
  const checks: TargetCheck[] = [];
  const ceilingSearch = ceiling?.search !== undefined && ceiling.search.requests > 0 ? ceiling.search : undefined;
  const ceilingIngest = ceiling?.ingest !== undefined && ceiling.ingest.rows > 0 ? ceiling.ingest : undefined;
  const ceilingAgainst = (peerName: string, peerQueriesPerSecond: number, required: number): TargetCheck["ceiling"] => {
    if (ceilingSearch === undefined) return undefined;
    const ratio = round(ceilingSearch.queriesPerSecond / peerQueriesPerSecond);
    return { measured: `ceiling / ${peerName} = ${ratio}× (${ceilingSearch.queriesPerSecond} vs ${peerQueriesPerSecond} queries/s)`, ratio, reachable: ceilingSearch.queriesPerSecond >= required * peerQueriesPerSecond };
  };
  const withCeiling = (check: TargetCheck, against: TargetCheck["ceiling"]): TargetCheck => (against === undefined ? check : { ...check, ceiling: against });
  checks.push(withCeiling(level === undefined || hnswlibLevel === undefined
    ? { name: "throughput vs hnswlib-node (1 thread)", requirement: "≥ 1.0×", measured: "not measured" }
    : { name: "throughput vs hnswlib-node (1 thread)", requirement: "≥ 1.0×", measured: `${round(level.queriesPerSecond / hnswlibLevel.queriesPerSecond)}× (${level.queriesPerSecond} vs ${hnswlibLevel.queriesPerSecond} queries/s)`, met: level.queriesPerSecond >= hnswlibLevel.queriesPerSecond },
  hnswlibLevel === undefined ? undefined : ceilingAgainst("hnswlib 1 thread", hnswlibLevel.queriesPerSecond, 1)));
  checks.push(level === undefined
    ? { name: `recall@k at ${referenceConcurrency} clients`, requirement: "≥ 0.95", measured: "not measured" }
    : { name: `recall@k at ${referenceConcurrency} clients`, requirement: "≥ 0.95", measured: round(level.recall, 4).toString(), met: level.recall >= 0.95 });
  checks.push(withCeiling(level === undefined
    ? { name: `p99 latency at ${referenceConcurrency} clients`, requirement: "≤ 20 ms", measured: "not measured" }
    : { name: `p99 latency at ${referenceConcurrency} clients`, requirement: "≤ 20 ms", measured: `${level.latency.p99Ms} ms`, met: level.latency.p99Ms <= 20 },
  ceilingSearch === undefined ? undefined : {
    // The p99 the SDK shows against a server that answers at once: a server's p99 through it is no lower.
    measured: `ceiling p99 ${ceilingSearch.latency.p99Ms} ms`, ratio: round(ceilingSearch.latency.p99Ms / 20), reachable: ceilingSearch.latency.p99Ms <= 20,
  }));
  checks.push(withCeiling(level === undefined || lancedbLevel === undefined
    ? { name: "throughput vs LanceDB at equal or better recall", requirement: "≥ 3.0×", measured: "not measured" }
    : {
      name: "throughput vs LanceDB at equal or better recall", requirement: "≥ 3.0×",
      measured: `${round(level.queriesPerSecond / lancedbLevel.queriesPerSecond)}× (recall ${round(level.recall, 4)} vs ${round(lancedbLevel.recall, 4)})`,
      met: level.queriesPerSecond >= 3 * lancedbLevel.queriesPerSecond && level.recall >= lancedbLevel.recall,
    },
  lancedbLevel === undefined ? undefined : ceilingAgainst(`LanceDB at ${referenceConcurrency} clients`, lancedbLevel.queriesPerSecond, 3)));
  const ingestTarget = 28_000;
  checks.push(withCeiling(vela.ingest === undefined
    ? { name: "ingest through the SDK, durable", requirement: "≥ 28,000 vectors/s", measured: "not measured" }
    : { name: "ingest through the SDK, durable", requirement: "≥ 28,000 vectors/s", measured: `${Math.round(vela.ingest.vectorsPerSecond)} vectors/s`, met: vela.ingest.vectorsPerSecond >= ingestTarget },
  ceilingIngest === undefined ? undefined : {
    measured: `ceiling ${Math.round(ceilingIngest.vectorsPerSecond)} vectors/s = ${round(ceilingIngest.vectorsPerSecond / ingestTarget)}× the target`,
    ratio: round(ceilingIngest.vectorsPerSecond / ingestTarget), reachable: ceilingIngest.vectorsPerSecond >= ingestTarget,
  }));
  checks.push(strong === undefined || eventually === undefined || strong.probes === 0 || eventually.probes === 0
    ? { name: "Strong freshness p50 vs Eventually", requirement: "within 10 ms", measured: "not measured" }
    : { name: "Strong freshness p50 vs Eventually", requirement: "within 10 ms", measured: `${strong.delay.p50Ms} ms vs ${eventually.delay.p50Ms} ms`, met: strong.delay.p50Ms <= eventually.delay.p50Ms + 10 });
  return checks;
}
