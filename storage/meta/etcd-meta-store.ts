// EtcdMetaStore: the MetaStore of a Vela cluster, on etcd v3 through the `etcd3` client.
//
// The interface is etcd's own model, so the mapping is direct: revisions, versions, compares and lease
// semantics come from etcd itself, and the embedded store imitates them. What this file adds:
//  - the same input checks as the embedded store (validate.ts), applied before anything is sent;
//  - an optional key prefix under which every key lives (tenants, tests), invisible to callers;
//  - one deadline per request (requestTimeoutMs); a deadline or an unreachable etcd is Unavailable;
//  - no automatic retry of requests: a write whose answer was lost may have been applied, and only the
//    caller knows whether repeating it is safe (a compare-and-set usually is not);
//  - watches that resume after a lost connection without gaps or repeats (etcd-watch.ts);
//  - lease ids as the decimal strings of etcd's int64 ids.

import {
  CompareResult,
  CompareTarget,
  Etcd3,
  type ICompare,
  type IKeyValue,
  type IOptions,
  type IRequestOp,
  type IResponseHeader,
} from "etcd3";
import { systemClock, type Clock } from "../../common/clock.ts";
import type { MetaStoreLimits } from "../../common/config.ts";
import { ErrorCode, VelaError, assert, invalidArgument, isVelaError } from "../../common/errors.ts";
import type {
  CompareOperator,
  KeyValue,
  LeaseGrant,
  LeaseId,
  MetaStore,
  MetaWatch,
  PutOptions,
  RangeOptions,
  RangeResult,
  Txn,
  TxnResult,
  WatchOptions,
} from "./meta-store.ts";
import { mapEtcdError } from "./etcd-errors.ts";
import { EtcdPrefixWatch } from "./etcd-watch.ts";
import {
  checkKey,
  checkLeaseId,
  checkOpen,
  checkPrefix,
  checkPutOptions,
  checkRangeOptions,
  checkTtlSeconds,
  checkTxn,
  checkValue,
  checkWatchOptions,
  leaseNotFound,
  META_STORE,
  resolveMetaStoreLimits,
  type CheckedCompare,
  type CheckedOp,
} from "./validate.ts";

export interface EtcdMetaStoreOptions {
  /** etcd client URLs, e.g. ["http://127.0.0.1:2379"]. */
  endpoints: string[];
  /** Every key lives under this prefix in etcd; callers never see it. Default: none. */
  keyPrefix?: string;
  limits?: Partial<MetaStoreLimits>;
  /** Clock for reconnection pauses (default: the system clock). */
  clock?: Clock;
}

type FaultPolicy = NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>;

/** Runs each request once: retrying a write whose answer was lost could apply it twice. */
const runOncePolicy = {
  execute: <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal })),
  onSuccess: () => ({ dispose: () => undefined }),
  onFailure: () => ({ dispose: () => undefined }),
} as unknown as FaultPolicy;

const OPERATOR_RESULT: Record<CompareOperator, CompareResult> = {
  equal: CompareResult.Equal,
  notEqual: CompareResult.NotEqual,
  less: CompareResult.Less,
  greater: CompareResult.Greater,
};

const ZERO_KEY = Buffer.from([0]);

/** The smallest key above every key that starts with `prefix` (etcd's range_end for a prefix). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return ZERO_KEY;
}

function revisionOf(header: IResponseHeader): number {
  return Number(header.revision);
}

export class EtcdMetaStore implements MetaStore {
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly watches = new Set<EtcdPrefixWatch>();
  private readonly prefixBytes: Buffer;

  private constructor(
    private readonly client: Etcd3,
    private readonly limits: MetaStoreLimits,
    private readonly clock: Clock,
    keyPrefix: string,
  ) {
    this.prefixBytes = Buffer.from(keyPrefix, "utf8");
  }

  /** Connects and checks that etcd answers (Unavailable if it does not within requestTimeoutMs). */
  static async connect(options: EtcdMetaStoreOptions): Promise<EtcdMetaStore> {
    if (typeof options !== "object" || options === null) throw invalidArgument(`${META_STORE}: connect options must be an object`);
    const { endpoints, keyPrefix = "" } = options;
    if (!Array.isArray(endpoints) || endpoints.length === 0 || !endpoints.every((e) => typeof e === "string" && e.length > 0)) {
      throw invalidArgument(`${META_STORE}: endpoints must be a non-empty list of etcd URLs`);
    }
    if (typeof keyPrefix !== "string") throw invalidArgument(`${META_STORE}: keyPrefix must be a string`);
    const limits = resolveMetaStoreLimits(options.limits);
    const client = new Etcd3({
      hosts: endpoints,
      grpcOptions: {
        "grpc.max_receive_message_length": limits.responseBytesMax,
        "grpc.initial_reconnect_backoff_ms": limits.reconnectDelayMsMin,
        "grpc.max_reconnect_backoff_ms": limits.reconnectDelayMsMax,
        // A watch on a connection whose peer vanished without closing it would wait forever; pings find out.
        "grpc.keepalive_time_ms": limits.connectionProbeIntervalMs,
        "grpc.keepalive_timeout_ms": limits.requestTimeoutMs,
        "grpc.keepalive_permit_without_calls": 1,
      },
      // Streams (watches, keep-alives) set their own deadlines; unary requests get requestTimeoutMs.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + limits.requestTimeoutMs }),
      // No retries and no circuit breaker: callers retry (a breaker would refuse calls for seconds after
      // etcd is back). With several endpoints each call picks one at random, so a retry may go elsewhere.
      faultHandling: { global: runOncePolicy, host: () => runOncePolicy },
    });
    const store = new EtcdMetaStore(client, limits, options.clock ?? systemClock, keyPrefix);
    try {
      await store.revision();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  // -------------------------------------------------------------------------------------------------
  // Keys

  async get(key: string): Promise<KeyValue | undefined> {
    checkOpen(this.closed);
    const checkedKey = checkKey(key, this.limits);
    const response = await this.call("get", () => this.client.kv.range({ key: this.encodeKey(checkedKey) }));
    const kv = response.kvs[0];
    return kv === undefined ? undefined : this.decodeKv(kv);
  }

  async put(key: string, value: Uint8Array | string, options?: PutOptions): Promise<{ revision: number }> {
    checkOpen(this.closed);
    const checkedKey = checkKey(key, this.limits);
    const bytes = checkValue(value, this.limits, checkedKey);
    const lease = checkPutOptions(options);
    const response = await this.call(
      "put",
      () => this.client.kv.put({ key: this.encodeKey(checkedKey), value: Buffer.from(bytes), lease: lease ?? 0 }),
      lease === undefined ? [] : [lease],
    );
    return { revision: revisionOf(response.header) };
  }

  async delete(key: string): Promise<{ deleted: number; revision: number }> {
    checkOpen(this.closed);
    const checkedKey = checkKey(key, this.limits);
    const response = await this.call("delete", () => this.client.kv.deleteRange({ key: this.encodeKey(checkedKey) }));
    return { deleted: Number(response.deleted), revision: revisionOf(response.header) };
  }

  async deletePrefix(prefix: string): Promise<{ deleted: number; revision: number }> {
    checkOpen(this.closed);
    const range = this.prefixRange(checkPrefix(prefix, this.limits));
    const response = await this.call("deletePrefix", () => this.client.kv.deleteRange({ key: range.key, range_end: range.rangeEnd }));
    return { deleted: Number(response.deleted), revision: revisionOf(response.header) };
  }

  async rangePrefix(prefix: string, options?: RangeOptions): Promise<RangeResult> {
    checkOpen(this.closed);
    const range = this.prefixRange(checkPrefix(prefix, this.limits));
    const { limit, keysOnly, startAfter } = checkRangeOptions(options, this.limits);
    // The smallest key after startAfter is startAfter followed by a zero byte; never before the prefix.
    const afterKey = startAfter === undefined ? undefined : Buffer.concat([this.encodeKey(startAfter), Buffer.from([0])]);
    const from = afterKey !== undefined && Buffer.compare(afterKey, range.key) > 0 ? afterKey : range.key;
    const response = await this.call("rangePrefix", () =>
      this.client.kv.range({ key: from, range_end: range.rangeEnd, limit, keys_only: keysOnly }),
    );
    return { kvs: response.kvs.map((kv) => this.decodeKv(kv)), more: response.more, revision: revisionOf(response.header) };
  }

  async txn(txn: Txn): Promise<TxnResult> {
    checkOpen(this.closed);
    const checked = checkTxn(txn, this.limits);
    const leases = new Set<LeaseId>();
    for (const op of [...checked.success, ...checked.failure]) if (op.type === "put" && op.lease !== undefined) leases.add(op.lease);
    const response = await this.call(
      "txn",
      () =>
        this.client.kv.txn({
          compare: checked.compare.map((compare) => this.toCompare(compare)),
          success: checked.success.map((op) => this.toRequestOp(op)),
          failure: checked.failure.map((op) => this.toRequestOp(op)),
        }),
      [...leases],
    );
    return { succeeded: response.succeeded, revision: revisionOf(response.header) };
  }

  async revision(): Promise<number> {
    checkOpen(this.closed);
    const response = await this.call("revision", () => this.client.kv.range({ key: ZERO_KEY, count_only: true }));
    return revisionOf(response.header);
  }

  // -------------------------------------------------------------------------------------------------
  // Watches

  async watchPrefix(prefix: string, options?: WatchOptions): Promise<MetaWatch> {
    checkOpen(this.closed);
    const checkedPrefix = checkPrefix(prefix, this.limits);
    const startRevision = checkWatchOptions(options);
    const range = this.prefixRange(checkedPrefix);
    const watch: EtcdPrefixWatch = new EtcdPrefixWatch({
      watchClient: this.client.watchClient,
      clock: this.clock,
      limits: this.limits,
      key: range.key,
      rangeEnd: range.rangeEnd,
      prefix: checkedPrefix,
      startRevision,
      decodeKv: (kv) => this.decodeKv(kv),
      onStop: () => {
        this.watches.delete(watch);
      },
    });
    this.watches.add(watch);
    await watch.start();
    return watch.queue;
  }

  // -------------------------------------------------------------------------------------------------
  // Leases

  async grantLease(ttlSeconds: number): Promise<LeaseGrant> {
    checkOpen(this.closed);
    const ttl = checkTtlSeconds(ttlSeconds, this.limits);
    const response = await this.call("grantLease", () => this.client.leaseClient.leaseGrant({ TTL: ttl, ID: 0 }));
    if (response.error) throw new VelaError(ErrorCode.Unavailable, `${META_STORE}: grantLease: etcd refused: ${response.error}`);
    return { id: String(response.ID), ttlSeconds: Number(response.TTL) };
  }

  async keepAliveLease(id: LeaseId): Promise<void> {
    checkOpen(this.closed);
    const leaseId = checkLeaseId(id);
    const what = `keepAliveLease ${leaseId}`;
    // etcd's keep-alive is a stream; one request and one answer on a fresh stream is a keep-alive call.
    const stream = await this.call(what, () =>
      this.client.leaseClient.leaseKeepAlive({ deadline: Date.now() + this.limits.requestTimeoutMs }),
    );
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: VelaError): void => {
        if (settled) return;
        settled = true;
        try {
          stream.end();
        } catch {
          // Already closed.
        }
        if (error === undefined) resolve();
        else reject(error);
      };
      stream.on("data", (response) => {
        settle(Number(response.TTL) > 0 ? undefined : leaseNotFound([leaseId]));
      });
      stream.on("error", (error) => settle(mapEtcdError(error, what, [leaseId])));
      stream.on("end", () => settle(new VelaError(ErrorCode.Unavailable, `${META_STORE}: ${what}: the stream ended without an answer`)));
      stream.write({ ID: leaseId });
    });
  }

  async revokeLease(id: LeaseId): Promise<void> {
    checkOpen(this.closed);
    const leaseId = checkLeaseId(id);
    try {
      await this.call(`revokeLease ${leaseId}`, () => this.client.leaseClient.leaseRevoke({ ID: leaseId }), [leaseId]);
    } catch (error) {
      if (!isVelaError(error, ErrorCode.LeaseNotFound)) throw error;
    }
  }

  async close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    this.closing = (async () => {
      const watches = [...this.watches];
      this.watches.clear();
      for (const watch of watches) watch.queue.fail(new VelaError(ErrorCode.Closed, `${META_STORE} is closed`));
      await Promise.all(watches.map((watch) => watch.queue.whenStopped()));
      this.client.close();
    })();
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------------
  // Mapping

  private async call<T>(what: string, request: () => Promise<T>, leases: readonly LeaseId[] = []): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (this.closed) throw new VelaError(ErrorCode.Closed, `${META_STORE} is closed`, { cause: error });
      throw mapEtcdError(error, what, leases);
    }
  }

  private encodeKey(key: string): Buffer {
    return this.prefixBytes.length === 0 ? Buffer.from(key, "utf8") : Buffer.concat([this.prefixBytes, Buffer.from(key, "utf8")]);
  }

  private prefixRange(prefix: string): { key: Buffer; rangeEnd: Buffer } {
    const key = this.encodeKey(prefix);
    // The empty prefix of an unprefixed store is every key: from "\0" to the end of the key space.
    if (key.length === 0) return { key: ZERO_KEY, rangeEnd: ZERO_KEY };
    return { key, rangeEnd: prefixEnd(key) };
  }

  private decodeKv(kv: IKeyValue): KeyValue {
    assert(kv.key.subarray(0, this.prefixBytes.length).equals(this.prefixBytes), "etcd returns only keys under the store's prefix");
    const lease = String(kv.lease);
    return {
      key: kv.key.subarray(this.prefixBytes.length).toString("utf8"),
      value: new Uint8Array(kv.value ?? []),
      createRevision: Number(kv.create_revision),
      modRevision: Number(kv.mod_revision),
      version: Number(kv.version),
      lease: lease === "0" || lease === "" ? undefined : lease,
    };
  }

  private toCompare(compare: CheckedCompare): ICompare {
    const key = this.encodeKey(compare.key);
    if (compare.target === "exists") {
      // etcd's idiom: a key exists when its create revision is above 0.
      return { key, target: CompareTarget.Create, result: compare.exists ? CompareResult.Greater : CompareResult.Equal, create_revision: 0 };
    }
    const result = OPERATOR_RESULT[compare.operator];
    switch (compare.target) {
      case "value":
        return { key, target: CompareTarget.Value, result, value: Buffer.from(compare.value) };
      case "modRevision":
        return { key, target: CompareTarget.Mod, result, mod_revision: compare.value };
      case "createRevision":
        return { key, target: CompareTarget.Create, result, create_revision: compare.value };
      case "version":
        return { key, target: CompareTarget.Version, result, version: compare.value };
    }
  }

  private toRequestOp(op: CheckedOp): IRequestOp {
    switch (op.type) {
      case "put":
        return { request_put: { key: this.encodeKey(op.key), value: Buffer.from(op.value), lease: op.lease ?? 0 } };
      case "delete":
        return { request_delete_range: { key: this.encodeKey(op.key) } };
      case "deletePrefix": {
        const range = this.prefixRange(op.prefix);
        return { request_delete_range: { key: range.key, range_end: range.rangeEnd } };
      }
    }
  }
}
