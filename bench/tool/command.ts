// `vela bench`: parse the flags, run, print a short summary on stdout and where the files went.
// Exit codes: 0 done, 1 the Vela phases stopped early (the files are still written), 2 bad usage.

import { errorMessage, VelaError, ErrorCode } from "../../common/errors.ts";
import { benchUsage, parseBenchArgs } from "./options.ts";
import type { BenchResult } from "./result.ts";
import { runBench } from "./run.ts";

export async function runBenchCommand(argv: string[]): Promise<number> {
  let settings;
  try {
    settings = parseBenchArgs(argv);
  } catch (error) {
    const usageError = (error instanceof VelaError && error.code === ErrorCode.InvalidArgument) || (error as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS") === true;
    if (!usageError) throw error;
    process.stderr.write(`vela bench: ${errorMessage(error)}\n(vela bench --help lists the options)\n`);
    return 2;
  }
  if (settings === "help") {
    process.stdout.write(benchUsage);
    return 0;
  }
  const { result, resultPath, reportPath } = await runBench(settings, `vela bench ${argv.join(" ")}`.trim());
  process.stdout.write(summarize(result));
  process.stdout.write(`\nresult: ${resultPath}\nreport: ${reportPath}\n`);
  return result.vela.failure === undefined ? 0 : 1;
}

/** A plain-text digest of a result, for the terminal. */
export function summarize(result: BenchResult): string {
  const lines: string[] = [
    `\nVela benchmark (${result.workload}): ${result.dataSet.description}; ${result.dataSet.metric}, k ${result.dataSet.k}, index ${result.vela.indexType}`,
    `  machine   ${result.machine.cpus} × ${result.machine.cpuModel}; load average ${result.machine.loadAverageAtStart.join(" ")} at the start, ${result.machine.loadAverageAtEnd?.join(" ") ?? "?"} at the end`,
  ];
  const { vela } = result;
  if (vela.ingest !== undefined) lines.push(`  ingest    ${Math.round(vela.ingest.vectorsPerSecond)} vectors/s (batches of ${vela.ingest.batchRows}, ${vela.ingest.concurrency} in flight, ${vela.ingest.threads} SDK ${vela.ingest.threads === 1 ? "thread" : "threads"}), p99 ${vela.ingest.latency.p99Ms} ms, ${vela.ingest.errors.count} errors`);
  if (vela.build !== undefined) lines.push(`  build     flush ${vela.build.flushMs} ms, index ${vela.build.indexMs} ms, load ${vela.build.loadMs} ms`);
  for (const level of vela.search ?? []) lines.push(`  search    ${String(level.concurrency).padStart(3)} clients: ${level.queriesPerSecond} queries/s, p50 ${level.latency.p50Ms} ms, p99 ${level.latency.p99Ms} ms, recall ${level.recall.toFixed(4)}, ${level.errors.count} errors`);
  for (const point of vela.efSweep ?? []) lines.push(`  ef ${String(point.ef).padStart(4)}   recall ${point.recall.toFixed(4)}, ${point.queriesPerSecond} queries/s`);
  if (vela.filtered !== undefined) lines.push(`  filtered  ${vela.filtered.filter}: ${vela.filtered.queriesPerSecond} queries/s, p99 ${vela.filtered.latency.p99Ms} ms, recall ${vela.filtered.recall.toFixed(4)}`);
  if (vela.mixed !== undefined) {
    lines.push(`  mixed     ${Math.round(vela.mixed.insertVectorsPerSecond)} vectors/s inserted while searching at ${vela.mixed.searchQueriesPerSecond} queries/s`);
    for (const slot of vela.mixed.freshness) lines.push(`  fresh     ${slot.consistency.padEnd(10)} p50 ${slot.delay.p50Ms} ms, p99 ${slot.delay.p99Ms} ms (${slot.probes} probes, ${slot.errors.count} errors)`);
  }
  if (vela.failure !== undefined) lines.push(`  Vela phases stopped: ${vela.failure}`);
  const { ceiling } = result;
  if (ceiling?.search !== undefined) lines.push(`  ceiling   search, ${ceiling.search.concurrency} clients, null server: ${ceiling.search.queriesPerSecond} queries/s, p99 ${ceiling.search.latency.p99Ms} ms, tool ${ceiling.search.toolCpuMsPerQuery ?? "?"} ms CPU/query, null server ${ceiling.search.serverCpuMsPerQuery ?? "?"} ms CPU/query, ${ceiling.search.errors.count} errors`);
  if (ceiling?.ingest !== undefined) lines.push(`  ceiling   ingest, null server: ${Math.round(ceiling.ingest.vectorsPerSecond)} vectors/s, p99 ${ceiling.ingest.latency.p99Ms} ms, tool ${ceiling.ingest.toolCpuSecondsPerThousandRows ?? "?"} s CPU/1,000 rows, null server ${ceiling.ingest.serverCpuSecondsPerThousandRows ?? "?"} s CPU/1,000 rows, ${ceiling.ingest.errors.count} errors`);
  if (ceiling?.failure !== undefined) lines.push(`  ceiling stopped: ${ceiling.failure}`);
  for (const peer of result.peers) {
    if (peer.status !== "ran") {
      lines.push(`  peer      ${peer.name}: ${peer.status} — ${peer.reason ?? ""}`);
      continue;
    }
    for (const level of peer.search) lines.push(`  peer      ${peer.name}, ${level.concurrency} ${peer.name.startsWith("hnswlib") ? "threads" : "clients"}: ${level.queriesPerSecond} queries/s, p99 ${level.latency.p99Ms} ms, recall ${level.recall.toFixed(4)}`);
  }
  for (const comparison of result.comparisons) lines.push(`  ratio     ${comparison.what} vs ${comparison.peerName}: ${comparison.ratio}×`);
  for (const target of result.targets) {
    lines.push(`  target    ${target.name} (${target.requirement}): ${target.measured}${target.met === undefined ? "" : target.met ? " — met" : " — NOT met"}`);
    if (target.ceiling !== undefined) lines.push(`            client ceiling: ${target.ceiling.measured}${target.ceiling.reachable ? "" : " — out of reach through the SDK on this machine"}`);
  }
  return `${lines.join("\n")}\n`;
}
