// Ordering rules shared by the checker (constant folding) and the evaluator: numbers compare by exact
// mathematical value even across bigint and double (so an Int64 beyond 2^53 is never rounded), and
// strings compare by Unicode code point, which is the byte order of their UTF-8 encoding — the order
// Milvus uses — rather than JavaScript's UTF-16 code-unit order.

import type { CompareOp } from "./ast.ts";

/** -1, 0 or 1 by exact value; undefined when either side is NaN (NaN is unordered and unequal). */
export function compareNumbers(a: bigint | number, b: bigint | number): number | undefined {
  if (typeof a === "number" && Number.isNaN(a)) return undefined;
  if (typeof b === "number" && Number.isNaN(b)) return undefined;
  // Relational operators between bigint and number are exact in JavaScript.
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

/**
 * Code point order (a lone surrogate counts as the code point of its unit, as String.codePointAt
 * reads it). The UTF-16 order differs from it only where a surrogate meets a unit in U+E000–U+FFFF at
 * the first difference, so only that case decodes code points.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  let i = 0;
  while (i < length && a.charCodeAt(i) === b.charCodeAt(i)) i += 1;
  if (i === length) return a.length - b.length;
  const x = a.charCodeAt(i);
  const y = b.charCodeAt(i);
  if (x < 0xd800 && y < 0xd800) return x - y;
  if (i > 0) {
    // The equal unit before may be a high surrogate that pairs with one side's unit and not the other's.
    const previous = a.charCodeAt(i - 1);
    if (previous >= 0xd800 && previous <= 0xdbff) {
      const difference = (a.codePointAt(i - 1) as number) - (b.codePointAt(i - 1) as number);
      if (difference !== 0) return difference;
    }
  }
  return (a.codePointAt(i) as number) - (b.codePointAt(i) as number);
}

/**
 * True when comparing any string with `literal` by UTF-16 code units gives the code point order: the
 * literal has no unit at or above U+D800, so the first difference is never the ambiguous case.
 */
export function utf16OrderIsCodePointOrder(literal: string): boolean {
  for (let i = 0; i < literal.length; i++) if (literal.charCodeAt(i) >= 0xd800) return false;
  return true;
}

/** Applies a comparison to an ordering result (undefined: unordered, only != holds). */
export function holds(op: CompareOp, order: number | undefined): boolean {
  if (order === undefined) return op === "!=";
  switch (op) {
    case "==":
      return order === 0;
    case "!=":
      return order !== 0;
    case "<":
      return order < 0;
    case "<=":
      return order <= 0;
    case ">":
      return order > 0;
    case ">=":
      return order >= 0;
  }
}

/** The operator that gives the same answer with its operands swapped: `5 < x` is `x > 5`. */
export function flipCompareOp(op: CompareOp): CompareOp {
  switch (op) {
    case "<":
      return ">";
    case "<=":
      return ">=";
    case ">":
      return "<";
    case ">=":
      return "<=";
    default:
      return op;
  }
}
