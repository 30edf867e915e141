// An ObjectStore wrapper for fault tests: it delegates to a real store, and on request fails the next
// gets of matching keys (as an unreachable S3 would), or holds them until released (a node stuck in
// I/O when it dies). Counts gets and puts per key prefix so tests can tell what was read and written.

import { ErrorCode, VelaError } from "../../common/errors.ts";
import type { ListOptions, ListPage, ObjectInfo, ObjectStore } from "../../storage/object/object-store.ts";

type KeyMatch = (key: string) => boolean;

export class FaultyObjectStore implements ObjectStore {
  private failures: Array<{ match: KeyMatch; remaining: number }> = [];
  private holds: Array<{ match: KeyMatch; released: Promise<void> }> = [];
  readonly puts: string[] = [];
  readonly gets: string[] = [];

  constructor(private readonly inner: ObjectStore) {}

  /** The next `count` gets of keys matching `match` fail with Unavailable. */
  failGets(match: KeyMatch, count = 1): void {
    this.failures.push({ match, remaining: count });
  }

  /** Gets of matching keys wait until the returned function is called. */
  holdGets(match: KeyMatch): () => void {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const hold = { match, released };
    this.holds.push(hold);
    return () => {
      this.holds = this.holds.filter((candidate) => candidate !== hold);
      release();
    };
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    this.puts.push(key);
    await this.inner.put(key, body);
  }

  async get(key: string): Promise<Uint8Array> {
    this.gets.push(key);
    for (const hold of this.holds) if (hold.match(key)) await hold.released;
    const failure = this.failures.find((candidate) => candidate.remaining > 0 && candidate.match(key));
    if (failure !== undefined) {
      failure.remaining -= 1;
      throw new VelaError(ErrorCode.Unavailable, `injected fault: get ${key} failed`);
    }
    return this.inner.get(key);
  }

  getRange(key: string, start: number, endExclusive: number): Promise<Uint8Array> {
    return this.inner.getRange(key, start, endExclusive);
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.head(key);
  }

  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    return this.inner.list(prefix, options);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  deletePrefix(prefix: string): Promise<number> {
    return this.inner.deletePrefix(prefix);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
