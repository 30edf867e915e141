// The object-storage seam (DESIGN §2, §7): the durable copy of all data. Keys are '/'-separated paths
// under the store's root. Implementations: LocalObjectStore (a directory, standalone) and
// S3ObjectStore (S3, MinIO). Both pass test/contract/object-store.contract.ts.
//
// Invariant: put is atomic — a reader sees either no object or the whole new object, never a part.

export interface ObjectInfo {
  key: string;
  sizeBytes: number;
  /** Last modification, milliseconds since the epoch. */
  modifiedMs: number;
}

export interface ListOptions {
  /** Most keys in one page (at most listPageKeysMax). */
  limit?: number;
  /** The `nextToken` of the previous page. */
  continuationToken?: string;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Present when more keys follow; pass it as continuationToken. */
  nextToken?: string;
}

export interface ObjectStore {
  /** Writes the whole object atomically, replacing any previous one. */
  put(key: string, body: Uint8Array): Promise<void>;
  /** The whole object; fails with NotFound when it does not exist. */
  get(key: string): Promise<Uint8Array>;
  /** Bytes [start, endExclusive) of the object, clipped to its size; NotFound when missing. */
  getRange(key: string, start: number, endExclusive: number): Promise<Uint8Array>;
  /** Size and time of the object, or undefined when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** One page of objects whose key starts with `prefix`, in ascending key order. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** Deletes the object; deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every object under the prefix; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** Releases resources; later calls fail with a Closed error. */
  close(): Promise<void>;
}

/** Every object under a prefix, page by page. */
export async function* listAll(store: ObjectStore, prefix: string): AsyncGenerator<ObjectInfo> {
  let continuationToken: string | undefined;
  do {
    const page = await store.list(prefix, continuationToken === undefined ? {} : { continuationToken });
    yield* page.objects;
    continuationToken = page.nextToken;
  } while (continuationToken !== undefined);
}
