// Evaluates a checked filter (ast.ts) over a segment's columns and returns the matching rows as a
// Bitset. The filter is compiled once into a tree of kernels; rows are then processed in chunks of
// `evaluationChunkRows`: every leaf runs a tight loop over its column for the chunk and yields packed
// three-valued bits, which `and`/`or`/`not` combine byte by byte (tri-bits.ts). `evaluateFilter` yields
// to the event loop between chunks so a large segment never blocks it for long; `evaluateFilterSync`
// is the same without yielding, for small inputs and tests.
//
// Invariants: a row is set in the result exactly when the filter is TRUE for it (FALSE and UNKNOWN rows
// are clear), and only rows in `within`, when given; bits at or beyond rowCount stay clear; the source
// is asked for each column once per evaluation.

import { expressionDefaults, resolveLimits, type ExpressionLimits } from "../common/config.ts";
import { assert, invalidArgument } from "../common/errors.ts";
import { DataType } from "../common/schema.ts";
import { Bitset } from "../querynode/compute/bitset.ts";
import type { CompareOp, FilterExpr, RangeBound, ScalarLiteral, ValueExpr } from "./ast.ts";
import {
  int64IntervalKernel,
  int64SetKernel,
  isNullKernel,
  likeKernel,
  numberIntervalKernel,
  numberSetKernel,
  stringEqualKernel,
  stringIntervalKernel,
  stringSetKernel,
  type Kernel,
  type StringBound,
} from "./column-kernels.ts";
import type { ColumnSource, ScalarColumnView } from "./column-source.ts";
import { int64Interval, int64RangeInterval, numberInterval, numberRangeInterval } from "./intervals.ts";
import { jsonCompareKernel, jsonContainsKernel, jsonInKernel, jsonIsNullKernel, jsonLikeKernel, jsonRangeKernel } from "./json-kernels.ts";
import { compileLike } from "./like-matcher.ts";
import { andBits, chunkBytes, clearTail, constantBits, notBits, orBits, type TriBits } from "./tri-bits.ts";
import { compareKernel, rangeKernel } from "./value-vectors.ts";

export type { ColumnSource };

export interface EvaluateOptions {
  /** Only these rows can match (e.g. the rows visible at the snapshot); chunks with none are skipped. */
  within?: Bitset;
  /** Build the result over a SharedArrayBuffer (for worker threads); default true. */
  shared?: boolean;
  limits?: Partial<ExpressionLimits>;
}

/** Matching rows of [0, rowCount), yielding to the event loop between chunks. */
export async function evaluateFilter(expr: FilterExpr, source: ColumnSource, rowCount: number, options: EvaluateOptions = {}): Promise<Bitset> {
  const run = prepare(expr, source, rowCount, options);
  for (let start = 0; start < rowCount; start += run.chunkRows) {
    if (start > 0) await yieldToEventLoop();
    run.chunk(start, Math.min(start + run.chunkRows, rowCount));
  }
  return run.result;
}

/** Matching rows of [0, rowCount) in one synchronous pass: for small inputs and tests. */
export function evaluateFilterSync(expr: FilterExpr, source: ColumnSource, rowCount: number, options: EvaluateOptions = {}): Bitset {
  const run = prepare(expr, source, rowCount, options);
  for (let start = 0; start < rowCount; start += run.chunkRows) run.chunk(start, Math.min(start + run.chunkRows, rowCount));
  return run.result;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function prepare(expr: FilterExpr, source: ColumnSource, rowCount: number, options: EvaluateOptions): { chunkRows: number; result: Bitset; chunk: (start: number, end: number) => void } {
  const limits = resolveLimits(expressionDefaults, options.limits, "expression limits");
  const chunkRows = limits.evaluationChunkRows;
  if (!Number.isInteger(chunkRows) || chunkRows < 8 || chunkRows % 8 !== 0) {
    throw invalidArgument(`evaluationChunkRows must be a positive multiple of 8, got ${chunkRows}`);
  }
  if (!Number.isInteger(rowCount) || rowCount < 0) throw invalidArgument(`rowCount must be a non-negative integer, got ${rowCount}`);
  const within = options.within;
  if (within !== undefined && within.length !== rowCount) throw invalidArgument(`the within bitset covers ${within.length} rows, not ${rowCount}`);
  const result = new Bitset(rowCount, { shared: options.shared ?? true });
  const views = new Map<number, ScalarColumnView>();
  const viewOf = (value: Extract<ValueExpr, { kind: "column" | "json" }>): ScalarColumnView => {
    let view = views.get(value.field.fieldId);
    if (view === undefined) {
      view = source.columnView(value.field, rowCount);
      checkView(view, value, rowCount);
      views.set(value.field.fieldId, view);
    }
    return view;
  };
  const root = compile(expr, viewOf);
  const chunk = (start: number, end: number): void => {
    const firstByte = start >>> 3;
    const byteCount = (end - start + 7) >>> 3;
    const target = result.bytes;
    if (within === undefined) {
      target.set(root(start, end).truth, firstByte);
      return;
    }
    // Rows outside `within` need no answer: they are the kernels' care bits.
    const care = within.bytes.subarray(firstByte, firstByte + byteCount);
    if (isZero(care)) return;
    const { truth } = root(start, end, care);
    for (let i = 0; i < byteCount; i++) target[firstByte + i] = (truth[i] as number) & (care[i] as number);
  };
  return { chunkRows, result, chunk };
}

function isZero(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

/** A source's column must have the layout of its field's type, over at least rowCount rows. */
function checkView(view: ScalarColumnView, value: Extract<ValueExpr, { kind: "column" | "json" }>, rowCount: number): void {
  const field = value.field;
  const expected = field.dataType === DataType.VarChar ? "strings" : field.dataType === DataType.JSON ? "json" : "typed";
  assert(view.kind === expected, `column view of ${field.name} is ${expected}`);
  assert(view.values.length >= rowCount, `column view of ${field.name} covers ${rowCount} rows`);
  assert(view.valid === undefined || view.valid.length >= rowCount, `validity of ${field.name} covers ${rowCount} rows`);
  if (field.dataType === DataType.Int64) assert(view.values instanceof BigInt64Array, `column view of ${field.name} is a BigInt64Array`);
}

/** A rough per-row cost, to run cheap conditions before costly ones (typed columns, then strings, then JSON, then arithmetic). */
function estimatedCost(node: FilterExpr): number {
  const valueCost = (value: ValueExpr): number => {
    switch (value.kind) {
      case "literal":
        return 0;
      case "column":
        return value.type === "string" ? 3 : 1;
      case "json":
        return 6;
      case "arith":
        return 8 + valueCost(value.left) + valueCost(value.right);
    }
  };
  switch (node.kind) {
    case "const":
      return 0;
    case "compare":
      return valueCost(node.left) + valueCost(node.right);
    case "range":
    case "in":
    case "isNull":
    case "jsonContains":
      return valueCost(node.value);
    case "like":
      return valueCost(node.value) + 1;
    case "not":
      return estimatedCost(node.child);
    case "and":
    case "or":
      return node.children.reduce((sum, child) => sum + estimatedCost(child), 0);
  }
}

/**
 * The rows an and/or still has to decide, as care bits: for and, the rows not yet FALSE; for or, the
 * rows not yet TRUE; within the caller's care. Undefined when there are none (the answer is final).
 */
function openRows(bits: TriBits, isAnd: boolean, care: Uint8Array | undefined, count: number): Uint8Array | undefined {
  const open = new Uint8Array(chunkBytes(count));
  for (let i = 0; i < open.length; i++) {
    const truth = bits.truth[i] as number;
    const byte = isAnd ? truth | (bits.unknown?.[i] ?? 0) : ~truth;
    open[i] = care === undefined ? byte : byte & (care[i] as number);
  }
  clearTail(open, count);
  for (const byte of open) if (byte !== 0) return open;
  return undefined;
}

type ViewOf = (value: Extract<ValueExpr, { kind: "column" | "json" }>) => ScalarColumnView;
type TypedView = Extract<ScalarColumnView, { kind: "typed" }>;
type StringView = Extract<ScalarColumnView, { kind: "strings" }>;
type JsonView = Extract<ScalarColumnView, { kind: "json" }>;

function compile(node: FilterExpr, viewOf: ViewOf): Kernel {
  switch (node.kind) {
    case "const":
      return (start, end) => constantBits(end - start, node.value);
    case "and":
    case "or": {
      // Cheapest first: later children only run on the rows the earlier ones left open. Kleene
      // and/or are commutative, so the order changes the cost, never the answer.
      const ordered = [...node.children].sort((a, b) => estimatedCost(a) - estimatedCost(b));
      const children = ordered.map((child) => compile(child, viewOf));
      const isAnd = node.kind === "and";
      return (start, end, care) => {
        const count = end - start;
        if (children.length === 0) return constantBits(count, isAnd);
        let bits = (children[0] as Kernel)(start, end, care);
        for (let i = 1; i < children.length; i++) {
          // Later children only need the rows still open: not yet FALSE for and, not yet TRUE for or.
          const open = openRows(bits, isAnd, care, count);
          if (open === undefined) break;
          const next = (children[i] as Kernel)(start, end, open);
          bits = isAnd ? andBits(bits, next) : orBits(bits, next);
        }
        return bits;
      };
    }
    case "not": {
      const child = compile(node.child, viewOf);
      return (start, end, care) => notBits(child(start, end, care), end - start);
    }
    case "compare":
      return compileCompare(node.op, node.left, node.right, viewOf);
    case "range":
      return compileRange(node.value, node.lower, node.upper, viewOf);
    case "in":
      return compileIn(node.value, node.values, node.negated, viewOf);
    case "like": {
      const matcher = compileLike(node.pattern);
      if (node.value.kind === "json") return jsonLikeKernel(viewOf(node.value) as JsonView, node.value.path, matcher);
      return likeKernel(viewOf(node.value) as StringView, matcher);
    }
    case "isNull":
      if (node.value.kind === "json") return jsonIsNullKernel(viewOf(node.value) as JsonView, node.value.path, node.negated);
      return isNullKernel(viewOf(node.value), node.negated);
    case "jsonContains":
      return jsonContainsKernel(viewOf(node.value) as JsonView, node.value.path, node.mode, node.elements);
  }
}

function compileCompare(op: CompareOp, left: ValueExpr, right: ValueExpr, viewOf: ViewOf): Kernel {
  if (right.kind !== "literal" || (left.kind !== "column" && left.kind !== "json")) return compareKernel(op, left, right, viewOf);
  const literal = right.value;
  const negate = op === "!=";
  const positive = negate ? "==" : (op as Exclude<CompareOp, "!=">);
  if (left.kind === "json") {
    const interval = typeof literal === "number" ? numberInterval(positive, literal) : undefined;
    return jsonCompareKernel(viewOf(left) as JsonView, left.path, op, literal, interval);
  }
  const view = viewOf(left);
  if (left.type === "string") {
    const text = literal as string;
    switch (op) {
      case "==":
      case "!=":
        return stringEqualKernel(view as StringView, text, negate);
      case "<":
      case "<=":
        return stringIntervalKernel(view as StringView, undefined, { value: text, inclusive: op === "<=" });
      default:
        return stringIntervalKernel(view as StringView, { value: text, inclusive: op === ">=" }, undefined);
    }
  }
  if (left.field.dataType === DataType.Int64) return int64IntervalKernel(view as TypedView, int64Interval(positive, literal), negate);
  return numberIntervalKernel(view as TypedView, numberInterval(positive, literal), negate);
}

function compileRange(value: ValueExpr, lower: RangeBound | undefined, upper: RangeBound | undefined, viewOf: ViewOf): Kernel {
  // The checker gives every range at least one bound, and both bounds the same kind.
  const isString = typeof (lower ?? upper)?.value === "string";
  const stringBound = (bound: RangeBound | undefined): StringBound | undefined => (bound === undefined ? undefined : { value: bound.value as string, inclusive: bound.inclusive });
  if (value.kind === "json") {
    const view = viewOf(value) as JsonView;
    if (isString) return jsonRangeKernel(view, value.path, undefined, stringBound(lower), stringBound(upper));
    return jsonRangeKernel(view, value.path, numberRangeInterval(lower, upper), undefined, undefined);
  }
  if (value.kind !== "column") return rangeKernel(value, lower, upper, viewOf);
  const view = viewOf(value);
  if (value.type === "string") return stringIntervalKernel(view as StringView, stringBound(lower), stringBound(upper));
  if (value.field.dataType === DataType.Int64) return int64IntervalKernel(view as TypedView, int64RangeInterval(lower, upper), false);
  return numberIntervalKernel(view as TypedView, numberRangeInterval(lower, upper), false);
}

function compileIn(value: Extract<ValueExpr, { kind: "column" | "json" }>, values: readonly ScalarLiteral[], negated: boolean, viewOf: ViewOf): Kernel {
  if (value.kind === "json") return jsonInKernel(viewOf(value) as JsonView, value.path, values, negated);
  const view = viewOf(value);
  switch (value.type) {
    case "string":
      return stringSetKernel(view as StringView, new Set(values as readonly string[]), negated);
    case "bool":
      return numberSetKernel(view as TypedView, new Set(values.map((v) => (v === true ? 1 : 0))), negated);
    default:
      if (value.field.dataType === DataType.Int64) {
        // Integral literals only: an Int64 never equals 1.5.
        const keys = new Set<bigint>();
        for (const v of values) {
          if (typeof v === "bigint") keys.add(v);
          else if (typeof v === "number" && Number.isInteger(v)) keys.add(BigInt(v));
        }
        return int64SetKernel(view as TypedView, keys, negated);
      }
      return numberSetKernel(view as TypedView, new Set(values.map((v) => Number(v))), negated);
  }
}
