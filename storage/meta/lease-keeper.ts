// Keeps one lease alive on any MetaStore: a keep-alive every ttl/3 (as etcd's own clients do), and a
// report when the lease is lost. Node sessions and election candidates hold their keys through it.
//
// Invariant: once `lost` has resolved, the holder must assume its lease-bound keys are gone. Loss is
// reported when the store says the lease is unknown, or when no keep-alive has succeeded for a whole
// TTL counted from the moment the last successful one was *sent* — the server's expiry cannot come
// earlier than that, so a leader that stops acting on loss never acts on an expired lease (given
// clocks that run at the same rate).

import { systemClock, type Clock } from "../../common/clock.ts";
import { ErrorCode, VelaError, errorMessage, isVelaError } from "../../common/errors.ts";
import type { LeaseId, MetaStore } from "./meta-store.ts";

export interface LeaseKeeperOptions {
  /** Clock for the keep-alive schedule and the loss deadline (default: the system clock). */
  clock?: Clock;
  /** Called once when the lease is lost (also available as the `lost` promise). */
  onLost?: (error: VelaError) => void;
  /** When the grant or last keep-alive of the lease was sent, by `clock` (default: now). */
  renewedAtMs?: number;
}

/** keeping: renewing the lease; lost: it expired, was revoked, or could not be renewed in time; closed: stopped by close(). */
export type LeaseKeeperState = "keeping" | "lost" | "closed";

export class LeaseKeeper {
  private currentState: LeaseKeeperState = "keeping";
  private cancelTick: (() => void) | undefined;
  private cancelDeadline: (() => void) | undefined;
  private ticking: Promise<void> | undefined;
  private resolveLost!: (error: VelaError) => void;
  /** Resolves (never rejects) with the reason when the lease is lost; stays pending if close() comes first. */
  readonly lost: Promise<VelaError>;
  private readonly clock: Clock;
  private readonly intervalMs: number;

  constructor(
    private readonly store: MetaStore,
    readonly leaseId: LeaseId,
    readonly ttlSeconds: number,
    private readonly options: LeaseKeeperOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.intervalMs = (ttlSeconds * 1000) / 3;
    this.lost = new Promise((resolve) => {
      this.resolveLost = resolve;
    });
    this.armDeadline(options.renewedAtMs ?? this.clock.nowMs());
    this.scheduleTick();
  }

  /** Grants a lease of `ttlSeconds` and starts keeping it. */
  static async grant(store: MetaStore, ttlSeconds: number, options: LeaseKeeperOptions = {}): Promise<LeaseKeeper> {
    const sentAtMs = (options.clock ?? systemClock).nowMs();
    const lease = await store.grantLease(ttlSeconds);
    return new LeaseKeeper(store, lease.id, lease.ttlSeconds, { ...options, renewedAtMs: sentAtMs });
  }

  get state(): LeaseKeeperState {
    return this.currentState;
  }

  /** Stops renewing. With `revoke`, also revokes the lease so its keys go at once instead of after the TTL. */
  async close(options: { revoke?: boolean } = {}): Promise<void> {
    const wasKeeping = this.currentState === "keeping";
    if (wasKeeping) this.currentState = "closed";
    this.stopTimers();
    await this.ticking;
    if (options.revoke === true && wasKeeping) await this.store.revokeLease(this.leaseId);
  }

  private scheduleTick(): void {
    this.cancelTick = this.clock.setTimer(this.intervalMs, () => {
      this.cancelTick = undefined;
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
      });
    });
  }

  private async tick(): Promise<void> {
    if (this.currentState !== "keeping") return;
    const sentAtMs = this.clock.nowMs();
    try {
      await this.store.keepAliveLease(this.leaseId);
      if (this.currentState !== "keeping") return;
      this.armDeadline(sentAtMs);
    } catch (error) {
      if (isVelaError(error, ErrorCode.LeaseNotFound) || isVelaError(error, ErrorCode.Closed)) {
        this.lose(error as VelaError);
        return;
      }
      // Unavailable and the like: try again on the next tick; the deadline decides when it is too late.
    }
    if (this.currentState === "keeping") this.scheduleTick();
  }

  private armDeadline(fromMs: number): void {
    this.cancelDeadline?.();
    const remainingMs = Math.max(0, fromMs + this.ttlSeconds * 1000 - this.clock.nowMs());
    this.cancelDeadline = this.clock.setTimer(remainingMs, () => {
      this.cancelDeadline = undefined;
      this.lose(
        new VelaError(
          ErrorCode.LeaseNotFound,
          `lease ${this.leaseId}: no keep-alive succeeded within its TTL of ${this.ttlSeconds} s; it must be taken as expired`,
        ),
      );
    });
  }

  private lose(error: VelaError): void {
    if (this.currentState !== "keeping") return;
    this.currentState = "lost";
    this.stopTimers();
    try {
      this.options.onLost?.(error);
    } catch (callbackError) {
      // A failing callback must not hide the loss from `lost`; it is reported there as the cause.
      this.resolveLost(new VelaError(ErrorCode.LeaseNotFound, `${error.message} (onLost failed: ${errorMessage(callbackError)})`, { cause: error }));
      return;
    }
    this.resolveLost(error);
  }

  private stopTimers(): void {
    this.cancelTick?.();
    this.cancelTick = undefined;
    this.cancelDeadline?.();
    this.cancelDeadline = undefined;
  }
}
