// The HTML report of a run: one self-contained file (inline CSS and SVG, no script, no network), so it
// opens offline and can be attached to an issue. Charts: throughput and p99 latency against
// concurrency, recall against ef; tables: the targets (with the client ceiling beside them), Vela beside
// its peers with ratios, every phase's figures, errors, the machine and the settings. Everything shown comes from the result object.

import type { BenchResult, EfPoint, PeerFigures, SearchLevel } from "./result.ts";
import type { LatencySummary } from "./stats.ts";

interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
  /** Drawn as a dashed horizontal line across the chart (a peer measured at one setting only). */
  constant?: number;
}

const palette = { vela: "#1f6feb", lancedb: "#d4740c", hnswlibSingle: "#2da44e", hnswlibCores: "#8250df" };

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function niceStep(range: number): number {
  if (!(range > 0)) return 1;
  const raw = range / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 2.5, 5, 10]) if (raw <= factor * magnitude) return factor * magnitude;
  return 10 * magnitude;
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return Number(value.toPrecision(3)).toString();
}

/**
 * An SVG line chart; x on a log2 scale when `xLog` (concurrency, ef). y turns logarithmic by itself
 * when the values span more than 30× (Vela beside an in-process library can differ by orders of
 * magnitude, and a linear axis would flatten the smaller curve to zero).
 */
export function lineChart(options: { title: string; xLabel: string; yLabel: string; xLog: boolean; series: Series[]; yMin?: number; yMax?: number }): string {
  const width = 560;
  const height = 320;
  const margin = { left: 64, right: 16, top: 32, bottom: 48 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const xs = options.series.flatMap((series) => series.points.map(([x]) => x));
  const ys = options.series.flatMap((series) => [...series.points.map(([, y]) => y), ...(series.constant === undefined ? [] : [series.constant])]).filter(Number.isFinite);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(options.title)}">`];
  parts.push(`<text x="${width / 2}" y="18" text-anchor="middle" class="title">${escapeHtml(options.title)}</text>`);
  if (xs.length === 0 || ys.length === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">not measured in this run</text></svg>`);
    return parts.join("");
  }
  const xValues = [...new Set(xs)].sort((a, b) => a - b);
  const xScale = options.xLog ? (x: number) => Math.log2(x) : (x: number) => x;
  const xMin = xScale(xValues[0] as number);
  const xMax = xScale(xValues[xValues.length - 1] as number);
  const xAt = (x: number): number => margin.left + (xMax === xMin ? plotWidth / 2 : ((xScale(x) - xMin) / (xMax - xMin)) * plotWidth);
  const positive = ys.filter((y) => y > 0);
  const yLog = options.yMax === undefined && positive.length === ys.length && Math.max(...ys) / Math.min(...ys) > 30;
  let yAt: (y: number) => number;
  let ticks: number[] = [];
  if (yLog) {
    const low = Math.floor(Math.log10(Math.min(...ys)));
    const high = Math.ceil(Math.log10(Math.max(...ys)));
    yAt = (y) => margin.top + plotHeight - ((Math.log10(y) - low) / Math.max(1, high - low)) * plotHeight;
    for (let power = low; power <= high; power++) ticks.push(10 ** power);
  } else {
    const yLow = options.yMin ?? 0;
    const yTop = options.yMax ?? Math.max(...ys);
    const step = niceStep(yTop - yLow);
    const yHigh = options.yMax ?? Math.max(yLow + step, Math.ceil(yTop / step) * step);
    yAt = (y) => margin.top + plotHeight - ((y - yLow) / (yHigh - yLow)) * plotHeight;
    for (let y = yLow; y <= yHigh + step / 1000; y += step) ticks.push(y);
    ticks = ticks.map((y) => Number(y.toPrecision(12)));
  }
  for (const y of ticks) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${yAt(y)}" y2="${yAt(y)}" class="grid"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${yAt(y) + 4}" text-anchor="end">${formatNumber(y)}</text>`);
  }
  const yAxisLabel = yLog ? `${options.yLabel}, log scale` : options.yLabel;
  for (const x of xValues) parts.push(`<text x="${xAt(x)}" y="${margin.top + plotHeight + 16}" text-anchor="middle">${formatNumber(x)}</text>`);
  parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}" class="axis"/>`);
  parts.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotHeight}" class="axis"/>`);
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 8}" text-anchor="middle">${escapeHtml(options.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(yAxisLabel)}</text>`);
  options.series.filter((series) => series.points.length > 0 || series.constant !== undefined).forEach((series, index) => {
    if (series.constant !== undefined && Number.isFinite(series.constant)) {
      parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${yAt(series.constant)}" y2="${yAt(series.constant)}" stroke="${series.color}" stroke-width="2" stroke-dasharray="6 4"/>`);
    }
    const points = series.points.filter(([, y]) => Number.isFinite(y)).sort((a, b) => a[0] - b[0]);
    if (points.length > 1) parts.push(`<polyline fill="none" stroke="${series.color}" stroke-width="2" points="${points.map(([x, y]) => `${xAt(x).toFixed(1)},${yAt(y).toFixed(1)}`).join(" ")}"/>`);
    for (const [x, y] of points) parts.push(`<circle cx="${xAt(x).toFixed(1)}" cy="${yAt(y).toFixed(1)}" r="3.5" fill="${series.color}"><title>${escapeHtml(series.name)}: ${formatNumber(y)} at ${formatNumber(x)}</title></circle>`);
    const legendY = margin.top + 6 + index * 16;
    parts.push(`<rect x="${margin.left + 10}" y="${legendY - 8}" width="12" height="4" fill="${series.color}"/><text x="${margin.left + 28}" y="${legendY - 2}" class="legend">${escapeHtml(series.name)}${series.constant === undefined ? "" : " (dashed)"}</text>`);
  });
  parts.push("</svg>");
  return parts.join("");
}

function peerColor(peer: PeerFigures): string {
  if (peer.name.startsWith("LanceDB")) return palette.lancedb;
  return peer.name.includes("1 thread") ? palette.hnswlibSingle : palette.hnswlibCores;
}

/** A peer with one level (hnswlib) is a constant line; one with several (LanceDB) a curve. */
function peerSeries(peer: PeerFigures, value: (level: SearchLevel) => number): Series {
  if (peer.search.length === 1) {
    const level = peer.search[0] as SearchLevel;
    return { name: peer.name, color: peerColor(peer), points: [], constant: value(level) };
  }
  return { name: peer.name, color: peerColor(peer), points: peer.search.map((level) => [level.concurrency, value(level)]) };
}

function table(headers: string[], rows: Array<Array<string | number>>): string {
  const head = headers.map((header) => `<th>${escapeHtml(header)}</th>`).join("");
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(typeof cell === "number" ? formatNumber(cell) : cell)}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function latencyCells(latency: LatencySummary): number[] {
  return [latency.p50Ms, latency.p95Ms, latency.p99Ms, latency.maxMs];
}

function levelRows(levels: readonly SearchLevel[]): Array<Array<string | number>> {
  return levels.map((level) => [level.concurrency, level.requests, level.queriesPerSecond, ...latencyCells(level.latency), level.recall.toFixed(4), level.errors.count, level.cpu?.velaCores ?? "–", level.cpu?.toolCores ?? "–"]);
}

const levelHeaders = ["clients", "requests", "queries/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "recall@k", "errors", "Vela cores", "tool cores"];

function errorList(what: string, errors: { count: number; first: string[] } | undefined): string {
  if (errors === undefined || errors.count === 0) return "";
  return `<p class="error"><b>${escapeHtml(what)}: ${errors.count} errors.</b> First: ${errors.first.map((message) => `<code>${escapeHtml(message)}</code>`).join("; ")}</p>`;
}

/** The `ceiling` phase: what the SDK reaches against a server that does no work. */
function ceilingSection(result: BenchResult): string {
  const ceiling = result.ceiling;
  if (ceiling === undefined) return "";
  const { search, ingest } = ceiling;
  const headline = [
    search === undefined ? undefined : `${formatNumber(search.queriesPerSecond)} queries/s at ${search.concurrency} clients`,
    ingest === undefined ? undefined : `${formatNumber(Math.round(ingest.vectorsPerSecond))} vectors/s ingest`,
  ].filter((part) => part !== undefined);
  const parts = [`<h2>Client ceiling</h2>
<p>The SDK against a server that does no work (${escapeHtml(ceiling.server)}, at ${escapeHtml(ceiling.address)}; no Vela running): ${headline.length === 0 ? "not measured" : escapeHtml(headline.join(", "))}. The tool's own driver and settings, so no server can show more through the SDK on this machine.</p>`];
  if (ceiling.failure !== undefined) parts.push(`<p class="error"><b>Client ceiling stopped:</b> ${escapeHtml(ceiling.failure)}</p>`);
  const cpuPer = (value: number | undefined, unit: string): string => (value === undefined ? "–" : `${formatNumber(value)} ${unit}`);
  const rows: Array<Array<string | number>> = [];
  if (search !== undefined) {
    rows.push([`search, ${search.concurrency} clients, nq ${search.nq}`, `${formatNumber(search.queriesPerSecond)} queries/s`, ...latencyCells(search.latency), search.errors.count,
      search.cpu.toolCores, search.cpu.serverCores ?? "–", cpuPer(search.toolCpuMsPerQuery, "ms/query"), cpuPer(search.serverCpuMsPerQuery, "ms/query")]);
  }
  if (ingest !== undefined) {
    rows.push([`ingest, ${formatNumber(ingest.rows)} rows in batches of ${formatNumber(ingest.batchRows)}, ${ingest.concurrency} in flight, ${ingest.threads} SDK ${ingest.threads === 1 ? "thread" : "threads"}`, `${formatNumber(Math.round(ingest.vectorsPerSecond))} vectors/s`, ...latencyCells(ingest.latency), ingest.errors.count,
      ingest.cpu.toolCores, ingest.cpu.serverCores ?? "–", cpuPer(ingest.toolCpuSecondsPerThousandRows, "s/1,000 rows"), cpuPer(ingest.serverCpuSecondsPerThousandRows, "s/1,000 rows")]);
  }
  if (rows.length > 0) parts.push(table(["what", "throughput", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "tool cores", "null server cores", "tool CPU", "null server CPU"], rows));
  parts.push(errorList("client ceiling search", search?.errors), errorList("client ceiling ingest", ingest?.errors));
  return parts.join("");
}

function efSeries(name: string, color: string, points: readonly EfPoint[]): Series {
  return { name, color, points: points.map((point) => [point.ef, point.recall]) };
}

export function renderReport(result: BenchResult): string {
  const { vela, peers } = result;
  const velaLevels = vela.search ?? [];
  const ranPeers = peers.filter((peer) => peer.status === "ran");
  const sections: string[] = [];

  sections.push(`<h1>Vela benchmark — ${escapeHtml(result.workload)}</h1>
<p>${escapeHtml(result.startedAt)} · ${formatNumber(result.durationMs / 1000)} s · ${escapeHtml(result.machine.cpuModel)}, ${result.machine.cpus} cores, ${result.machine.memoryGiB} GiB, ${escapeHtml(result.machine.platform)}, Node ${escapeHtml(result.machine.node)}; load average ${result.machine.loadAverageAtStart.join(" ")} at the start${result.machine.loadAverageAtEnd === undefined ? "" : `, ${result.machine.loadAverageAtEnd.join(" ")} at the end`}${(result.machine.loadAverageAtStart[0] ?? 0) > result.machine.cpus ? " (the machine was busy with other work: figures are low)" : ""}</p>
<p>Data: ${escapeHtml(result.dataSet.description)}; metric ${escapeHtml(result.dataSet.metric)}, k ${result.dataSet.k}; ground truth ${escapeHtml(result.dataSet.groundTruth.source)}.</p>
<p>Vela at ${escapeHtml(vela.address)}${vela.startedByTool ? " (a standalone started by the tool as a child process)" : ""}, index ${escapeHtml(vela.indexType)}, searches at consistency ${escapeHtml(vela.consistency)}.</p>
<p><code>${escapeHtml(result.command)}</code></p>`);
  if (vela.failure !== undefined) sections.push(`<p class="error"><b>Vela phases stopped:</b> ${escapeHtml(vela.failure)}</p>`);
  if (vela.shutdown !== undefined) sections.push(`<p class="error"><b>Shutdown:</b> ${escapeHtml(vela.shutdown)}</p>`);

  const ceilingShown = result.targets.some((target) => target.ceiling !== undefined);
  sections.push(`<h2>Targets</h2>${table(
    ["target", "requirement", "measured", "met", ...(ceilingShown ? ["client ceiling (SDK, null server)", "reachable through the SDK here"] : [])],
    result.targets.map((target) => [
      target.name, target.requirement, target.measured, target.met === undefined ? "not measured" : target.met ? "yes" : "NO",
      ...(ceilingShown ? [target.ceiling?.measured ?? "–", target.ceiling === undefined ? "–" : target.ceiling.reachable ? "yes" : "NO"] : []),
    ]),
  )}`);
  if (result.ceiling !== undefined) sections.push(ceilingSection(result));
  if (result.comparisons.length > 0) {
    sections.push(`<h2>Vela beside its peers</h2>${table(["figure", "peer", "Vela", "peer value", "Vela / peer"], result.comparisons.map((row) => [row.what, row.peerName, row.vela, row.peer, `${row.ratio}×`]))}`);
  }

  const throughputSeries: Series[] = [{ name: "Vela", color: palette.vela, points: velaLevels.map((level) => [level.concurrency, level.queriesPerSecond]) }, ...ranPeers.map((peer) => peerSeries(peer, (level) => level.queriesPerSecond))];
  const p99Series: Series[] = [{ name: "Vela", color: palette.vela, points: velaLevels.map((level) => [level.concurrency, level.latency.p99Ms]) }, ...ranPeers.map((peer) => peerSeries(peer, (level) => level.latency.p99Ms))];
  const recallSeries: Series[] = [efSeries("Vela", palette.vela, vela.efSweep ?? []), ...ranPeers.filter((peer) => peer.efSweep.length > 0).map((peer) => efSeries(peer.name, peerColor(peer), peer.efSweep))];
  sections.push(`<h2>Charts</h2><div class="charts">
${lineChart({ title: "Search throughput against concurrency", xLabel: "concurrent clients", yLabel: "queries/s", xLog: true, series: throughputSeries })}
${lineChart({ title: "p99 latency against concurrency", xLabel: "concurrent clients", yLabel: "p99 latency (ms)", xLog: true, series: p99Series })}
${lineChart({ title: `Recall@${result.dataSet.k} against ef`, xLabel: "ef", yLabel: "recall", xLog: true, series: recallSeries, yMax: 1 })}
</div>`);

  if (vela.ingest !== undefined) {
    const ingest = vela.ingest;
    sections.push(`<h2>Ingest</h2>${table(["rows", "batch", "in flight", "SDK threads", "paced to rows/s", "vectors/s", "requests/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "Vela cores", "tool cores"],
      [[ingest.rows, ingest.batchRows, ingest.concurrency, ingest.threads, ingest.targetRowsPerSecond === 0 ? "unpaced" : ingest.targetRowsPerSecond, ingest.vectorsPerSecond, ingest.requestsPerSecond, ...latencyCells(ingest.latency), ingest.errors.count, ingest.cpu.velaCores ?? "–", ingest.cpu.toolCores]])}${errorList("ingest", ingest.errors)}`);
  }
  if (vela.build !== undefined) {
    const build = vela.build;
    sections.push(`<h2>Flush, index build, load</h2>${table(["index", "params", "flush ms", "index ms", "load ms", "total ms", "rows counted"],
      [[build.indexType, JSON.stringify(build.indexParams), build.flushMs, build.indexMs, build.loadMs, build.totalMs, build.rowsCounted ?? "–"]])}`);
  }
  if (velaLevels.length > 0) sections.push(`<h2>Search (Vela)</h2>${table(levelHeaders, levelRows(velaLevels))}${velaLevels.map((level) => errorList(`${level.concurrency} clients`, level.errors)).join("")}`);
  if (vela.efSweep !== undefined && vela.efSweep.length > 0) {
    sections.push(`<h2>ef sweep (Vela)</h2>${table(["ef", "recall@k", "queries/s", "p50 ms", "p95 ms", "p99 ms", "max ms"], vela.efSweep.map((point) => [point.ef, point.recall.toFixed(4), point.queriesPerSecond, ...latencyCells(point.latency)]))}`);
  }
  if (vela.filtered !== undefined) {
    const filtered = vela.filtered;
    sections.push(`<h2>Filtered search (Vela)</h2><p>Filter <code>${escapeHtml(filtered.filter)}</code> keeps ${(filtered.keptFraction * 100).toFixed(0)}% of the rows; recall against a filtered ground truth.</p>${table(levelHeaders, levelRows([filtered]))}${errorList("filtered", filtered.errors)}`);
  }
  if (vela.mixed !== undefined) {
    const mixed = vela.mixed;
    sections.push(`<h2>Mixed: inserts and searches together, freshness</h2>
<p>${formatNumber(mixed.durationMs / 1000)} s: ${mixed.insertedRows} rows inserted (${formatNumber(mixed.insertVectorsPerSecond)} vectors/s, insert p99 ${mixed.insertLatency.p99Ms} ms), searches at ${formatNumber(mixed.searchQueriesPerSecond)} queries/s (p99 ${mixed.searchLatency.p99Ms} ms); Vela ${mixed.cpu.velaCores ?? "–"} cores, tool ${mixed.cpu.toolCores} cores.</p>
<p>Freshness: after an insert of one marker row is acknowledged, searches (filter on its key) at one consistency level repeat until one returns it.</p>
${table(["consistency", "probes", "p50 ms", "p95 ms", "p99 ms", "max ms", "searches per probe", "errors"], mixed.freshness.map((slot) => [slot.consistency, slot.probes, ...latencyCells(slot.delay), slot.pollsMean, slot.errors.count]))}
${errorList("mixed inserts", mixed.insertErrors)}${errorList("mixed searches", mixed.searchErrors)}${mixed.freshness.map((slot) => errorList(`${slot.consistency} probes`, slot.errors)).join("")}`);
  }

  sections.push("<h2>Peers</h2>");
  for (const peer of peers) {
    if (peer.status !== "ran") {
      sections.push(`<h3>${escapeHtml(peer.name)}</h3><p><b>${escapeHtml(peer.status)}</b>: ${escapeHtml(peer.reason ?? "")}</p>`);
      continue;
    }
    const steps = [peer.ingestMs === undefined ? "" : `load ${formatNumber(peer.ingestMs)} ms`, peer.buildMs === undefined ? "" : `index build ${formatNumber(peer.buildMs)} ms`].filter((text) => text !== "").join(", ");
    sections.push(`<h3>${escapeHtml(peer.name)}</h3><p>${escapeHtml(peer.index)}${steps === "" ? "" : `; ${escapeHtml(steps)}`}.</p>${table(levelHeaders, levelRows(peer.search))}`);
    if (peer.efSweep.length > 0) sections.push(table(["ef", "recall@k", "queries/s", "p50 ms", "p95 ms", "p99 ms", "max ms"], peer.efSweep.map((point) => [point.ef, point.recall.toFixed(4), point.queriesPerSecond, ...latencyCells(point.latency)])));
  }

  sections.push(`<h2>Settings</h2><pre>${escapeHtml(JSON.stringify(result.settings, null, 2))}</pre>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vela benchmark — ${escapeHtml(result.workload)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1180px; color: #1f2328; padding: 0 16px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: right; }
th { background: #f6f8fa; }
td:first-child, th:first-child { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg { border: 1px solid #d0d7de; background: #fff; font-size: 11px; }
svg .title { font-size: 13px; font-weight: 600; }
svg .grid { stroke: #eaeef2; }
svg .axis { stroke: #57606a; }
.error { color: #cf222e; }
code, pre { background: #f6f8fa; padding: 1px 4px; }
</style></head><body>
${sections.join("\n")}
</body></html>
`;
}
