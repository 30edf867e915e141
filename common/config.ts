import { invalidArgument } from "./errors.ts";

// Every bound in Vela has a name, a unit in that name, and a default here. Roles and seams take the
// part they need as an options object (validated once at start); nothing reads a global. Going past a
// bound rejects at once with a LimitExceeded or InvalidArgument error — it never queues without limit.

export const metaStoreDefaults = {
  /** Longest key accepted, in UTF-8 bytes. */
  keyBytesMax: 4096,
  /** Largest value accepted. etcd's default request limit is 1.5 MiB; stay well below it. */
  valueBytesMax: 1024 * 1024,
  /** Most operations (puts + deletes, and compares) in one transaction; etcd's default --max-txn-ops. */
  txnOpsMax: 128,
  /** Most keys one range call returns when the caller sets no smaller limit. */
  rangeKeysMax: 10_000,
  /** Events a watcher buffers for a slow consumer before it fails with a resumable error. */
  watchQueueEventsMax: 10_000,
  /** Shortest lease TTL accepted (etcd rounds shorter ones up to about this). */
  leaseTtlSecondsMin: 1,
  /** Longest lease TTL accepted. */
  leaseTtlSecondsMax: 3600,
  /** Embedded: rewrite the write-ahead file as a snapshot after this many appended bytes. */
  embeddedCompactAfterBytes: 64 * 1024 * 1024,
  /** Embedded: revisions of history kept for watchers to resume from. */
  embeddedHistoryRevisionsMax: 100_000,
  /** Real: how long one request to etcd may take before it fails as Unavailable. */
  requestTimeoutMs: 5_000,
} as const;
export type MetaStoreLimits = { -readonly [K in keyof typeof metaStoreDefaults]: number };

export const logDefaults = {
  /** Longest channel name; Kafka's topic limit is 249 characters. */
  channelNameLengthMax: 249,
  /** Largest payload of one message. */
  messageBytesMax: 8 * 1024 * 1024,
  /** Most messages in one append call. */
  appendBatchMessagesMax: 10_000,
  /** Largest total payload of one append call. */
  appendBatchBytesMax: 64 * 1024 * 1024,
  /** Embedded: roll to a new segment file after this many bytes. */
  embeddedSegmentBytesMax: 64 * 1024 * 1024,
  /** Embedded: most time an append waits for others to share its fsync (group commit window). */
  embeddedGroupCommitWaitMs: 2,
  /** Embedded: most bytes waiting for one group commit before the window closes early. */
  embeddedGroupCommitBytesMax: 4 * 1024 * 1024,
  /** Embedded: appends waiting for durability at once before new ones are refused. */
  embeddedPendingAppendsMax: 100_000,
  /** Records a reader fetches ahead of its consumer (back-pressure bound). */
  readAheadRecordsMax: 1_000,
  /** Bytes a reader fetches ahead of its consumer (back-pressure bound). */
  readAheadBytesMax: 16 * 1024 * 1024,
  /** Real: how long one request to the broker may take before it fails as Unavailable. */
  requestTimeoutMs: 10_000,
} as const;
export type LogLimits = { -readonly [K in keyof typeof logDefaults]: number };

export const objectStoreDefaults = {
  /** Longest object key, in UTF-8 bytes (S3's limit is 1024). */
  keyBytesMax: 1024,
  /** Largest object accepted by one put. */
  objectBytesMax: 5 * 1024 * 1024 * 1024,
  /** Most keys one list page returns (S3's page limit is 1000). */
  listPageKeysMax: 1000,
  /** Real: how long one request may take before it fails as Unavailable. */
  requestTimeoutMs: 30_000,
  /** Real: objects at least this large are uploaded in parts. */
  multipartThresholdBytes: 64 * 1024 * 1024,
  /** Real: size of one multipart part (S3 minimum is 5 MiB). */
  multipartPartBytes: 16 * 1024 * 1024,
} as const;
export type ObjectStoreLimits = { -readonly [K in keyof typeof objectStoreDefaults]: number };

/** Merges caller overrides into defaults and checks that every value is a positive finite number. */
export function resolveLimits<T extends Record<string, number>>(defaults: T, overrides: Partial<T> | undefined, what: string): T {
  const merged = { ...defaults, ...(overrides ?? {}) } as T;
  for (const [name, value] of Object.entries(merged)) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw invalidArgument(`${what}: limit ${name} must be a non-negative finite number, got ${String(value)}`);
    }
  }
  return merged;
}
