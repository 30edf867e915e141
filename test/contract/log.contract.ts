// The Log contract (DESIGN §2): one vitest suite that every Log implementation must pass unchanged —
// EmbeddedLog in storage/log/embedded-log.test.ts, KafkaLog against the Kafka mock broker in
// storage/log/kafka-log.test.ts. It checks what callers rely on: dense ordered offsets, exact round trips,
// tail reads, bounded read-ahead, checkpoints, truncation never past a checkpoint, durability across a
// reopen, typed errors for bad input and for use after close, and a seeded comparison with a model.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { LogLimits } from "../../common/config.ts";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { MsgType } from "../../common/msg-type.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import type { Log, LogMessage, LogReader, LogRecord } from "../../storage/log/log.ts";
import { isObservableLogReader, type ReadAheadStats } from "../../storage/log/read-ahead.ts";

export interface OpenedLog {
  log: Log;
  /** Opens another Log over the same storage; the caller has closed `log` first. */
  reopen(): Promise<Log>;
}

export interface LogHarness {
  /** Opens a new, empty log (its own directory or topic prefix) with these limit overrides. */
  open(limits?: Partial<LogLimits>): Promise<OpenedLog>;
  /** Whether truncate() removes records here (the Kafka mock broker has no DeleteRecords). */
  truncationDropsRecords: boolean;
  stop(): Promise<void>;
}

const WAIT_MS = 20_000;
const UINT64_MAX = (1n << 64n) - 1n;

/** Resolves with `promise`, or fails the test if it takes longer than `ms` (a hang is a failure). */
async function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `promise` is still pending after `ms` (used only to show a reader did not end or invent data). */
async function stillPending(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const marker = Symbol("pending");
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    promise.then(
      () => "settled",
      () => "settled",
    ),
    new Promise<symbol>((resolve) => {
      timer = setTimeout(() => resolve(marker), ms);
    }),
  ]);
  clearTimeout(timer);
  return result === marker;
}

async function expectVelaError(action: () => Promise<unknown>, code: ErrorCode, message: RegExp): Promise<VelaError> {
  let caught: unknown;
  try {
    await within(action(), `a ${code} error`);
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a ${code} error`).toBeInstanceOf(VelaError);
  const error = caught as VelaError;
  expect(error.code, error.message).toBe(code);
  expect(error.message).toMatch(message);
  return error;
}

function message(tag: number, payloadBytes = 16): LogMessage {
  const payload = new Uint8Array(payloadBytes);
  for (let i = 0; i < payloadBytes; i++) payload[i] = (tag * 31 + i * 7) & 0xff;
  return {
    header: { type: MsgType.Insert, collectionId: BigInt(tag), vchannel: `v${tag % 3}`, beginTs: BigInt(tag) << 18n, endTs: (BigInt(tag) << 18n) + 5n },
    payload,
  };
}

function expectRecordMatches(record: LogRecord, expected: LogMessage, channel: string, offset: number): void {
  expect(record.channel).toBe(channel);
  expect(record.offset).toBe(offset);
  expect(record.header).toEqual(expected.header);
  expect(Buffer.from(record.payload).equals(Buffer.from(expected.payload))).toBe(true);
}

async function take(reader: LogReader, count: number): Promise<LogRecord[]> {
  const iterator = reader[Symbol.asyncIterator]();
  const records: LogRecord[] = [];
  while (records.length < count) {
    const next = await within(iterator.next(), `record ${records.length + 1} of ${count}`);
    if (next.done === true) break;
    records.push(next.value);
  }
  return records;
}

async function readAll(reader: LogReader): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  const iterator = reader[Symbol.asyncIterator]();
  for (;;) {
    const next = await within(iterator.next(), `record ${records.length + 1} or the end of the read`);
    if (next.done === true) return records;
    records.push(next.value);
  }
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function logContract(name: string, factory: () => Promise<LogHarness>): void {
  describe(`Log contract: ${name}`, () => {
    let harness: LogHarness;
    const openedLogs: Log[] = [];

    beforeAll(async () => {
      harness = await factory();
    });
    afterAll(async () => {
      await harness?.stop();
    });
    afterEach(async () => {
      await Promise.allSettled(openedLogs.splice(0).map((log) => log.close()));
    });

    async function open(limits?: Partial<LogLimits>): Promise<OpenedLog> {
      const opened = await harness.open(limits);
      openedLogs.push(opened.log);
      return {
        log: opened.log,
        reopen: async () => {
          const log = await opened.reopen();
          openedLogs.push(log);
          return log;
        },
      };
    }

    it("gives each append dense offsets in order, starting at 0", async () => {
      const { log } = await open();
      expect(await log.latestOffset("ch")).toBe(0);
      expect(await log.earliestOffset("ch")).toBe(0);
      expect(await log.append("ch", [message(1), message(2), message(3)])).toEqual([0, 1, 2]);
      expect(await log.append("ch", [message(4), message(5)])).toEqual([3, 4]);
      expect(await log.append("other", [message(6)])).toEqual([0]);
      expect(await log.latestOffset("ch")).toBe(5);
      expect(await log.latestOffset("other")).toBe(1);
      expect(await log.earliestOffset("ch")).toBe(0);
      await log.ensureChannel("ch"); // idempotent: changes nothing
      await log.ensureChannel("fresh");
      expect(await log.latestOffset("ch")).toBe(5);
      expect(await log.latestOffset("fresh")).toBe(0);
    });

    it("gives concurrent appends distinct contiguous ranges, each in the order given", async () => {
      const { log } = await open();
      const sizes = Array.from({ length: 30 }, (_, i) => 1 + (i % 4));
      const batches = sizes.map((size, appendIndex) => Array.from({ length: size }, (_, j) => message(appendIndex * 10 + j)));
      const results = await within(Promise.all(batches.map((batch) => log.append("ch", batch))), "30 concurrent appends");
      const seen = new Set<number>();
      results.forEach((offsets, i) => {
        expect(offsets).toHaveLength(sizes[i] as number);
        offsets.forEach((offset, j) => {
          if (j > 0) expect(offset).toBe((offsets[j - 1] as number) + 1);
          expect(seen.has(offset)).toBe(false);
          seen.add(offset);
        });
      });
      const total = sizes.reduce((a, b) => a + b, 0);
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
      const records = await readAll(await log.read("ch", { kind: "earliest" }, { endOffsetExclusive: total }));
      results.forEach((offsets, i) =>
        offsets.forEach((offset, j) => expectRecordMatches(records[offset] as LogRecord, (batches[i] as LogMessage[])[j] as LogMessage, "ch", offset)),
      );
    });

    it("round-trips header fields and payloads exactly, bigints at their limits included", async () => {
      const { log } = await open();
      const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);
      const messages: LogMessage[] = [
        { header: { type: MsgType.Insert, collectionId: 0n, vchannel: "", beginTs: 0n, endTs: 0n }, payload: new Uint8Array(0) },
        { header: { type: MsgType.Delete, collectionId: UINT64_MAX, vchannel: "by-dev-dml_0_449v0", beginTs: UINT64_MAX, endTs: UINT64_MAX }, payload: everyByte },
        { header: { type: MsgType.TimeTick, collectionId: 0n, vchannel: "", beginTs: 449_000_000_000_000_001n, endTs: 449_000_000_000_000_001n }, payload: new Uint8Array([0]) },
        { header: { type: MsgType.CreateCollection, collectionId: 1n << 63n, vchannel: "x".repeat(100), beginTs: 1n, endTs: (1n << 63n) + 1n }, payload: new Uint8Array(5000).fill(0xab) },
        { header: { type: MsgType.DropCollection, collectionId: 7n, vchannel: "a.b_c-d", beginTs: 2n, endTs: 3n }, payload: everyByte.slice(100) },
        { header: { type: MsgType.CreatePartition, collectionId: 8n, vchannel: "p", beginTs: 4n, endTs: 4n }, payload: new Uint8Array([255, 0, 255]) },
        { header: { type: MsgType.DropPartition, collectionId: 9n, vchannel: "q", beginTs: 5n, endTs: 6n }, payload: new Uint8Array([1]) },
      ];
      const offsets = await log.append("ch", messages);
      expect(offsets).toEqual([0, 1, 2, 3, 4, 5, 6]);
      const records = await readAll(await log.read("ch", { kind: "earliest" }, { endOffsetExclusive: 7 }));
      expect(records).toHaveLength(7);
      records.forEach((record, i) => expectRecordMatches(record, messages[i] as LogMessage, "ch", i));
      expect(typeof records[1]?.header.collectionId).toBe("bigint");
    });

    it("keeps the appended bytes even if the caller reuses its buffer right after append()", async () => {
      const { log } = await open();
      const payload = new Uint8Array([1, 2, 3, 4]);
      const appending = log.append("ch", [{ header: message(1).header, payload }]);
      payload.fill(9);
      await appending;
      const [record] = await take(await log.read("ch", { kind: "earliest" }), 1);
      expect([...(record as LogRecord).payload]).toEqual([1, 2, 3, 4]);
    });

    it("reads from earliest, from latest and from an exact offset", async () => {
      const { log } = await open();
      const messages = Array.from({ length: 5 }, (_, i) => message(i));
      await log.append("ch", messages);
      const fromEarliest = await readAll(await log.read("ch", { kind: "earliest" }, { endOffsetExclusive: 5 }));
      expect(fromEarliest.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
      const fromThree = await readAll(await log.read("ch", { kind: "offset", offset: 3 }, { endOffsetExclusive: 5 }));
      fromThree.forEach((record, i) => expectRecordMatches(record, messages[3 + i] as LogMessage, "ch", 3 + i));
      expect(fromThree).toHaveLength(2);
      const atEnd = await readAll(await log.read("ch", { kind: "offset", offset: 5 }, { endOffsetExclusive: 5 }));
      expect(atEnd).toEqual([]);
      const fromLatest = await log.read("ch", { kind: "latest" });
      const first = fromLatest[Symbol.asyncIterator]().next();
      await log.append("ch", [message(77)]);
      const next = await within(first, "the record appended after opening at latest");
      expect(next.done).toBe(false);
      expectRecordMatches(next.value as LogRecord, message(77), "ch", 5);
      await fromLatest.close();
    });

    it("lets a reader at the tail wait for new records and deliver them in order", async () => {
      const { log } = await open();
      await log.append("ch", [message(0)]);
      const reader = await log.read("ch", { kind: "offset", offset: 1 });
      const iterator = reader[Symbol.asyncIterator]();
      const pending = iterator.next();
      // Nothing was appended yet: the reader must neither end nor invent a record.
      expect(await stillPending(pending, 150)).toBe(true);
      await log.append("ch", [message(1)]);
      await log.append("ch", [message(2), message(3)]);
      const first = await within(pending, "the first record appended at the tail");
      expectRecordMatches(first.value as LogRecord, message(1), "ch", 1);
      const rest = [await within(iterator.next(), "record 2"), await within(iterator.next(), "record 3")];
      expectRecordMatches(rest[0]?.value as LogRecord, message(2), "ch", 2);
      expectRecordMatches(rest[1]?.value as LogRecord, message(3), "ch", 3);
      await reader.close();
      expect((await within(iterator.next(), "end after close")).done).toBe(true);
    });

    it("ends a read at endOffsetExclusive, waiting for records below it", async () => {
      const { log } = await open();
      await log.append("ch", [message(0), message(1)]);
      const reader = await log.read("ch", { kind: "earliest" }, { endOffsetExclusive: 4 });
      const reading = readAll(reader);
      await log.append("ch", [message(2)]);
      await log.append("ch", [message(3), message(4), message(5)]);
      const records = await reading;
      expect(records.map((record) => record.offset)).toEqual([0, 1, 2, 3]);
      records.forEach((record, i) => expectRecordMatches(record, message(i), "ch", i));
    });

    it("ends a for-await loop cleanly on break, and closes the reader", async () => {
      const { log } = await open();
      await log.append("ch", [message(0), message(1), message(2)]);
      const reader = await log.read("ch", { kind: "earliest" });
      const seen: number[] = [];
      await within(
        (async () => {
          for await (const record of reader) {
            seen.push(record.offset);
            if (record.offset === 1) break;
          }
        })(),
        "the loop to end",
      );
      expect(seen).toEqual([0, 1]);
      expect((await within(reader[Symbol.asyncIterator]().next(), "a closed reader")).done).toBe(true);
    });

    it("bounds read-ahead by records: a slow consumer holds the reader still", async () => {
      const recordsMax = 8;
      const { log } = await open({ readAheadRecordsMax: recordsMax });
      const total = 200;
      for (let start = 0; start < total; start += 50) {
        await log.append("ch", Array.from({ length: 50 }, (_, i) => message(start + i)));
      }
      const reader = await log.read("ch", { kind: "earliest" });
      expect(isObservableLogReader(reader), "a Vela log reader exposes readAhead()").toBe(true);
      if (!isObservableLogReader(reader)) return;
      const stats = (): ReadAheadStats => reader.readAhead();
      const checkBound = (): void => {
        const now = stats();
        expect(now.bufferedRecords).toBeLessThanOrEqual(recordsMax);
        expect(now.fetchedRecords - now.deliveredRecords).toBeLessThanOrEqual(recordsMax);
      };
      const iterator = reader[Symbol.asyncIterator]();
      for (let i = 0; i < 3; i++) await within(iterator.next(), "a record");
      // The reader does read ahead of its consumer...
      await waitUntil(() => stats().bufferedRecords >= recordsMax / 2, "the reader buffers ahead");
      // ...but while the consumer pauses, it stays within its bound instead of reading on.
      await new Promise((resolve) => setTimeout(resolve, 300));
      checkBound();
      expect(stats().fetchedRecords).toBeLessThan(total);
      let expected = 3;
      while (expected < total) {
        const next = await within(iterator.next(), `record ${expected}`);
        expectRecordMatches(next.value as LogRecord, message(expected), "ch", expected);
        checkBound();
        expected += 1;
      }
      expect(stats().deliveredRecords).toBe(total);
      await reader.close();
    });

    it("bounds read-ahead by bytes, yet delivers a record larger than the byte bound", async () => {
      const bytesMax = 4096;
      const { log } = await open({ readAheadBytesMax: bytesMax, messageBytesMax: 16 * 1024 });
      const total = 40;
      await log.append("ch", Array.from({ length: total }, (_, i) => message(i, 1000)));
      await log.append("ch", [message(99, 10_000)]);
      const reader = await log.read("ch", { kind: "earliest" });
      if (!isObservableLogReader(reader)) throw new Error("a Vela log reader exposes readAhead()");
      const iterator = reader[Symbol.asyncIterator]();
      await within(iterator.next(), "a record");
      await waitUntil(() => reader.readAhead().bufferedBytes >= 2000, "the reader buffers ahead");
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(reader.readAhead().bufferedBytes).toBeLessThanOrEqual(bytesMax);
      expect(reader.readAhead().fetchedRecords).toBeLessThan(total);
      for (let expected = 1; expected < total; expected++) {
        const next = await within(iterator.next(), `record ${expected}`);
        expectRecordMatches(next.value as LogRecord, message(expected, 1000), "ch", expected);
        expect(reader.readAhead().bufferedBytes).toBeLessThanOrEqual(bytesMax);
      }
      const large = await within(iterator.next(), "the large record");
      expectRecordMatches(large.value as LogRecord, message(99, 10_000), "ch", total);
      await reader.close();
    });

    it("keeps each subscriber's checkpoint apart, per channel, across a reopen", async () => {
      const opened = await open();
      const { log } = opened;
      await log.append("ch", Array.from({ length: 6 }, (_, i) => message(i)));
      await log.append("other", [message(9)]);
      expect(await log.committed("a", "ch")).toBeUndefined();
      await log.commit("a", "ch", 2);
      await log.commit("b", "ch", 4);
      expect(await log.committed("a", "ch")).toBe(2);
      expect(await log.committed("b", "ch")).toBe(4);
      await log.commit("a", "ch", 6);
      expect(await log.committed("a", "ch")).toBe(6);
      expect(await log.committed("b", "ch")).toBe(4);
      expect(await log.committed("a", "other")).toBeUndefined();
      await log.commit("a", "other", 0);
      expect(await log.committed("a", "other")).toBe(0);
      await Promise.all([log.commit("c", "ch", 1), log.commit("d", "ch", 3), log.commit("c", "ch", 5)].map((p) => within(p, "commit")));
      await log.close();
      const reopened = await opened.reopen();
      expect(await reopened.committed("a", "ch")).toBe(6);
      expect(await reopened.committed("b", "ch")).toBe(4);
      expect(await reopened.committed("c", "ch")).toBe(5);
      expect(await reopened.committed("d", "ch")).toBe(3);
      expect(await reopened.committed("a", "other")).toBe(0);
    });

    it("keeps every record across a reopen and appends after the last one", async () => {
      const opened = await open();
      const messages = Array.from({ length: 10 }, (_, i) => message(i, 200));
      await opened.log.append("ch", messages.slice(0, 4));
      await opened.log.append("ch", messages.slice(4));
      await opened.log.close();
      const log = await opened.reopen();
      expect(await log.latestOffset("ch")).toBe(10);
      const records = await readAll(await log.read("ch", { kind: "earliest" }, { endOffsetExclusive: 10 }));
      records.forEach((record, i) => expectRecordMatches(record, messages[i] as LogMessage, "ch", i));
      expect(await log.append("ch", [message(10)])).toEqual([10]);
    });

    it("truncates nothing without checkpoints, and never past the smallest checkpoint", async () => {
      // Small segments so that an embedded log has whole segments to drop.
      const { log } = await open({ embeddedSegmentBytesMax: 1024 });
      const messages = Array.from({ length: 100 }, (_, i) => message(i, 100));
      for (let i = 0; i < 100; i += 10) await log.append("ch", messages.slice(i, i + 10));
      expect(await log.truncate("ch")).toBe(0);
      expect(await log.earliestOffset("ch")).toBe(0);

      await log.commit("slow", "ch", 50);
      await log.commit("fast", "ch", 90);
      const earliest = await log.truncate("ch");
      expect(earliest).toBeLessThanOrEqual(50);
      expect(await log.earliestOffset("ch")).toBe(earliest);
      if (harness.truncationDropsRecords) expect(earliest).toBeGreaterThan(0);
      const kept = await readAll(await log.read("ch", { kind: "earliest" }, { endOffsetExclusive: 100 }));
      expect(kept.map((record) => record.offset)).toEqual(Array.from({ length: 100 - earliest }, (_, i) => earliest + i));
      kept.forEach((record) => expectRecordMatches(record, messages[record.offset] as LogMessage, "ch", record.offset));
      if (earliest > 0) {
        await expectVelaError(() => log.read("ch", { kind: "offset", offset: earliest - 1 }), ErrorCode.Compacted, /truncated/);
      }

      await log.commit("slow", "ch", 95);
      const later = await log.truncate("ch");
      expect(later).toBeGreaterThanOrEqual(earliest);
      expect(later).toBeLessThanOrEqual(90);
      if (harness.truncationDropsRecords) expect(later).toBeGreaterThan(50);
      const readFromLater = await readAll(await log.read("ch", { kind: "earliest" }, { endOffsetExclusive: 100 }));
      expect(readFromLater[0]?.offset).toBe(later);
      expect(await log.latestOffset("ch")).toBe(100);
      expect(await log.append("ch", [message(100)])).toEqual([100]);
    });

    describe("rejects bad input with a typed error and changes nothing", () => {
      const badChannels: unknown[] = ["", "a/b", "..", ".", "white space", "x".repeat(250), "ü", 42, undefined];

      it("invalid channel names, on every call", async () => {
        const { log } = await open();
        await log.append("ch", [message(0)]);
        for (const channel of badChannels) {
          const bad = channel as string;
          const pattern = /channel name/;
          await expectVelaError(() => log.append(bad, [message(1)]), ErrorCode.InvalidArgument, pattern);
          await expectVelaError(() => log.ensureChannel(bad), ErrorCode.InvalidArgument, pattern);
          await expectVelaError(() => log.read(bad, { kind: "earliest" }), ErrorCode.InvalidArgument, pattern);
          await expectVelaError(() => log.latestOffset(bad), ErrorCode.InvalidArgument, pattern);
          await expectVelaError(() => log.earliestOffset(bad), ErrorCode.InvalidArgument, pattern);
          await expectVelaError(() => log.commit("s", bad, 0), ErrorCode.InvalidArgument, pattern);
          await expectVelaError(() => log.committed("s", bad), ErrorCode.InvalidArgument, pattern);
          await expectVelaError(() => log.truncate(bad), ErrorCode.InvalidArgument, pattern);
        }
        for (const subscriber of badChannels) {
          await expectVelaError(() => log.commit(subscriber as string, "ch", 0), ErrorCode.InvalidArgument, /subscriber name/);
          await expectVelaError(() => log.committed(subscriber as string, "ch"), ErrorCode.InvalidArgument, /subscriber name/);
        }
        expect(await log.latestOffset("ch")).toBe(1);
        expect(await log.committed("s", "ch")).toBeUndefined();
      });

      it("oversized messages and batches, empty batches, malformed messages", async () => {
        const { log } = await open({ messageBytesMax: 1024, appendBatchMessagesMax: 4, appendBatchBytesMax: 2048 });
        await log.append("ch", [message(0)]);
        await expectVelaError(() => log.append("ch", [message(1, 1025)]), ErrorCode.LimitExceeded, /1025 bytes; messageBytesMax is 1024/);
        await expectVelaError(
          () => log.append("ch", Array.from({ length: 5 }, (_, i) => message(i))),
          ErrorCode.LimitExceeded,
          /5 messages in one call; appendBatchMessagesMax is 4/,
        );
        await expectVelaError(
          () => log.append("ch", [message(1, 1000), message(2, 1000), message(3, 1000)]),
          ErrorCode.LimitExceeded,
          /3000 payload bytes in one call; appendBatchBytesMax is 2048/,
        );
        await expectVelaError(() => log.append("ch", []), ErrorCode.InvalidArgument, /must not be empty/);
        await expectVelaError(() => log.append("ch", "nope" as unknown as LogMessage[]), ErrorCode.InvalidArgument, /must be an array/);
        const good = message(5);
        const malformed: [unknown, RegExp][] = [
          [{ ...good, header: { ...good.header, type: 99 } }, /not a known MsgType/],
          [{ ...good, header: { ...good.header, collectionId: -1n } }, /collectionId must be a bigint/],
          [{ ...good, header: { ...good.header, collectionId: 5 } }, /collectionId must be a bigint/],
          [{ ...good, header: { ...good.header, endTs: 1n << 64n } }, /endTs must be a bigint/],
          [{ ...good, header: { ...good.header, beginTs: 10n, endTs: 9n } }, /beginTs 10 is after endTs 9/],
          [{ ...good, header: { ...good.header, vchannel: "a b" } }, /vchannel name/],
          [{ ...good, header: { ...good.header, vchannel: 3 } }, /vchannel must be a string/],
          [{ ...good, payload: "text" }, /payload must be a Uint8Array/],
          [{ payload: good.payload }, /header must be an object/],
          [null, /must be an object/],
        ];
        for (const [bad, pattern] of malformed) {
          // A bad message among good ones: the whole call is refused, nothing is appended.
          await expectVelaError(() => log.append("ch", [message(1), bad as LogMessage, message(2)]), ErrorCode.InvalidArgument, pattern);
        }
        expect(await log.latestOffset("ch")).toBe(1);
        expect(await log.append("ch", [message(1, 1024)])).toEqual([1]);
      });

      it("negative, fractional and out-of-range offsets, and bad read positions", async () => {
        const { log } = await open();
        await log.append("ch", [message(0), message(1)]);
        for (const offset of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "1" as unknown as number]) {
          await expectVelaError(() => log.read("ch", { kind: "offset", offset }), ErrorCode.InvalidArgument, /read offset must be a non-negative integer/);
          await expectVelaError(() => log.commit("s", "ch", offset), ErrorCode.InvalidArgument, /committed offset must be a non-negative integer/);
          await expectVelaError(
            () => log.read("ch", { kind: "earliest" }, { endOffsetExclusive: offset }),
            ErrorCode.InvalidArgument,
            /endOffsetExclusive must be a non-negative integer/,
          );
        }
        await expectVelaError(() => log.read("ch", { kind: "offset", offset: 3 }), ErrorCode.InvalidArgument, /offset 3 is beyond the end of the channel \(latest offset 2\)/);
        await expectVelaError(() => log.commit("s", "ch", 3), ErrorCode.InvalidArgument, /committed offset 3 is beyond the end of the channel \(latest offset 2\)/);
        await expectVelaError(
          () => log.read("ch", { kind: "offset", offset: 2 }, { endOffsetExclusive: 1 }),
          ErrorCode.InvalidArgument,
          /endOffsetExclusive 1 is before the start offset 2/,
        );
        await expectVelaError(() => log.read("ch", { kind: "middle" } as never), ErrorCode.InvalidArgument, /read position kind/);
        await expectVelaError(() => log.read("ch", null as never), ErrorCode.InvalidArgument, /read position must be an object/);
        expect(await log.committed("s", "ch")).toBeUndefined();
        expect(await log.latestOffset("ch")).toBe(2);
      });

      it("invalid limits at open", async () => {
        await expectVelaError(() => harness.open({ readAheadRecordsMax: 0 }), ErrorCode.InvalidArgument, /readAheadRecordsMax must be at least 1/);
        await expectVelaError(() => harness.open({ messageBytesMax: -5 }), ErrorCode.InvalidArgument, /messageBytesMax must be a non-negative finite number/);
        await expectVelaError(() => harness.open({ bogusLimit: 1 } as Partial<LogLimits>), ErrorCode.InvalidArgument, /unknown limit bogusLimit/);
      });
    });

    it("fails every call after close with Closed, and ends waiting readers with Closed", async () => {
      const { log } = await open();
      await log.append("ch", [message(0)]);
      const waiting = await log.read("ch", { kind: "latest" });
      const waitingNext = waiting[Symbol.asyncIterator]().next();
      waitingNext.catch(() => {});
      const buffered = await log.read("ch", { kind: "earliest" });
      await within(log.close(), "close");
      await within(log.close(), "a second close");
      const closed = /closed/;
      await expectVelaError(() => waitingNext, ErrorCode.Closed, closed);
      await expectVelaError(() => buffered[Symbol.asyncIterator]().next(), ErrorCode.Closed, closed);
      await within(waiting.close(), "closing a reader of a closed log");
      await expectVelaError(() => log.append("ch", [message(1)]), ErrorCode.Closed, closed);
      await expectVelaError(() => log.ensureChannel("ch"), ErrorCode.Closed, closed);
      await expectVelaError(() => log.read("ch", { kind: "earliest" }), ErrorCode.Closed, closed);
      await expectVelaError(() => log.latestOffset("ch"), ErrorCode.Closed, closed);
      await expectVelaError(() => log.earliestOffset("ch"), ErrorCode.Closed, closed);
      await expectVelaError(() => log.commit("s", "ch", 0), ErrorCode.Closed, closed);
      await expectVelaError(() => log.committed("s", "ch"), ErrorCode.Closed, closed);
      await expectVelaError(() => log.truncate("ch"), ErrorCode.Closed, closed);
    });

    it("finishes appends in flight before close resolves", async () => {
      const opened = await open();
      const appends = Array.from({ length: 20 }, (_, i) => opened.log.append("ch", [message(i)]));
      await within(opened.log.close(), "close");
      const offsets = (await within(Promise.all(appends), "the appends in flight")).flat();
      expect(offsets.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      const log = await opened.reopen();
      expect(await log.latestOffset("ch")).toBe(20);
    });

    it("matches an in-memory model under a seeded random schedule", async () => {
      const seed = testSeed();
      console.log(`log contract (${name}) model test seed: ${seed} (replay with VELA_SEED=${seed})`);
      const random = new SeededRandom(seed);
      const opened = await open({ embeddedSegmentBytesMax: 2048 });
      let log = opened.log;
      const channels = ["m0", "m1"];
      const model = new Map<string, LogMessage[]>(channels.map((channel) => [channel, []]));
      const checkpoints = new Map<string, number>();
      const randomMessage = (): LogMessage => {
        const begin = BigInt(random.nextUint32()) * BigInt(random.nextUint32());
        return {
          header: {
            type: random.pick(Object.values(MsgType)),
            collectionId: random.bool(0.2) ? UINT64_MAX - BigInt(random.int(0, 5)) : BigInt(random.int(0, 1000)),
            vchannel: random.bool(0.3) ? "" : `v${random.int(0, 9)}`,
            beginTs: begin,
            endTs: begin + BigInt(random.int(0, 1 << 20)),
          },
          payload: random.bytes(random.int(0, 300)),
        };
      };
      for (let step = 0; step < 120; step++) {
        const channel = random.pick(channels);
        const records = model.get(channel) as LogMessage[];
        const action = random.int(0, 99);
        const context = `seed ${seed} step ${step} on ${channel}`;
        if (action < 45) {
          const batch = Array.from({ length: random.int(1, 4) }, randomMessage);
          const concurrent = random.bool(0.3) ? Array.from({ length: random.int(1, 3) }, randomMessage) : undefined;
          const appends = [log.append(channel, batch), ...(concurrent ? [log.append(channel, concurrent)] : [])];
          const results = await within(Promise.all(appends), context);
          // Concurrent appends may land in either order; the model follows the offsets returned.
          const placed: [number, LogMessage[]][] = [[results[0]?.[0] as number, batch]];
          if (concurrent) placed.push([results[1]?.[0] as number, concurrent]);
          placed.sort((a, b) => a[0] - b[0]);
          for (const [first, messages] of placed) {
            expect(first, context).toBe(records.length);
            records.push(...messages);
          }
        } else if (action < 75) {
          if (records.length === 0) continue;
          const start = random.int(0, records.length);
          const end = random.int(start, records.length);
          const read = await readAll(await log.read(channel, { kind: "offset", offset: start }, { endOffsetExclusive: end }));
          expect(read.length, context).toBe(end - start);
          read.forEach((record, i) => expectRecordMatches(record, records[start + i] as LogMessage, channel, start + i));
        } else if (action < 85) {
          expect(await log.latestOffset(channel), context).toBe(records.length);
          expect(await log.earliestOffset(channel), context).toBe(0);
        } else if (action < 95) {
          const subscriber = `s${random.int(0, 2)}`;
          const offset = random.int(0, records.length);
          await log.commit(subscriber, channel, offset);
          checkpoints.set(`${subscriber}/${channel}`, offset);
          for (const other of ["s0", "s1", "s2"]) {
            expect(await log.committed(other, channel), context).toBe(checkpoints.get(`${other}/${channel}`));
          }
        } else {
          await log.close();
          log = await opened.reopen();
        }
      }
      for (const channel of channels) {
        const records = model.get(channel) as LogMessage[];
        const read = await readAll(await log.read(channel, { kind: "earliest" }, { endOffsetExclusive: records.length }));
        expect(read.length).toBe(records.length);
        read.forEach((record, i) => expectRecordMatches(record, records[i] as LogMessage, channel, i));
      }
    });
  });
}
