// A number persisted in the MetaStore that only grows: the upper bound of the TSO or of the ID
// allocator. Extending it is a compare-and-set on the key's modRevision, so exactly one writer wins;
// a writer that loses is fenced (every later use fails with Conflict) because someone else now owns
// the window. Concurrent extensions are coalesced into one write.

import { ErrorCode, VelaError } from "../common/errors.ts";
import { decodeValue, type MetaStore } from "../storage/meta/meta-store.ts";

export class PersistedWindow {
  private boundValue: number;
  private modRevision: number;
  private inFlight: Promise<void> | undefined;
  private requestedBound = 0;
  private fencedError: VelaError | undefined;

  private constructor(
    private readonly metaStore: MetaStore,
    private readonly key: string,
    bound: number,
    modRevision: number,
  ) {
    this.boundValue = bound;
    this.modRevision = modRevision;
  }

  static async load(metaStore: MetaStore, key: string, parse: (text: string) => number): Promise<PersistedWindow> {
    const kv = await metaStore.get(key);
    if (kv === undefined) return new PersistedWindow(metaStore, key, 0, 0);
    const bound = parse(decodeValue(kv.value));
    if (!Number.isSafeInteger(bound) || bound < 0) {
      throw new VelaError(ErrorCode.Corrupted, `metadata key "${key}" holds "${decodeValue(kv.value)}", not a non-negative integer`);
    }
    return new PersistedWindow(metaStore, key, bound, kv.modRevision);
  }

  get bound(): number {
    return this.boundValue;
  }

  throwIfFenced(): void {
    if (this.fencedError !== undefined) throw this.fencedError;
  }

  /** Persists a bound of at least `target`; resolves once it is durable (or fails, fencing this window). */
  async extend(target: number): Promise<void> {
    this.requestedBound = Math.max(this.requestedBound, target);
    while (this.boundValue < target) {
      this.throwIfFenced();
      if (this.inFlight === undefined) this.inFlight = this.write();
      await this.inFlight;
    }
  }

  /** Starts an extension without waiting for it; a failure fences the window and surfaces on next use. */
  extendInBackground(target: number): void {
    this.extend(target).catch(() => {
      // Recorded in fencedError or retried by the next caller of extend().
    });
  }

  private async write(): Promise<void> {
    const next = Math.max(this.requestedBound, this.boundValue + 1);
    try {
      const result = await this.metaStore.txn({
        compare: this.modRevision === 0
          ? [{ key: this.key, target: "exists", exists: false }]
          : [{ key: this.key, target: "modRevision", operator: "equal", value: this.modRevision }],
        success: [{ type: "put", key: this.key, value: String(next) }],
      });
      if (!result.succeeded) {
        this.fencedError = new VelaError(
          ErrorCode.Conflict,
          `metadata key "${this.key}" was changed by another coordinator; this one is fenced and stops allocating`,
        );
        throw this.fencedError;
      }
      this.modRevision = result.revision;
      this.boundValue = next;
    } finally {
      this.inFlight = undefined;
    }
  }
}
