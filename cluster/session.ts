// A node's session: a lease-bound key `session/<role>/<nodeId>` in the MetaStore (DESIGN §2, §9).
// Coordinators and time sync treat a node as alive exactly while its key exists.
//
// Invariant: a node stops acting (it is told through `lost`) before the MetaStore can expire its key:
// the lease is renewed against a deadline of `sessionFenceFraction` × TTL, so at least the remaining
// third of the TTL separates the node's own fencing from anyone else seeing it dead.

import type { Clock } from "../common/clock.ts";
import { ErrorCode, VelaError } from "../common/errors.ts";
import type { MetaStore } from "../storage/meta/meta-store.ts";
import { LeaseKeeper } from "../storage/meta/lease-keeper.ts";

export interface SessionOptions {
  metaStore: MetaStore;
  clock: Clock;
  role: string;
  nodeId: string;
  ttlSeconds: number;
  fenceFraction: number;
  /** Extra facts for the session value (address, version...). */
  details?: Record<string, string>;
  onLost?: (error: VelaError) => void;
}

export class Session {
  private constructor(
    readonly key: string,
    private readonly keeper: LeaseKeeper,
  ) {}

  static async create(options: SessionOptions): Promise<Session> {
    const key = `session/${options.role}/${options.nodeId}`;
    const sentAtMs = options.clock.nowMs();
    const lease = await options.metaStore.grantLease(options.ttlSeconds);
    const fenceSeconds = Math.max(1, lease.ttlSeconds * options.fenceFraction);
    const keeper = new LeaseKeeper(options.metaStore, lease.id, fenceSeconds, {
      clock: options.clock,
      renewedAtMs: sentAtMs,
      ...(options.onLost === undefined ? {} : { onLost: options.onLost }),
    });
    const value = JSON.stringify({ role: options.role, nodeId: options.nodeId, startedMs: options.clock.nowMs(), ...options.details });
    const result = await options.metaStore.txn({
      compare: [{ key, target: "exists", exists: false }],
      success: [{ type: "put", key, value, lease: lease.id }],
    });
    if (!result.succeeded) {
      await keeper.close({ revoke: true });
      throw new VelaError(ErrorCode.AlreadyExists, `a live node already holds session ${key}`);
    }
    return new Session(key, keeper);
  }

  /** Resolves when the session is lost (the node must stop acting). */
  get lost(): Promise<VelaError> {
    return this.keeper.lost;
  }

  /** Ends the session at once (revokes the lease, so the key goes now rather than after the TTL). */
  async close(): Promise<void> {
    await this.keeper.close({ revoke: true });
  }
}
