// A growing segment in a query node's memory (DESIGN §6, §8): the rows of one segment replayed from
// the log, column by column — every vector field one contiguous Float32Array in a SharedArrayBuffer
// (worker threads scan it without a copy), scalars in typed arrays, per-row insert timestamps, and a
// primary-key index.
//
// MVCC (DESIGN §8): row r is visible at snapshot S iff insertTs[r] <= S and no tombstone (pk, d) with
// insertTs[r] < d <= S exists. A tombstone applies to versions written strictly before it, so an
// upsert's tombstone and new row, which share one timestamp, replace the old version and keep the new.
// Invariants: rows are only appended (a snapshot is a row count plus a timestamp); rows are applied in
// timestamp order (the replica sorts each tick's batch), so a tombstone only ever needs to look at rows
// already present; `deleteTs[r]` is the earliest tombstone that applies to r (0n: none).
//
// Visibility sets are frozen (immutable) so that one can serve many reads: at a snapshot at or above
// every row's insert ts and every tombstone's ts (a sealed segment, or a growing one between ticks:
// the steady state of a served segment) the visible rows depend only on the row count and the
// tombstones, so that set is built once and kept until a row or a tombstone arrives.

import type { Column } from "../common/columns.ts";
import { assert } from "../common/errors.ts";
import { DataType, type CollectionSchema, type FieldSchema } from "../common/schema.ts";
import type { Timestamp } from "../common/timestamp.ts";
import { Bitset } from "./compute/bitset.ts";
import type { MetricType } from "./compute/metric.ts";
import type { HnswHandle } from "../indexnode/hnsw/hnsw-pool.ts";

export type PrimaryKey = bigint | string;

/** A loaded vector index of a sealed segment's field: labels are the segment's row numbers. */
export interface LoadedVectorIndex {
  handle: HnswHandle;
  metric: MetricType;
  rows: number;
  /** Bytes the index takes in its workers (all copies). */
  residentBytes: number;
}

/**
 * A scalar column as filters read it. `typed`: Bool as 0/1 bytes, integers and floats in their typed
 * arrays (Int64 as BigInt64Array); `strings`: VarChar; `json`: parsed JSON values. `valid` (nullable
 * fields): 1 = present. Only rows [0, rowCount) are meaningful.
 */
export type ScalarColumnView =
  | { kind: "typed"; values: Uint8Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array; rowCount: number; valid?: Uint8Array }
  | { kind: "strings"; values: readonly string[]; rowCount: number; valid?: Uint8Array }
  | { kind: "json"; values: readonly unknown[]; rowCount: number; valid?: Uint8Array };

type Growable = Uint8Array | Int8Array | Int16Array | Int32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

/** A typed array that doubles its capacity as rows arrive. */
class GrowableColumn<T extends Growable> {
  data: T;
  constructor(private readonly make: (capacity: number) => T, capacity: number, private readonly width = 1) {
    this.data = make(capacity * width);
  }

  ensure(rows: number): void {
    if (rows * this.width <= this.data.length) return;
    let capacity = Math.max(1, this.data.length / this.width);
    while (capacity < rows) capacity *= 2;
    const next = this.make(capacity * this.width);
    (next as unknown as { set(source: T): void }).set(this.data);
    this.data = next;
  }
}

type ScalarStore =
  | { kind: "typed"; column: GrowableColumn<Growable> }
  | { kind: "strings"; values: string[] }
  | { kind: "json"; values: Uint8Array[] };

const INITIAL_CAPACITY_ROWS = 1024;

export class GrowingSegment {
  private rows = 0;
  private readonly insertTs = new GrowableColumn((n) => new BigUint64Array(n), INITIAL_CAPACITY_ROWS);
  private readonly deleteTs = new GrowableColumn((n) => new BigUint64Array(n), INITIAL_CAPACITY_ROWS);
  /** Rows whose deleteTs is set, for building visibility without scanning every row. */
  private readonly deletedRows: number[] = [];
  /** The largest deleteTs set so far (0n: none), and a counter of deleteTs changes. */
  private deleteTsMax = 0n;
  private deleteVersion = 0;
  /** The visibility of the steady state (see the header), for the row count and deletes it was built at. */
  private steadyVisibility: { rowCount: number; deleteVersion: number; visible: Bitset } | undefined;
  private readonly pkIndex = new Map<PrimaryKey, number[]>();
  private readonly vectors = new Map<number, GrowableColumn<Float32Array>>();
  private readonly scalars = new Map<number, ScalarStore>();
  private readonly validity = new Map<number, GrowableColumn<Uint8Array>>();
  private readonly pkField: FieldSchema;
  private readonly parsedJson = new Map<number, unknown[]>();
  /** Rows matching a filter (by filterKey), for the row count it was evaluated at; oldest use first. */
  private readonly filterResults = new Map<string, { rowCount: number; matching: Bitset }>();
  private bytesHeld = 0;
  /** Vector indexes by field id (sealed segments whose index is built). */
  readonly vectorIndexes = new Map<number, LoadedVectorIndex>();
  /** Reads using the segment now; a retired segment frees its indexes when the last one ends. */
  private pins = 0;
  private retired: (() => void) | undefined;

  constructor(
    readonly segmentId: bigint,
    readonly collectionId: bigint,
    readonly partitionId: bigint,
    readonly vchannel: string,
    readonly schema: CollectionSchema,
  ) {
    const pk = schema.fields.find((field) => field.isPrimaryKey);
    assert(pk !== undefined, "schema has a primary key");
    this.pkField = pk;
    for (const field of schema.fields) {
      if (field.dataType === DataType.FloatVector) {
        const dim = field.dim as number;
        this.vectors.set(field.fieldId, new GrowableColumn((n) => new Float32Array(new SharedArrayBuffer(n * 4)), INITIAL_CAPACITY_ROWS, dim));
        continue;
      }
      this.scalars.set(field.fieldId, scalarStore(field));
      if (field.nullable) this.validity.set(field.fieldId, new GrowableColumn((n) => new Uint8Array(n), INITIAL_CAPACITY_ROWS));
    }
  }

  get rowCount(): number {
    return this.rows;
  }

  /** A read holds the segment (its indexes stay loaded until unpin). */
  pin(): void {
    this.pins += 1;
  }

  unpin(): void {
    this.pins -= 1;
    if (this.pins === 0 && this.retired !== undefined) {
      const release = this.retired;
      this.retired = undefined;
      release();
    }
  }

  /** The segment left its replica: `release` runs once no read holds it. */
  retire(release: () => void): void {
    if (this.pins === 0) release();
    else this.retired = release;
  }

  /** Approximate bytes held (columns at their capacity, index entries estimated, cached filter results). */
  get memoryBytes(): number {
    let filterBytes = 0;
    for (const entry of this.filterResults.values()) filterBytes += entry.matching.bytes.length;
    return this.bytesHeld + filterBytes;
  }

  /**
   * The rows among the first `rowCount` that matched the filter with this key when it was last
   * evaluated on exactly `rowCount` rows (a row's values never change, so the answer cannot either;
   * deletes are the visibility's business). Undefined when not kept.
   */
  cachedFilterResult(key: string, rowCount: number): Bitset | undefined {
    const entry = this.filterResults.get(key);
    if (entry === undefined || entry.rowCount !== rowCount) return undefined;
    this.filterResults.delete(key);
    this.filterResults.set(key, entry);
    return entry.matching;
  }

  /** Keeps a filter's result (frozen) for `rowCount` rows; at most `entriesMax` kept, the least recently used dropped. */
  keepFilterResult(key: string, rowCount: number, matching: Bitset, entriesMax: number): void {
    assert(matching.length === rowCount, "a kept filter result covers the row count it was evaluated at");
    this.filterResults.delete(key);
    if (entriesMax < 1) return;
    while (this.filterResults.size >= entriesMax) {
      const oldest = this.filterResults.keys().next().value as string;
      this.filterResults.delete(oldest);
    }
    this.filterResults.set(key, { rowCount, matching: matching.freeze() });
  }

  /**
   * Appends the rows of one InsertMsg written at `ts` (or of a binlog, one timestamp per row). Rows must
   * arrive in timestamp order.
   * Columns are matched by field id; every schema field must be present.
   */
  append(columns: readonly Column[], rowCount: number, ts: Timestamp | BigUint64Array): void {
    const start = this.rows;
    const end = start + rowCount;
    this.insertTs.ensure(end);
    this.deleteTs.ensure(end);
    if (typeof ts === "bigint") {
      this.insertTs.data.fill(ts, start, end);
    } else {
      assert(ts.length === rowCount, "one timestamp per row");
      assert(rowCount === 0 || start === 0 || (ts[0] as bigint) >= (this.insertTs.data[start - 1] as bigint), "rows arrive in timestamp order");
      this.insertTs.data.set(ts, start);
    }
    const byField = new Map(columns.map((column) => [column.fieldId, column]));
    for (const field of this.schema.fields) {
      const column = byField.get(field.fieldId);
      assert(column !== undefined && column.type === field.dataType, `insert carries field ${field.name}`);
      if (column.type === DataType.FloatVector) {
        const store = this.vectors.get(field.fieldId) as GrowableColumn<Float32Array>;
        store.ensure(end);
        store.data.set(column.values, start * column.dim);
        continue;
      }
      const store = this.scalars.get(field.fieldId) as ScalarStore;
      if (store.kind === "typed") {
        store.column.ensure(end);
        (store.column.data as unknown as { set(values: ArrayLike<unknown>, offset: number): void }).set(column.values as ArrayLike<unknown>, start);
      } else if (store.kind === "strings") {
        for (const value of column.values as string[]) store.values.push(value);
      } else {
        for (const value of column.values as Uint8Array[]) store.values.push(value);
      }
      const validity = this.validity.get(field.fieldId);
      if (validity !== undefined) {
        validity.ensure(end);
        if (column.valid === undefined) validity.data.fill(1, start, end);
        else validity.data.set(column.valid, start);
      }
    }
    const keys = (byField.get(this.pkField.fieldId) as Column).values as BigInt64Array | string[];
    for (let i = 0; i < rowCount; i++) {
      const key = keys[i] as PrimaryKey;
      const list = this.pkIndex.get(key);
      if (list === undefined) this.pkIndex.set(key, [start + i]);
      else list.push(start + i);
    }
    this.rows = end;
    this.recomputeBytes();
  }

  /**
   * Applies a tombstone (pk, ts) to every version of pk written strictly before ts. Returns how many rows
   * it newly deleted. Applying the same tombstone twice changes nothing.
   */
  applyDelete(key: PrimaryKey, ts: Timestamp): number {
    const rows = this.pkIndex.get(key);
    if (rows === undefined) return 0;
    let deleted = 0;
    for (const row of rows) {
      if ((this.insertTs.data[row] as bigint) >= ts) continue;
      const current = this.deleteTs.data[row] as bigint;
      if (current !== 0n && current <= ts) continue; // an earlier tombstone already applies; it decides visibility
      // Tombstones loaded from delta logs may come in any order: the earliest one is kept.
      this.deleteTs.data[row] = ts;
      this.deleteVersion += 1;
      if (ts > this.deleteTsMax) this.deleteTsMax = ts;
      if (current === 0n) {
        this.deletedRows.push(row);
        deleted += 1;
      }
    }
    return deleted;
  }

  /** Every applied tombstone as (primary key, earliest delete timestamp) of the rows it hit. */
  tombstones(): Array<[PrimaryKey, Timestamp]> {
    return this.deletedRows.map((row) => [this.primaryKeyOf(row), this.deleteTs.data[row] as bigint]);
  }

  /** The row count a snapshot taken now sees (rows are appended in timestamp order, all <= tsafe). */
  snapshotRowCount(): number {
    return this.rows;
  }

  /**
   * Rows visible at snapshot `ts` among the first `rowCount` rows, as a frozen bitset shared with
   * workers (and, in the steady state, with other reads: never modify it). Cost: O(rows / 8) to fill
   * plus O(deleted rows); nothing when the steady state's set is still current. Rows past rowCount
   * stay clear.
   */
  visibility(ts: Timestamp, rowCount: number): Bitset {
    assert(Number.isInteger(rowCount) && rowCount >= 0 && rowCount <= this.rows, "visibility covers rows the segment holds");
    const steady = (rowCount === 0 || (this.insertTs.data[rowCount - 1] as bigint) <= ts) && this.deleteTsMax <= ts;
    if (!steady) return this.visibleRows(ts, rowCount).freeze();
    const cached = this.steadyVisibility;
    if (cached !== undefined && cached.rowCount === rowCount && cached.deleteVersion === this.deleteVersion) return cached.visible;
    const visible = this.visibleRows(ts, rowCount).freeze();
    this.steadyVisibility = { rowCount, deleteVersion: this.deleteVersion, visible };
    return visible;
  }

  private visibleRows(ts: Timestamp, rowCount: number): Bitset {
    const set = new Bitset(rowCount, { shared: true });
    set.fill();
    const insertTs = this.insertTs.data;
    // Rows are in timestamp order, so rows inserted after ts form a suffix.
    let visibleEnd = rowCount;
    while (visibleEnd > 0 && (insertTs[visibleEnd - 1] as bigint) > ts) visibleEnd -= 1;
    for (let row = visibleEnd; row < rowCount; row++) set.delete(row);
    const deleteTs = this.deleteTs.data;
    for (const row of this.deletedRows) {
      if (row < rowCount && (deleteTs[row] as bigint) <= ts) set.delete(row);
    }
    return set;
  }

  /** True when `row` is visible at snapshot `ts`. */
  isVisible(row: number, ts: Timestamp): boolean {
    if (row >= this.rows || (this.insertTs.data[row] as bigint) > ts) return false;
    const deleted = this.deleteTs.data[row] as bigint;
    return deleted === 0n || deleted > ts;
  }

  /** Rows holding `key` (every version, visible or not). */
  rowsOfKey(key: PrimaryKey): readonly number[] {
    return this.pkIndex.get(key) ?? [];
  }

  insertTsOf(row: number): Timestamp {
    return this.insertTs.data[row] as bigint;
  }

  /** The primary-key column (valid for rows below rowCount), without a copy. */
  primaryKeyColumn(): ArrayLike<PrimaryKey> {
    const store = this.scalars.get(this.pkField.fieldId) as ScalarStore;
    if (store.kind === "strings") return store.values;
    return (store as { column: GrowableColumn<BigInt64Array> }).column.data;
  }

  primaryKeyOf(row: number): PrimaryKey {
    const store = this.scalars.get(this.pkField.fieldId) as ScalarStore;
    if (store.kind === "strings") return store.values[row] as string;
    return (store as { column: GrowableColumn<BigInt64Array> }).column.data[row] as bigint;
  }

  /** The vector storage of a field: rows × dim floats in a SharedArrayBuffer (valid for rowCount rows). */
  vectorData(fieldId: number): Float32Array {
    const store = this.vectors.get(fieldId);
    assert(store !== undefined, `field ${fieldId} is a vector field`);
    return store.data;
  }

  /**
   * The stored column of a scalar field over rows [0, rowCount) (views, not copies: valid until the next
   * append), with its validity mask for nullable fields. JSON values are parsed once and cached.
   */
  columnView(field: FieldSchema, rowCount: number): ScalarColumnView {
    const store = this.scalars.get(field.fieldId);
    assert(store !== undefined, `field ${field.name} is a scalar field of this segment`);
    const valid = this.validity.get(field.fieldId)?.data.subarray(0, rowCount);
    const withValid = valid === undefined ? {} : { valid };
    if (store.kind === "strings") return { kind: "strings", values: store.values, rowCount, ...withValid };
    if (store.kind === "json") {
      let cache = this.parsedJson.get(field.fieldId);
      if (cache === undefined) this.parsedJson.set(field.fieldId, (cache = []));
      const decoder = new TextDecoder();
      for (let row = cache.length; row < rowCount; row++) cache.push(JSON.parse(decoder.decode(store.values[row])) as unknown);
      return { kind: "json", values: cache, rowCount, ...withValid };
    }
    const values = store.column.data.subarray(0, rowCount) as Extract<ScalarColumnView, { kind: "typed" }>["values"];
    return { kind: "typed", values, rowCount, ...withValid };
  }

  /** The value of a field at a row, as the public APIs return it (null for a null value). */
  valueOf(field: FieldSchema, row: number): unknown {
    const validity = this.validity.get(field.fieldId);
    if (validity !== undefined && validity.data[row] === 0) return null;
    if (field.dataType === DataType.FloatVector) {
      const dim = field.dim as number;
      return Array.from(this.vectorData(field.fieldId).subarray(row * dim, (row + 1) * dim));
    }
    const store = this.scalars.get(field.fieldId) as ScalarStore;
    if (store.kind === "strings") return store.values[row];
    if (store.kind === "json") return JSON.parse(new TextDecoder().decode(store.values[row])) as unknown;
    const value = store.column.data[row];
    if (field.dataType === DataType.Bool) return value === 1;
    return value;
  }

  private recomputeBytes(): void {
    let bytes = this.insertTs.data.byteLength + this.deleteTs.data.byteLength;
    for (const store of this.vectors.values()) bytes += store.data.byteLength;
    for (const store of this.scalars.values()) {
      if (store.kind === "typed") bytes += store.column.data.byteLength;
    }
    for (const store of this.validity.values()) bytes += store.data.byteLength;
    // Strings, JSON and the key index: estimated per row.
    bytes += this.rows * (this.stringBytesPerRowEstimate + 48);
    this.bytesHeld = bytes;
  }

  private get stringBytesPerRowEstimate(): number {
    let bytes = 0;
    for (const store of this.scalars.values()) {
      if (store.kind === "strings") bytes += 40;
      if (store.kind === "json") bytes += 80;
    }
    return bytes;
  }
}

function scalarStore(field: FieldSchema): ScalarStore {
  const typed = <T extends Growable>(make: (n: number) => T): ScalarStore => ({ kind: "typed", column: new GrowableColumn<Growable>(make, INITIAL_CAPACITY_ROWS) });
  switch (field.dataType) {
    case DataType.Bool:
      return typed((n) => new Uint8Array(n));
    case DataType.Int8:
      return typed((n) => new Int8Array(n));
    case DataType.Int16:
      return typed((n) => new Int16Array(n));
    case DataType.Int32:
      return typed((n) => new Int32Array(n));
    case DataType.Int64:
      return typed((n) => new BigInt64Array(n));
    case DataType.Float:
      return typed((n) => new Float32Array(n));
    case DataType.Double:
      return typed((n) => new Float64Array(n));
    case DataType.VarChar:
      return { kind: "strings", values: [] };
    case DataType.JSON:
      return { kind: "json", values: [] };
    default:
      throw new Error(`no scalar store for ${field.dataType}`);
  }
}
