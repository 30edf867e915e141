// Leaf predicates over one scalar column, run a chunk of rows at a time: tight loops over the column's
// typed array (or string array) that write one bit per row, eight rows per byte. Each kernel returns
// the chunk's three-valued bits: a null row is UNKNOWN for comparisons, `in` and `like`, and never TRUE.
// Invariant: bits are chunk-relative (bit 0 is row `start`) and nothing at or beyond `end - start` is
// set; a kernel reads only rows [start, end) of its column. Rows whose `care` bit is clear do not
// matter to the caller: the costlier kernels (strings) skip them and leave them FALSE.

import type { ScalarColumnView } from "./column-source.ts";
import type { Int64Interval, NumberInterval } from "./intervals.ts";
import { likeMatches, type LikeMatcher } from "./like-matcher.ts";
import { compareCodePoints, utf16OrderIsCodePointOrder } from "./order.ts";
import { chunkBytes, clearTail, packNulls, withNulls, type TriBits } from "./tri-bits.ts";
import { assert } from "../common/errors.ts";

/**
 * Evaluates a predicate over rows [start, end) of a segment. `care` (chunk-relative bits): rows the
 * caller will use; the others may come back with any value. Undefined: every row matters.
 */
export type Kernel = (start: number, end: number, care?: Uint8Array) => TriBits;

type TypedView = Extract<ScalarColumnView, { kind: "typed" }>;
type StringView = Extract<ScalarColumnView, { kind: "strings" }>;
type NumberArray = Exclude<TypedView["values"], BigInt64Array>;

// The Int64 kernels read each value as two 32-bit words, low word first.
assert(new Uint8Array(new Uint32Array([1]).buffer)[0] === 1, "the platform is little-endian");

function finish(truth: Uint8Array, count: number, negate: boolean, valid: Uint8Array | undefined, start: number, end: number): TriBits {
  if (negate) {
    for (let i = 0; i < truth.length; i++) truth[i] = ~(truth[i] as number);
    clearTail(truth, count);
  }
  return withNulls(truth, packNulls(valid, start, end));
}

// ---- number columns (Int8, Int16, Int32, Float, Double; Bool as 0/1) ----

function fillNumberInterval(values: NumberArray, lo: number, hi: number, start: number, end: number, out: Uint8Array): void {
  const whole = (end - start) >>> 3;
  let row = start;
  for (let byte = 0; byte < whole; byte++, row += 8) {
    let bits = 0;
    for (let bit = 0; bit < 8; bit++) {
      const value = values[row + bit] as number;
      // Branch-free: random data would mispredict a branch on every other row. NaN gives 0.
      bits |= (+(value >= lo) & +(value <= hi)) << bit;
    }
    out[byte] = bits;
  }
  let bits = 0;
  for (let bit = 0; row < end; bit++, row++) {
    const value = values[row] as number;
    bits |= (+(value >= lo) & +(value <= hi)) << bit;
  }
  if (whole < out.length) out[whole] = bits;
}

/** `lo <= v <= hi` (negated: `!(lo <= v <= hi)`) over a numeric column other than Int64. */
export function numberIntervalKernel(view: TypedView, interval: NumberInterval, negate: boolean): Kernel {
  const values = view.values as NumberArray;
  const { lo, hi } = interval;
  return (start, end) => {
    const count = end - start;
    const truth = new Uint8Array(chunkBytes(count));
    if (lo <= hi) fillNumberInterval(values, lo, hi, start, end, truth);
    return finish(truth, count, negate, view.valid, start, end);
  };
}

// ---- Int64 columns ----

function fillInt64Interval(words: Int32Array, lo: bigint, hi: bigint, start: number, end: number, out: Uint8Array): void {
  const loHigh = Number(BigInt.asIntN(32, lo >> 32n));
  const loLow = Number(BigInt.asUintN(32, lo));
  const hiHigh = Number(BigInt.asIntN(32, hi >> 32n));
  const hiLow = Number(BigInt.asUintN(32, hi));
  const whole = (end - start) >>> 3;
  let row = start;
  for (let byte = 0; byte <= whole; byte++) {
    const limit = Math.min(8, end - row);
    let bits = 0;
    for (let bit = 0; bit < limit; bit++) {
      const high = words[2 * (row + bit) + 1] as number;
      const low = (words[2 * (row + bit)] as number) >>> 0;
      // (high, low) >= (loHigh, loLow) and <= (hiHigh, hiLow), lexicographically, without branches.
      const aboveLow = +(high > loHigh) | (+(high === loHigh) & +(low >= loLow));
      const belowHigh = +(high < hiHigh) | (+(high === hiHigh) & +(low <= hiLow));
      bits |= (aboveLow & belowHigh) << bit;
    }
    if (byte < out.length) out[byte] = bits;
    row += 8;
  }
}

/** `lo <= v <= hi` over an Int64 column, compared as (signed high word, unsigned low word) pairs: exact, and no BigInt per row. */
export function int64IntervalKernel(view: TypedView, interval: Int64Interval, negate: boolean): Kernel {
  const values = view.values as BigInt64Array;
  const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
  const { lo, hi } = interval;
  return (start, end) => {
    const count = end - start;
    const truth = new Uint8Array(chunkBytes(count));
    if (lo <= hi) fillInt64Interval(words, lo, hi, start, end, truth);
    return finish(truth, count, negate, view.valid, start, end);
  };
}

/** |high word| below this: the value is within ±2^53, exact as a double. */
const SAFE_HIGH_WORD = 2 ** 21;

function fillInt64Set(values: BigInt64Array, words: Int32Array, safeKeys: ReadonlySet<number>, keys: ReadonlySet<bigint>, start: number, end: number, out: Uint8Array): void {
  for (let row = start; row < end; row++) {
    const high = words[2 * row + 1] as number;
    // A Set of doubles is several times faster than a Set of BigInts; values beyond 2^53 take the BigInt set.
    const found = high >= -SAFE_HIGH_WORD && high < SAFE_HIGH_WORD ? safeKeys.has(high * 4294967296 + ((words[2 * row] as number) >>> 0)) : keys.has(values[row] as bigint);
    if (found) out[(row - start) >>> 3] = (out[(row - start) >>> 3] as number) | (1 << ((row - start) & 7));
  }
}

/** `v in keys` over an Int64 column. */
export function int64SetKernel(view: TypedView, keys: ReadonlySet<bigint>, negate: boolean): Kernel {
  const values = view.values as BigInt64Array;
  const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
  const safeKeys = new Set<number>();
  for (const key of keys) if (key > -(2n ** 53n) && key < 2n ** 53n) safeKeys.add(Number(key));
  return (start, end) => {
    const count = end - start;
    const truth = new Uint8Array(chunkBytes(count));
    if (keys.size > 0) fillInt64Set(values, words, safeKeys, keys, start, end, truth);
    return finish(truth, count, negate, view.valid, start, end);
  };
}

/** `v in set` over a numeric column other than Int64 (Bool as 0/1). */
export function numberSetKernel(view: TypedView, set: ReadonlySet<number>, negate: boolean): Kernel {
  const values = view.values as NumberArray;
  return (start, end) => {
    const count = end - start;
    const truth = new Uint8Array(chunkBytes(count));
    if (set.size > 0) {
      for (let row = start; row < end; row++) {
        if (set.has(values[row] as number)) truth[(row - start) >>> 3] = (truth[(row - start) >>> 3] as number) | (1 << ((row - start) & 7));
      }
    }
    return finish(truth, count, negate, view.valid, start, end);
  };
}

// ---- VarChar columns ----

/**
 * Runs `test` on the strings of rows [start, end) whose care byte is non-zero, and packs the answers.
 * One loop per test shape keeps each call site monomorphic.
 */
function fillStrings(values: readonly string[], start: number, end: number, care: Uint8Array | undefined, out: Uint8Array, test: (value: string) => boolean): void {
  const count = end - start;
  for (let byte = 0; byte < out.length; byte++) {
    if (care !== undefined && care[byte] === 0) continue;
    const first = start + (byte << 3);
    const limit = Math.min(8, count - (byte << 3));
    let bits = 0;
    const wanted = care === undefined ? 0xff : (care[byte] as number);
    for (let bit = 0; bit < limit; bit++) if ((wanted >>> bit) & 1 && test(values[first + bit] as string)) bits |= 1 << bit;
    out[byte] = bits;
  }
}

function fillStringEqual(values: readonly string[], literal: string, start: number, end: number, care: Uint8Array | undefined, out: Uint8Array): void {
  const count = end - start;
  for (let byte = 0; byte < out.length; byte++) {
    if (care !== undefined && care[byte] === 0) continue;
    const first = start + (byte << 3);
    const limit = Math.min(8, count - (byte << 3));
    let bits = 0;
    for (let bit = 0; bit < limit; bit++) if (values[first + bit] === literal) bits |= 1 << bit;
    out[byte] = bits;
  }
}

/** `s == literal` over a VarChar column (negated: `!=`). */
export function stringEqualKernel(view: StringView, literal: string, negate: boolean): Kernel {
  const values = view.values;
  return (start, end, care) => {
    const count = end - start;
    const truth = new Uint8Array(chunkBytes(count));
    fillStringEqual(values, literal, start, end, care, truth);
    return finish(truth, count, negate, view.valid, start, end);
  };
}

export interface StringBound {
  value: string;
  inclusive: boolean;
}

/** `lower <(=) s <(=) upper` by code point order over a VarChar column; either bound may be absent. */
export function stringIntervalKernel(view: StringView, lower: StringBound | undefined, upper: StringBound | undefined): Kernel {
  const values = view.values;
  // UTF-16 comparison gives the code point order when the bounds hold no unit at or above U+D800.
  const native = (lower === undefined || utf16OrderIsCodePointOrder(lower.value)) && (upper === undefined || utf16OrderIsCodePointOrder(upper.value));
  const order = (a: string, b: string): number => (native ? (a < b ? -1 : a > b ? 1 : 0) : compareCodePoints(a, b));
  const test = (value: string): boolean => {
    if (lower !== undefined) {
      const side = order(value, lower.value);
      if (lower.inclusive ? side < 0 : side <= 0) return false;
    }
    if (upper !== undefined) {
      const side = order(value, upper.value);
      if (upper.inclusive ? side > 0 : side >= 0) return false;
    }
    return true;
  };
  return (start, end, care) => {
    const count = end - start;
    const truth = new Uint8Array(chunkBytes(count));
    fillStrings(values, start, end, care, truth, test);
    return finish(truth, count, false, view.valid, start, end);
  };
}

function fillStringSet(values: readonly string[], set: ReadonlySet<string>, start: number, end: number, care: Uint8Array | undefined, out: Uint8Array): void {
  const count = end - start;
  for (let byte = 0; byte < out.length; byte++) {
    if (care !== undefined && care[byte] === 0) continue;
    const first = start + (byte << 3);
    const limit = Math.min(8, count - (byte << 3));
    let bits = 0;
    const wanted = care === undefined ? 0xff : (care[byte] as number);
    for (let bit = 0; bit < limit; bit++) if ((wanted >>> bit) & 1 && set.has(values[first + bit] as string)) bits |= 1 << bit;
    out[byte] = bits;
  }
}

export function stringSetKernel(view: StringView, set: ReadonlySet<string>, negate: boolean): Kernel {
  const values = view.values;
  return (start, end, care) => {
    const count = end - start;
    const truth = new Uint8Array(chunkBytes(count));
    if (set.size > 0) fillStringSet(values, set, start, end, care, truth);
    return finish(truth, count, negate, view.valid, start, end);
  };
}

function fillPrefix(values: readonly string[], prefix: string, start: number, end: number, care: Uint8Array | undefined, out: Uint8Array): void {
  const count = end - start;
  for (let byte = 0; byte < out.length; byte++) {
    if (care !== undefined && care[byte] === 0) continue;
    const first = start + (byte << 3);
    const limit = Math.min(8, count - (byte << 3));
    let bits = 0;
    const wanted = care === undefined ? 0xff : (care[byte] as number);
    for (let bit = 0; bit < limit; bit++) if ((wanted >>> bit) & 1 && (values[first + bit] as string).startsWith(prefix)) bits |= 1 << bit;
    out[byte] = bits;
  }
}

export function likeKernel(view: StringView, matcher: LikeMatcher): Kernel {
  const values = view.values;
  const test = (value: string): boolean => likeMatches(matcher, value);
  return (start, end, care) => {
    const count = end - start;
    const truth = new Uint8Array(chunkBytes(count));
    if (matcher.kind === "prefix") fillPrefix(values, matcher.text, start, end, care, truth);
    else if (matcher.kind === "equal") fillStringEqual(values, matcher.text, start, end, care, truth);
    else fillStrings(values, start, end, care, truth, test);
    return finish(truth, count, false, view.valid, start, end);
  };
}

// ---- any column ----

/** `is null` (negated: `is not null`) over any column: always TRUE or FALSE, never UNKNOWN. */
export function isNullKernel(view: ScalarColumnView, negated: boolean): Kernel {
  const valid = view.valid;
  return (start, end) => {
    const count = end - start;
    const truth = new Uint8Array(chunkBytes(count));
    if (valid !== undefined) {
      for (let row = start; row < end; row++) if (valid[row] === 0) truth[(row - start) >>> 3] = (truth[(row - start) >>> 3] as number) | (1 << ((row - start) & 7));
    }
    if (negated) {
      for (let i = 0; i < truth.length; i++) truth[i] = ~(truth[i] as number);
      clearTail(truth, count);
    }
    return { truth, unknown: undefined };
  };
}
