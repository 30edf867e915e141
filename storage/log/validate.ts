// Input checks shared by every Log implementation, so that both reject the same bad input with the same
// typed error and message. Invariant: a call that fails a check here has changed nothing — every check
// runs before any state is touched.

import { resolveLimits, logDefaults, type LogLimits } from "../../common/config.ts";
import { VelaError, ErrorCode, invalidArgument, limitExceeded } from "../../common/errors.ts";
import { isMsgType } from "../../common/msg-type.ts";
import { CHANNEL_NAME_PATTERN, type LogMessage, type ReadFrom, type ReadOptions } from "./log.ts";

const UINT64_MAX = (1n << 64n) - 1n;

/** Limits whose value 0 would make the log unusable (a reader that may hold nothing never progresses). */
const positiveLimits: readonly (keyof LogLimits)[] = [
  "channelNameLengthMax",
  "messageBytesMax",
  "appendBatchMessagesMax",
  "appendBatchBytesMax",
  "embeddedSegmentBytesMax",
  "embeddedGroupCommitBytesMax",
  "embeddedPendingAppendsMax",
  "embeddedPendingBytesMax",
  "embeddedIndexIntervalBytes",
  "embeddedReadChunkBytes",
  "readAheadRecordsMax",
  "readAheadBytesMax",
  "requestTimeoutMs",
  "kafkaConnectionTimeoutMs",
  "kafkaRetryBackoffMsMax",
];

/** Merges overrides into logDefaults and checks them once, at open. */
export function resolveLogLimits(overrides: Partial<LogLimits> | undefined, what: string): LogLimits {
  if (overrides !== undefined && (typeof overrides !== "object" || overrides === null)) {
    throw invalidArgument(`${what}: limits must be an object`);
  }
  for (const name of Object.keys(overrides ?? {})) {
    if (!(name in logDefaults)) throw invalidArgument(`${what}: unknown limit ${name}`);
  }
  const limits = resolveLimits<LogLimits>({ ...logDefaults }, overrides, what);
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value)) throw invalidArgument(`${what}: limit ${name} must be an integer, got ${value}`);
  }
  for (const name of positiveLimits) {
    if (limits[name] < 1) throw invalidArgument(`${what}: limit ${name} must be at least 1, got ${limits[name]}`);
  }
  return limits;
}

function checkName(kind: string, name: unknown, limits: LogLimits): asserts name is string {
  if (typeof name !== "string") throw invalidArgument(`${kind} must be a string, got ${typeof name}`);
  if (name.length === 0) throw invalidArgument(`${kind} must not be empty`);
  if (name.length > limits.channelNameLengthMax) {
    throw invalidArgument(
      `${kind} is ${name.length} characters long; channelNameLengthMax is ${limits.channelNameLengthMax}`,
    );
  }
  if (!CHANNEL_NAME_PATTERN.test(name)) {
    throw invalidArgument(`invalid ${kind} ${JSON.stringify(name)}: use only letters, digits, '.', '_' and '-'`);
  }
  // Both names become file or topic names, where "." and ".." mean something else.
  if (name === "." || name === "..") throw invalidArgument(`invalid ${kind} ${JSON.stringify(name)}`);
}

export function checkChannel(channel: unknown, limits: LogLimits): asserts channel is string {
  checkName("channel name", channel, limits);
}

export function checkSubscriber(subscriber: unknown, limits: LogLimits): asserts subscriber is string {
  checkName("subscriber name", subscriber, limits);
}

/** A record offset: a non-negative safe integer. */
export function checkOffset(value: unknown, what: string): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`${what} must be a non-negative integer, got ${String(value)}`);
  }
}

export function checkReadFrom(from: unknown): asserts from is ReadFrom {
  if (typeof from !== "object" || from === null) throw invalidArgument("read position must be an object");
  const kind = (from as { kind?: unknown }).kind;
  if (kind === "offset") {
    checkOffset((from as { offset?: unknown }).offset, "read offset");
  } else if (kind !== "earliest" && kind !== "latest") {
    throw invalidArgument(`read position kind must be "earliest", "latest" or "offset", got ${String(kind)}`);
  }
}

export function checkReadOptions(options: unknown): asserts options is ReadOptions | undefined {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) throw invalidArgument("read options must be an object");
  const end = (options as ReadOptions).endOffsetExclusive;
  if (end !== undefined) checkOffset(end, "endOffsetExclusive");
}

function checkUint64(value: unknown, what: string, index: number): void {
  if (typeof value !== "bigint" || value < 0n || value > UINT64_MAX) {
    throw invalidArgument(`message ${index}: ${what} must be a bigint in [0, 2^64), got ${String(value)}`);
  }
}

/**
 * Checks one append call completely before anything is written.
 * Oversized input is LimitExceeded (a named bound was hit); malformed input is InvalidArgument.
 */
export function checkMessages(messages: unknown, limits: LogLimits): asserts messages is readonly LogMessage[] {
  if (!Array.isArray(messages)) throw invalidArgument("append: messages must be an array");
  if (messages.length === 0) throw invalidArgument("append: messages must not be empty");
  if (messages.length > limits.appendBatchMessagesMax) {
    throw limitExceeded(
      `append: ${messages.length} messages in one call; appendBatchMessagesMax is ${limits.appendBatchMessagesMax}`,
    );
  }
  let totalBytes = 0;
  messages.forEach((message: unknown, index) => {
    if (typeof message !== "object" || message === null) throw invalidArgument(`message ${index} must be an object`);
    const { header, payload } = message as Partial<LogMessage>;
    if (!(payload instanceof Uint8Array)) throw invalidArgument(`message ${index}: payload must be a Uint8Array`);
    if (payload.byteLength > limits.messageBytesMax) {
      throw limitExceeded(
        `message ${index}: payload is ${payload.byteLength} bytes; messageBytesMax is ${limits.messageBytesMax}`,
      );
    }
    totalBytes += payload.byteLength;
    if (typeof header !== "object" || header === null) throw invalidArgument(`message ${index}: header must be an object`);
    if (typeof header.type !== "number" || !isMsgType(header.type)) {
      throw invalidArgument(`message ${index}: header type ${String(header.type)} is not a known MsgType`);
    }
    checkUint64(header.collectionId, "collectionId", index);
    checkUint64(header.beginTs, "beginTs", index);
    checkUint64(header.endTs, "endTs", index);
    if (header.beginTs > header.endTs) {
      throw invalidArgument(`message ${index}: beginTs ${header.beginTs} is after endTs ${header.endTs}`);
    }
    if (typeof header.vchannel !== "string") throw invalidArgument(`message ${index}: vchannel must be a string`);
    if (header.vchannel !== "") {
      try {
        checkName("vchannel name", header.vchannel, limits);
      } catch (error) {
        throw invalidArgument(`message ${index}: ${(error as Error).message}`);
      }
    }
  });
  if (totalBytes > limits.appendBatchBytesMax) {
    throw limitExceeded(
      `append: ${totalBytes} payload bytes in one call; appendBatchBytesMax is ${limits.appendBatchBytesMax}`,
    );
  }
}

/** The read window [start, end) once the start is resolved; end < start is a caller error. */
export function checkReadWindow(start: number, latest: number, earliest: number, options: ReadOptions | undefined, channel: string): void {
  if (start < earliest) {
    throw new VelaError(
      ErrorCode.Compacted,
      `channel ${channel}: offset ${start} was truncated away; the earliest readable offset is ${earliest}`,
    );
  }
  if (start > latest) {
    throw invalidArgument(`channel ${channel}: read offset ${start} is beyond the end of the channel (latest offset ${latest})`);
  }
  const end = options?.endOffsetExclusive;
  if (end !== undefined && end < start) {
    throw invalidArgument(`channel ${channel}: endOffsetExclusive ${end} is before the start offset ${start}`);
  }
}
