// One benchmark run, start to end: prepare the data and its ground truth, run the selected phases
// against Vela (started as a child process unless an address is given), stop Vela, measure the client
// ceiling (the SDK against a server that does no work, in a child process of its own), run the peers on
// the same vectors and queries (so they never share cores with Vela), compare, check the targets, and
// write result.json and report.html. A phase that Vela cannot run (an index type it refuses, a lost
// server) ends the Vela phases with a recorded reason; the peers and the report still happen.

import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { errorMessage } from "../../common/errors.ts";
import { benchDefaults } from "../../common/config.ts";
import { generateDataSet, readDataSet, tagFilterMask, type DataSet } from "./dataset.ts";
import { groundTruthFor, type GroundTruth } from "./ground-truth.ts";
import type { BenchSettings } from "./options.ts";
import { runHnswlibPeers } from "./peers/hnswlib-peer.ts";
import { runLancePeer } from "./peers/lancedb-peer.ts";
import { Progress } from "./progress.ts";
import { renderReport } from "./report-html.ts";
import { checkTargets, compare, type BenchResult, type CeilingFigures, type PeerFigures, type VelaFigures } from "./result.ts";
import { IndexRefusedError, VelaDriver } from "./vela-driver.ts";
import { ceilingPhase } from "./ceiling-phase.ts";
import { buildPhase, efSweepPhase, ingestPhase, mixedPhase, searchLevel, type VelaPhaseContext } from "./vela-phases.ts";
import { startStandaloneVela, type StartedVela } from "./vela-server.ts";

export interface RunOutcome {
  result: BenchResult;
  resultPath: string;
  reportPath: string;
}

export async function runBench(settings: BenchSettings, command: string): Promise<RunOutcome> {
  const progress = new Progress({ enabled: !settings.quiet });
  const startedAt = new Date();
  const started = performance.now();
  const machine: BenchResult["machine"] = {
    cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? "unknown", memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform} ${process.arch}`, node: process.versions.node, loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
  };
  const outDir = resolve(settings.outDir ?? join("bench-results", `${startedAt.toISOString().replace(/[:.]/g, "-")}-${settings.workload}`));

  progress.start("data set", 1, "set");
  const prepareStarted = performance.now();
  const dataSet: DataSet = settings.data.kind === "generated"
    ? generateDataSet({ rows: settings.data.rows, dim: settings.data.dim, clusters: settings.data.clusters, spread: settings.data.spread, queries: settings.data.queries, seed: settings.data.seed })
    : readDataSet({ base: settings.data.base, queries: settings.data.queries, queryCountMax: settings.data.queryCountMax, ...(settings.data.groundTruth === undefined ? {} : { groundTruth: settings.data.groundTruth }), ...(settings.data.rowsMax === undefined ? {} : { rowsMax: settings.data.rowsMax }) });
  const prepareMs = performance.now() - prepareStarted;
  progress.finish(dataSet.description);
  if (settings.nq > dataSet.queryCount) throw new Error(`--nq ${settings.nq} is more than the ${dataSet.queryCount} queries`);

  let truth: GroundTruth;
  let groundTruth: BenchResult["dataSet"]["groundTruth"];
  if (dataSet.givenGroundTruth !== undefined && dataSet.givenGroundTruth.width >= settings.k && settings.metric === "L2") {
    truth = dataSet.givenGroundTruth;
    groundTruth = { source: "given (.ivecs file)", cached: false, computeMs: 0 };
  } else {
    const outcome = await groundTruthFor({ dataSet, metric: settings.metric, k: settings.k, cacheDir: settings.cacheDir, progress });
    truth = outcome.truth;
    groundTruth = { source: `exact brute force in worker threads${outcome.cached ? `, read from the cache ${outcome.path}` : `, cached as ${outcome.path}`}`, cached: outcome.cached, computeMs: Math.round(outcome.computeMs) };
  }

  const vela = await runVelaPhases(settings, dataSet, truth, progress);
  // After Vela has stopped and before the peers: the SDK client's own limit on this machine.
  let ceiling: CeilingFigures | undefined;
  if (settings.phases.includes("ceiling")) {
    ceiling = await ceilingPhase(dataSet, truth, progress, {
      collection: settings.collection,
      search: {
        concurrency: settings.referenceConcurrency, nq: settings.nq, k: settings.k, consistency: settings.consistency, ...(settings.indexType === "HNSW" ? { ef: settings.ef } : {}),
        durationMs: settings.levelSeconds * 1000, requestsMax: settings.levelRequestsMax, threads: settings.searchThreads,
      },
      ingest: { batchRows: settings.insertBatchRows, concurrency: settings.insertConcurrency, threads: settings.insertThreads, rowsMax: benchDefaults.ceilingIngestRowsMax },
      warmUpSeconds: benchDefaults.ceilingWarmUpSeconds,
    });
  }
  const peers: PeerFigures[] = [];
  if (settings.peers.includes("hnswlib")) {
    try {
      peers.push(...await runHnswlibPeers({
        dataSet, truth, metric: settings.metric, M: settings.M, efConstruction: settings.efConstruction, ef: settings.ef, k: settings.k,
        efSweep: settings.efSweep, levelSeconds: settings.levelSeconds, requestsMax: settings.levelRequestsMax, workerCount: settings.peerWorkers, progress,
      }));
    } catch (error) {
      peers.push({ name: "hnswlib-node", status: "failed", reason: errorMessage(error), index: "HNSW", search: [], efSweep: [] });
    }
  }
  if (settings.peers.includes("lancedb")) {
    const lance = await runLancePeer({
      dataSet, truth, metric: settings.metric, M: settings.M, efConstruction: settings.efConstruction, ef: settings.ef, k: settings.k, efSweep: settings.efSweep,
      concurrencyLevels: settings.concurrencyLevels, referenceConcurrency: settings.referenceConcurrency, levelSeconds: settings.levelSeconds, requestsMax: settings.levelRequestsMax, progress,
    });
    if (lance.status !== "ran") progress.note(lance.reason ?? `LanceDB peer ${lance.status}`);
    peers.push(lance);
  }

  machine.loadAverageAtEnd = loadavg().map((value) => Math.round(value * 100) / 100);
  const result: BenchResult = {
    tool: "vela bench", formatVersion: 1, workload: settings.workload,
    startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), durationMs: Math.round(performance.now() - started), command, machine,
    settings: { ...settings, defaults: benchDefaults } as unknown as Record<string, unknown>,
    dataSet: { description: dataSet.description, rows: dataSet.rows, dim: dataSet.dim, queries: dataSet.queryCount, metric: settings.metric, k: settings.k, prepareMs: Math.round(prepareMs), groundTruth },
    vela, peers,
    comparisons: compare(vela, peers, settings.referenceConcurrency),
    targets: checkTargets(vela, peers, settings.referenceConcurrency, ceiling),
    ...(ceiling === undefined ? {} : { ceiling }),
  };
  mkdirSync(outDir, { recursive: true });
  const resultPath = join(outDir, "result.json");
  const reportPath = join(outDir, "report.html");
  writeFileSync(resultPath, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(reportPath, renderReport(result));
  return { result, resultPath, reportPath };
}

async function runVelaPhases(settings: BenchSettings, dataSet: DataSet, truth: GroundTruth, progress: Progress): Promise<VelaFigures> {
  // The ceiling phase drives a null server, not Vela (see ceilingPhase).
  const phases = new Set(settings.phases.filter((phase) => phase !== "ceiling"));
  const vela: VelaFigures = { address: settings.address ?? "(not started)", startedByTool: settings.address === undefined, indexType: settings.indexType, consistency: settings.consistency };
  if (phases.size === 0) return vela;
  let server: StartedVela | undefined;
  let driver: VelaDriver | undefined;
  const isHnsw = settings.indexType === "HNSW";
  try {
    if (settings.address === undefined) {
      progress.start("start a standalone Vela (child process)", 1, "server");
      server = await startStandaloneVela({ keepData: settings.keepData });
      vela.address = server.address;
      progress.finish(`${server.address}, data in ${server.dataDir}`);
    }
    driver = await VelaDriver.connect(vela.address, settings.collection);
    const context: VelaPhaseContext = { driver, dataSet, progress, ...(server === undefined ? {} : { velaPid: server.pid }) };
    if (phases.has("ingest")) {
      await driver.recreateCollection(dataSet.dim);
      vela.ingest = await ingestPhase(context, {
        batchRows: settings.insertBatchRows, concurrency: settings.insertConcurrency, threads: settings.insertThreads, rowsPerSecond: settings.insertRowsPerSecond,
        address: vela.address, collection: settings.collection,
      });
    } else if (!(await driver.collectionExists())) {
      throw new Error(`collection "${settings.collection}" does not exist; run with the ingest phase first`);
    }
    if (phases.has("build")) {
      vela.build = await buildPhase(context, { indexType: settings.indexType, metric: settings.metric, M: settings.M, efConstruction: settings.efConstruction, timeoutMs: benchDefaults.buildPhaseSeconds * 1000 });
      if (vela.build.rowsCounted !== undefined && vela.build.rowsCounted !== dataSet.rows && phases.has("ingest")) {
        progress.note(`warning: Vela counts ${vela.build.rowsCounted} rows after loading, the data set has ${dataSet.rows}`);
      }
    }
    const searchEf = isHnsw ? { ef: settings.ef } : {};
    const searchThreads = { threads: { count: settings.searchThreads, address: vela.address, collection: settings.collection } };
    if (phases.has("search")) {
      vela.search = [];
      for (const concurrency of settings.concurrencyLevels) {
        vela.search.push(await searchLevel(context, {
          concurrency, nq: settings.nq, k: settings.k, consistency: settings.consistency, ...searchEf, truth,
          durationMs: settings.levelSeconds * 1000, requestsMax: settings.levelRequestsMax, label: `search, ${concurrency} clients`, ...searchThreads,
        }));
      }
    }
    if (phases.has("efsweep")) {
      if (isHnsw) vela.efSweep = await efSweepPhase(context, { concurrency: settings.referenceConcurrency, nq: settings.nq, k: settings.k, consistency: settings.consistency, truth, efs: settings.efSweep, ...searchThreads });
      else progress.note(`ef sweep skipped: a ${settings.indexType} index has no ef`);
    }
    if (phases.has("filtered")) {
      const { mask, kept } = tagFilterMask(dataSet.rows, settings.filterKeepPercent);
      const filter = `tag < ${settings.filterKeepPercent}`;
      const filteredTruth = await groundTruthFor({ dataSet, metric: settings.metric, k: settings.k, cacheDir: settings.cacheDir, progress, filter: { name: filter, mask } });
      const level = await searchLevel(context, {
        concurrency: settings.referenceConcurrency, nq: settings.nq, k: settings.k, consistency: settings.consistency, ...searchEf, truth: filteredTruth.truth, filter,
        durationMs: settings.levelSeconds * 1000, requestsMax: settings.levelRequestsMax, label: `filtered search (${filter}), ${settings.referenceConcurrency} clients`, ...searchThreads,
      });
      vela.filtered = { ...level, filter, keptFraction: kept / dataSet.rows };
    }
    if (phases.has("mixed")) {
      vela.mixed = await mixedPhase(context, {
        durationMs: settings.mixedSeconds * 1000, insertRowsPerSecond: settings.mixedInsertRowsPerSecond, insertBatchRows: benchDefaults.mixedInsertBatchRows,
        searchConcurrency: settings.mixedSearchConcurrency, k: settings.k, ...searchEf, consistency: settings.consistency,
        probeIntervalMs: benchDefaults.freshnessProbeIntervalMs, probeTimeoutMs: benchDefaults.freshnessTimeoutMs,
      });
    }
  } catch (error) {
    progress.finish("failed");
    vela.failure = error instanceof IndexRefusedError
      ? `${error.message}. Run with --index FLAT (or AUTOINDEX) until Vela builds ${error.indexType} indexes.`
      : errorMessage(error);
    if (server !== undefined && !server.running()) vela.failure += `\nThe standalone Vela exited; its last output:\n${server.output().trim().split("\n").slice(-20).join("\n")}`;
    progress.note(`Vela: ${vela.failure}`);
  } finally {
    if (driver !== undefined) {
      if (!settings.keepCollection && vela.failure === undefined) {
        await driver.dropCollection().catch((error: unknown) => progress.note(`could not drop the collection: ${errorMessage(error)}`));
      }
      await driver.close().catch(() => undefined);
    }
    if (server !== undefined) {
      progress.start("stop the standalone Vela (SIGTERM)", 1, "server");
      const exit = await server.stop();
      progress.finish(exit.exitCode === 0 ? "exited cleanly" : `exit code ${exit.exitCode}, signal ${exit.signal}`);
      if (exit.exitCode !== 0) {
        // A server that had to be killed (or failed on the way out) is a finding of its own: keep its words.
        const lastWords = server.output().trim().split("\n").slice(-10).join("\n");
        vela.shutdown = `the standalone Vela did not exit cleanly on SIGTERM (exit code ${exit.exitCode}, signal ${exit.signal})${lastWords === "" ? "" : `; its last output:\n${lastWords}`}`;
        progress.note(vela.shutdown);
      }
    }
  }
  return vela;
}
