// A compact set of allowed row indexes, one bit per row, for searches: the query node combines its
// scalar filter and the MVCC visibility rule into one Bitset per segment and the top-k scan skips
// every row whose bit is clear. Bit r lives in bytes[r >> 3] at (r & 7), least significant first.
// Set means allowed (Milvus's bitset means the opposite: set = filtered out). Invariant: no bit at or
// beyond `length` is ever set, so counts and byte-wise scans need no masking.
//
// A set may be frozen once built (`freeze()`): it then never changes again, so one instance can be
// handed to many concurrent reads (a segment's cached visibility) and its count is kept.

import { assert, invalidArgument } from "../../common/errors.ts";

export class Bitset {
  /** Number of rows covered. */
  readonly length: number;
  /** ceil(length / 8) bytes; shared between threads when built with `shared: true`. */
  readonly bytes: Uint8Array;
  /** The count, kept once the set is frozen (undefined while it may still change). */
  private frozenCount: number | undefined;

  constructor(length: number, options: { shared?: boolean } = {}) {
    if (!Number.isInteger(length) || length < 0) throw invalidArgument(`bitset length must be a non-negative integer, got ${length}`);
    this.length = length;
    const byteLength = (length + 7) >>> 3;
    this.bytes = new Uint8Array(options.shared === true ? new SharedArrayBuffer(byteLength) : new ArrayBuffer(byteLength));
  }

  /** A bitset over existing packed bytes (for example received from another thread). */
  static fromBytes(bytes: Uint8Array, length: number): Bitset {
    if (bytes.length !== (length + 7) >>> 3) throw invalidArgument(`bitset of ${length} rows needs ${(length + 7) >>> 3} bytes, got ${bytes.length}`);
    const set = Object.create(Bitset.prototype) as { length: number; bytes: Uint8Array };
    set.length = length;
    set.bytes = bytes;
    const tail = length & 7;
    if (tail !== 0 && ((bytes[bytes.length - 1] as number) >>> tail) !== 0) {
      throw invalidArgument(`bitset of ${length} rows has bits set beyond its length`);
    }
    return set as Bitset;
  }

  /** From a one-byte-per-row mask (non-zero = allowed), such as a column's validity. */
  static fromMask(mask: Uint8Array, options: { shared?: boolean } = {}): Bitset {
    const set = new Bitset(mask.length, options);
    for (let row = 0; row < mask.length; row++) if (mask[row] !== 0) set.add(row);
    return set;
  }

  /** The rows in both `a` and `b` (of equal length), as a new set: 32 bits at a time where aligned. */
  static intersection(a: Bitset, b: Bitset, options: { shared?: boolean } = {}): Bitset {
    if (a.length !== b.length) throw invalidArgument(`cannot intersect bitsets of ${a.length} and ${b.length} rows`);
    const out = new Bitset(a.length, options);
    const bytes = out.bytes;
    const left = a.bytes;
    const right = b.bytes;
    let byte = 0;
    if ((left.byteOffset & 3) === 0 && (right.byteOffset & 3) === 0) {
      const words = bytes.length >>> 2;
      const outWords = new Uint32Array(bytes.buffer, bytes.byteOffset, words);
      const leftWords = new Uint32Array(left.buffer, left.byteOffset, words);
      const rightWords = new Uint32Array(right.buffer, right.byteOffset, words);
      for (let word = 0; word < words; word++) outWords[word] = (leftWords[word] as number) & (rightWords[word] as number);
      byte = words << 2;
    }
    for (; byte < bytes.length; byte++) bytes[byte] = (left[byte] as number) & (right[byte] as number);
    return out;
  }

  has(row: number): boolean {
    return row >= 0 && row < this.length && (((this.bytes[row >>> 3] as number) >>> (row & 7)) & 1) === 1;
  }

  add(row: number): void {
    this.checkRow(row);
    this.checkNotFrozen();
    this.bytes[row >>> 3] = (this.bytes[row >>> 3] as number) | (1 << (row & 7));
  }

  delete(row: number): void {
    this.checkRow(row);
    this.checkNotFrozen();
    this.bytes[row >>> 3] = (this.bytes[row >>> 3] as number) & ~(1 << (row & 7));
  }

  /** Allows every row. */
  fill(): void {
    this.checkNotFrozen();
    this.bytes.fill(0xff);
    const tail = this.length & 7;
    if (tail !== 0) this.bytes[this.bytes.length - 1] = (1 << tail) - 1;
  }

  /** Number of allowed rows: O(length / 32), or O(1) once frozen. */
  count(): number {
    return this.frozenCount ?? countBits(this.bytes);
  }

  /**
   * Makes the set immutable (add, delete and fill then fail as a broken invariant) and keeps its count:
   * it may now be shared by concurrent reads. Returns the set.
   */
  freeze(): this {
    this.frozenCount ??= countBits(this.bytes);
    return this;
  }

  get frozen(): boolean {
    return this.frozenCount !== undefined;
  }

  private checkNotFrozen(): void {
    assert(this.frozenCount === undefined, "a frozen bitset is never modified");
  }

  private checkRow(row: number): void {
    if (!Number.isInteger(row) || row < 0 || row >= this.length) throw invalidArgument(`row ${row} is outside the bitset of ${this.length} rows`);
  }
}

/** Set bits in `bytes`: 32 at a time where the view is 4-byte aligned (a search counts 100,000-row sets). */
function countBits(bytes: Uint8Array): number {
  let total = 0;
  let byte = 0;
  if ((bytes.byteOffset & 3) === 0) {
    const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
    for (let i = 0; i < words.length; i++) {
      let value = words[i] as number;
      if (value === 0) continue;
      value -= (value >>> 1) & 0x55555555;
      value = (value & 0x33333333) + ((value >>> 2) & 0x33333333);
      total += Math.imul((value + (value >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
    }
    byte = words.length << 2;
  }
  for (; byte < bytes.length; byte++) {
    let value = bytes[byte] as number;
    value -= (value >>> 1) & 0x55;
    value = (value & 0x33) + ((value >>> 2) & 0x33);
    total += (value + (value >>> 4)) & 0x0f;
  }
  return total;
}
