// The oracle: a plain in-memory model of what Vela must answer. It receives the same writes (with the
// timestamps Vela acknowledged) and evaluates visibility and exact search at any snapshot by brute
// force, with none of Vela's data structures. Tests compare Vela's answers with it.

export type Key = bigint | string;

export interface ModelRow {
  key: Key;
  vector: Float32Array;
  fields: Record<string, unknown>;
}

interface Version extends ModelRow {
  ts: bigint;
}

export type ModelMetric = "L2" | "IP" | "COSINE";

export class ModelStore {
  private readonly versions = new Map<Key, Version[]>();
  private readonly tombstones = new Map<Key, bigint[]>();

  insert(ts: bigint, rows: readonly ModelRow[]): void {
    for (const row of rows) {
      const list = this.versions.get(row.key) ?? [];
      list.push({ ...row, vector: Float32Array.from(row.vector), ts });
      this.versions.set(row.key, list);
    }
  }

  delete(ts: bigint, keys: readonly Key[]): void {
    for (const key of keys) {
      const list = this.tombstones.get(key) ?? [];
      list.push(ts);
      this.tombstones.set(key, list);
    }
  }

  /** Upsert = tombstones and new rows at one timestamp; the tombstone hits only older versions. */
  upsert(ts: bigint, rows: readonly ModelRow[]): void {
    this.delete(ts, rows.map((row) => row.key));
    this.insert(ts, rows);
  }

  /** A version is visible at s iff ts <= s and no tombstone d of its key has ts < d <= s. */
  private isVisible(version: Version, snapshot: bigint): boolean {
    if (version.ts > snapshot) return false;
    for (const d of this.tombstones.get(version.key) ?? []) if (version.ts < d && d <= snapshot) return false;
    return true;
  }

  /** The newest visible version of every key at the snapshot. */
  visible(snapshot: bigint): Map<Key, Version> {
    const out = new Map<Key, Version>();
    for (const [key, list] of this.versions) {
      let best: Version | undefined;
      for (const version of list) if (this.isVisible(version, snapshot) && (best === undefined || version.ts > best.ts)) best = version;
      if (best !== undefined) out.set(key, best);
    }
    return out;
  }

  /** Visible versions counted one by one (count(*) semantics). */
  countVisible(snapshot: bigint): number {
    let count = 0;
    for (const list of this.versions.values()) for (const version of list) if (this.isVisible(version, snapshot)) count += 1;
    return count;
  }

  search(snapshot: bigint, query: Float32Array, topk: number, offset: number, metric: ModelMetric, filterKeys?: readonly Key[]): Array<{ key: Key; distance: number; fields: Record<string, unknown> }> {
    const allowed = filterKeys === undefined ? undefined : new Set(filterKeys);
    const hits: Array<{ key: Key; distance: number; fields: Record<string, unknown> }> = [];
    for (const [key, version] of this.visible(snapshot)) {
      if (allowed !== undefined && !allowed.has(key)) continue;
      hits.push({ key, distance: distance(metric, query, version.vector), fields: version.fields });
    }
    hits.sort((a, b) => (metric === "L2" ? a.distance - b.distance : b.distance - a.distance));
    return hits.slice(offset, offset + topk);
  }
}

export function distance(metric: ModelMetric, a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let l2 = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    l2 += (x - y) * (x - y);
    na += x * x;
    nb += y * y;
  }
  if (metric === "L2") return l2;
  if (metric === "IP") return dot;
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
