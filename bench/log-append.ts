// Benchmark (a script, not a test): what group commit buys. EmbeddedLog appends with fsync on, at several
// concurrency levels and payload sizes, against the naive way of making the same bytes durable — one
// write + fdatasync per record, one at a time — measured in the same run on the same disk.
//
//   npx tsx bench/log-append.ts
//   BENCH_SECONDS=3 BENCH_ROUNDS=5 npx tsx bench/log-append.ts   (longer cases, more rounds)
//   BENCH_WINDOW_MS=0 npx tsx bench/log-append.ts                 (another embeddedGroupCommitWaitMs)
//
// It prints appends per second, MB/s of payload, records per fsync, and the ratio to the raw baseline
// (medians over rounds that alternate the cases, since the machine may be shared).
import { mkdirSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { MsgType } from "../common/msg-type.ts";
import { EmbeddedLog } from "../storage/log/embedded-log.ts";
import { encodeFrame, sealFrame } from "../storage/log/embedded-record.ts";
import type { LogMessage } from "../storage/log/log.ts";

const secondsPerCase = Number(process.env.BENCH_SECONDS ?? "1");
const rounds = Number(process.env.BENCH_ROUNDS ?? "3");
/** Overrides embeddedGroupCommitWaitMs when set. */
const windowMs = process.env.BENCH_WINDOW_MS === undefined ? undefined : Number(process.env.BENCH_WINDOW_MS);
const payloadSizes = [128, 4096, 65_536];
const concurrencies = [1, 16, 128];
const root = join(import.meta.dirname, "..", ".bench-cache", `log-append-${process.pid}`);

function messageOf(payloadBytes: number): LogMessage {
  const payload = new Uint8Array(payloadBytes);
  for (let i = 0; i < payloadBytes; i++) payload[i] = (i * 131) & 0xff;
  return { header: { type: MsgType.Insert, collectionId: 42n, vchannel: "by-dev-dml_0_42v0", beginTs: 1n << 40n, endTs: 1n << 40n }, payload };
}

interface Result {
  appends: number;
  seconds: number;
  fsyncs: number;
}

async function benchLog(label: string, payloadBytes: number, concurrency: number, fsync: boolean): Promise<Result> {
  const limits = windowMs === undefined ? undefined : { embeddedGroupCommitWaitMs: windowMs };
  const log = await EmbeddedLog.open({ dir: join(root, label), fsync, limits });
  const message = messageOf(payloadBytes);
  await log.ensureChannel("bench");
  const before = log.stats();
  const started = performance.now();
  const deadline = started + secondsPerCase * 1000;
  let appends = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await log.append("bench", [message]);
      appends += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = (performance.now() - started) / 1000;
  const fsyncs = log.stats().fsyncs - before.fsyncs;
  await log.close();
  return { appends, seconds, fsyncs };
}

/** The same frame bytes, written and fdatasync'd one record at a time. */
async function benchRaw(label: string, payloadBytes: number): Promise<Result> {
  mkdirSync(join(root, label), { recursive: true });
  const handle = await open(join(root, label, "raw.log"), "a");
  const frame = encodeFrame(messageOf(payloadBytes));
  const started = performance.now();
  const deadline = started + secondsPerCase * 1000;
  let appends = 0;
  while (performance.now() < deadline) {
    sealFrame(frame, appends);
    await handle.write(frame);
    await handle.datasync();
    appends += 1;
  }
  const seconds = (performance.now() - started) / 1000;
  await handle.close();
  return { appends, seconds, fsyncs: appends };
}

function formatRate(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(1);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main(): Promise<void> {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  console.log(
    `EmbeddedLog append benchmark: ${rounds} rounds of ${secondsPerCase} s per case (median shown), single-message appends, fsync on` +
      (windowMs === undefined ? "" : `, embeddedGroupCommitWaitMs ${windowMs}`),
  );
  console.log("");
  const header = ["payload", "concurrency", "appends/s", "MB/s", "records/fsync", "raw appends/s", "raw MB/s", "ratio"];
  const rows: string[][] = [];
  for (const payloadBytes of payloadSizes) {
    // Rounds alternate the raw baseline and every concurrency level, so that a burst of load from other
    // processes on the machine does not fall on one side of the comparison only.
    const rawRates: number[] = [];
    const rates = new Map<number, number[]>(concurrencies.map((concurrency) => [concurrency, []]));
    const perFsync = new Map<number, number[]>(concurrencies.map((concurrency) => [concurrency, []]));
    for (let round = 0; round < rounds; round++) {
      const raw = await benchRaw(`raw-${payloadBytes}-${round}`, payloadBytes);
      rawRates.push(raw.appends / raw.seconds);
      for (const concurrency of concurrencies) {
        const result = await benchLog(`log-${payloadBytes}-${concurrency}-${round}`, payloadBytes, concurrency, true);
        rates.get(concurrency)?.push(result.appends / result.seconds);
        perFsync.get(concurrency)?.push(result.appends / Math.max(1, result.fsyncs));
      }
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root, { recursive: true });
    }
    const rawRate = median(rawRates);
    for (const concurrency of concurrencies) {
      const rate = median(rates.get(concurrency) ?? []);
      rows.push([
        `${payloadBytes} B`,
        String(concurrency),
        formatRate(rate),
        ((rate * payloadBytes) / 1e6).toFixed(2),
        median(perFsync.get(concurrency) ?? []).toFixed(1),
        formatRate(rawRate),
        ((rawRate * payloadBytes) / 1e6).toFixed(2),
        `${(rate / rawRate).toFixed(1)}x`,
      ]);
    }
  }
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] as string).length)));
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padStart(widths[column] as number)).join("  ");
  console.log(line(header));
  for (const row of rows) console.log(line(row));

  console.log("");
  console.log("For reference, fsync off (page cache only; tests and benchmarks only), concurrency 16:");
  for (const payloadBytes of payloadSizes) {
    const result = await benchLog(`nofsync-${payloadBytes}`, payloadBytes, 16, false);
    const rate = result.appends / result.seconds;
    console.log(`  ${payloadBytes} B: ${formatRate(rate)} appends/s, ${((rate * payloadBytes) / 1e6).toFixed(2)} MB/s`);
  }
  rmSync(root, { recursive: true, force: true });
}

await main();
