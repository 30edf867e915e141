// The metadata seam (DESIGN §2): keys and values with one global revision, as etcd has them.
// Implementations: EmbeddedMetaStore (a local write-ahead file, standalone) and EtcdMetaStore (etcd).
// Both pass the same contract suite (test/contract/meta-store.contract.ts). Leader election and lease
// keep-alive are built once on top of this interface (election.ts, lease-keeper.ts).
//
// Revision semantics (as etcd): the store has one revision counter, starting at 1 for an empty store.
// Every put, every delete that removes at least one key, and every transaction that writes anything
// increases it by exactly one; all writes of one transaction share that revision. A key's
// createRevision is the revision that created it (since its last deletion), modRevision the revision of
// its last write, version the number of writes since creation (1 after create).

export type LeaseId = string;

export interface KeyValue {
  key: string;
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  /** The lease the key is attached to, or undefined. */
  lease: LeaseId | undefined;
}

export interface RangeOptions {
  /** Most keys to return (0 or absent: up to the store's rangeKeysMax). */
  limit?: number;
  /** Return keys and revisions with empty values. */
  keysOnly?: boolean;
  /** Only keys after this one in byte order (the last key of the previous page): pages through a prefix. */
  startAfter?: string;
}

export interface RangeResult {
  kvs: KeyValue[];
  /** True when more keys matched than were returned. */
  more: boolean;
  /** The store's revision when the range was read. */
  revision: number;
}

export interface PutOptions {
  /** Attach the key to this lease: it is deleted when the lease expires or is revoked. */
  lease?: LeaseId;
}

export type CompareOperator = "equal" | "notEqual" | "less" | "greater";

/** A transaction guard. A missing key has value undefined and all revisions 0 (as etcd). */
export type Compare =
  | { key: string; target: "value"; operator: CompareOperator; value: Uint8Array | string }
  | { key: string; target: "modRevision" | "createRevision" | "version"; operator: CompareOperator; value: number }
  | { key: string; target: "exists"; exists: boolean };

export type TxnOp =
  | { type: "put"; key: string; value: Uint8Array | string; lease?: LeaseId }
  | { type: "delete"; key: string }
  | { type: "deletePrefix"; prefix: string };

export interface Txn {
  compare: Compare[];
  success: TxnOp[];
  failure?: TxnOp[];
}

export interface TxnResult {
  /** True when every compare held and the success branch ran; false when the failure branch ran. */
  succeeded: boolean;
  /** The store's revision after the transaction. */
  revision: number;
}

export interface WatchEvent {
  type: "put" | "delete";
  /** For a delete: key and modRevision (the deletion revision) are set, value is empty. */
  kv: KeyValue;
}

export interface WatchOptions {
  /** First revision to deliver events of (inclusive). Absent: only events after the watch starts. */
  startRevision?: number;
}

/**
 * A watch on a key prefix: an ordered stream of events (puts and deletes) in revision order, events of
 * one revision together. Iteration ends with a VelaError Compacted when startRevision is no longer
 * available, and with LimitExceeded when the consumer fell more than watchQueueEventsMax behind; in both
 * cases `lastRevision` says where to resume from (lastRevision + 1). A real implementation resumes by
 * itself after a lost connection, without gaps or repeats.
 */
export interface MetaWatch extends AsyncIterable<WatchEvent> {
  /** Revision of the last event delivered (0 before the first). */
  readonly lastRevision: number;
  close(): Promise<void>;
}

export interface LeaseGrant {
  id: LeaseId;
  ttlSeconds: number;
}

export interface MetaStore {
  get(key: string): Promise<KeyValue | undefined>;
  put(key: string, value: Uint8Array | string, options?: PutOptions): Promise<{ revision: number }>;
  /** Deletes one key; `deleted` is 0 when it did not exist (and the revision does not move). */
  delete(key: string): Promise<{ deleted: number; revision: number }>;
  /** Deletes every key under the prefix. */
  deletePrefix(prefix: string): Promise<{ deleted: number; revision: number }>;
  /** Keys under the prefix in byte order of their UTF-8 encoding. */
  rangePrefix(prefix: string, options?: RangeOptions): Promise<RangeResult>;
  txn(txn: Txn): Promise<TxnResult>;
  watchPrefix(prefix: string, options?: WatchOptions): Promise<MetaWatch>;
  /** The store's current revision. */
  revision(): Promise<number>;

  /** Grants a lease; keys put with it vanish `ttlSeconds` after the last keep-alive. */
  grantLease(ttlSeconds: number): Promise<LeaseGrant>;
  /** Renews a lease for its full TTL. Fails with LeaseNotFound when it has expired or was revoked. */
  keepAliveLease(id: LeaseId): Promise<void>;
  /** Revokes a lease and deletes its keys at once. Revoking an unknown lease is not an error. */
  revokeLease(id: LeaseId): Promise<void>;

  /** Releases resources; every later call fails with a Closed error. Leases are not revoked. */
  close(): Promise<void>;
}

export function encodeValue(value: Uint8Array | string): Uint8Array {
  return typeof value === "string" ? new TextEncoder().encode(value) : value;
}

export function decodeValue(value: Uint8Array): string {
  return new TextDecoder().decode(value);
}
