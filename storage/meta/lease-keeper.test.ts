// LeaseKeeper on a manual clock against a scripted store: when it renews, when it gives up, and that it
// reports a loss exactly once. (Keeping real leases on both stores is in the MetaStore contract.)

import { describe, expect, it } from "vitest";
import { ManualClock } from "../../common/clock.ts";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { LeaseKeeper } from "./lease-keeper.ts";
import type { LeaseId, MetaStore } from "./meta-store.ts";

/** A store whose keep-alive answers as the test says; other calls are not expected. */
function scriptedStore(keepAlive: (id: LeaseId) => Promise<void>): { store: MetaStore; keepAlives: number[]; revoked: LeaseId[]; clock: ManualClock } {
  const clock = new ManualClock();
  const keepAlives: number[] = [];
  const revoked: LeaseId[] = [];
  const unexpected = (): never => {
    throw new Error("not used by LeaseKeeper");
  };
  const store: MetaStore = {
    get: unexpected,
    put: unexpected,
    delete: unexpected,
    deletePrefix: unexpected,
    rangePrefix: unexpected,
    txn: unexpected,
    watchPrefix: unexpected,
    revision: unexpected,
    grantLease: async (ttlSeconds) => ({ id: "42", ttlSeconds }),
    keepAliveLease: (id) => {
      keepAlives.push(clock.nowMs());
      return keepAlive(id);
    },
    revokeLease: async (id) => {
      revoked.push(id);
    },
    close: async () => undefined,
  };
  return { store, keepAlives, revoked, clock };
}

async function advance(clock: ManualClock, durationMs: number, stepMs = 10): Promise<void> {
  for (let elapsedMs = 0; elapsedMs < durationMs; elapsedMs += stepMs) {
    clock.advance(Math.min(stepMs, durationMs - elapsedMs));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("LeaseKeeper", () => {
  it("renews every third of the TTL while the store answers", async () => {
    const { store, keepAlives, clock } = scriptedStore(async () => undefined);
    const start = clock.nowMs();
    const keeper = await LeaseKeeper.grant(store, 3, { clock });
    expect(keeper.leaseId).toBe("42");
    await advance(clock, 10_000);
    expect(keeper.state).toBe("keeping");
    expect(keepAlives.map((at) => at - start)).toEqual(Array.from({ length: 10 }, (_, i) => (i + 1) * 1_000));
    await keeper.close();
    await advance(clock, 5_000);
    expect(keepAlives).toHaveLength(10);
    expect(keeper.state).toBe("closed");
  });

  it("gives the lease up one TTL after the last successful keep-alive was sent, however it fails meanwhile", async () => {
    let healthy = true;
    const { store, clock } = scriptedStore(async () => {
      if (!healthy) throw new VelaError(ErrorCode.Unavailable, "etcd is unreachable");
    });
    const losses: VelaError[] = [];
    const keeper = new LeaseKeeper(store, "7", 3, { clock, onLost: (error) => losses.push(error) });
    await advance(clock, 2_000);
    healthy = false;
    // The last success was sent at 2000 ms: the lease is safe until 5000 ms, and not a moment longer.
    await advance(clock, 2_990);
    expect(keeper.state).toBe("keeping");
    await advance(clock, 20);
    expect(keeper.state).toBe("lost");
    const reason = await keeper.lost;
    expect(reason.code).toBe(ErrorCode.LeaseNotFound);
    expect(reason.message).toMatch(/no keep-alive succeeded within its TTL of 3 s/);
    await advance(clock, 5_000);
    expect(losses).toEqual([reason]);
  });

  it("reports a lease the store no longer knows at once, and does not revoke it on close", async () => {
    const { store, revoked, clock } = scriptedStore(async (id) => {
      throw new VelaError(ErrorCode.LeaseNotFound, `meta store: lease ${id} not found (it expired or was revoked)`);
    });
    const keeper = new LeaseKeeper(store, "9", 30, { clock });
    await advance(clock, 10_000);
    expect(keeper.state).toBe("lost");
    expect((await keeper.lost).message).toMatch(/lease 9 not found/);
    await keeper.close({ revoke: true });
    expect(revoked).toEqual([]);
  });

  it("revokes on close when asked, and only once", async () => {
    const { store, revoked, clock } = scriptedStore(async () => undefined);
    const keeper = new LeaseKeeper(store, "11", 30, { clock });
    await keeper.close({ revoke: true });
    await keeper.close({ revoke: true });
    expect(revoked).toEqual(["11"]);
  });
});
