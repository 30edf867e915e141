// Turns a comparison of a numeric column with a literal into one closed interval, so each column
// kernel runs a single `lo <= v && v <= hi` test (and `!=` is the complement of `==`). For double
// columns an open bound moves to the next representable double; for Int64 columns it moves to the next
// integer, with non-integral literals rounded the exact way (x > 1.5 is x >= 2). Invariant: for every
// value v of the column type, v is in the interval exactly when the comparison holds.

import type { CompareOp, RangeBound, ScalarLiteral } from "./ast.ts";

export interface NumberInterval {
  lo: number;
  hi: number;
}

export interface Int64Interval {
  lo: bigint;
  hi: bigint;
}

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

const EMPTY_NUMBERS: NumberInterval = { lo: Infinity, hi: -Infinity };
/** The smallest double greater than x (x finite or -Infinity). */
export function nextUp(x: number): number {
  if (x === -Infinity) return -Number.MAX_VALUE;
  if (x === 0) return Number.MIN_VALUE;
  const double = new Float64Array([x]);
  const bits = new BigInt64Array(double.buffer);
  bits[0] = (bits[0] as bigint) + (x > 0 ? 1n : -1n);
  return double[0] as number;
}

export function nextDown(x: number): number {
  return -nextUp(-x);
}

function numberOf(literal: ScalarLiteral): number {
  if (typeof literal === "boolean") return literal ? 1 : 0;
  return Number(literal);
}

/** The interval of doubles satisfying `v op literal` (`!=` is not an interval: ask for `==` and negate). */
export function numberInterval(op: Exclude<CompareOp, "!=">, literal: ScalarLiteral): NumberInterval {
  const c = numberOf(literal);
  if (Number.isNaN(c)) return EMPTY_NUMBERS;
  switch (op) {
    case "==":
      return { lo: c, hi: c };
    case "<":
      return c === -Infinity ? EMPTY_NUMBERS : { lo: -Infinity, hi: nextDown(c) };
    case "<=":
      return { lo: -Infinity, hi: c };
    case ">":
      return c === Infinity ? EMPTY_NUMBERS : { lo: nextUp(c), hi: Infinity };
    case ">=":
      return { lo: c, hi: Infinity };
  }
}

export function numberRangeInterval(lower: RangeBound | undefined, upper: RangeBound | undefined): NumberInterval {
  const low = lower === undefined ? { lo: -Infinity, hi: Infinity } : numberInterval(lower.inclusive ? ">=" : ">", lower.value);
  const high = upper === undefined ? { lo: -Infinity, hi: Infinity } : numberInterval(upper.inclusive ? "<=" : "<", upper.value);
  return { lo: Math.max(low.lo, high.lo), hi: Math.min(low.hi, high.hi) };
}

/** The interval of Int64 values satisfying `v op literal`; lo > hi when none does. */
export function int64Interval(op: Exclude<CompareOp, "!=">, literal: ScalarLiteral): Int64Interval {
  const empty = { lo: INT64_MAX, hi: INT64_MIN };
  let floor: bigint;
  let ceil: bigint;
  if (typeof literal === "bigint") {
    floor = literal;
    ceil = literal;
  } else {
    const c = numberOf(literal);
    if (Number.isNaN(c)) return empty;
    if (c === Infinity || c === -Infinity) {
      const above = c === Infinity;
      // Every Int64 is below +Infinity and above -Infinity.
      if (op === "==") return empty;
      const all = { lo: INT64_MIN, hi: INT64_MAX };
      return (op === "<" || op === "<=") === above ? all : empty;
    }
    floor = BigInt(Math.floor(c));
    ceil = BigInt(Math.ceil(c));
  }
  let lo: bigint;
  let hi: bigint;
  switch (op) {
    case "==":
      if (floor !== ceil) return empty;
      lo = floor;
      hi = floor;
      break;
    case "<":
      lo = INT64_MIN;
      hi = ceil - 1n;
      break;
    case "<=":
      lo = INT64_MIN;
      hi = floor;
      break;
    case ">":
      lo = floor + 1n;
      hi = INT64_MAX;
      break;
    case ">=":
      lo = ceil;
      hi = INT64_MAX;
      break;
  }
  lo = lo < INT64_MIN ? INT64_MIN : lo;
  hi = hi > INT64_MAX ? INT64_MAX : hi;
  return lo > hi ? empty : { lo, hi };
}

export function int64RangeInterval(lower: RangeBound | undefined, upper: RangeBound | undefined): Int64Interval {
  const low = lower === undefined ? { lo: INT64_MIN, hi: INT64_MAX } : int64Interval(lower.inclusive ? ">=" : ">", lower.value);
  const high = upper === undefined ? { lo: INT64_MIN, hi: INT64_MAX } : int64Interval(upper.inclusive ? "<=" : "<", upper.value);
  const lo = low.lo > high.lo ? low.lo : high.lo;
  const hi = low.hi < high.hi ? low.hi : high.hi;
  return lo > hi ? { lo: INT64_MAX, hi: INT64_MIN } : { lo, hi };
}
