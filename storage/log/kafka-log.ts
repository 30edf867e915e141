// KafkaLog: the Log seam on Kafka (or anything speaking its protocol, such as Redpanda), via kafkajs.
//
// Mapping: channel c is topic <topicPrefix>c, and only its partition 0 is used (one partition per channel
// keeps one total order); subscriber s is consumer group <topicPrefix>s, whose committed offset on that
// partition is the checkpoint. Appends are one producer request each with acks=-1, so one append is one
// record batch: its offsets are baseOffset + i. Reads use the low-level Fetch (see kafka-reader.ts).
//
// Invariants: an append resolves only after every in-sync replica has the batch; every broker call is
// bounded by requestTimeoutMs and fails as Unavailable; bad input is rejected before any request is sent;
// after close() every call fails with Closed and every open reader ends with Closed.
//
// What depends on the broker (each is detected, none is assumed; docs/log.md has the details):
// - idempotent producer: used when InitProducerId works; otherwise a plain producer without retries, so
//   that a lost acknowledgement surfaces as Unavailable rather than as a silent duplicate;
// - topic creation: CreateTopics through the admin API, else the broker's auto-creation on metadata;
// - truncation: ListGroups + OffsetFetch + DeleteRecords; a broker lacking them truncates nothing and
//   truncate() returns the current earliest offset.

import { Kafka, logLevel, type Admin, type Cluster, type Producer } from "kafkajs";
import { systemClock, type Clock } from "../../common/clock.ts";
import type { LogLimits } from "../../common/config.ts";
import { VelaError, ErrorCode, closedError, invalidArgument, isVelaError } from "../../common/errors.ts";
import { kafkaErrorType, toVelaError, withDeadline } from "./kafka-errors.ts";
import { KafkaRecordSource } from "./kafka-reader.ts";
import { encodeKafkaMessage } from "./kafka-record.ts";
import { CHANNEL_NAME_PATTERN, type Log, type LogMessage, type LogReader, type ReadFrom, type ReadOptions } from "./log.ts";
import { BufferedLogReader } from "./read-ahead.ts";
import {
  checkChannel,
  checkMessages,
  checkOffset,
  checkReadFrom,
  checkReadOptions,
  checkReadWindow,
  checkSubscriber,
  resolveLogLimits,
} from "./validate.ts";

/** Kafka's own limit on topic names. */
const TOPIC_NAME_LENGTH_MAX = 249;

export interface KafkaLogOptions {
  /** Bootstrap brokers, "host:port". */
  brokers: string[];
  clientId?: string;
  /** Prepended to every topic and consumer group name, to share one Kafka between deployments. */
  topicPrefix?: string;
  limits?: Partial<LogLimits>;
  /**
   * How missing topics come to exist: "admin" (default) asks CreateTopics for one partition and falls back
   * to auto-creation when the broker refuses; "auto" relies on the broker creating topics on a metadata
   * request (auto.create.topics.enable; the partition count is then the broker's default).
   */
  createTopics?: "admin" | "auto";
  /** Replication factor for topics created through the admin API; -1 = the broker's default. */
  replicationFactor?: number;
  clock?: Clock;
}

type ClusterFactory = (options: {
  allowAutoTopicCreation?: boolean;
  metadataMaxAge?: number;
  maxInFlightRequests?: number | null;
  isolationLevel?: number;
}) => Cluster;

/**
 * kafkajs keeps its low-level Cluster client (needed for Fetch without a consumer group, and for offset
 * commits outside a group generation) behind a private symbol of the Kafka object. Pinned kafkajs 2.2.4.
 */
function lowLevelClusterFactory(kafka: Kafka): ClusterFactory {
  const symbol = Object.getOwnPropertySymbols(kafka).find((candidate) => candidate.description === "private:Kafka:createCluster");
  const factory = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof factory !== "function") {
    throw new VelaError(ErrorCode.Internal, "kafkajs no longer exposes its cluster factory; KafkaLog needs kafkajs 2.2.x");
  }
  return (options) => (factory as ClusterFactory).call(kafka, options);
}

function quietLogCreator(): () => void {
  return () => {};
}

export class KafkaLog implements Log {
  private state: "open" | "closing" | "closed" = "open";
  private readonly knownTopics = new Set<string>();
  private readonly creatingTopics = new Map<string, Promise<void>>();
  private readonly readers = new Set<BufferedLogReader>();
  private readonly appending = new Set<Promise<unknown>>();
  private adminCreateUnusable = false;
  private truncationUnsupported = false;

  private constructor(
    private readonly limits: LogLimits,
    private readonly clock: Clock,
    private readonly topicPrefix: string,
    private readonly createTopicsMode: "admin" | "auto",
    private readonly replicationFactor: number,
    private readonly admin: Admin,
    private readonly producer: Producer,
    /** Whether the producer is idempotent (the broker granted a producer id). */
    readonly idempotent: boolean,
    private readonly control: Cluster,
    private readonly createCluster: ClusterFactory,
  ) {}

  static async connect(options: KafkaLogOptions): Promise<KafkaLog> {
    if (typeof options !== "object" || options === null) throw invalidArgument("KafkaLog.connect: options must be an object");
    const { brokers, clientId = "vela", topicPrefix = "", createTopics = "admin", replicationFactor = -1 } = options;
    if (!Array.isArray(brokers) || brokers.length === 0 || !brokers.every((b) => typeof b === "string" && /^[^:\s]+:\d+$/.test(b))) {
      throw invalidArgument('KafkaLog.connect: brokers must be a non-empty list of "host:port"');
    }
    if (typeof clientId !== "string" || !CHANNEL_NAME_PATTERN.test(clientId)) {
      throw invalidArgument("KafkaLog.connect: clientId must use only letters, digits, '.', '_' and '-'");
    }
    if (typeof topicPrefix !== "string" || (topicPrefix !== "" && !CHANNEL_NAME_PATTERN.test(topicPrefix))) {
      throw invalidArgument("KafkaLog.connect: topicPrefix must use only letters, digits, '.', '_' and '-'");
    }
    if (createTopics !== "admin" && createTopics !== "auto") {
      throw invalidArgument('KafkaLog.connect: createTopics must be "admin" or "auto"');
    }
    if (!Number.isSafeInteger(replicationFactor) || (replicationFactor < 1 && replicationFactor !== -1)) {
      throw invalidArgument("KafkaLog.connect: replicationFactor must be a positive integer or -1");
    }
    const limits = resolveLogLimits(options.limits, "KafkaLog.connect");
    if (topicPrefix.length >= TOPIC_NAME_LENGTH_MAX) {
      throw invalidArgument(`KafkaLog.connect: topicPrefix leaves no room in Kafka's ${TOPIC_NAME_LENGTH_MAX}-character topic names`);
    }
    // A channel name must fit in a topic name together with the prefix.
    limits.channelNameLengthMax = Math.min(limits.channelNameLengthMax, TOPIC_NAME_LENGTH_MAX - topicPrefix.length);
    const clock = options.clock ?? systemClock;
    const kafka = new Kafka({
      brokers,
      clientId,
      logLevel: logLevel.NOTHING,
      logCreator: quietLogCreator,
      connectionTimeout: limits.kafkaConnectionTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: limits.kafkaRetryBackoffMsMax },
    });
    const createCluster = lowLevelClusterFactory(kafka);
    const deadline = <T>(what: string, call: () => Promise<T>): Promise<T> =>
      withDeadline(clock, limits.requestTimeoutMs, `KafkaLog.connect: ${what}`, call);

    const admin = kafka.admin();
    const control = createCluster({ allowAutoTopicCreation: false });
    const connected: { disconnect(): Promise<void> }[] = [];
    try {
      await deadline("connect admin client", () => admin.connect());
      connected.push(admin);
      await deadline("connect", () => control.connect());
      connected.push(control);
      let idempotent = true;
      let producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      try {
        await deadline("connect idempotent producer", () => producer.connect());
      } catch {
        // The broker grants no producer id (the librdkafka mock reports no valid controller, old brokers
        // lack InitProducerId): use a plain producer that never retries by itself.
        await producer.disconnect().catch(() => {});
        idempotent = false;
        producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false, retry: { retries: 0 } });
        await deadline("connect producer", () => producer.connect());
      }
      return new KafkaLog(limits, clock, topicPrefix, createTopics, replicationFactor, admin, producer, idempotent, control, createCluster);
    } catch (error) {
      await Promise.all(connected.map((client) => client.disconnect().catch(() => {})));
      throw toVelaError(error, "KafkaLog.connect");
    }
  }

  async ensureChannel(channel: string): Promise<void> {
    this.checkOpen();
    checkChannel(channel, this.limits);
    await this.ensureTopic(this.topicOf(channel));
  }

  async append(channel: string, messages: readonly LogMessage[]): Promise<number[]> {
    this.checkOpen();
    checkChannel(channel, this.limits);
    checkMessages(messages, this.limits);
    const topic = this.topicOf(channel);
    const records = messages.map(encodeKafkaMessage);
    const appending = (async () => {
      await this.ensureTopic(topic);
      const results = await this.call(`append to channel ${channel}`, () =>
        this.producer.send({ topic, acks: -1, timeout: this.limits.requestTimeoutMs, messages: records }),
      );
      const result = results.find((entry) => entry.topicName === topic && entry.partition === 0);
      const base = Number(result?.baseOffset);
      if (result === undefined || !Number.isSafeInteger(base) || base < 0) {
        throw new VelaError(ErrorCode.Unavailable, `append to channel ${channel}: the broker returned no offset`);
      }
      return records.map((_, index) => base + index);
    })();
    this.appending.add(appending);
    try {
      return await appending;
    } finally {
      this.appending.delete(appending);
    }
  }

  async read(channel: string, from: ReadFrom, options?: ReadOptions): Promise<LogReader> {
    this.checkOpen();
    checkChannel(channel, this.limits);
    checkReadFrom(from);
    checkReadOptions(options);
    const topic = this.topicOf(channel);
    await this.ensureTopic(topic);
    const { low, high } = await this.offsets(topic);
    this.checkOpen();
    const start = from.kind === "earliest" ? low : from.kind === "latest" ? high : from.offset;
    checkReadWindow(start, high, low, options, channel);
    const source = new KafkaRecordSource({
      channel,
      topic,
      limits: this.limits,
      clock: this.clock,
      createCluster: () => this.createCluster({ allowAutoTopicCreation: false, maxInFlightRequests: 1 }),
      offsets: () => this.offsets(topic),
    });
    const reader: BufferedLogReader = new BufferedLogReader(source, start, options?.endOffsetExclusive, this.limits, () =>
      this.readers.delete(reader),
    );
    this.readers.add(reader);
    return reader;
  }

  async latestOffset(channel: string): Promise<number> {
    this.checkOpen();
    checkChannel(channel, this.limits);
    const topic = this.topicOf(channel);
    await this.ensureTopic(topic);
    return (await this.offsets(topic)).high;
  }

  async earliestOffset(channel: string): Promise<number> {
    this.checkOpen();
    checkChannel(channel, this.limits);
    const topic = this.topicOf(channel);
    await this.ensureTopic(topic);
    return (await this.offsets(topic)).low;
  }

  async commit(subscriber: string, channel: string, nextOffset: number): Promise<void> {
    this.checkOpen();
    checkSubscriber(subscriber, this.limits);
    checkChannel(channel, this.limits);
    checkOffset(nextOffset, "committed offset");
    const topic = this.topicOf(channel);
    await this.ensureTopic(topic);
    const { high } = await this.offsets(topic);
    if (nextOffset > high) {
      throw invalidArgument(`channel ${channel}: committed offset ${nextOffset} is beyond the end of the channel (latest offset ${high})`);
    }
    const groupId = this.groupOf(subscriber);
    // A "simple" commit: generation -1 and no member id, as a consumer without group management does.
    await this.call(`commit ${subscriber} on channel ${channel}`, async () => {
      const coordinator = await this.control.findGroupCoordinator({ groupId });
      await coordinator.offsetCommit({
        groupId,
        groupGenerationId: -1,
        memberId: "",
        topics: [{ topic, partitions: [{ partition: 0, offset: String(nextOffset) }] }],
      });
    });
  }

  async committed(subscriber: string, channel: string): Promise<number | undefined> {
    this.checkOpen();
    checkSubscriber(subscriber, this.limits);
    checkChannel(channel, this.limits);
    const topic = this.topicOf(channel);
    await this.ensureTopic(topic);
    return await this.groupOffset(this.groupOf(subscriber), topic, `committed ${subscriber} on channel ${channel}`);
  }

  async truncate(channel: string): Promise<number> {
    this.checkOpen();
    checkChannel(channel, this.limits);
    const topic = this.topicOf(channel);
    await this.ensureTopic(topic);
    if (this.truncationUnsupported) return (await this.offsets(topic)).low;
    try {
      const { groups } = await this.call("list consumer groups", () => this.admin.listGroups());
      // Every group with a position on the topic holds records back, Vela's subscribers or not.
      let minimum: number | undefined;
      for (const { groupId } of groups) {
        const position = await this.groupOffset(groupId, topic, `truncate channel ${channel}`);
        if (position !== undefined && (minimum === undefined || position < minimum)) minimum = position;
      }
      if (minimum !== undefined) {
        const target = minimum;
        await this.call(`truncate channel ${channel}`, () =>
          this.admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(target) }] }),
        );
      }
    } catch (error) {
      if (!(isVelaError(error, ErrorCode.Unsupported))) throw error;
      this.truncationUnsupported = true;
    }
    return (await this.offsets(topic)).low;
  }

  async close(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "closing";
    // Pending appends finish first; then readers end with Closed.
    await Promise.allSettled([...this.appending]);
    await Promise.all([...this.readers].map((reader) => reader.terminate(closedError("Kafka log"))));
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect(), this.control.disconnect()]);
    this.state = "closed";
  }

  private checkOpen(): void {
    if (this.state !== "open") throw closedError("Kafka log");
  }

  private topicOf(channel: string): string {
    return `${this.topicPrefix}${channel}`;
  }

  private groupOf(subscriber: string): string {
    return `${this.topicPrefix}${subscriber}`;
  }

  private call<T>(what: string, call: () => Promise<T>): Promise<T> {
    return withDeadline(this.clock, this.limits.requestTimeoutMs, what, call);
  }

  private async offsets(topic: string): Promise<{ low: number; high: number }> {
    const partitions = await this.call(`offsets of topic ${topic}`, () => this.admin.fetchTopicOffsets(topic));
    const partition = partitions.find((entry) => entry.partition === 0);
    const low = Number(partition?.low);
    const high = Number(partition?.high);
    if (partition === undefined || !Number.isSafeInteger(low) || !Number.isSafeInteger(high) || low < 0 || high < low) {
      throw new VelaError(ErrorCode.Unavailable, `offsets of topic ${topic}: the broker returned none for partition 0`);
    }
    return { low, high };
  }

  private async groupOffset(groupId: string, topic: string, what: string): Promise<number | undefined> {
    const topics = await this.call(what, () => this.admin.fetchOffsets({ groupId, topics: [topic] }));
    const partition = topics.find((entry) => entry.topic === topic)?.partitions.find((entry) => entry.partition === 0);
    const offset = Number(partition?.offset);
    return partition === undefined || !Number.isSafeInteger(offset) || offset < 0 ? undefined : offset;
  }

  private ensureTopic(topic: string): Promise<void> {
    if (this.knownTopics.has(topic)) return Promise.resolve();
    let creating = this.creatingTopics.get(topic);
    if (creating === undefined) {
      creating = this.createTopic(topic).then(
        () => {
          this.knownTopics.add(topic);
          this.creatingTopics.delete(topic);
        },
        (error: unknown) => {
          this.creatingTopics.delete(topic);
          throw error;
        },
      );
      this.creatingTopics.set(topic, creating);
    }
    return creating;
  }

  /** Makes sure the topic exists with a leader for partition 0. */
  private async createTopic(topic: string): Promise<void> {
    if (await this.topicReady(topic, false)) return;
    if (this.createTopicsMode === "admin" && !this.adminCreateUnusable) {
      try {
        await this.call(`create topic ${topic}`, () =>
          this.admin.createTopics({
            topics: [{ topic, numPartitions: 1, replicationFactor: this.replicationFactor }],
            waitForLeaders: true,
            timeout: this.limits.requestTimeoutMs,
          }),
        );
      } catch (error) {
        if (kafkaErrorType(error) !== "TOPIC_ALREADY_EXISTS") {
          // No CreateTopics, or no controller to send it to (the librdkafka mock): try auto-creation, and
          // do not ask again for later topics.
          this.adminCreateUnusable = true;
        }
      }
    }
    if (await this.topicReady(topic, true)) return;
    // A freshly created topic may take a moment to get its leader.
    const deadlineMs = this.clock.nowMs() + this.limits.requestTimeoutMs;
    let pauseMs = 50;
    while (this.clock.nowMs() < deadlineMs) {
      await this.clock.sleep(pauseMs);
      pauseMs = Math.min(pauseMs * 2, this.limits.kafkaRetryBackoffMsMax);
      if (await this.topicReady(topic, false)) return;
    }
    throw new VelaError(
      ErrorCode.Unavailable,
      `channel topic ${topic} does not exist and could not be created (CreateTopics refused, no auto-creation)`,
    );
  }

  /** Whether the topic has a leader for partition 0, asking with or without auto-creation. */
  private async topicReady(topic: string, allowAutoCreation: boolean): Promise<boolean> {
    const cluster = allowAutoCreation ? this.createCluster({ allowAutoTopicCreation: true }) : this.control;
    try {
      const metadata = await this.call(`metadata of topic ${topic}`, async () => {
        if (allowAutoCreation) await cluster.connect();
        // The typings omit the argument; kafkajs's Cluster.metadata({ topics }) asks for these topics only.
        const metadataOf = cluster.metadata as unknown as (request: { topics: string[] }) => ReturnType<Cluster["metadata"]>;
        return await metadataOf.call(cluster, { topics: [topic] });
      });
      const partitions = metadata.topicMetadata.find((entry) => entry.topic === topic)?.partitionMetadata ?? [];
      return partitions.some((partition) => partition.partitionId === 0 && partition.leader >= 0);
    } catch (error) {
      const type = kafkaErrorType(error);
      if (type === "UNKNOWN_TOPIC_OR_PARTITION" || type === "LEADER_NOT_AVAILABLE") return false;
      throw toVelaError(error, `metadata of topic ${topic}`);
    } finally {
      if (allowAutoCreation) await cluster.disconnect().catch(() => {});
    }
  }
}
