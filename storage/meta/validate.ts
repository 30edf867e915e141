// Input checks shared by every MetaStore implementation, so that the embedded store and the etcd store
// reject the same bad request with the same typed error and the same message. Invariant: a call that
// fails a check here has changed nothing — every check runs before any state is touched.
//
// Error codes: a malformed request (wrong type, empty key, ill-formed Unicode, overlapping transaction
// writes) is InvalidArgument; a well-formed request past a named bound of metaStoreDefaults is
// LimitExceeded; any call after close() is Closed.

import { metaStoreDefaults, resolveLimits, type MetaStoreLimits } from "../../common/config.ts";
import { closedError, ErrorCode, invalidArgument, limitExceeded, VelaError } from "../../common/errors.ts";
import type { CompareOperator, LeaseId, RangeOptions, Txn, TxnOp, WatchOptions } from "./meta-store.ts";

/** How error messages name the store; both implementations use it so messages match exactly. */
export const META_STORE = "meta store";

const INT64_MAX = (1n << 63n) - 1n;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LEASE_ID_PATTERN = /^[1-9][0-9]{0,18}$/;
const OPERATORS: ReadonlySet<string> = new Set<CompareOperator>(["equal", "notEqual", "less", "greater"]);
const REVISION_TARGETS: ReadonlySet<string> = new Set(["modRevision", "createRevision", "version"]);

/** Limits whose value 0 would make the store unusable. */
const positiveLimits: readonly (keyof MetaStoreLimits)[] = [
  "keyBytesMax",
  "valueBytesMax",
  "txnOpsMax",
  "rangeKeysMax",
  "watchQueueEventsMax",
  "leaseTtlSecondsMin",
  "leaseTtlSecondsMax",
  "embeddedCompactAfterBytes",
  "embeddedHistoryRevisionsMax",
  "embeddedPendingWritesMax",
  "embeddedPendingWriteBytesMax",
  "embeddedGroupCommitBytesMax",
  "embeddedSnapshotFrameBytesMax",
  "requestTimeoutMs",
  "responseBytesMax",
  "reconnectDelayMsMin",
  "reconnectDelayMsMax",
  "connectionProbeIntervalMs",
];

/** Merges overrides into metaStoreDefaults and checks them once, at open. */
export function resolveMetaStoreLimits(overrides: Partial<MetaStoreLimits> | undefined): MetaStoreLimits {
  if (overrides !== undefined && (typeof overrides !== "object" || overrides === null)) {
    throw invalidArgument(`${META_STORE}: limits must be an object`);
  }
  for (const name of Object.keys(overrides ?? {})) {
    if (!(name in metaStoreDefaults)) throw invalidArgument(`${META_STORE}: unknown limit ${name}`);
  }
  const limits = resolveLimits<MetaStoreLimits>({ ...metaStoreDefaults }, overrides, META_STORE);
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value)) throw invalidArgument(`${META_STORE}: limit ${name} must be an integer, got ${value}`);
  }
  for (const name of positiveLimits) {
    if (limits[name] < 1) throw invalidArgument(`${META_STORE}: limit ${name} must be at least 1, got ${limits[name]}`);
  }
  if (limits.leaseTtlSecondsMin > limits.leaseTtlSecondsMax) {
    throw invalidArgument(
      `${META_STORE}: leaseTtlSecondsMin (${limits.leaseTtlSecondsMin}) is above leaseTtlSecondsMax (${limits.leaseTtlSecondsMax})`,
    );
  }
  if (limits.reconnectDelayMsMin > limits.reconnectDelayMsMax) {
    throw invalidArgument(
      `${META_STORE}: reconnectDelayMsMin (${limits.reconnectDelayMsMin}) is above reconnectDelayMsMax (${limits.reconnectDelayMsMax})`,
    );
  }
  return limits;
}

/** The error for a lease that does not exist (never granted, expired or revoked); one message for both stores. */
export function leaseNotFound(ids: readonly LeaseId[]): VelaError {
  const named = ids.length === 0 ? "the lease" : `lease ${ids.join(" or ")}`;
  return new VelaError(ErrorCode.LeaseNotFound, `${META_STORE}: ${named} not found (it expired or was revoked)`);
}

/** Throws the Closed error every call after close() gets. */
export function checkOpen(closed: boolean): void {
  if (closed) throw closedError(META_STORE);
}

function describe(text: string): string {
  return text.length <= 40 ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, 40))}…`;
}

function checkText(text: unknown, what: string, limits: MetaStoreLimits, allowEmpty: boolean): string {
  if (typeof text !== "string") throw invalidArgument(`${META_STORE}: ${what} must be a string, got ${typeof text}`);
  if (!allowEmpty && text.length === 0) throw invalidArgument(`${META_STORE}: ${what} must not be empty`);
  if (LONE_SURROGATE.test(text)) {
    throw invalidArgument(`${META_STORE}: ${what} ${describe(text)} is not well-formed Unicode (it holds a lone surrogate)`);
  }
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > limits.keyBytesMax) {
    throw limitExceeded(`${META_STORE}: ${what} ${describe(text)} is ${bytes} bytes of UTF-8, over keyBytesMax (${limits.keyBytesMax})`);
  }
  return text;
}

/** A key: a non-empty, well-formed string of at most keyBytesMax UTF-8 bytes. */
export function checkKey(key: unknown, limits: MetaStoreLimits, what = "key"): string {
  return checkText(key, what, limits, false);
}

/** A prefix: like a key, but empty means every key. */
export function checkPrefix(prefix: unknown, limits: MetaStoreLimits): string {
  return checkText(prefix, "prefix", limits, true);
}

/** A value: a string (stored as UTF-8) or bytes, at most valueBytesMax. Returns a private copy of the bytes. */
export function checkValue(value: unknown, limits: MetaStoreLimits, key: string): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === "string") bytes = new TextEncoder().encode(value);
  else if (value instanceof Uint8Array) bytes = new Uint8Array(value);
  else throw invalidArgument(`${META_STORE}: value of key ${describe(key)} must be a string or a Uint8Array, got ${typeof value}`);
  if (bytes.byteLength > limits.valueBytesMax) {
    throw limitExceeded(
      `${META_STORE}: value of key ${describe(key)} is ${bytes.byteLength} bytes, over valueBytesMax (${limits.valueBytesMax})`,
    );
  }
  return bytes;
}

/** A lease id: the decimal form of a positive int64, as etcd has them. */
export function checkLeaseId(id: unknown): LeaseId {
  if (typeof id !== "string" || !LEASE_ID_PATTERN.test(id) || BigInt(id) > INT64_MAX) {
    const shown = typeof id === "string" ? describe(id) : typeof id;
    throw invalidArgument(`${META_STORE}: lease id must be the decimal string of a positive 64-bit integer, got ${shown}`);
  }
  return id;
}

/** A lease TTL: whole seconds within [leaseTtlSecondsMin, leaseTtlSecondsMax]. */
export function checkTtlSeconds(ttlSeconds: unknown, limits: MetaStoreLimits): number {
  if (typeof ttlSeconds !== "number" || !Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw invalidArgument(`${META_STORE}: lease TTL must be a positive whole number of seconds, got ${String(ttlSeconds)}`);
  }
  if (ttlSeconds < limits.leaseTtlSecondsMin || ttlSeconds > limits.leaseTtlSecondsMax) {
    throw limitExceeded(
      `${META_STORE}: lease TTL ${ttlSeconds} s is outside [leaseTtlSecondsMin (${limits.leaseTtlSecondsMin}), leaseTtlSecondsMax (${limits.leaseTtlSecondsMax})]`,
    );
  }
  return ttlSeconds;
}

export interface CheckedRangeOptions {
  /** Only keys greater than this one (byte order); undefined: from the start of the prefix. */
  startAfter?: string;
  /** Most keys to return, already resolved against rangeKeysMax (never 0). */
  limit: number;
  keysOnly: boolean;
}

export function checkRangeOptions(options: RangeOptions | undefined, limits: MetaStoreLimits): CheckedRangeOptions {
  if (options === undefined) return { limit: limits.rangeKeysMax, keysOnly: false };
  if (typeof options !== "object" || options === null) throw invalidArgument(`${META_STORE}: range options must be an object`);
  const { limit, keysOnly, startAfter } = options;
  if (startAfter !== undefined && typeof startAfter !== "string") throw invalidArgument(`${META_STORE}: range startAfter must be a string`);
  if (limit !== undefined && (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 0)) {
    throw invalidArgument(`${META_STORE}: range limit must be a non-negative integer, got ${String(limit)}`);
  }
  if (limit !== undefined && limit > limits.rangeKeysMax) {
    throw limitExceeded(`${META_STORE}: range limit ${limit} is over rangeKeysMax (${limits.rangeKeysMax})`);
  }
  if (keysOnly !== undefined && typeof keysOnly !== "boolean") {
    throw invalidArgument(`${META_STORE}: range keysOnly must be a boolean, got ${typeof keysOnly}`);
  }
  return {
    limit: limit === undefined || limit === 0 ? limits.rangeKeysMax : limit, keysOnly: keysOnly === true,
    ...(startAfter === undefined ? {} : { startAfter }),
  };
}

/** Returns the start revision, or undefined for "events after the watch starts". */
export function checkWatchOptions(options: WatchOptions | undefined): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) throw invalidArgument(`${META_STORE}: watch options must be an object`);
  const { startRevision } = options;
  if (startRevision === undefined) return undefined;
  if (typeof startRevision !== "number" || !Number.isSafeInteger(startRevision) || startRevision < 1) {
    throw invalidArgument(`${META_STORE}: watch startRevision must be a positive integer, got ${String(startRevision)}`);
  }
  return startRevision;
}

/** The lease named by put options, if any. */
export function checkPutOptions(options: { lease?: LeaseId } | undefined): LeaseId | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) throw invalidArgument(`${META_STORE}: put options must be an object`);
  return options.lease === undefined ? undefined : checkLeaseId(options.lease);
}

export type CheckedCompare =
  | { key: string; target: "value"; operator: CompareOperator; value: Uint8Array }
  | { key: string; target: "modRevision" | "createRevision" | "version"; operator: CompareOperator; value: number }
  | { key: string; target: "exists"; exists: boolean };

export type CheckedOp =
  | { type: "put"; key: string; value: Uint8Array; lease: LeaseId | undefined }
  | { type: "delete"; key: string }
  | { type: "deletePrefix"; prefix: string };

export interface CheckedTxn {
  compare: CheckedCompare[];
  success: CheckedOp[];
  failure: CheckedOp[];
}

function checkCompare(compare: unknown, limits: MetaStoreLimits, index: number): CheckedCompare {
  const where = `transaction compare #${index}`;
  if (typeof compare !== "object" || compare === null) throw invalidArgument(`${META_STORE}: ${where} must be an object`);
  const c = compare as Record<string, unknown>;
  const key = checkKey(c.key, limits, `${where} key`);
  if (c.target === "exists") {
    if (typeof c.exists !== "boolean") throw invalidArgument(`${META_STORE}: ${where} on exists needs a boolean exists`);
    return { key, target: "exists", exists: c.exists };
  }
  if (typeof c.operator !== "string" || !OPERATORS.has(c.operator)) {
    throw invalidArgument(`${META_STORE}: ${where} has unknown operator ${String(c.operator)} (use equal, notEqual, less or greater)`);
  }
  const operator = c.operator as CompareOperator;
  if (c.target === "value") return { key, target: "value", operator, value: checkValue(c.value, limits, key) };
  if (typeof c.target === "string" && REVISION_TARGETS.has(c.target)) {
    if (typeof c.value !== "number" || !Number.isSafeInteger(c.value) || c.value < 0) {
      throw invalidArgument(`${META_STORE}: ${where} on ${c.target} needs a non-negative integer, got ${String(c.value)}`);
    }
    return { key, target: c.target as "modRevision" | "createRevision" | "version", operator, value: c.value };
  }
  throw invalidArgument(
    `${META_STORE}: ${where} has unknown target ${String(c.target)} (use value, modRevision, createRevision, version or exists)`,
  );
}

function checkOp(op: unknown, limits: MetaStoreLimits, where: string): CheckedOp {
  if (typeof op !== "object" || op === null) throw invalidArgument(`${META_STORE}: ${where} must be an object`);
  const o = op as Partial<TxnOp> & Record<string, unknown>;
  switch (o.type) {
    case "put": {
      const key = checkKey(o.key, limits, `${where} key`);
      const value = checkValue(o.value, limits, key);
      const lease = o.lease === undefined ? undefined : checkLeaseId(o.lease);
      return { type: "put", key, value, lease };
    }
    case "delete":
      return { type: "delete", key: checkKey(o.key, limits, `${where} key`) };
    case "deletePrefix":
      return { type: "deletePrefix", prefix: checkPrefix(o.prefix, limits) };
    default:
      throw invalidArgument(`${META_STORE}: ${where} has unknown type ${String(o.type)} (use put, delete or deletePrefix)`);
  }
}

/** etcd's rule, applied by both stores: within one branch a key is put at most once and never inside a range deleted too. */
function checkBranchOverlap(ops: CheckedOp[], branch: string): void {
  const puts = new Set<string>();
  const deletedKeys = new Set<string>();
  const deletedPrefixes: string[] = [];
  for (const op of ops) {
    if (op.type === "delete") deletedKeys.add(op.key);
    else if (op.type === "deletePrefix") deletedPrefixes.push(op.prefix);
  }
  for (const op of ops) {
    if (op.type !== "put") continue;
    if (puts.has(op.key)) throw invalidArgument(`${META_STORE}: transaction ${branch} branch puts key ${describe(op.key)} twice`);
    puts.add(op.key);
    if (deletedKeys.has(op.key) || deletedPrefixes.some((prefix) => op.key.startsWith(prefix))) {
      throw invalidArgument(`${META_STORE}: transaction ${branch} branch both puts and deletes key ${describe(op.key)}`);
    }
  }
}

function checkBranch(ops: unknown, limits: MetaStoreLimits, branch: string): CheckedOp[] {
  if (ops === undefined && branch === "failure") return [];
  if (!Array.isArray(ops)) throw invalidArgument(`${META_STORE}: transaction ${branch} must be an array of operations`);
  if (ops.length > limits.txnOpsMax) {
    throw limitExceeded(`${META_STORE}: transaction has ${ops.length} ${branch} operations, over txnOpsMax (${limits.txnOpsMax})`);
  }
  const checked = ops.map((op, index) => checkOp(op, limits, `transaction ${branch} operation #${index}`));
  checkBranchOverlap(checked, branch);
  return checked;
}

/** Checks a transaction and returns a normalized private copy (values as bytes, failure always present). */
export function checkTxn(txn: Txn, limits: MetaStoreLimits): CheckedTxn {
  if (typeof txn !== "object" || txn === null) throw invalidArgument(`${META_STORE}: transaction must be an object`);
  if (!Array.isArray(txn.compare)) throw invalidArgument(`${META_STORE}: transaction compare must be an array`);
  if (txn.compare.length > limits.txnOpsMax) {
    throw limitExceeded(`${META_STORE}: transaction has ${txn.compare.length} compares, over txnOpsMax (${limits.txnOpsMax})`);
  }
  const compare = txn.compare.map((c, index) => checkCompare(c, limits, index));
  return { compare, success: checkBranch(txn.success, limits, "success"), failure: checkBranch(txn.failure, limits, "failure") };
}
