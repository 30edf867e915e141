// EmbeddedLog: the Log contract, then what only a file-based log must show — segment rolling and
// whole-file truncation, group commit sharing one fsync, recovery from a torn or corrupt tail, no loss of
// an acknowledged append when the process is killed with SIGKILL, and one process per directory.
import { spawn } from "node:child_process";
import { appendFile, open, readdir, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { MsgType } from "../../common/msg-type.ts";
import { testSeed } from "../../common/random.ts";
import { logContract } from "../../test/contract/log.contract.ts";
import { scratchDir } from "../../test/servers/ports.ts";
import { EmbeddedLog, type EmbeddedLogOptions } from "./embedded-log.ts";
import type { LogMessage, LogRecord } from "./log.ts";

logContract("EmbeddedLog", async () => ({
  truncationDropsRecords: true,
  open: async (limits) => {
    const options: EmbeddedLogOptions = { dir: scratchDir("embedded-log"), limits };
    return { log: await EmbeddedLog.open(options), reopen: () => EmbeddedLog.open(options) };
  },
  stop: async () => {},
}));

const WAIT_MS = 20_000;

function message(tag: number, payloadBytes = 100): LogMessage {
  return {
    header: { type: MsgType.Insert, collectionId: BigInt(tag), vchannel: "v0", beginTs: BigInt(tag), endTs: BigInt(tag) },
    payload: new Uint8Array(payloadBytes).fill(tag & 0xff),
  };
}

async function readRange(log: EmbeddedLog, channel: string, start: number, end: number): Promise<LogRecord[]> {
  const reader = await log.read(channel, { kind: "offset", offset: start }, { endOffsetExclusive: end });
  const records: LogRecord[] = [];
  for await (const record of reader) records.push(record);
  return records;
}

async function segmentFiles(dir: string, channel: string): Promise<string[]> {
  return (await readdir(join(dir, "channels", channel))).filter((name) => name.endsWith(".log")).sort();
}

async function expectCode(action: () => Promise<unknown>, code: ErrorCode, pattern: RegExp): Promise<void> {
  const error = await action().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(VelaError);
  expect((error as VelaError).code, (error as VelaError).message).toBe(code);
  expect((error as VelaError).message).toMatch(pattern);
}

describe("EmbeddedLog files", () => {
  it("rolls segments at embeddedSegmentBytesMax and truncates whole files below the smallest checkpoint", async () => {
    const dir = scratchDir("embedded-roll");
    const limits = { embeddedSegmentBytesMax: 1000 };
    const log = await EmbeddedLog.open({ dir, limits });
    // Each frame is 100 payload + 45 header and framing + 2 vchannel bytes = 147: six per 1000-byte segment.
    for (let i = 0; i < 60; i += 5) await log.append("ch", [0, 1, 2, 3, 4].map((j) => message(i + j)));
    const files = await segmentFiles(dir, "ch");
    expect(files.length).toBe(10);
    expect(files[0]).toBe("00000000000000000000.log");
    expect(files[1]).toBe("00000000000000000006.log");
    for (const file of files) expect((await stat(join(dir, "channels", "ch", file))).size).toBeLessThanOrEqual(1000);
    expect((await readRange(log, "ch", 0, 60)).map((r) => r.offset)).toEqual(Array.from({ length: 60 }, (_, i) => i));

    await log.commit("a", "ch", 20);
    await log.commit("b", "ch", 40);
    expect(await log.truncate("ch")).toBe(18);
    // Segments [0,6) [6,12) [12,18) ended at or below 20 and are gone; [18,24) holds offset 20 and stays.
    expect(await segmentFiles(dir, "ch")).toEqual(files.slice(3));
    await expectCode(() => log.read("ch", { kind: "offset", offset: 17 }), ErrorCode.Compacted, /offset 17 was truncated away; the earliest readable offset is 18/);
    await log.close();

    const reopened = await EmbeddedLog.open({ dir, limits });
    expect(await reopened.earliestOffset("ch")).toBe(18);
    expect(await reopened.latestOffset("ch")).toBe(60);
    const kept = await readRange(reopened, "ch", 18, 60);
    kept.forEach((record) => expect(record.payload[0]).toBe(record.offset));
    expect(kept).toHaveLength(42);
    // The active segment is never deleted, even when every checkpoint has passed it.
    await reopened.commit("a", "ch", 60);
    await reopened.commit("b", "ch", 60);
    expect(await reopened.truncate("ch")).toBe(54);
    expect(await segmentFiles(dir, "ch")).toEqual(["00000000000000000054.log"]);
    await reopened.close();
  });

  it("lets appends made together share one group commit and one fsync", async () => {
    const log = await EmbeddedLog.open({ dir: scratchDir("embedded-group"), limits: { embeddedGroupCommitWaitMs: 20 } });
    await log.ensureChannel("ch");
    const burst = async (first: number): Promise<{ groups: number; fsyncs: number }> => {
      const before = log.stats();
      const offsets = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append("ch", [message(first + i)])));
      expect(offsets.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => first + i));
      const after = log.stats();
      expect(after.appendedRecords - before.appendedRecords).toBe(50);
      return { groups: after.groupCommits - before.groupCommits, fsyncs: after.fsyncs - before.fsyncs };
    };
    // An idle channel with no sign of concurrency writes the first append at once; the other 49, made
    // while it was being fsync'd, share the next fsync.
    expect(await burst(0)).toEqual({ groups: 2, fsyncs: 2 });
    // Now concurrent appenders are known: the first append holds the group open and all 50 share one fsync.
    expect(await burst(50)).toEqual({ groups: 1, fsyncs: 1 });
    await log.close();

    const unsynced = await EmbeddedLog.open({ dir: scratchDir("embedded-nofsync"), fsync: false });
    await Promise.all(Array.from({ length: 10 }, (_, i) => unsynced.append("ch", [message(i)])));
    expect(unsynced.stats().fsyncs).toBe(0);
    expect(unsynced.stats().appendedRecords).toBe(10);
    await unsynced.close();
  });

  it("does not hold a lone appender in the group-commit window", async () => {
    // An hour-long window: were a lone append held in it, this test would time out.
    const log = await EmbeddedLog.open({ dir: scratchDir("embedded-lone"), limits: { embeddedGroupCommitWaitMs: 3_600_000 } });
    for (let i = 0; i < 20; i++) expect(await log.append("ch", [message(i)])).toEqual([i]);
    expect(log.stats().groupCommits).toBe(20);
    await log.close();
  });

  it("refuses appends beyond embeddedPendingAppendsMax while earlier ones wait for durability", async () => {
    const log = await EmbeddedLog.open({
      dir: scratchDir("embedded-pending"),
      limits: { embeddedPendingAppendsMax: 3, embeddedGroupCommitWaitMs: 50 },
    });
    await log.ensureChannel("ch");
    const accepted = [log.append("ch", [message(0)]), log.append("ch", [message(1)]), log.append("ch", [message(2)])];
    await expectCode(() => log.append("ch", [message(3)]), ErrorCode.LimitExceeded, /3 appends are waiting for durability; embeddedPendingAppendsMax is 3/);
    expect((await Promise.all(accepted)).flat()).toEqual([0, 1, 2]);
    expect(await log.append("ch", [message(3)])).toEqual([3]);
    await log.close();
  });

  it("allows one open per directory", async () => {
    const dir = scratchDir("embedded-lock");
    const log = await EmbeddedLog.open({ dir });
    await expectCode(() => EmbeddedLog.open({ dir }), ErrorCode.Conflict, /is in use by process \d+/);
    await log.close();
    const again = await EmbeddedLog.open({ dir });
    await again.close();
  });
});

describe("EmbeddedLog recovery", () => {
  async function prepare(label: string): Promise<{ dir: string; segment: string; frameEnds: number[] }> {
    const dir = scratchDir(label);
    const log = await EmbeddedLog.open({ dir });
    const frameEnds: number[] = [];
    const segment = join(dir, "channels", "ch", "00000000000000000000.log");
    for (let i = 0; i < 10; i++) {
      await log.append("ch", [message(i)]);
      frameEnds.push((await stat(segment)).size);
    }
    await log.close();
    return { dir, segment, frameEnds };
  }

  async function expectRecovered(dir: string, segment: string, kept: number, validBytes: number): Promise<void> {
    const log = await EmbeddedLog.open({ dir });
    expect(await log.latestOffset("ch")).toBe(kept);
    const records = await readRange(log, "ch", 0, kept);
    expect(records.map((record) => record.offset)).toEqual(Array.from({ length: kept }, (_, i) => i));
    records.forEach((record, i) => {
      expect(record.header).toEqual(message(i).header);
      expect(Buffer.from(record.payload).equals(Buffer.from(message(i).payload))).toBe(true);
    });
    expect((await stat(segment)).size).toBe(validBytes);
    expect(await log.append("ch", [message(kept)])).toEqual([kept]);
    expect((await readRange(log, "ch", kept, kept + 1))[0]?.payload[0]).toBe(kept);
    await log.close();
  }

  it("drops a tail cut in the middle of a record and keeps everything before it", async () => {
    const { dir, segment, frameEnds } = await prepare("embedded-torn");
    await truncate(segment, (frameEnds[9] as number) - 30);
    await expectRecovered(dir, segment, 9, frameEnds[8] as number);
  });

  it("drops a last record whose bytes were corrupted (checksum mismatch)", async () => {
    const { dir, segment, frameEnds } = await prepare("embedded-corrupt");
    const handle = await open(segment, "r+");
    await handle.write(Buffer.from([0xee]), 0, 1, (frameEnds[9] as number) - 5);
    await handle.close();
    await expectRecovered(dir, segment, 9, frameEnds[8] as number);
  });

  it("drops zero-filled and garbage bytes after the last record", async () => {
    const { dir, segment, frameEnds } = await prepare("embedded-garbage");
    await appendFile(segment, Buffer.alloc(4096));
    await expectRecovered(dir, segment, 10, frameEnds[9] as number);
    await appendFile(segment, Buffer.from("0123456789abcdef-not-a-frame"));
    // After the previous recovery 11 records exist; the garbage goes, all 11 stay.
    const log = await EmbeddedLog.open({ dir });
    expect(await log.latestOffset("ch")).toBe(11);
    await log.close();
  });

  it("cuts the last segment at the first corrupt record, even with valid records after it", async () => {
    const { dir, segment, frameEnds } = await prepare("embedded-corrupt-middle");
    const handle = await open(segment, "r+");
    await handle.write(Buffer.from([0x00, 0x00]), 0, 2, (frameEnds[5] as number) - 3);
    await handle.close();
    await expectRecovered(dir, segment, 5, frameEnds[4] as number);
  });

  it("reports a corrupt record in a sealed segment as Corrupted when it is read", async () => {
    const dir = scratchDir("embedded-sealed-corrupt");
    const limits = { embeddedSegmentBytesMax: 1000 };
    const log = await EmbeddedLog.open({ dir, limits });
    for (let i = 0; i < 12; i++) await log.append("ch", [message(i)]);
    await log.close();
    const handle = await open(join(dir, "channels", "ch", "00000000000000000000.log"), "r+");
    await handle.write(Buffer.from([0xff]), 0, 1, 147 * 2 + 60);
    await handle.close();
    const reopened = await EmbeddedLog.open({ dir, limits });
    expect(await reopened.latestOffset("ch")).toBe(12);
    await expectCode(() => readRange(reopened, "ch", 0, 12), ErrorCode.Corrupted, /00000000000000000000\.log byte 294: checksum mismatch/);
    expect((await readRange(reopened, "ch", 6, 12)).map((record) => record.offset)).toEqual([6, 7, 8, 9, 10, 11]);
    await reopened.close();
  });

  it("loses no acknowledged append when the appending process is killed with SIGKILL", async () => {
    const dir = scratchDir("embedded-sigkill");
    const seed = testSeed();
    console.log(`embedded log SIGKILL test seed: ${seed} (replay with VELA_SEED=${seed})`);
    const script = join(import.meta.dirname, "..", "..", "test", "faults", "embedded-log-appender.ts");
    const child = spawn(process.execPath, ["--import", "tsx", script, dir, String(seed)], {
      cwd: join(import.meta.dirname, "..", ".."),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    const acknowledged = new Map<number, { payload: string; beginTs: bigint }>();
    const enoughAcks = 400;
    const killedAfterAcks = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the appender acknowledged only ${acknowledged.size} records in ${WAIT_MS} ms; stderr: ${stderr}`)), WAIT_MS);
      void exited.then(({ code }) => reject(new Error(`the appender exited by itself (code ${code}); stderr: ${stderr}`)));
      createInterface({ input: child.stdout }).on("line", (line) => {
        const [kind, offset, payload, beginTs] = line.split(" ");
        if (kind !== "ack" || offset === undefined || payload === undefined || beginTs === undefined) return;
        acknowledged.set(Number(offset), { payload, beginTs: BigInt(beginTs) });
        if (acknowledged.size === enoughAcks) {
          clearTimeout(timer);
          child.kill("SIGKILL");
          resolve(acknowledged.size);
        }
      });
    });
    const { signal } = await exited;
    expect(signal).toBe("SIGKILL");
    expect(killedAfterAcks).toBe(enoughAcks);

    const log = await EmbeddedLog.open({ dir, limits: { embeddedSegmentBytesMax: 64 * 1024 } });
    const latest = await log.latestOffset("ch");
    const highestAcknowledged = Math.max(...acknowledged.keys());
    expect(latest).toBeGreaterThan(highestAcknowledged);
    const records = await readRange(log, "ch", 0, latest);
    expect(records.map((record) => record.offset)).toEqual(Array.from({ length: latest }, (_, i) => i));
    for (const [offset, expected] of acknowledged) {
      const record = records[offset] as LogRecord;
      expect(Buffer.from(record.payload).toString("hex"), `acknowledged offset ${offset}`).toBe(expected.payload);
      expect(record.header.beginTs).toBe(expected.beginTs);
    }
    // Sequence numbers were assigned in append order within each lane; every record is intact.
    for (const record of records) expect(record.header.collectionId).toBe(7n);
    expect(await log.append("ch", [message(1)])).toEqual([latest]);
    await log.close();
  });
});
