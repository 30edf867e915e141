// Every key under a prefix, read page by page with startAfter: a prefix may hold more keys than one
// range returns (metaStoreDefaults.rangeKeysMax), and a caller that reads only the first page would
// silently lose the rest. The pages are separate reads, so keys written meanwhile may or may not show.

import type { KeyValue, MetaStore } from "./meta-store.ts";

export async function rangeAll(store: MetaStore, prefix: string, options: { keysOnly?: boolean } = {}): Promise<KeyValue[]> {
  const all: KeyValue[] = [];
  let startAfter: string | undefined;
  for (;;) {
    const page = await store.rangePrefix(prefix, { ...options, ...(startAfter === undefined ? {} : { startAfter }) });
    all.push(...page.kvs);
    const last = page.kvs[page.kvs.length - 1];
    if (!page.more || last === undefined) return all;
    startAfter = last.key;
  }
}
