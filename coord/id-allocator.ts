// Globally unique 64-bit IDs for collections, partitions, segments, index builds and auto-ID rows.
// Invariant: an ID is never handed out twice, across restarts and coordinator changes: a window of
// IDs is persisted (`id` key, compare-and-set on its revision) before any ID in it is used, and a
// restarted allocator starts at the end of the last persisted window.

import { invalidArgument } from "../common/errors.ts";
import type { MetaStore } from "../storage/meta/meta-store.ts";
import { PersistedWindow } from "./persisted-window.ts";

export interface IdAllocatorOptions {
  metaStore: MetaStore;
  /** IDs reserved per persisted window (rootCoordDefaults.idWindowSize). */
  windowSize: number;
  /** Most IDs one call may take (rootCoordDefaults.allocationCountMax). */
  countMax: number;
  key?: string;
}

/** IDs start here so that small numbers stay free for fixed meanings (field ids start at 100). */
const FIRST_ID = 1000;

export class IdAllocator {
  private next: number;

  private constructor(
    private readonly window: PersistedWindow,
    private readonly options: IdAllocatorOptions,
  ) {
    this.next = Math.max(window.bound, FIRST_ID);
  }

  static async open(options: IdAllocatorOptions): Promise<IdAllocator> {
    const window = await PersistedWindow.load(options.metaStore, options.key ?? "id", (text) => Number(text));
    return new IdAllocator(window, options);
  }

  /** Allocates `count` consecutive IDs and returns the first. */
  async allocate(count = 1): Promise<bigint> {
    if (!Number.isInteger(count) || count < 1 || count > this.options.countMax) {
      throw invalidArgument(`ID count must be an integer in [1, ${this.options.countMax}], got ${String(count)}`);
    }
    for (;;) {
      this.window.throwIfFenced();
      if (this.next + count <= this.window.bound) {
        const first = this.next;
        this.next += count;
        return BigInt(first);
      }
      await this.window.extend(this.next + count + this.options.windowSize);
    }
  }
}
