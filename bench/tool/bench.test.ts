// The tool end to end at a tiny size: a standalone Vela started as a child process, every phase with a
// FLAT index (exact search, so recall must be exactly 1), the in-process hnswlib peer, and the result
// and report files. Figures are checked for presence and sanity only, never for speed.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { testSeed } from "../../common/random.ts";
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
      "--concurrency", "1,4", "--insert-threads", "2", "--insert-concurrency", "4", "--reference-concurrency", "4", "--level-seconds", "1", "--mixed-seconds", "2", "--mixed-insert-rate", "1000",
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
    for (const level of result.vela.search ?? []) {
      expect(level.recall).toBe(1); // FLAT is exact
      expect(level.queriesPerSecond).toBeGreaterThan(0);
      expect(level.errors.count).toBe(0);
    }
    expect(result.vela.efSweep).toBeUndefined(); // FLAT has no ef
    expect(result.vela.filtered).toMatchObject({ recall: 1, keptFraction: 0.1, errors: { count: 0 } });
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

    expect(existsSync(reportPath)).toBe(true);
    const html = readFileSync(reportPath, "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("<svg");
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/); // self-contained, offline
  }, 90_000);
});

describe("vela bench options", () => {
  it("runs the reference workload from defaults and refuses flags that would change it", () => {
    const reference = parseBenchArgs(["--reference"]) as BenchSettings;
    expect(reference).toMatchObject({
      workload: "reference", indexType: "HNSW", M: 16, efConstruction: 200, ef: 64, k: 10, referenceConcurrency: 16,
      data: { kind: "generated", rows: 100_000, dim: 128, clusters: 100, seed: 42 },
    });
    expect(reference.phases).toEqual(["ingest", "build", "search", "efsweep", "filtered", "mixed"]);
    expect(reference.peers).toEqual(["hnswlib", "lancedb"]);
    expect(() => parseBenchArgs(["--reference", "--rows", "10"])).toThrow(/cannot be combined with --rows/);
    expect(() => parseBenchArgs(["--ef", "5", "--k", "10"])).toThrow(/--ef \(5\) must be at least --k \(10\)/);
    expect(() => parseBenchArgs(["--phases", "ingest,warmup"])).toThrow(/unknown "warmup"/);
    expect(parseBenchArgs(["--help"])).toBe("help");
  });
});
