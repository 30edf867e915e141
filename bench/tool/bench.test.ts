// The tool end to end at a tiny size: a standalone Vela started as a child process, every phase with a
// FLAT index (exact search, so recall must be exactly 1), the client ceiling against the null server,
// the in-process hnswlib peer, and the result and report files. Figures are checked for presence and
// sanity only, never for speed.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { scratchDir } from "../../test/servers/ports.ts";
import { parseBenchArgs, type BenchSettings } from "./options.ts";
import type { BenchResult } from "./result.ts";
import { runBench } from "./run.ts";

const seed = testSeed();
console.log(`bench.test seed ${seed} (VELA_SEED to replay)`);

describe("vela bench", () => {
  it("runs every phase against a standalone Vela with FLAT and writes the result and the report", async () => {
    const out = scratchDir("bench-out");
    const parsed = parseBenchArgs([
      "--rows", "2000", "--dim", "16", "--clusters", "10", "--queries", "100", "--seed", String(seed), "--index", "FLAT",
      "--concurrency", "1,4", "--insert-threads", "2", "--search-threads", "2", "--insert-concurrency", "4", "--reference-concurrency", "4", "--level-seconds", "1", "--mixed-seconds", "2", "--mixed-insert-rate", "1000",
      "--peers", "hnswlib", "--peer-workers", "1", "--ef-sweep", "16,64", "--out", out, "--cache-dir", join(out, "cache"), "--quiet",
    ]) as BenchSettings;
    const { resultPath, reportPath } = await runBench(parsed, "vela bench (test)");
    const result = JSON.parse(readFileSync(resultPath, "utf8")) as BenchResult;

    expect(result.vela.failure).toBeUndefined();
    expect(result.vela.startedByTool).toBe(true);
    expect(result.vela.ingest).toMatchObject({ rows: 2000, threads: 2, errors: { count: 0 } });
    expect(result.vela.ingest?.vectorsPerSecond).toBeGreaterThan(0);
    expect(result.vela.build?.rowsCounted).toBe(2000);
    expect(result.vela.search?.map((level) => level.concurrency)).toEqual([1, 4]);
    // One client runs on the tool's thread; four are spread over two SDK threads, whose answers all count.
    expect(result.vela.search?.map((level) => level.threads)).toEqual([undefined, 2]);
    for (const level of result.vela.search ?? []) {
      expect(level.recall).toBe(1); // FLAT is exact
      expect(level.queriesPerSecond).toBeGreaterThan(0);
      expect(level.errors.count).toBe(0);
    }
    expect(result.vela.efSweep).toBeUndefined(); // FLAT has no ef
    expect(result.vela.filtered).toMatchObject({ recall: 1, keptFraction: 0.1, errors: { count: 0 }, threads: 2 });
    const strong = result.vela.mixed?.freshness.find((slot) => slot.consistency === "Strong");
    expect(strong?.probes).toBeGreaterThan(0);
    expect(strong?.errors.count).toBe(0);
    expect(strong?.pollsMean).toBe(1); // a Strong search sees every write acknowledged before it
    expect(result.vela.mixed?.insertedRows).toBeGreaterThan(0);

    const hnswlib = result.peers.find((peer) => peer.name === "hnswlib-node, 1 thread");
    expect(hnswlib?.status).toBe("ran");
    expect(hnswlib?.search[0]?.recall).toBeGreaterThan(0.9);
    expect(hnswlib?.efSweep.map((point) => point.ef)).toEqual([16, 64]);
    expect(result.comparisons.some((row) => row.peerName === "hnswlib-node, 1 thread")).toBe(true);
    expect(result.targets.find((target) => target.name.startsWith("ingest"))?.met).toBeTypeOf("boolean");

    // The client ceiling ran after Vela, with the ingest phase's settings, and its ratios sit beside the targets.
    expect(result.ceiling?.failure).toBeUndefined();
    expect(result.ceiling?.search).toMatchObject({ concurrency: 4, nq: 1, errors: { count: 0 } });
    expect(result.ceiling?.ingest).toMatchObject({ rows: 2000, batchRows: 1000, concurrency: 4, threads: 2, errors: { count: 0 } });
    const hnswlibTarget = result.targets.find((target) => target.name.startsWith("throughput vs hnswlib"));
    const ceilingQueries = result.ceiling?.search?.queriesPerSecond ?? 0;
    expect(hnswlibTarget?.ceiling?.ratio).toBeCloseTo(ceilingQueries / (hnswlib?.search[0]?.queriesPerSecond ?? 1), 1);

    expect(existsSync(reportPath)).toBe(true);
    const html = readFileSync(reportPath, "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("<svg");
    expect(html).toContain("Client ceiling");
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/); // self-contained, offline
  }, 90_000);
});

describe("vela bench ceiling", () => {
  it("measures the SDK against the null server alone, without starting Vela, and sets the targets' ceilings", async () => {
    const out = scratchDir("bench-ceiling");
    const random = new SeededRandom(seed);
    const rows = random.int(1_500, 3_000);
    const batch = random.int(100, 700);
    const nq = random.int(1, 3);
    const k = random.int(1, 12);
    const parsed = parseBenchArgs([
      "--rows", String(rows), "--dim", String(random.int(4, 48)), "--clusters", "5", "--queries", "50", "--seed", String(seed), "--k", String(k), "--ef", "64", "--nq", String(nq),
      "--phases", "ceiling", "--peers", "none", "--batch", String(batch), "--insert-concurrency", "3", "--reference-concurrency", "8", "--level-seconds", "1",
      "--out", out, "--cache-dir", join(out, "cache"), "--quiet",
    ]) as BenchSettings;
    const { result, reportPath } = await runBench(parsed, "vela bench (ceiling test)");

    expect(result.vela).toMatchObject({ address: "(not started)", startedByTool: true });
    expect(result.vela.search).toBeUndefined();
    const ceiling = result.ceiling;
    expect(ceiling?.failure).toBeUndefined();
    const search = ceiling?.search;
    expect(search).toMatchObject({ concurrency: 8, nq, errors: { count: 0 } });
    expect(search?.requests).toBeGreaterThan(0);
    expect(search?.queriesPerSecond).toBeCloseTo(((search?.requests ?? 0) * nq) / ((search?.durationMs ?? 1) / 1000), -1);
    expect(search?.latency.count).toBe(search?.requests);
    expect(search?.toolCpuMsPerQuery).toBeGreaterThan(0);
    expect(ceiling?.ingest).toMatchObject({ rows, batchRows: batch, concurrency: 3, threads: 1, errors: { count: 0 } });
    expect(ceiling?.ingest?.latency.count).toBe(Math.ceil(rows / batch));
    expect(ceiling?.ingest?.toolCpuSecondsPerThousandRows).toBeGreaterThan(0);
    // The null server saw the measured calls plus the warm-ups', and nothing it does not answer.
    expect(Object.keys(ceiling?.serverCalls ?? {}).sort()).toEqual(["Connect", "DescribeCollection", "Insert", "Search"]);
    expect(ceiling?.serverCalls?.Search).toBeGreaterThan(search?.requests ?? 0);
    expect(ceiling?.serverCalls?.Insert).toBeGreaterThan(Math.ceil(rows / batch));

    const ingestTarget = result.targets.find((target) => target.name.startsWith("ingest"));
    expect(ingestTarget?.met).toBeUndefined(); // Vela did not ingest
    expect(ingestTarget?.ceiling?.ratio).toBeCloseTo((ceiling?.ingest?.vectorsPerSecond ?? 0) / 28_000, 1);
    expect(ingestTarget?.ceiling?.reachable).toBe((ceiling?.ingest?.vectorsPerSecond ?? 0) >= 28_000);
    expect(result.targets.find((target) => target.name.startsWith("throughput vs hnswlib"))?.ceiling).toBeUndefined(); // no peer ran
    const p99Target = result.targets.find((target) => target.name.startsWith("p99 latency"));
    expect(p99Target?.ceiling?.measured).toBe(`ceiling p99 ${search?.latency.p99Ms} ms`);
    expect(p99Target?.ceiling?.reachable).toBe((search?.latency.p99Ms ?? 0) <= 20);
    expect(readFileSync(reportPath, "utf8")).toMatch(/The SDK against a server that does no work .*queries\/s at 8 clients, [0-9,]+ vectors\/s ingest/);
  }, 60_000);
});

describe("vela bench options", () => {
  it("runs the reference workload from defaults and refuses flags that would change it", () => {
    const reference = parseBenchArgs(["--reference"]) as BenchSettings;
    expect(reference).toMatchObject({
      workload: "reference", indexType: "HNSW", M: 16, efConstruction: 200, ef: 64, k: 10, referenceConcurrency: 16,
      data: { kind: "generated", rows: 100_000, dim: 128, clusters: 100, seed: 42 },
    });
    expect(reference.phases).toEqual(["ingest", "build", "search", "efsweep", "filtered", "mixed", "ceiling"]);
    expect(reference.peers).toEqual(["hnswlib", "lancedb"]);
    expect(() => parseBenchArgs(["--reference", "--rows", "10"])).toThrow(/cannot be combined with --rows/);
    expect(() => parseBenchArgs(["--ef", "5", "--k", "10"])).toThrow(/--ef \(5\) must be at least --k \(10\)/);
    expect(() => parseBenchArgs(["--phases", "ingest,warmup"])).toThrow(/unknown "warmup"/);
    expect(parseBenchArgs(["--help"])).toBe("help");
  });

  it("takes SDK client threads for searches and inserts within bounds", () => {
    expect((parseBenchArgs([]) as BenchSettings).searchThreads).toBe(1);
    expect((parseBenchArgs(["--search-threads", "3"]) as BenchSettings).searchThreads).toBe(3);
    expect(() => parseBenchArgs(["--search-threads", "0"])).toThrow(/--search-threads must be an integer ≥ 1/);
    expect(() => parseBenchArgs(["--search-threads", "1.5"])).toThrow(/--search-threads must be an integer ≥ 1/);
    expect(() => parseBenchArgs(["--search-threads", "100000"])).toThrow(/--search-threads must be at most \d+ \(workerCountMax\)/);
    expect(() => parseBenchArgs(["--insert-threads", "100000"])).toThrow(/--insert-threads must be at most/);
    expect(() => parseBenchArgs(["--reference", "--search-threads", "2"])).toThrow(/cannot be combined with --search-threads/);
  });
});
