// EmbeddedMetaStore: the MetaStore of standalone Vela, in process, persisted to a local directory.
//
// Invariants:
//  - A write is acknowledged only after its record is in the write-ahead file and fsync'd. Writes that
//    arrive while an fsync runs wait and share the next one (group commit).
//  - Readers and watchers see only durable state. A batch is decided against a staged view, made
//    durable, and only then applied to the state that get/range/watch read (embedded-meta-state.ts).
//  - Revisions, versions and compare semantics are etcd's (meta-store.ts), so code written against
//    this store behaves the same on etcd.
//  - History for watchers is kept in memory, bounded by embeddedHistoryRevisionsMax and
//    embeddedHistoryBytesMax; a watch that starts before it ends with Compacted.
//  - Leases live in the files (grant and revoke are records); their expiry clocks do not: on reopen
//    every lease gets a fresh TTL, as etcd gives one on a leader change. Expiry uses the injected Clock
//    and deletes the lease's keys as one write at a new revision.
//  - If writing or syncing the write-ahead file fails, whether the batch reached the disk is unknown:
//    the store stops (every call fails with Unavailable) and must be reopened, which replays the file.
//
// File formats and recovery are in embedded-meta-files.ts; docs/metastore.md says why.

import { systemClock, type Clock } from "../../common/clock.ts";
import type { MetaStoreLimits } from "../../common/config.ts";
import { closedError, ErrorCode, errorMessage, invalidArgument, isVelaError, limitExceeded, VelaError } from "../../common/errors.ts";
import type {
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
  WatchEvent,
  WatchOptions,
} from "./meta-store.ts";
import {
  captureSnapshot,
  encodeBatchFrame,
  lockDirectory,
  recoverStore,
  removeBefore,
  unlockDirectory,
  WalWriter,
  writeSnapshot,
  type SnapshotContent,
} from "./embedded-meta-files.ts";
import {
  applyRecord,
  decideDelete,
  decideGrant,
  decidePut,
  decideRevoke,
  compareKeys,
  decideTxn,
  MetaState,
  StagedView,
  type Decision,
  type LeaseUsable,
  type MetaRecord,
  type StoredKv,
} from "./embedded-meta-state.ts";
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
  type CheckedTxn,
} from "./validate.ts";
import { WatchEventQueue } from "./watch-queue.ts";

export interface EmbeddedMetaStoreOptions {
  /** The directory holding the store's files; created if missing. One open store per directory. */
  dir: string;
  /** Clock for lease expiry (default: the system clock). */
  clock?: Clock;
  limits?: Partial<MetaStoreLimits>;
  /** fdatasync each group commit before acknowledging it (default true). */
  fsync?: boolean;
}

type Intent =
  | { kind: "put"; key: string; value: Uint8Array; lease: LeaseId | undefined }
  | { kind: "delete"; key: string }
  | { kind: "deletePrefix"; prefix: string }
  | { kind: "txn"; txn: CheckedTxn }
  | { kind: "grant"; ttlSeconds: number }
  | { kind: "revoke"; leaseId: LeaseId };

interface PendingWrite {
  intent: Intent;
  /** Key and value bytes, for the pending and group-commit bounds. */
  bytes: number;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

interface HistoryEntry {
  revision: number;
  events: WatchEvent[];
  bytes: number;
}

interface WatcherEntry {
  prefix: string;
  /** Revisions below this are not the watcher's (a watch may start at a future revision). */
  startRevision: number;
  queue: WatchEventQueue;
}

interface LeaseTimer {
  expiresAtMs: number;
  cancel: () => void;
}

const EMPTY = new Uint8Array(0);

function toKeyValue(kv: StoredKv, keysOnly: boolean): KeyValue {
  return {
    key: kv.key,
    value: keysOnly ? EMPTY : kv.value.slice(),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

function eventsBytes(events: readonly WatchEvent[]): number {
  let bytes = 0;
  for (const event of events) bytes += event.kv.key.length * 2 + event.kv.value.byteLength + 64;
  return bytes;
}

export class EmbeddedMetaStore implements MetaStore {
  private pending: PendingWrite[] = [];
  private pendingBytes = 0;
  private flushLoop: Promise<void> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private failure: VelaError | undefined;
  private readonly watchers = new Set<WatcherEntry>();
  private history: HistoryEntry[] = [];
  private historyHead = 0;
  private historyBytes = 0;
  private readonly leaseTimers = new Map<LeaseId, LeaseTimer>();
  /** Leases whose TTL ran out and whose revoke is queued: they take no new key and no keep-alive. */
  private readonly expiring = new Set<LeaseId>();
  private snapshotTask: Promise<void> | undefined;
  private compactAtBytes: number;
  /** The last snapshot failure, if the last attempt failed (the store keeps working on its WALs). */
  private lastSnapshotError: unknown;

  private constructor(
    private readonly dir: string,
    private readonly clock: Clock,
    private readonly limits: MetaStoreLimits,
    private readonly fsync: boolean,
    private readonly state: MetaState,
    private wal: WalWriter,
    /** The oldest revision whose events the history holds in full. */
    private historyFromRevision: number,
  ) {
    this.compactAtBytes = limits.embeddedCompactAfterBytes;
  }

  /** Opens (or creates) the store in `dir`, replaying its files. */
  static async open(options: EmbeddedMetaStoreOptions): Promise<EmbeddedMetaStore> {
    if (typeof options !== "object" || options === null) throw invalidArgument(`${META_STORE}: open options must be an object`);
    const { dir } = options;
    if (typeof dir !== "string" || dir.length === 0) throw invalidArgument(`${META_STORE}: dir must be a non-empty string`);
    const limits = resolveMetaStoreLimits(options.limits);
    const fsync = options.fsync ?? true;
    try {
      await lockDirectory(dir);
    } catch (error) {
      if (isVelaError(error)) throw error;
      throw new VelaError(ErrorCode.Unavailable, `${META_STORE}: cannot open directory ${dir}: ${errorMessage(error)}`, { cause: error });
    }
    try {
      const recovered = await recoverStore(dir, fsync);
      const store = new EmbeddedMetaStore(dir, options.clock ?? systemClock, limits, fsync, recovered.state, recovered.wal, recovered.historyFromRevision);
      for (const entry of recovered.history) store.remember(entry.revision, entry.events);
      for (const id of recovered.state.leases.keys()) store.armLease(id);
      return store;
    } catch (error) {
      await unlockDirectory(dir);
      if (isVelaError(error)) throw error;
      throw new VelaError(ErrorCode.Unavailable, `${META_STORE}: cannot open directory ${dir}: ${errorMessage(error)}`, { cause: error });
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Reads: served from the durable state, never waiting for writes.

  async get(key: string): Promise<KeyValue | undefined> {
    this.guard();
    const kv = this.state.getKv(checkKey(key, this.limits));
    return kv === undefined ? undefined : toKeyValue(kv, false);
  }

  async rangePrefix(prefix: string, options?: RangeOptions): Promise<RangeResult> {
    this.guard();
    const checkedPrefix = checkPrefix(prefix, this.limits);
    const { limit, keysOnly, startAfter } = checkRangeOptions(options, this.limits);
    const kvs: KeyValue[] = [];
    let more = false;
    for (const key of this.state.iterateKeysWithPrefix(checkedPrefix)) {
      if (startAfter !== undefined && compareKeys(key, startAfter) <= 0) continue;
      if (kvs.length === limit) {
        more = true;
        break;
      }
      kvs.push(toKeyValue(this.state.getKv(key) as StoredKv, keysOnly));
    }
    return { kvs, more, revision: this.state.revision };
  }

  async revision(): Promise<number> {
    this.guard();
    return this.state.revision;
  }

  // -------------------------------------------------------------------------------------------------
  // Writes: queued, decided and made durable in batches by the flush loop.

  async put(key: string, value: Uint8Array | string, options?: PutOptions): Promise<{ revision: number }> {
    this.guard();
    const checkedKey = checkKey(key, this.limits);
    const bytes = checkValue(value, this.limits, checkedKey);
    const lease = checkPutOptions(options);
    return this.enqueue({ kind: "put", key: checkedKey, value: bytes, lease }, checkedKey.length + bytes.byteLength);
  }

  async delete(key: string): Promise<{ deleted: number; revision: number }> {
    this.guard();
    const checkedKey = checkKey(key, this.limits);
    return this.enqueue({ kind: "delete", key: checkedKey }, checkedKey.length);
  }

  async deletePrefix(prefix: string): Promise<{ deleted: number; revision: number }> {
    this.guard();
    const checkedPrefix = checkPrefix(prefix, this.limits);
    return this.enqueue({ kind: "deletePrefix", prefix: checkedPrefix }, checkedPrefix.length);
  }

  async txn(txn: Txn): Promise<TxnResult> {
    this.guard();
    const checked = checkTxn(txn, this.limits);
    let bytes = 0;
    for (const op of [...checked.success, ...checked.failure]) {
      bytes += op.type === "put" ? op.key.length + op.value.byteLength : op.type === "delete" ? op.key.length : op.prefix.length;
    }
    return this.enqueue({ kind: "txn", txn: checked }, bytes);
  }

  async grantLease(ttlSeconds: number): Promise<LeaseGrant> {
    this.guard();
    return this.enqueue({ kind: "grant", ttlSeconds: checkTtlSeconds(ttlSeconds, this.limits) }, 0);
  }

  async keepAliveLease(id: LeaseId): Promise<void> {
    this.guard();
    const leaseId = checkLeaseId(id);
    const timer = this.leaseTimers.get(leaseId);
    if (!this.state.hasLease(leaseId) || timer === undefined || this.expiring.has(leaseId) || this.clock.nowMs() >= timer.expiresAtMs) {
      throw leaseNotFound([leaseId]);
    }
    this.armLease(leaseId);
  }

  async revokeLease(id: LeaseId): Promise<void> {
    this.guard();
    await this.enqueue({ kind: "revoke", leaseId: checkLeaseId(id) }, 0);
  }

  // -------------------------------------------------------------------------------------------------
  // Watches

  async watchPrefix(prefix: string, options?: WatchOptions): Promise<MetaWatch> {
    this.guard();
    const checkedPrefix = checkPrefix(prefix, this.limits);
    const startRevision = checkWatchOptions(options) ?? this.state.revision + 1;
    const entry: WatcherEntry = {
      prefix: checkedPrefix,
      startRevision,
      queue: new WatchEventQueue({
        eventsMax: this.limits.watchQueueEventsMax,
        prefix: checkedPrefix,
        onStop: () => {
          this.watchers.delete(entry);
        },
      }),
    };
    // Revision 1 holds no event, so a history that starts at 2 still answers a watch from 1.
    const oldest = this.historyFromRevision <= 2 ? 1 : this.historyFromRevision;
    if (startRevision < oldest) {
      entry.queue.fail(
        new VelaError(
          ErrorCode.Compacted,
          `${META_STORE}: revision ${startRevision} is compacted; the oldest revision a watch can start from is ${oldest}`,
        ),
      );
      return entry.queue;
    }
    // Replay history and register in the same synchronous step: no commit can slip in between.
    for (let i = this.historyIndexOf(startRevision); i < this.history.length; i++) {
      const matching = (this.history[i] as HistoryEntry).events.filter((event) => event.kv.key.startsWith(checkedPrefix));
      if (!entry.queue.pushRevision(matching)) return entry.queue;
    }
    this.watchers.add(entry);
    return entry.queue;
  }

  async close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    this.closing = (async () => {
      while (this.flushLoop !== undefined) await this.flushLoop;
      while (this.snapshotTask !== undefined) await this.snapshotTask;
      for (const timer of this.leaseTimers.values()) timer.cancel();
      this.leaseTimers.clear();
      const watchers = [...this.watchers];
      this.watchers.clear();
      for (const watcher of watchers) watcher.queue.fail(this.failure ?? closedError(META_STORE));
      try {
        await this.wal.close();
      } finally {
        await unlockDirectory(this.dir);
      }
    })();
    return this.closing;
  }

  /** Why the last snapshot attempt failed, if it did (for diagnostics; the WALs still hold every write). */
  get snapshotError(): unknown {
    return this.lastSnapshotError;
  }

  // -------------------------------------------------------------------------------------------------
  // The write path

  private guard(): void {
    checkOpen(this.closed);
    if (this.failure !== undefined) throw this.failure;
  }

  private enqueue<T>(intent: Intent, bytes: number, internal = false): Promise<T> {
    if (!internal) {
      if (this.pending.length >= this.limits.embeddedPendingWritesMax) {
        return Promise.reject(
          limitExceeded(
            `${META_STORE}: ${this.pending.length} writes wait for durability, at embeddedPendingWritesMax (${this.limits.embeddedPendingWritesMax})`,
          ),
        );
      }
      if (this.pending.length > 0 && this.pendingBytes + bytes > this.limits.embeddedPendingWriteBytesMax) {
        return Promise.reject(
          limitExceeded(
            `${META_STORE}: ${this.pendingBytes + bytes} bytes of writes would wait for durability, over embeddedPendingWriteBytesMax (${this.limits.embeddedPendingWriteBytesMax})`,
          ),
        );
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ intent, bytes, resolve: resolve as (result: unknown) => void, reject });
      this.pendingBytes += bytes;
      this.startFlushLoop();
    });
  }

  /** Runs the flush loop unless it runs already; a write queued as the loop ends starts it again. */
  private startFlushLoop(): void {
    if (this.flushLoop !== undefined) return;
    this.flushLoop = this.runFlushLoop()
      .catch((error: unknown) => this.failStore(error))
      .finally(() => {
        this.flushLoop = undefined;
        if (this.pending.length > 0 && this.failure === undefined) this.startFlushLoop();
      });
  }

  private async runFlushLoop(): Promise<void> {
    // Let the writes issued in the same turn of the event loop join the first batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length > 0 && this.failure === undefined) {
      const batch = this.takeBatch();
      try {
        await this.commitBatch(batch);
      } catch (error) {
        this.failStore(error);
        return;
      }
      await this.maybeStartSnapshot();
    }
  }

  /** Takes the next group commit: as many waiting writes as fit embeddedGroupCommitBytesMax, at least one. */
  private takeBatch(): PendingWrite[] {
    let bytes = 0;
    let count = 0;
    while (count < this.pending.length) {
      const write = this.pending[count] as PendingWrite;
      if (count > 0 && bytes + write.bytes > this.limits.embeddedGroupCommitBytesMax) break;
      bytes += write.bytes;
      count += 1;
    }
    const batch = this.pending.splice(0, count);
    this.pendingBytes -= bytes;
    return batch;
  }

  private async commitBatch(batch: PendingWrite[]): Promise<void> {
    const view = new StagedView(this.state);
    const nowMs = this.clock.nowMs();
    const leaseUsable: LeaseUsable = (id) =>
      view.hasLease(id) && !this.expiring.has(id) && !((this.leaseTimers.get(id)?.expiresAtMs ?? Infinity) <= nowMs);
    const decided: Array<{ write: PendingWrite; result: unknown }> = [];
    const records: MetaRecord[] = [];
    for (const write of batch) {
      let decision: Decision<unknown>;
      try {
        decision = this.decide(write.intent, view, leaseUsable);
      } catch (error) {
        write.reject(error);
        continue;
      }
      if (decision.record !== undefined) records.push(decision.record);
      decided.push({ write, result: decision.result });
    }
    if (records.length > 0) {
      try {
        await this.wal.append(encodeBatchFrame(records));
      } catch (error) {
        const failure = this.storeFailure(error);
        for (const { write } of decided) write.reject(failure);
        throw error;
      }
    }
    const committed: Array<{ revision: number; events: WatchEvent[] }> = [];
    for (const record of records) {
      const events: WatchEvent[] = [];
      applyRecord(this.state, record, events);
      this.afterApply(record);
      if (events.length > 0) committed.push({ revision: this.state.revision, events });
    }
    for (const { revision, events } of committed) this.publish(revision, events);
    for (const { write, result } of decided) write.resolve(result);
  }

  private decide(intent: Intent, view: StagedView, leaseUsable: LeaseUsable): Decision<unknown> {
    switch (intent.kind) {
      case "put":
        return decidePut(view, intent.key, intent.value, intent.lease, leaseUsable);
      case "delete":
        return decideDelete(view, { type: "delete", key: intent.key });
      case "deletePrefix":
        return decideDelete(view, { type: "deletePrefix", prefix: intent.prefix });
      case "txn":
        return decideTxn(view, intent.txn, leaseUsable);
      case "grant":
        return decideGrant(view, intent.ttlSeconds);
      case "revoke":
        return decideRevoke(view, intent.leaseId);
    }
  }

  private storeFailure(error: unknown): VelaError {
    this.failure ??= new VelaError(
      ErrorCode.Unavailable,
      `${META_STORE}: writing the write-ahead file in ${this.dir} failed (${errorMessage(error)}); the store stopped, reopen it`,
      { cause: error },
    );
    return this.failure;
  }

  private failStore(error: unknown): void {
    const failure = this.storeFailure(error);
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const write of pending) write.reject(failure);
    const watchers = [...this.watchers];
    this.watchers.clear();
    for (const watcher of watchers) watcher.queue.fail(failure);
  }

  // -------------------------------------------------------------------------------------------------
  // Watch fan-out and history

  private publish(revision: number, events: WatchEvent[]): void {
    this.remember(revision, events);
    for (const watcher of this.watchers) {
      if (revision < watcher.startRevision) continue;
      const matching = events.filter((event) => event.kv.key.startsWith(watcher.prefix));
      if (matching.length > 0 && !watcher.queue.pushRevision(matching)) this.watchers.delete(watcher);
    }
  }

  private remember(revision: number, events: WatchEvent[]): void {
    const bytes = eventsBytes(events);
    this.history.push({ revision, events, bytes });
    this.historyBytes += bytes;
    const oldestKept = revision - this.limits.embeddedHistoryRevisionsMax;
    while (this.historyHead < this.history.length) {
      const oldest = this.history[this.historyHead] as HistoryEntry;
      if (oldest.revision > oldestKept && this.historyBytes <= this.limits.embeddedHistoryBytesMax) break;
      this.historyHead += 1;
      this.historyBytes -= oldest.bytes;
      this.historyFromRevision = oldest.revision + 1;
    }
    if (this.historyHead >= 1024 && this.historyHead * 2 >= this.history.length) {
      this.history = this.history.slice(this.historyHead);
      this.historyHead = 0;
    }
  }

  /** Index of the first history entry at or after `revision`. */
  private historyIndexOf(revision: number): number {
    let low = this.historyHead;
    let high = this.history.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.history[middle] as HistoryEntry).revision < revision) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  // -------------------------------------------------------------------------------------------------
  // Lease expiry

  private afterApply(record: MetaRecord): void {
    if (record.kind === "grant") this.armLease(record.leaseId);
    else if (record.kind === "revoke") {
      this.leaseTimers.get(record.leaseId)?.cancel();
      this.leaseTimers.delete(record.leaseId);
      this.expiring.delete(record.leaseId);
    }
  }

  /** Starts (or restarts) the lease's full TTL. */
  private armLease(id: LeaseId): void {
    const lease = this.state.leases.get(id);
    if (lease === undefined) return;
    this.leaseTimers.get(id)?.cancel();
    const ttlMs = lease.ttlSeconds * 1000;
    const cancel = this.clock.setTimer(ttlMs, () => this.expireLease(id));
    this.leaseTimers.set(id, { expiresAtMs: this.clock.nowMs() + ttlMs, cancel });
  }

  private expireLease(id: LeaseId): void {
    this.leaseTimers.delete(id);
    if (this.closed || this.failure !== undefined || !this.state.hasLease(id) || this.expiring.has(id)) return;
    this.expiring.add(id);
    // Internal: bypasses the pending bounds (there is one revoke per lease at most). A failure here is
    // the store's failure, which every caller sees on its own calls.
    this.enqueue({ kind: "revoke", leaseId: id }, 0, true).catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------------------
  // Snapshots: once the WAL passes embeddedCompactAfterBytes, switch to a new WAL and write the state
  // captured at the switch as the snapshot of the new generation, in the background.

  private async maybeStartSnapshot(): Promise<void> {
    if (this.snapshotTask !== undefined || this.wal.bytes < this.compactAtBytes || this.failure !== undefined) return;
    const generation = this.wal.generation + 1;
    const content = captureSnapshot(this.state, generation);
    let next: WalWriter;
    try {
      next = await WalWriter.create(this.dir, generation, this.fsync);
    } catch (error) {
      this.lastSnapshotError = error;
      this.compactAtBytes = this.wal.bytes + this.limits.embeddedCompactAfterBytes;
      return;
    }
    const previous = this.wal;
    this.wal = next;
    this.compactAtBytes = this.limits.embeddedCompactAfterBytes;
    await previous.close().catch(() => undefined);
    this.snapshotTask = this.writeSnapshotFiles(content).finally(() => {
      this.snapshotTask = undefined;
    });
  }

  private async writeSnapshotFiles(content: SnapshotContent): Promise<void> {
    try {
      await writeSnapshot(this.dir, content, this.limits.embeddedSnapshotFrameBytesMax, this.fsync);
      await removeBefore(this.dir, content.generation, this.fsync);
      this.lastSnapshotError = undefined;
    } catch (error) {
      // Recovery still works from the previous snapshot and every WAL since; the next switch retries.
      this.lastSnapshotError = error;
    }
  }
}
