// KafkaLog against librdkafka's mock broker: the Log contract, then what only a networked log must show —
// a reader resumes after its connection drops with no gap and no repeat, a new reader resumes from the
// committed checkpoint, calls to an unreachable broker fail as Unavailable within their bound, topics made
// outside Vela are used as they are, and a record Vela did not write is reported, not guessed at.
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { MsgType } from "../../common/msg-type.ts";
import { logContract } from "../../test/contract/log.contract.ts";
import { startKafkaMock, type KafkaMock } from "../../test/servers/kafka-mock.ts";
import { KafkaLog, type KafkaLogOptions } from "./kafka-log.ts";
import type { LogMessage, LogReader, LogRecord } from "./log.ts";

let prefixCounter = 0;
function uniquePrefix(label: string): string {
  prefixCounter += 1;
  return `${label}-${process.pid}-${prefixCounter}.`;
}

logContract("KafkaLog", async () => {
  const mock = await startKafkaMock();
  return {
    // The mock broker has neither ListGroups nor DeleteRecords.
    truncationDropsRecords: false,
    open: async (limits) => {
      // A short long-poll: the mock answers an empty fetch only when the wait is over, even if records arrive.
      const options: KafkaLogOptions = { brokers: mock.brokers, topicPrefix: uniquePrefix("contract"), limits: { kafkaFetchWaitMs: 100, ...limits } };
      return { log: await KafkaLog.connect(options), reopen: () => KafkaLog.connect(options) };
    },
    stop: () => mock.stop(),
  };
});

const WAIT_MS = 20_000;

function message(tag: number): LogMessage {
  return {
    header: { type: MsgType.Insert, collectionId: BigInt(tag), vchannel: "v0", beginTs: BigInt(tag), endTs: BigInt(tag) },
    payload: Buffer.from(`record-${tag}`),
  };
}

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`)), WAIT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function take(reader: LogReader, count: number): Promise<LogRecord[]> {
  const iterator = reader[Symbol.asyncIterator]();
  const records: LogRecord[] = [];
  while (records.length < count) {
    const next = await within(iterator.next(), `record ${records.length + 1} of ${count}`);
    if (next.done === true) throw new Error("the reader ended early");
    records.push(next.value);
  }
  return records;
}

/** Appends, retrying while the broker is still coming back; returns the offsets of the successful try. */
async function appendWhenReachable(log: KafkaLog, channel: string, messages: LogMessage[]): Promise<number[]> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      return await log.append(channel, messages);
    } catch (error) {
      if (!(error instanceof VelaError) || error.code !== ErrorCode.Unavailable || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function expectCode(action: () => Promise<unknown>, code: ErrorCode, pattern: RegExp): Promise<void> {
  const error = await within(
    action().then(
      () => undefined,
      (caught: unknown) => caught,
    ),
    `a ${code} error`,
  );
  expect(error).toBeInstanceOf(VelaError);
  expect((error as VelaError).code, (error as VelaError).message).toBe(code);
  expect((error as VelaError).message).toMatch(pattern);
}

describe("KafkaLog with a broker that fails", () => {
  let mock: KafkaMock;
  const logs: KafkaLog[] = [];

  beforeAll(async () => {
    mock = await startKafkaMock();
  });
  afterAll(async () => {
    await Promise.allSettled(logs.map((log) => log.close()));
    await mock?.stop();
  });

  async function connect(options: Partial<KafkaLogOptions> = {}): Promise<KafkaLog> {
    const log = await KafkaLog.connect({
      brokers: mock.brokers,
      topicPrefix: uniquePrefix("faults"),
      ...options,
      limits: { kafkaFetchWaitMs: 100, kafkaRetryBackoffMsMax: 200, ...options.limits },
    });
    logs.push(log);
    return log;
  }

  it("resumes a reader after its connection drops, and a new reader from the checkpoint, with no gap and no repeat", async () => {
    // A small read-ahead, so that the outage happens while the reader still has records to fetch.
    const log = await connect({ limits: { readAheadRecordsMax: 4 } });
    await log.append("ch", Array.from({ length: 20 }, (_, i) => message(i)));
    const reader = await log.read("ch", { kind: "earliest" });
    const first = await take(reader, 10);
    expect(first.map((record) => record.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    await log.commit("indexer", "ch", 10);

    await mock.setBrokerDown();
    // The consumer goes on while the broker is away: past the few buffered records the reader must fetch,
    // fails, and retries from the same position.
    const duringOutage = take(reader, 10);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await mock.setBrokerUp();
    const resumedRecords = await duringOutage;
    expect(resumedRecords.map((record) => record.offset)).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i));
    for (const record of resumedRecords) expect(Buffer.from(record.payload).toString()).toBe(`record-${record.offset}`);

    const more = await appendWhenReachable(log, "ch", Array.from({ length: 10 }, (_, i) => message(20 + i)));
    expect(more[0]).toBeGreaterThanOrEqual(20);
    const latest = await log.latestOffset("ch");
    const rest = [...resumedRecords, ...(await take(reader, latest - 20))];
    expect(rest.map((record) => record.offset)).toEqual(Array.from({ length: latest - 10 }, (_, i) => 10 + i));
    more.forEach((offset, i) => expect(Buffer.from((rest[offset - 10] as LogRecord).payload).toString()).toBe(`record-${20 + i}`));

    // A new reader (say, after a restart) resumes from the committed checkpoint.
    const checkpoint = await log.committed("indexer", "ch");
    expect(checkpoint).toBe(10);
    const resumed = await log.read("ch", { kind: "offset", offset: checkpoint as number });
    const again = await take(resumed, latest - 10);
    expect(again.map((record) => [record.offset, Buffer.from(record.payload).toString()])).toEqual(
      rest.map((record) => [record.offset, Buffer.from(record.payload).toString()]),
    );

    // The connection drops while the reader waits at the tail: it still gets what is appended next.
    const tail = reader[Symbol.asyncIterator]().next();
    await mock.setBrokerDown();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await mock.setBrokerUp();
    const [next] = await appendWhenReachable(log, "ch", [message(99)]);
    const delivered = await within(tail, "the record appended after the outage");
    expect(delivered.value?.offset).toBe(next);
    expect(Buffer.from((delivered.value as LogRecord).payload).toString()).toBe("record-99");
    await reader.close();
    await resumed.close();
  });

  it("fails calls to an unreachable broker as Unavailable within requestTimeoutMs, and recovers", async () => {
    const log = await connect({ limits: { requestTimeoutMs: 1500 } });
    await log.append("ch", [message(0)]);
    await mock.setBrokerDown();
    try {
      await expectCode(() => log.latestOffset("ch"), ErrorCode.Unavailable, /offsets of topic/);
      await expectCode(() => log.append("ch", [message(1)]), ErrorCode.Unavailable, /append to channel ch/);
      await expectCode(() => log.commit("s", "ch", 1), ErrorCode.Unavailable, /offsets of topic|commit s/);
    } finally {
      await mock.setBrokerUp();
    }
    await appendWhenReachable(log, "ch", [message(2)]);
    const latest = await log.latestOffset("ch");
    expect(latest).toBeGreaterThanOrEqual(2);
    await log.commit("s", "ch", latest);
    expect(await log.committed("s", "ch")).toBe(latest);
  });

  it("ends a reader with Unavailable once the broker stays away longer than kafkaReaderRetryWindowMs", async () => {
    const log = await connect({ limits: { kafkaReaderRetryWindowMs: 1000 } });
    await log.append("ch", [message(0)]);
    const reader = await log.read("ch", { kind: "latest" });
    const next = reader[Symbol.asyncIterator]().next();
    next.catch(() => {});
    await mock.setBrokerDown();
    try {
      await expectCode(() => next, ErrorCode.Unavailable, /cannot fetch offset 1 for 1000 ms \(kafkaReaderRetryWindowMs\)/);
    } finally {
      await mock.setBrokerUp();
    }
    await reader.close();
  });

  it("uses a topic created outside Vela as it is", async () => {
    const topicPrefix = uniquePrefix("made");
    await mock.createTopic(`${topicPrefix}ch`, 1);
    const log = await connect({ topicPrefix });
    expect(await log.latestOffset("ch")).toBe(0);
    expect(await log.append("ch", [message(0), message(1)])).toEqual([0, 1]);
    const records = await take(await log.read("ch", { kind: "earliest" }), 2);
    expect(records.map((record) => Buffer.from(record.payload).toString())).toEqual(["record-0", "record-1"]);
  });

  it("reports a record that Vela did not write as Corrupted", async () => {
    const topicPrefix = uniquePrefix("foreign");
    const log = await connect({ topicPrefix });
    await log.append("ch", [message(0)]);
    const kafka = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING, logCreator: () => () => {} });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic: `${topicPrefix}ch`, acks: -1, messages: [{ partition: 0, value: "no headers" }] });
    await producer.disconnect();
    const reader = await log.read("ch", { kind: "earliest" });
    const iterator = reader[Symbol.asyncIterator]();
    expect((await within(iterator.next(), "the Vela record")).value?.offset).toBe(0);
    await expectCode(() => iterator.next(), ErrorCode.Corrupted, /channel ch offset 1: not a Vela record \(header vela.type is missing\)/);
    await reader.close();
  });

  it("rejects bad connection options before connecting", async () => {
    await expectCode(() => KafkaLog.connect({ brokers: [] }), ErrorCode.InvalidArgument, /brokers must be a non-empty list/);
    await expectCode(() => KafkaLog.connect({ brokers: ["nohost"] }), ErrorCode.InvalidArgument, /host:port/);
    await expectCode(() => KafkaLog.connect({ brokers: mock.brokers, topicPrefix: "bad/prefix" }), ErrorCode.InvalidArgument, /topicPrefix/);
    await expectCode(
      () => KafkaLog.connect({ brokers: mock.brokers, createTopics: "never" as "auto" }),
      ErrorCode.InvalidArgument,
      /createTopics must be "admin" or "auto"/,
    );
  });
});
