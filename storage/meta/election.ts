// Leader election, built once on the MetaStore interface so that it behaves the same on the embedded
// store and on etcd. The algorithm is etcd's (clientv3/concurrency):
//  - each candidate owns the key <keyPrefix>/<name>/<leaseId>, created with its lease;
//  - the leader is the candidate whose key has the smallest createRevision;
//  - a candidate waits until the candidate just before it (the largest createRevision below its own)
//    is deleted — it resigned, or its lease expired — then looks again.
// Waiting on the predecessor only (not on the leader) means one deletion wakes one candidate, not all.
//
// Invariant: at any revision exactly one key under <keyPrefix>/<name>/ has the smallest createRevision,
// so at most one candidate is leader at a time — while it holds its lease. A leader whose lease expires
// has lost; it learns that from its LeaseKeeper and must stop acting as leader.

import { systemClock, type Clock } from "../../common/clock.ts";
import { metaStoreDefaults } from "../../common/config.ts";
import { ErrorCode, VelaError, invalidArgument, isVelaError, limitExceeded } from "../../common/errors.ts";
import type { KeyValue, LeaseId, MetaStore, MetaWatch } from "./meta-store.ts";
import { checkLeaseId } from "./validate.ts";

export interface LeaderInfo {
  name: string;
  /** The leader's candidate key, <keyPrefix>/<name>/<leaseId>. */
  key: string;
  /** The value the leader campaigned or last proclaimed with. */
  value: Uint8Array;
  leaseId: LeaseId | undefined;
  createRevision: number;
  modRevision: number;
}

export interface ElectionOptions {
  /** Where elections live in the store (default "election"). */
  keyPrefix?: string;
  /** Clock for an observer's pause after a failed read (default: the system clock). */
  clock?: Clock;
  /** An observer's pause after a failed read (default: metaStoreDefaults.electionRetryDelayMs). */
  retryDelayMs?: number;
}

export interface CampaignOptions {
  /** Aborting withdraws the candidacy (its key is deleted) and rejects the campaign with Closed. */
  signal?: AbortSignal;
}

function leaderOf(name: string, candidates: Iterable<KeyValue>): LeaderInfo | undefined {
  let leader: KeyValue | undefined;
  for (const kv of candidates) if (leader === undefined || kv.createRevision < leader.createRevision) leader = kv;
  if (leader === undefined) return undefined;
  const { key, value, lease, createRevision, modRevision } = leader;
  return { name, key, value, leaseId: lease, createRevision, modRevision };
}

function sameLeader(a: LeaderInfo | undefined, b: LeaderInfo | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.key === b.key && a.createRevision === b.createRevision && a.modRevision === b.modRevision;
}

function candidacyLost(name: string, leaseId: LeaseId): VelaError {
  return new VelaError(
    ErrorCode.LeaseNotFound,
    `election ${JSON.stringify(name)}: the candidate key of lease ${leaseId} is gone (its lease expired or was revoked)`,
  );
}

function isWatchRestart(error: unknown): boolean {
  return isVelaError(error, ErrorCode.Compacted) || isVelaError(error, ErrorCode.LimitExceeded);
}

export class LeaderElection {
  private readonly keyPrefix: string;
  private readonly clock: Clock;
  private readonly retryDelayMs: number;

  constructor(
    private readonly store: MetaStore,
    options: ElectionOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? "election";
    if (typeof this.keyPrefix !== "string" || this.keyPrefix.length === 0) throw invalidArgument("election: keyPrefix must be a non-empty string");
    this.clock = options.clock ?? systemClock;
    this.retryDelayMs = options.retryDelayMs ?? metaStoreDefaults.electionRetryDelayMs;
  }

  /** The key prefix under which the candidates of election `name` live. */
  candidatesPrefix(name: string): string {
    if (typeof name !== "string" || name.length === 0 || name.includes("/")) {
      throw invalidArgument(`election: name must be a non-empty string without "/", got ${JSON.stringify(name)}`);
    }
    return `${this.keyPrefix}/${name}/`;
  }

  /**
   * Becomes a candidate and resolves once this candidate is the leader. Campaigning again with the same
   * lease keeps the candidate's place and updates its value. Rejects with LeaseNotFound when the lease
   * ends first, with Closed when aborted.
   */
  async campaign(name: string, candidateValue: Uint8Array | string, leaseId: LeaseId, options: CampaignOptions = {}): Promise<Leadership> {
    const prefix = this.candidatesPrefix(name);
    const key = prefix + checkLeaseId(leaseId);
    const { signal } = options;
    this.throwIfAborted(name, signal);
    const created = await this.store.txn({
      compare: [{ key, target: "exists", exists: false }],
      success: [{ type: "put", key, value: candidateValue, lease: leaseId }],
      failure: [],
    });
    if (!created.succeeded) await this.store.put(key, candidateValue, { lease: leaseId });
    const own = await this.store.get(key);
    if (own === undefined) throw candidacyLost(name, leaseId);
    const leadership = new Leadership(this.store, name, key, leaseId, own.createRevision);
    try {
      await this.waitForTurn(name, prefix, key, own.createRevision, signal);
    } catch (error) {
      if (isVelaError(error, ErrorCode.Closed) && signal?.aborted === true) await leadership.resign().catch(() => undefined);
      throw error;
    }
    return leadership;
  }

  /** The current leader of election `name`, or undefined when there is no candidate. */
  async leader(name: string): Promise<LeaderInfo | undefined> {
    const prefix = this.candidatesPrefix(name);
    const range = await this.store.rangePrefix(prefix);
    if (range.more) throw this.tooManyCandidates(name);
    return leaderOf(name, range.kvs);
  }

  /** Follows the leader of election `name`: the current one first, then each change (see LeaderObserver). */
  observe(name: string): LeaderObserver {
    return new LeaderObserver(this.store, name, this.candidatesPrefix(name), this.clock, this.retryDelayMs);
  }

  private async waitForTurn(name: string, prefix: string, ownKey: string, ownRevision: number, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      this.throwIfAborted(name, signal);
      const range = await this.store.rangePrefix(prefix);
      if (range.more) throw this.tooManyCandidates(name);
      const own = range.kvs.find((kv) => kv.key === ownKey);
      if (own === undefined || own.createRevision !== ownRevision) throw candidacyLost(name, ownKey.slice(prefix.length));
      let predecessor: KeyValue | undefined;
      for (const kv of range.kvs) {
        if (kv.createRevision < ownRevision && (predecessor === undefined || kv.createRevision > predecessor.createRevision)) predecessor = kv;
      }
      if (predecessor === undefined) return;
      await this.waitForDeletion(name, prefix, predecessor.key, ownKey, range.revision + 1, signal);
    }
  }

  /** Returns when the predecessor is deleted, or when the caller should look again (watch restart, abort). */
  private async waitForDeletion(
    name: string,
    prefix: string,
    predecessorKey: string,
    ownKey: string,
    fromRevision: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const watch = await this.store.watchPrefix(prefix, { startRevision: fromRevision });
    const onAbort = (): void => void watch.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal?.aborted === true) return;
      for await (const event of watch) {
        if (event.type !== "delete") continue;
        if (event.kv.key === ownKey) throw candidacyLost(name, ownKey.slice(prefix.length));
        if (event.kv.key === predecessorKey) return;
      }
    } catch (error) {
      if (!isWatchRestart(error)) throw error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      await watch.close();
    }
  }

  private throwIfAborted(name: string, signal: AbortSignal | undefined): void {
    if (signal?.aborted === true) throw new VelaError(ErrorCode.Closed, `election ${JSON.stringify(name)}: the campaign was aborted`);
  }

  private tooManyCandidates(name: string): VelaError {
    return limitExceeded(`election ${JSON.stringify(name)}: more candidates than one range returns (rangeKeysMax)`);
  }
}

/** A won election. Leadership lasts while the key exists: until resign() or the end of the lease. */
export class Leadership {
  constructor(
    private readonly store: MetaStore,
    readonly name: string,
    readonly key: string,
    readonly leaseId: LeaseId,
    readonly createRevision: number,
  ) {}

  /** True while this candidate's key still exists (and so is still the smallest). */
  async isLeader(): Promise<boolean> {
    const kv = await this.store.get(this.key);
    return kv !== undefined && kv.createRevision === this.createRevision;
  }

  /** Changes the value observers see, only while still leader; Conflict otherwise. */
  async proclaim(value: Uint8Array | string): Promise<void> {
    const result = await this.store.txn({
      compare: [{ key: this.key, target: "createRevision", operator: "equal", value: this.createRevision }],
      success: [{ type: "put", key: this.key, value, lease: this.leaseId }],
      failure: [],
    });
    if (!result.succeeded) throw new VelaError(ErrorCode.Conflict, `election ${JSON.stringify(this.name)}: no longer the leader, cannot proclaim`);
  }

  /** Steps down: deletes this candidate's key if it is still this candidacy's. The next candidate takes over. */
  async resign(): Promise<void> {
    await this.store.txn({
      compare: [{ key: this.key, target: "createRevision", operator: "equal", value: this.createRevision }],
      success: [{ type: "delete", key: this.key }],
      failure: [],
    });
  }
}

/**
 * The leader of one election over time, as an async iterable: first the current leader (undefined when
 * there is none), then every change. Changes are coalesced: a consumer that falls behind gets the latest
 * leader, never a queue of stale ones. Survives watch restarts and failed reads; ends on close(), or with
 * the store's Closed error.
 */
export class LeaderObserver implements AsyncIterable<LeaderInfo | undefined> {
  private unread: { leader: LeaderInfo | undefined } | undefined;
  private published: { leader: LeaderInfo | undefined } | undefined;
  private waiter: ((result: IteratorResult<LeaderInfo | undefined>) => void) | undefined;
  private failWaiter: ((error: unknown) => void) | undefined;
  private failure: VelaError | undefined;
  private closed = false;
  private watch: MetaWatch | undefined;
  private readonly running: Promise<void>;

  constructor(
    private readonly store: MetaStore,
    private readonly name: string,
    private readonly prefix: string,
    private readonly clock: Clock,
    private readonly retryDelayMs: number,
  ) {
    this.running = this.run();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watch?.close();
    this.settle();
    await this.running;
  }

  [Symbol.asyncIterator](): AsyncIterator<LeaderInfo | undefined> {
    return {
      next: () => {
        const ready = this.take();
        if (ready !== undefined) return Promise.resolve(ready);
        if (this.failure !== undefined && !this.closed) {
          this.closed = true;
          return Promise.reject(this.failure);
        }
        return new Promise((resolve, reject) => {
          this.waiter = resolve;
          this.failWaiter = reject;
        });
      },
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  private take(): IteratorResult<LeaderInfo | undefined> | undefined {
    if (this.unread !== undefined) {
      const { leader } = this.unread;
      this.unread = undefined;
      return { done: false, value: leader };
    }
    if (this.closed) return { done: true, value: undefined };
    return undefined;
  }

  private settle(): void {
    const resolve = this.waiter;
    const reject = this.failWaiter;
    if (resolve === undefined || reject === undefined) return;
    const ready = this.take();
    if (ready !== undefined) {
      this.waiter = undefined;
      this.failWaiter = undefined;
      resolve(ready);
    } else if (this.failure !== undefined) {
      this.waiter = undefined;
      this.failWaiter = undefined;
      this.closed = true;
      reject(this.failure);
    }
  }

  private publish(leader: LeaderInfo | undefined): void {
    if (this.published !== undefined && sameLeader(this.published.leader, leader)) return;
    this.published = { leader };
    this.unread = { leader };
    this.settle();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        const range = await this.store.rangePrefix(this.prefix);
        const candidates = new Map(range.kvs.map((kv) => [kv.key, kv]));
        this.publish(leaderOf(this.name, candidates.values()));
        const watch = await this.store.watchPrefix(this.prefix, { startRevision: range.revision + 1 });
        this.watch = watch;
        if (this.closed) {
          await watch.close();
          return;
        }
        for await (const event of watch) {
          if (event.type === "put") candidates.set(event.kv.key, event.kv);
          else candidates.delete(event.kv.key);
          this.publish(leaderOf(this.name, candidates.values()));
        }
      } catch (error) {
        if (this.closed) return;
        if (isVelaError(error, ErrorCode.Closed)) {
          this.failure = error as VelaError;
          this.settle();
          return;
        }
        if (!isWatchRestart(error)) await this.clock.sleep(this.retryDelayMs);
      } finally {
        await this.watch?.close();
        this.watch = undefined;
      }
    }
  }
}
