// The `ceiling` phase: the SDK client's own limit on this machine. The tool's driver, with the settings
// of the Vela phases (the search level at the reference concurrency; the ingest phase's batch size,
// concurrency and SDK threads, unpaced), drives a server that does no work (null-server.ts, a child
// process). What it reaches is what the client alone allows: no server can show more through the SDK
// here, so a target above it is out of reach on this machine whatever Vela does. It runs with Vela
// stopped, so the two never share the cores. Each part is measured after an unmeasured warm-up.

import { errorMessage } from "../../common/errors.ts";
import type { DataSet } from "./dataset.ts";
import type { GroundTruth } from "./ground-truth.ts";
import { startNullServer, type StartedNullServer } from "./null-server.ts";
import type { Progress } from "./progress.ts";
import type { CeilingCpu, CeilingFigures, CpuFigures } from "./result.ts";
import { VelaDriver, queryPointsOf, searchInSequence, type ConsistencyName } from "./vela-driver.ts";
import { runLoad } from "./load.ts";
import { CpuMeter, ingestPhase, searchLevel, type VelaPhaseContext } from "./vela-phases.ts";

export interface CeilingOptions {
  collection: string;
  search: { concurrency: number; nq: number; k: number; ef?: number; consistency: ConsistencyName; durationMs: number; requestsMax: number; threads: number };
  ingest: { batchRows: number; concurrency: number; threads: number; rowsMax: number };
  /** Searches, then inserts, run this long unmeasured before each is measured. */
  warmUpSeconds: number;
}

const nullServerName = "null Milvus server (bench/tool/null-server.ts), a child process of the tool";

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;

function ceilingCpu(cpu: CpuFigures | undefined): CeilingCpu {
  return cpu?.velaCores === undefined ? { toolCores: cpu?.toolCores ?? 0 } : { toolCores: cpu.toolCores, serverCores: cpu.velaCores };
}

export async function ceilingPhase(dataSet: DataSet, truth: GroundTruth, progress: Progress, options: CeilingOptions): Promise<CeilingFigures> {
  progress.start("client ceiling: start the null server (child process)", 1, "server");
  let server: StartedNullServer;
  try {
    server = await startNullServer({ dim: dataSet.dim, rows: dataSet.rows });
  } catch (error) {
    progress.finish("failed");
    progress.note(`client ceiling: ${errorMessage(error)}`);
    return { server: nullServerName, address: "(not started)", failure: errorMessage(error) };
  }
  progress.finish(server.address);
  const figures: CeilingFigures = { server: nullServerName, address: server.address };
  let driver: VelaDriver | undefined;
  try {
    driver = await VelaDriver.connect(server.address, options.collection);
    const context: VelaPhaseContext = { driver, dataSet, progress, velaPid: server.pid };

    // Warm both ends up first (JIT, connections), so the ceiling is the client's steady rate: the Vela
    // search level at this concurrency follows the lower levels, and a cold start would understate it.
    const warmUpMs = options.warmUpSeconds * 1000;
    const queryPoints = queryPointsOf(dataSet.queries, dataSet.dim);
    const search = options.search;
    const warmDriver = driver;
    progress.start("client ceiling: warm-up searches", options.warmUpSeconds, "s");
    await runLoad({
      concurrency: search.concurrency, durationMs: warmUpMs,
      operation: (sequence) => searchInSequence(warmDriver, queryPoints, sequence, search, () => undefined),
    });
    progress.finish();

    const { threads, ...searchOptions } = options.search;
    let searchSeconds: { toolSeconds: number; processSeconds?: number } = { toolSeconds: 0 };
    const level = await searchLevel(context, {
      ...searchOptions, truth, label: `client ceiling: search, ${searchOptions.concurrency} clients (null server)`,
      threads: { count: threads, address: server.address, collection: options.collection },
      onCpuSeconds: (seconds) => {
        searchSeconds = seconds;
      },
    });
    const queries = level.requests * level.nq;
    figures.search = {
      concurrency: level.concurrency, nq: level.nq, requests: level.requests, durationMs: level.durationMs, queriesPerSecond: level.queriesPerSecond,
      latency: level.latency, errors: level.errors, cpu: ceilingCpu(level.cpu),
      ...(queries === 0 ? {} : { toolCpuMsPerQuery: round((searchSeconds.toolSeconds * 1000) / queries, 3) }),
      ...(queries === 0 || searchSeconds.processSeconds === undefined ? {} : { serverCpuMsPerQuery: round((searchSeconds.processSeconds * 1000) / queries, 3) }),
    };

    const ingestRows = Math.min(dataSet.rows, options.ingest.rowsMax);
    progress.start("client ceiling: warm-up inserts", options.warmUpSeconds, "s");
    await runLoad({
      concurrency: options.ingest.concurrency, durationMs: warmUpMs,
      operation: async (batch) => {
        const first = (batch * options.ingest.batchRows) % ingestRows;
        return warmDriver.insertRows(dataSet.vectors, dataSet.dim, first, Math.min(options.ingest.batchRows, ingestRows - first));
      },
    });
    progress.finish();

    const ingestMeter = new CpuMeter(server.pid);
    const ingest = await ingestPhase(context, {
      batchRows: options.ingest.batchRows, concurrency: options.ingest.concurrency, threads: options.ingest.threads, rowsPerSecond: 0,
      address: server.address, collection: options.collection, rows: ingestRows, label: "client ceiling: ingest (null server)",
    });
    const ingestSeconds = ingestMeter.seconds();
    figures.ingest = {
      rows: ingest.rows, batchRows: ingest.batchRows, concurrency: ingest.concurrency, threads: ingest.threads, durationMs: ingest.durationMs,
      vectorsPerSecond: ingest.vectorsPerSecond, requestsPerSecond: ingest.requestsPerSecond, latency: ingest.latency, errors: ingest.errors, cpu: ceilingCpu(ingest.cpu),
      ...(ingest.rows === 0 ? {} : { toolCpuSecondsPerThousandRows: round((ingestSeconds.toolSeconds * 1000) / ingest.rows, 4) }),
      ...(ingest.rows === 0 || ingestSeconds.processSeconds === undefined ? {} : { serverCpuSecondsPerThousandRows: round((ingestSeconds.processSeconds * 1000) / ingest.rows, 4) }),
    };
  } catch (error) {
    progress.finish("failed");
    figures.failure = errorMessage(error);
    progress.note(`client ceiling: ${figures.failure}`);
  } finally {
    await driver?.close().catch(() => undefined);
    const exit = await server.stop();
    figures.serverCalls = exit.calls;
    if (exit.exitCode !== 0 && figures.failure === undefined) figures.failure = `the null server did not exit cleanly (exit code ${exit.exitCode}, signal ${exit.signal})`;
  }
  return figures;
}
