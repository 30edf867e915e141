// Reads partition 0 of one topic for a BufferedLogReader, with the low-level Fetch request and no consumer
// group (no rebalances, no group coordinator in the read path). Each reader owns its own connections, so
// its long-polling fetch never delays another reader's or the producer's requests.
//
// Invariants: records are handed out densely from the requested offset (a gap in the topic is reported
// as Corrupted, since Vela never writes one); an offset below the log start is Compacted; a broker that
// cannot be reached is retried with backoff, from the same offset, for at most kafkaReaderRetryWindowMs
// before the reader fails as Unavailable — so a dropped connection costs neither a gap nor a repeat.

import type { Cluster } from "kafkajs";
import type { Clock } from "../../common/clock.ts";
import type { LogLimits } from "../../common/config.ts";
import { VelaError, ErrorCode, errorMessage, isVelaError } from "../../common/errors.ts";
import { kafkaErrorType } from "./kafka-errors.ts";
import { decodeKafkaHeader } from "./kafka-record.ts";
import type { LogRecord } from "./log.ts";
import type { ReadBudget, RecordSource } from "./read-ahead.ts";

/** READ_COMMITTED: only records below the last stable offset (all of them, as Vela writes no transactions). */
const ISOLATION_READ_COMMITTED = 1;

interface FetchedMessage {
  offset: string;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  isControlRecord?: boolean;
}

export interface KafkaReaderContext {
  channel: string;
  topic: string;
  limits: LogLimits;
  clock: Clock;
  /** A fresh, unconnected low-level client of its own. */
  createCluster: () => Cluster;
  /** The topic's current log start and end offsets. */
  offsets: () => Promise<{ low: number; high: number }>;
}

export class KafkaRecordSource implements RecordSource {
  private cluster: Cluster | undefined;

  constructor(private readonly context: KafkaReaderContext) {}

  async fetch(offset: number, budget: ReadBudget, signal: AbortSignal): Promise<LogRecord[]> {
    // Closing the reader must not wait out a long poll: dropping the connection ends it at once.
    const abortFetch = (): void => void this.dropConnection();
    signal.addEventListener("abort", abortFetch, { once: true });
    try {
      return await this.fetchWithRetries(offset, budget, signal);
    } finally {
      signal.removeEventListener("abort", abortFetch);
    }
  }

  private async fetchWithRetries(offset: number, budget: ReadBudget, signal: AbortSignal): Promise<LogRecord[]> {
    const { limits, clock, channel } = this.context;
    let failingSinceMs: number | undefined;
    let backoffMs = Math.min(50, limits.kafkaRetryBackoffMsMax);
    for (;;) {
      if (signal.aborted) return [];
      try {
        const records = await this.fetchOnce(offset, budget);
        if (records !== undefined) return records;
        failingSinceMs = undefined; // an empty long poll: the broker is fine, nothing new yet
      } catch (error) {
        if (signal.aborted) return [];
        if (isVelaError(error)) throw error;
        failingSinceMs ??= clock.nowMs();
        if (clock.nowMs() - failingSinceMs >= limits.kafkaReaderRetryWindowMs) {
          throw new VelaError(
            ErrorCode.Unavailable,
            `channel ${channel}: cannot fetch offset ${offset} for ${limits.kafkaReaderRetryWindowMs} ms (kafkaReaderRetryWindowMs): ${errorMessage(error)}`,
            { cause: error },
          );
        }
        // Start over with fresh connections and metadata; the position is kept, so nothing is skipped.
        await this.dropConnection();
        await sleep(clock, backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, limits.kafkaRetryBackoffMsMax);
      }
    }
  }

  async close(): Promise<void> {
    await this.dropConnection();
  }

  private async dropConnection(): Promise<void> {
    const cluster = this.cluster;
    this.cluster = undefined;
    await cluster?.disconnect().catch(() => {});
  }

  private async connected(): Promise<Cluster> {
    if (this.cluster !== undefined) return this.cluster;
    const cluster = this.context.createCluster();
    this.cluster = cluster;
    await cluster.connect();
    await cluster.addTargetTopic(this.context.topic);
    return cluster;
  }

  /** One Fetch round trip: records, [] when the next one does not fit, undefined when none is there yet. */
  private async fetchOnce(offset: number, budget: ReadBudget): Promise<LogRecord[] | undefined> {
    const { topic, channel, limits } = this.context;
    const cluster = await this.connected();
    const leaders = cluster.findLeaderForPartitions(topic, [0]);
    const leader = Object.keys(leaders).find((nodeId) => leaders[nodeId]?.includes(0));
    if (leader === undefined) {
      await cluster.refreshMetadata();
      throw new Error(`no leader known for partition 0 of topic ${topic}`);
    }
    const broker = await cluster.findBroker({ nodeId: leader });
    const maxBytes = Math.max(1, budget.bytes);
    let response: { responses?: { partitions?: { messages?: FetchedMessage[] }[] }[] };
    try {
      response = await broker.fetch({
        replicaId: -1,
        isolationLevel: ISOLATION_READ_COMMITTED,
        maxWaitTime: limits.kafkaFetchWaitMs,
        minBytes: 1,
        maxBytes,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: String(offset), maxBytes }] }],
      });
    } catch (error) {
      if (kafkaErrorType(error) === "OFFSET_OUT_OF_RANGE") throw await this.outOfRange(offset, error);
      throw error;
    }
    const messages = response.responses?.[0]?.partitions?.[0]?.messages ?? [];
    const records: LogRecord[] = [];
    let payloadBytes = 0;
    let sawWanted = false;
    for (const message of messages) {
      const messageOffset = Number(message.offset);
      if (messageOffset < offset + records.length) continue; // the broker answers whole batches
      sawWanted = true;
      const expected = offset + records.length;
      if (messageOffset !== expected || message.isControlRecord === true) {
        throw new VelaError(
          ErrorCode.Corrupted,
          `channel ${channel}: topic ${topic} has no record at offset ${expected} (next is ${messageOffset}); was it written by a transactional producer or compacted?`,
        );
      }
      if (records.length >= budget.records) break;
      const value = message.value ?? Buffer.alloc(0);
      const fits = payloadBytes + value.length <= budget.bytes || (records.length === 0 && budget.atLeastOne);
      if (!fits) break;
      const payload = new Uint8Array(value.length);
      payload.set(value);
      records.push({ channel, offset: expected, header: decodeKafkaHeader(message.headers, channel, expected), payload });
      payloadBytes += value.length;
    }
    if (!sawWanted) return undefined;
    return records;
  }

  private async outOfRange(offset: number, cause: unknown): Promise<VelaError> {
    const { channel, topic } = this.context;
    const { low, high } = await this.context.offsets();
    if (offset < low) {
      return new VelaError(
        ErrorCode.Compacted,
        `channel ${channel}: offset ${offset} was truncated away; the earliest readable offset is ${low}`,
        { cause },
      );
    }
    return new VelaError(
      ErrorCode.Corrupted,
      `channel ${channel}: offset ${offset} is past the end of topic ${topic} (${high}); the topic lost records`,
      { cause },
    );
  }
}

function sleep(clock: Clock, delayMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      cancel();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const cancel = clock.setTimer(delayMs, done);
    signal.addEventListener("abort", done, { once: true });
  });
}
