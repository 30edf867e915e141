// The general path of the evaluator: values computed a chunk at a time into arrays, for arithmetic
// (`price * 2 > 10`) and for comparisons between two fields. Integer arithmetic is exact: it runs on
// doubles when a static bound proves every intermediate value stays within ±2^53, and on BigInt
// otherwise (any Int64 operand, or large products). Each row carries a state: PRESENT, NULL (a null
// field, or a zero divisor: the comparison is UNKNOWN) or ABSENT (a JSON operand without a number:
// the comparison is FALSE, `!=` TRUE). Invariant: a vector's values are meaningful only where its
// state is PRESENT.

import { DataType } from "../common/schema.ts";
import type { CompareOp, RangeBound, ScalarLiteral, ValueExpr } from "./ast.ts";
import type { ScalarColumnView } from "./column-source.ts";
import type { Kernel } from "./column-kernels.ts";
import { MISSING, NULL_ROW, compilePath, resolveChunk } from "./json-kernels.ts";
import { assert } from "../common/errors.ts";
import { compareCodePoints, compareNumbers, holds } from "./order.ts";
import { chunkBytes, type TriBits } from "./tri-bits.ts";
import { floatArith, integerArith } from "./arith.ts";

const PRESENT = 0;
const NULL = 1;
const ABSENT = 2;

/** Chunk-relative values (element i is row start + i) with per-row states (undefined: all PRESENT). */
interface Vector {
  values: ArrayLike<unknown>;
  offset: number;
  states: Uint8Array | undefined;
}

type Scalar = { scalar: ScalarLiteral };
type Operand = Vector | Scalar;
type Program = (start: number, end: number) => Operand;

export type ViewOf = (value: Extract<ValueExpr, { kind: "column" | "json" }>) => ScalarColumnView;

const SAFE_BOUND = 2n ** 53n;

assert(NULL === NULL_ROW && ABSENT === MISSING, "JSON row states are value-vector states");

/** An upper bound on |value| of an integer expression, used to pick exact double or BigInt arithmetic. */
function magnitudeBound(value: ValueExpr): bigint {
  switch (value.kind) {
    case "literal":
      return typeof value.value === "bigint" ? (value.value < 0n ? -value.value : value.value) : SAFE_BOUND * SAFE_BOUND;
    case "column":
      switch (value.field.dataType) {
        case DataType.Int8:
          return 128n;
        case DataType.Int16:
          return 32_768n;
        case DataType.Int32:
          return 2n ** 31n;
        default:
          return 2n ** 63n;
      }
    case "arith": {
      const a = magnitudeBound(value.left);
      const b = magnitudeBound(value.right);
      switch (value.op) {
        case "+":
        case "-":
          return a + b;
        case "*":
          return a * b;
        case "/":
          return a;
        default:
          return a < b ? a : b;
      }
    }
    default:
      return SAFE_BOUND * SAFE_BOUND;
  }
}

/** True when every integer value in the tree, intermediate ones included, is within ±2^53 and not Int64. */
function fitsDoubles(value: ValueExpr): boolean {
  if (value.kind === "column") return value.field.dataType !== DataType.Int64;
  if (value.kind === "literal") return magnitudeBound(value) < SAFE_BOUND;
  if (value.kind !== "arith") return false;
  return magnitudeBound(value) < SAFE_BOUND && fitsDoubles(value.left) && fitsDoubles(value.right);
}

function mergeStates(count: number, ...operands: Operand[]): Uint8Array | undefined {
  let states: Uint8Array | undefined;
  for (const operand of operands) {
    if ("scalar" in operand || operand.states === undefined) continue;
    if (states === undefined) states = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const state = operand.states[i] as number;
      if (state === NULL || (state === ABSENT && states[i] === PRESENT)) states[i] = state;
    }
  }
  return states;
}

function element(operand: Operand, i: number): unknown {
  return "scalar" in operand ? operand.scalar : operand.values[operand.offset + i];
}

export function compileValue(value: ValueExpr, viewOf: ViewOf): Program {
  switch (value.kind) {
    case "literal":
      return () => ({ scalar: value.value });
    case "column": {
      const view = viewOf(value);
      if (value.type === "bool") {
        const bytes = view.values as Uint8Array;
        return (start, end) => {
          const values = new Array<boolean>(end - start);
          for (let i = 0; i < values.length; i++) values[i] = bytes[start + i] === 1;
          return { values, offset: 0, states: nullStates(view.valid, start, end) };
        };
      }
      return (start, end) => ({ values: view.values, offset: start, states: nullStates(view.valid, start, end) });
    }
    case "json": {
      const view = viewOf(value) as Extract<ScalarColumnView, { kind: "json" }>;
      const steps = compilePath(value.path);
      return (start, end) => {
        // A null row is NULL (UNKNOWN), a missing path ABSENT (FALSE): the resolver's states, as they are.
        const chunk = resolveChunk(view, steps, start, end);
        return { values: chunk.values, offset: 0, states: chunk.states };
      };
    }
    case "arith":
      return compileArith(value, viewOf);
  }
}

function nullStates(valid: Uint8Array | undefined, start: number, end: number): Uint8Array | undefined {
  if (valid === undefined) return undefined;
  const states = new Uint8Array(end - start);
  for (let i = 0; i < states.length; i++) if (valid[start + i] === 0) states[i] = NULL;
  return states;
}

function compileArith(value: Extract<ValueExpr, { kind: "arith" }>, viewOf: ViewOf): Program {
  const left = compileValue(value.left, viewOf);
  const right = compileValue(value.right, viewOf);
  const op = value.op;
  const mode = value.type === "float" ? "double" : fitsDoubles(value) ? "exact-double" : "bigint";
  return (start, end) => {
    const count = end - start;
    const a = left(start, end);
    const b = right(start, end);
    const states = mergeStates(count, a, b) ?? new Uint8Array(count);
    if (mode === "bigint") {
      const out = new Array<bigint>(count);
      for (let i = 0; i < count; i++) {
        if (states[i] !== PRESENT) continue;
        const x = toBigInt(element(a, i));
        const y = toBigInt(element(b, i));
        if ((op === "/" || op === "%") && y === 0n) states[i] = NULL;
        else out[i] = integerArith(op, x, y);
      }
      return { values: out, offset: 0, states };
    }
    const out = new Float64Array(count);
    const truncate = mode === "exact-double";
    for (let i = 0; i < count; i++) {
      if (states[i] !== PRESENT) continue;
      const x = element(a, i);
      const y = element(b, i);
      if ((typeof x !== "number" && typeof x !== "bigint") || (typeof y !== "number" && typeof y !== "bigint")) {
        states[i] = ABSENT; // a JSON operand that is not a number
        continue;
      }
      const dx = Number(x);
      const dy = Number(y);
      if ((op === "/" || op === "%") && dy === 0) {
        states[i] = NULL;
        continue;
      }
      // Integer results are normalized from -0 to 0: as integers they are the same, but -0 would
      // leak into later floating-point operations (0 ** -1 is Infinity, -0 ** -1 -Infinity).
      out[i] = truncate ? (op === "/" ? Math.trunc(dx / dy) : floatArith(op, dx, dy)) + 0 : floatArith(op, dx, dy);
    }
    return { values: out, offset: 0, states };
  };
}

function toBigInt(value: unknown): bigint {
  return typeof value === "bigint" ? value : BigInt(value as number);
}

/** Compares two values of any types: numbers exactly, strings by code point, booleans by equality; other pairs only satisfy `!=`. */
export function compareAny(op: CompareOp, a: unknown, b: unknown): boolean {
  const ta = typeof a;
  const tb = typeof b;
  if ((ta === "number" || ta === "bigint") && (tb === "number" || tb === "bigint")) return holds(op, compareNumbers(a as number | bigint, b as number | bigint));
  if (ta === "string" && tb === "string") return holds(op, compareCodePoints(a as string, b as string));
  if (ta === "boolean" && tb === "boolean") return op === "==" ? a === b : op === "!=" ? a !== b : false;
  return op === "!=";
}

function packStates(count: number, states: Uint8Array | undefined, test: (i: number, state: number) => boolean): TriBits {
  const truth = new Uint8Array(chunkBytes(count));
  let unknown: Uint8Array | undefined;
  for (let i = 0; i < count; i++) {
    const state = states === undefined ? PRESENT : (states[i] as number);
    if (state === NULL) {
      unknown ??= new Uint8Array(truth.length);
      unknown[i >>> 3] = (unknown[i >>> 3] as number) | (1 << (i & 7));
    } else if (test(i, state)) truth[i >>> 3] = (truth[i >>> 3] as number) | (1 << (i & 7));
  }
  return { truth, unknown };
}

/** `left op right` for any two values (a literal on the right included). */
export function compareKernel(op: CompareOp, left: ValueExpr, right: ValueExpr, viewOf: ViewOf): Kernel {
  const a = compileValue(left, viewOf);
  const b = compileValue(right, viewOf);
  return (start, end) => {
    const count = end - start;
    const x = a(start, end);
    const y = b(start, end);
    const states = mergeStates(count, x, y);
    return packStates(count, states, (i, state) => (state === ABSENT ? op === "!=" : compareAny(op, element(x, i), element(y, i))));
  };
}

export function rangeKernel(value: ValueExpr, lower: RangeBound | undefined, upper: RangeBound | undefined, viewOf: ViewOf): Kernel {
  const program = compileValue(value, viewOf);
  return (start, end) => {
    const count = end - start;
    const x = program(start, end);
    const states = mergeStates(count, x);
    return packStates(count, states, (i, state) => {
      if (state === ABSENT) return false;
      const v = element(x, i);
      return (lower === undefined || compareAny(lower.inclusive ? ">=" : ">", v, lower.value)) && (upper === undefined || compareAny(upper.inclusive ? "<=" : "<", v, upper.value));
    });
  };
}

