// Turns what kafkajs throws into Vela's one error hierarchy, and bounds every broker call in time.
// Invariant: nothing thrown by kafkajs leaves KafkaLog unconverted — a broker that cannot be reached or
// does not answer in requestTimeoutMs is Unavailable, an oversized batch is LimitExceeded.

import type { Clock } from "../../common/clock.ts";
import { VelaError, ErrorCode, errorMessage, isVelaError } from "../../common/errors.ts";

interface KafkaJsErrorShape {
  name?: string;
  type?: string;
  retriable?: boolean;
  message?: string;
  originalError?: unknown;
  cause?: unknown;
}

/** kafkajs wraps errors (retriers, aggregates); look through the chain. */
function errorChain(error: unknown): KafkaJsErrorShape[] {
  const chain: KafkaJsErrorShape[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const shaped = current as KafkaJsErrorShape;
    chain.push(shaped);
    current = shaped.originalError ?? shaped.cause;
  }
  return chain;
}

/** The Kafka protocol error type (e.g. "OFFSET_OUT_OF_RANGE") anywhere in the chain. */
export function kafkaErrorType(error: unknown): string | undefined {
  return errorChain(error).find((link) => typeof link.type === "string")?.type;
}

/** True when the broker lacks the API (the mock broker has no DeleteRecords, ListGroups, CreateTopics). */
export function isUnsupportedApi(error: unknown): boolean {
  return errorChain(error).some(
    (link) =>
      link.name === "KafkaJSServerDoesNotSupportApiKey" ||
      link.type === "UNSUPPORTED_VERSION" ||
      (typeof link.message === "string" && link.message.includes("does not support the requested API")),
  );
}

export function toVelaError(error: unknown, what: string): VelaError {
  if (isVelaError(error)) return error;
  const type = kafkaErrorType(error);
  if (type === "MESSAGE_TOO_LARGE" || type === "RECORD_LIST_TOO_LARGE") {
    return new VelaError(
      ErrorCode.LimitExceeded,
      `${what}: the broker refused the batch as too large (${type}); raise the broker's message.max.bytes or lower appendBatchBytesMax`,
      { cause: error },
    );
  }
  if (isUnsupportedApi(error)) {
    return new VelaError(ErrorCode.Unsupported, `${what}: the broker does not support this request`, { cause: error });
  }
  return new VelaError(ErrorCode.Unavailable, `${what}: ${errorMessage(error)}`, { cause: error });
}

/**
 * Runs a broker call with a deadline. A call that outlives it is abandoned (its late outcome ignored) and
 * reported as Unavailable — for an append that means "outcome unknown", as for any lost acknowledgement.
 */
export async function withDeadline<T>(clock: Clock, timeoutMs: number, what: string, call: () => Promise<T>): Promise<T> {
  let cancel = (): void => {};
  const expired = new Promise<never>((_, reject) => {
    cancel = clock.setTimer(timeoutMs, () =>
      reject(new VelaError(ErrorCode.Unavailable, `${what}: no answer from the broker within ${timeoutMs} ms (requestTimeoutMs)`)),
    );
  });
  const running = call();
  // The loser of the race must not become an unhandled rejection.
  running.catch(() => {});
  expired.catch(() => {});
  try {
    return await Promise.race([running, expired]);
  } catch (error) {
    throw toVelaError(error, what);
  } finally {
    cancel();
  }
}
