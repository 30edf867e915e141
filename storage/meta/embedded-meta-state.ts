// The embedded meta store's state machine, free of I/O: keys with their revisions, leases, the global
// revision, and the records (write-ahead entries) that change them.
//
// Writes happen in two steps. `decide*` evaluates a request against a view and produces the record of its
// effect (resolved puts and deletes, never "delete prefix p" but the keys it removed), applying it to
// that view so that later requests of the same batch see it. `applyRecord` applies a record to a state.
// The store decides a batch against a StagedView (the durable state plus an overlay), makes the records
// durable, and only then applies them to the durable state that readers see — so no reader ever sees a
// write that is not on disk, and replay after a crash applies exactly the same records.
//
// Revision semantics are etcd's (see meta-store.ts): the revision of an empty store is 1; each record
// that changes a key takes the next revision, shared by all of its changes; a delete that removes
// nothing and a lease grant change no revision.

import { assert } from "../../common/errors.ts";
import type { LeaseId, WatchEvent } from "./meta-store.ts";
import { leaseNotFound, type CheckedCompare, type CheckedOp, type CheckedTxn } from "./validate.ts";

/** One key as stored. Never mutated: a write replaces the object, so a captured array stays consistent. */
export interface StoredKv {
  readonly key: string;
  readonly value: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: LeaseId | undefined;
}

export type RecordOp = { type: "put"; key: string; value: Uint8Array; lease: LeaseId | undefined } | { type: "delete"; key: string };

/** A write-ahead record: the resolved effect of one request. */
export type MetaRecord =
  | { kind: "write"; revision: number; ops: RecordOp[] }
  | { kind: "grant"; leaseId: LeaseId; ttlSeconds: number }
  /** `revision` is the revision of the deletions, or the unchanged revision when the lease held no key. */
  | { kind: "revoke"; leaseId: LeaseId; revision: number; deletes: string[] };

/** Orders keys by code point, which is the byte order of their UTF-8 encoding (etcd's order). */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

/** Surrogates (code points above U+FFFF) sort after U+E000..U+FFFF in UTF-8 byte order, unlike UTF-16. */
function codeUnitRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** What deciding a request needs to read. */
export interface MetaView {
  readonly revision: number;
  readonly nextLeaseNumber: number;
  getKv(key: string): StoredKv | undefined;
  /** Keys under the prefix, in key order. */
  keysWithPrefix(prefix: string): string[];
  hasLease(id: LeaseId): boolean;
  /** Keys attached to the lease, in any order. */
  leaseKeys(id: LeaseId): string[];
}

/** What applying a record needs to change. */
export interface MetaMutator extends MetaView {
  setKv(kv: StoredKv): void;
  deleteKv(key: string): void;
  setLease(id: LeaseId, ttlSeconds: number): void;
  deleteLease(id: LeaseId): void;
  setRevision(revision: number): void;
  setNextLeaseNumber(next: number): void;
}

export interface StoredLease {
  readonly id: LeaseId;
  readonly ttlSeconds: number;
  readonly keys: Set<string>;
}

/** The durable state readers see: keys in a map plus a sorted key list for prefix ranges. */
export class MetaState implements MetaMutator {
  revision = 1;
  nextLeaseNumber = 1;
  readonly kvs = new Map<string, StoredKv>();
  readonly leases = new Map<LeaseId, StoredLease>();
  private readonly sortedKeys: string[] = [];

  getKv(key: string): StoredKv | undefined {
    return this.kvs.get(key);
  }

  /** Index of the first key not below `key`. */
  private lowerBound(key: string): number {
    let low = 0;
    let high = this.sortedKeys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareKeys(this.sortedKeys[middle] as string, key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Keys under the prefix in key order, lazily (a range with a limit reads only what it returns). */
  *iterateKeysWithPrefix(prefix: string): Generator<string> {
    for (let i = this.lowerBound(prefix); i < this.sortedKeys.length; i++) {
      const key = this.sortedKeys[i] as string;
      if (!key.startsWith(prefix)) return;
      yield key;
    }
  }

  keysWithPrefix(prefix: string): string[] {
    return [...this.iterateKeysWithPrefix(prefix)];
  }

  hasLease(id: LeaseId): boolean {
    return this.leases.has(id);
  }

  leaseKeys(id: LeaseId): string[] {
    return [...(this.leases.get(id)?.keys ?? [])];
  }

  setKv(kv: StoredKv): void {
    const previous = this.kvs.get(kv.key);
    if (previous === undefined) this.sortedKeys.splice(this.lowerBound(kv.key), 0, kv.key);
    else if (previous.lease !== undefined && previous.lease !== kv.lease) this.leases.get(previous.lease)?.keys.delete(kv.key);
    if (kv.lease !== undefined) {
      const lease = this.leases.get(kv.lease);
      assert(lease !== undefined, `key ${kv.key} is attached to lease ${kv.lease}, which exists`);
      lease.keys.add(kv.key);
    }
    this.kvs.set(kv.key, kv);
  }

  deleteKv(key: string): void {
    const previous = this.kvs.get(key);
    if (previous === undefined) return;
    this.kvs.delete(key);
    const index = this.lowerBound(key);
    assert(this.sortedKeys[index] === key, "the sorted key list holds every stored key");
    this.sortedKeys.splice(index, 1);
    if (previous.lease !== undefined) this.leases.get(previous.lease)?.keys.delete(key);
  }

  setLease(id: LeaseId, ttlSeconds: number): void {
    const existing = this.leases.get(id);
    this.leases.set(id, { id, ttlSeconds, keys: existing?.keys ?? new Set() });
  }

  deleteLease(id: LeaseId): void {
    const lease = this.leases.get(id);
    assert(lease === undefined || lease.keys.size === 0, `lease ${id} holds no key when it goes`);
    this.leases.delete(id);
  }

  setRevision(revision: number): void {
    this.revision = revision;
  }

  setNextLeaseNumber(next: number): void {
    this.nextLeaseNumber = next;
  }
}

/**
 * The durable state plus the effects of the batch being decided. Lives only while one batch is decided;
 * the durable state does not change meanwhile (the store applies records only between batches).
 */
export class StagedView implements MetaMutator {
  revision: number;
  nextLeaseNumber: number;
  private readonly kvOverlay = new Map<string, StoredKv | null>();
  private readonly leaseOverlay = new Map<LeaseId, number | null>();

  constructor(private readonly base: MetaState) {
    this.revision = base.revision;
    this.nextLeaseNumber = base.nextLeaseNumber;
  }

  getKv(key: string): StoredKv | undefined {
    const staged = this.kvOverlay.get(key);
    if (staged !== undefined) return staged ?? undefined;
    return this.base.getKv(key);
  }

  keysWithPrefix(prefix: string): string[] {
    const keys = this.base.keysWithPrefix(prefix).filter((key) => this.kvOverlay.get(key) !== null);
    let added = false;
    for (const [key, kv] of this.kvOverlay) {
      if (kv !== null && key.startsWith(prefix) && this.base.getKv(key) === undefined) {
        keys.push(key);
        added = true;
      }
    }
    return added ? keys.sort(compareKeys) : keys;
  }

  hasLease(id: LeaseId): boolean {
    const staged = this.leaseOverlay.get(id);
    if (staged !== undefined) return staged !== null;
    return this.base.hasLease(id);
  }

  leaseKeys(id: LeaseId): string[] {
    const candidates = new Set(this.base.leaseKeys(id));
    for (const [key, kv] of this.kvOverlay) if (kv?.lease === id) candidates.add(key);
    return [...candidates].filter((key) => this.getKv(key)?.lease === id);
  }

  setKv(kv: StoredKv): void {
    this.kvOverlay.set(kv.key, kv);
  }

  deleteKv(key: string): void {
    this.kvOverlay.set(key, null);
  }

  setLease(id: LeaseId, ttlSeconds: number): void {
    this.leaseOverlay.set(id, ttlSeconds);
  }

  deleteLease(id: LeaseId): void {
    this.leaseOverlay.set(id, null);
  }

  setRevision(revision: number): void {
    this.revision = revision;
  }

  setNextLeaseNumber(next: number): void {
    this.nextLeaseNumber = next;
  }
}

const EMPTY = new Uint8Array(0);

function deleteEvent(key: string, revision: number): WatchEvent {
  return { type: "delete", kv: { key, value: EMPTY, createRevision: 0, modRevision: revision, version: 0, lease: undefined } };
}

/** The event gets its own copy of the value: a consumer that changes it cannot change the stored key. */
function putEvent(kv: StoredKv): WatchEvent {
  return { type: "put", kv: { ...kv, value: kv.value.slice() } };
}

/**
 * Applies one record, appending its watch events to `events` when given. A record that does not fit the
 * state (wrong revision, deleting a missing key, unknown lease) breaks an invariant: replay reports it as
 * corruption.
 */
export function applyRecord(target: MetaMutator, record: MetaRecord, events?: WatchEvent[]): void {
  switch (record.kind) {
    case "write": {
      assert(record.revision === target.revision + 1, `write at revision ${record.revision} follows revision ${target.revision}`);
      assert(record.ops.length > 0, "a write record changes at least one key");
      for (const op of record.ops) {
        if (op.type === "put") {
          if (op.lease !== undefined) assert(target.hasLease(op.lease), `put of ${op.key} names existing lease ${op.lease}`);
          const previous = target.getKv(op.key);
          const kv: StoredKv = {
            key: op.key,
            value: op.value,
            createRevision: previous?.createRevision ?? record.revision,
            modRevision: record.revision,
            version: (previous?.version ?? 0) + 1,
            lease: op.lease,
          };
          target.setKv(kv);
          events?.push(putEvent(kv));
        } else {
          assert(target.getKv(op.key) !== undefined, `delete of ${op.key} removes an existing key`);
          target.deleteKv(op.key);
          events?.push(deleteEvent(op.key, record.revision));
        }
      }
      target.setRevision(record.revision);
      return;
    }
    case "grant": {
      assert(!target.hasLease(record.leaseId), `granted lease ${record.leaseId} is new`);
      target.setLease(record.leaseId, record.ttlSeconds);
      target.setNextLeaseNumber(Math.max(target.nextLeaseNumber, Number(record.leaseId) + 1));
      return;
    }
    case "revoke": {
      assert(target.hasLease(record.leaseId), `revoked lease ${record.leaseId} exists`);
      if (record.deletes.length > 0) {
        assert(record.revision === target.revision + 1, `revoke at revision ${record.revision} follows revision ${target.revision}`);
        for (const key of record.deletes) {
          assert(target.getKv(key)?.lease === record.leaseId, `revoke of lease ${record.leaseId} deletes its key ${key}`);
          target.deleteKv(key);
          events?.push(deleteEvent(key, record.revision));
        }
        target.setRevision(record.revision);
      } else {
        assert(record.revision === target.revision, "a revoke that deletes nothing keeps the revision");
      }
      target.deleteLease(record.leaseId);
      return;
    }
  }
}

export interface Decision<T> {
  /** Undefined when the request changes nothing (delete of a missing key, a failed compare with no failure ops). */
  record: MetaRecord | undefined;
  result: T;
}

/** Whether a lease may take new keys: it exists and is not being revoked (the store tracks expiring leases). */
export type LeaseUsable = (id: LeaseId) => boolean;

function decideRecord(view: MetaView & MetaMutator, ops: RecordOp[]): MetaRecord | undefined {
  if (ops.length === 0) return undefined;
  const record: MetaRecord = { kind: "write", revision: view.revision + 1, ops };
  applyRecord(view, record);
  return record;
}

function resolveOps(view: MetaView, ops: CheckedOp[], leaseUsable: LeaseUsable): RecordOp[] {
  for (const op of ops) if (op.type === "put" && op.lease !== undefined && !leaseUsable(op.lease)) throw leaseNotFound([op.lease]);
  const resolved: RecordOp[] = [];
  const deleted = new Set<string>();
  for (const op of ops) {
    if (op.type === "put") resolved.push(op);
    else {
      const keys = op.type === "delete" ? (view.getKv(op.key) === undefined ? [] : [op.key]) : view.keysWithPrefix(op.prefix);
      for (const key of keys) {
        if (deleted.has(key)) continue;
        deleted.add(key);
        resolved.push({ type: "delete", key });
      }
    }
  }
  return resolved;
}

export function decidePut(
  view: MetaMutator,
  key: string,
  value: Uint8Array,
  lease: LeaseId | undefined,
  leaseUsable: LeaseUsable,
): Decision<{ revision: number }> {
  const record = decideRecord(view, resolveOps(view, [{ type: "put", key, value, lease }], leaseUsable));
  return { record, result: { revision: view.revision } };
}

export function decideDelete(view: MetaMutator, op: CheckedOp & { type: "delete" | "deletePrefix" }): Decision<{ deleted: number; revision: number }> {
  const ops = resolveOps(view, [op], () => true);
  const record = decideRecord(view, ops);
  return { record, result: { deleted: ops.length, revision: view.revision } };
}

/** etcd's compare: a value compare on a missing key is false whatever the operator; revisions of a missing key are 0. */
export function compareHolds(view: MetaView, compare: CheckedCompare): boolean {
  const kv = view.getKv(compare.key);
  if (compare.target === "exists") return (kv !== undefined) === compare.exists;
  let order: number;
  if (compare.target === "value") {
    if (kv === undefined) return false;
    order = Buffer.compare(kv.value, compare.value);
  } else {
    order = Math.sign((kv?.[compare.target] ?? 0) - compare.value);
  }
  switch (compare.operator) {
    case "equal":
      return order === 0;
    case "notEqual":
      return order !== 0;
    case "less":
      return order < 0;
    case "greater":
      return order > 0;
  }
}

export function decideTxn(view: MetaMutator, txn: CheckedTxn, leaseUsable: LeaseUsable): Decision<{ succeeded: boolean; revision: number }> {
  const succeeded = txn.compare.every((compare) => compareHolds(view, compare));
  const record = decideRecord(view, resolveOps(view, succeeded ? txn.success : txn.failure, leaseUsable));
  return { record, result: { succeeded, revision: view.revision } };
}

export function decideGrant(view: MetaMutator, ttlSeconds: number): Decision<{ id: LeaseId; ttlSeconds: number }> {
  const record: MetaRecord = { kind: "grant", leaseId: String(view.nextLeaseNumber), ttlSeconds };
  applyRecord(view, record);
  return { record, result: { id: record.leaseId, ttlSeconds } };
}

export function decideRevoke(view: MetaMutator, id: LeaseId): Decision<undefined> {
  if (!view.hasLease(id)) return { record: undefined, result: undefined };
  const deletes = view.leaseKeys(id).sort(compareKeys);
  const record: MetaRecord = { kind: "revoke", leaseId: id, revision: deletes.length > 0 ? view.revision + 1 : view.revision, deletes };
  applyRecord(view, record);
  return { record, result: undefined };
}
