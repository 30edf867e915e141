// Predicates over values inside JSON fields (the dynamic field `$meta` included). One loop per chunk
// walks the path in each row's parsed document (JSON Pointer rules: object keys, decimal array
// indexes) and tests the value it finds; `resolveChunk` instead collects the values, for arithmetic
// and comparisons between fields (value-vectors.ts). Semantics (docs/expressions.md): a comparison
// holds only when the value has a compatible type (number with number, string with string, boolean
// with boolean); a missing path, a JSON null or another type makes it FALSE — and `!=`, `not in`, the
// negations, TRUE. Only a null row of a nullable JSON field is UNKNOWN. `is null` holds for a null
// row, a missing path and a JSON null.

import type { CompareOp, LiteralValue, ScalarLiteral } from "./ast.ts";
import type { ScalarColumnView } from "./column-source.ts";
import type { Kernel, StringBound } from "./column-kernels.ts";
import type { NumberInterval } from "./intervals.ts";
import { likeMatches, type LikeMatcher } from "./like-matcher.ts";
import { compareCodePoints, holds } from "./order.ts";
import { chunkBytes } from "./tri-bits.ts";

type JsonView = Extract<ScalarColumnView, { kind: "json" }>;

/** Row states of a resolved chunk: 0 a value was found, NULL_ROW the field is null, MISSING the path leads nowhere. */
export const NULL_ROW = 1;
export const MISSING = 2;

export interface ResolvedChunk {
  /** Chunk-relative; meaningful where the state is 0. */
  values: unknown[];
  states: Uint8Array;
}

interface PathStep {
  key: string;
  /** The step as an array index, or -1 when it is not a canonical decimal index. */
  index: number;
  /**
   * True when no built-in property of objects or arrays has this name, so `value[key]` is the own
   * property or undefined (JSON.parse never makes undefined values) and no hasOwn check is needed.
   */
  plain: boolean;
}

export function compilePath(path: readonly string[]): PathStep[] {
  return path.map((key) => {
    const index = /^(0|[1-9][0-9]{0,9})$/.test(key) ? Number(key) : -1;
    return { key, index, plain: index < 0 && key !== "length" && !(key in Object.prototype) && !(key in Array.prototype) };
  });
}

const missing = Symbol("missing");

/** The value at the path, or `missing` (JSON Pointer rules: keys on objects, decimal indexes on arrays). */
function walk(document: unknown, steps: readonly PathStep[]): unknown {
  let current = document;
  for (let i = 0; i < steps.length; i++) {
    if (typeof current !== "object" || current === null) return missing;
    const step = steps[i] as PathStep;
    if (step.plain) {
      // An array has no own property of this name either: undefined, as for an object without it.
      current = (current as Record<string, unknown>)[step.key];
      if (current === undefined) return missing;
    } else if (Array.isArray(current)) {
      if (step.index < 0 || step.index >= current.length) return missing;
      current = current[step.index];
    } else {
      if (!Object.hasOwn(current, step.key)) return missing;
      current = (current as Record<string, unknown>)[step.key];
    }
  }
  return current;
}

export function resolveChunk(view: JsonView, steps: readonly PathStep[], start: number, end: number): ResolvedChunk {
  const count = end - start;
  const values = new Array<unknown>(count);
  const states = new Uint8Array(count);
  const valid = view.valid;
  for (let i = 0; i < count; i++) {
    const row = start + i;
    if (valid !== undefined && valid[row] === 0) {
      states[i] = NULL_ROW;
      continue;
    }
    const value = walk(view.values[row], steps);
    if (value === missing) states[i] = MISSING;
    else values[i] = value;
  }
  return { values, states };
}

/** How a kernel tests a resolved value: inline shapes for the common comparisons, a callback otherwise. */
type JsonTest =
  | { kind: "interval"; lo: number; hi: number }
  | { kind: "identical"; literal: unknown }
  | { kind: "isNull" }
  | { kind: "callback"; test: (value: unknown) => boolean };

/**
 * The JSON loop: resolves the path row by row and packs the test's answers. Null rows of a nullable
 * field are UNKNOWN (except for `is null`, which is never unknown); `negate` flips the known rows.
 */
function jsonKernel(view: JsonView, path: readonly string[], test: JsonTest, negate: boolean): Kernel {
  const steps = compilePath(path);
  const documents = view.values;
  const valid = view.valid;
  const nullsAreUnknown = test.kind !== "isNull";
  // Hoisted out of the row loop, so that loop reads locals of fixed types.
  const kind = test.kind === "interval" ? 0 : test.kind === "identical" ? 1 : test.kind === "isNull" ? 2 : 3;
  const lo = test.kind === "interval" ? test.lo : 0;
  const hi = test.kind === "interval" ? test.hi : 0;
  const literal = test.kind === "identical" ? test.literal : undefined;
  const callback = test.kind === "callback" ? test.test : (): boolean => false;
  // The common path `field["key"]`: one plain key, read inline.
  const singleKey = steps.length === 1 && (steps[0] as PathStep).plain ? (steps[0] as PathStep).key : undefined;
  return (start, end, care) => {
    const count = end - start;
    const truth = new Uint8Array(chunkBytes(count));
    let unknown: Uint8Array | undefined;
    for (let byte = 0; byte < truth.length; byte++) {
      if (care !== undefined && care[byte] === 0) continue;
      const first = start + (byte << 3);
      const limit = Math.min(8, count - (byte << 3));
      const wanted = care === undefined ? 0xff : (care[byte] as number);
      let bits = 0;
      let nulls = 0;
      for (let bit = 0; bit < limit; bit++) {
        if (((wanted >>> bit) & 1) === 0) continue;
        const row = first + bit;
        let hit: boolean;
        if (valid !== undefined && valid[row] === 0) {
          if (nullsAreUnknown) {
            nulls |= 1 << bit;
            continue;
          }
          hit = true;
        } else {
          let value: unknown;
          if (singleKey !== undefined) {
            const document = documents[row];
            value = typeof document === "object" && document !== null ? (document as Record<string, unknown>)[singleKey] : undefined;
            if (value === undefined) value = missing;
          } else value = walk(documents[row], steps);
          if (kind === 0) hit = typeof value === "number" && value >= lo && value <= hi;
          else if (kind === 1) hit = value === literal;
          else if (kind === 2) hit = value === missing || value === null;
          else hit = value !== missing && callback(value);
        }
        if (hit !== negate) bits |= 1 << bit;
      }
      truth[byte] = bits;
      if (nulls !== 0) {
        unknown ??= new Uint8Array(truth.length);
        unknown[byte] = nulls;
      }
    }
    return { truth, unknown };
  };
}

/** JSON value `op` literal. `!=` is the negation of `==`: TRUE for a missing value or another type. */
export function jsonCompareKernel(view: JsonView, path: readonly string[], op: CompareOp, literal: ScalarLiteral, interval: NumberInterval | undefined): Kernel {
  const negate = op === "!=";
  if (typeof literal === "number" && interval !== undefined) return jsonKernel(view, path, { kind: "interval", lo: interval.lo, hi: interval.hi }, negate);
  if (op === "==" || op === "!=") return jsonKernel(view, path, { kind: "identical", literal }, negate);
  const text = literal as string;
  return jsonKernel(view, path, { kind: "callback", test: (value) => typeof value === "string" && holds(op, compareCodePoints(value, text)) }, false);
}

export function jsonRangeKernel(view: JsonView, path: readonly string[], numbers: NumberInterval | undefined, lower: StringBound | undefined, upper: StringBound | undefined): Kernel {
  if (numbers !== undefined) return jsonKernel(view, path, { kind: "interval", lo: numbers.lo, hi: numbers.hi }, false);
  const test = (value: unknown): boolean => {
    if (typeof value !== "string") return false;
    if (lower !== undefined) {
      const order = compareCodePoints(value, lower.value);
      if (lower.inclusive ? order < 0 : order <= 0) return false;
    }
    if (upper !== undefined) {
      const order = compareCodePoints(value, upper.value);
      if (upper.inclusive ? order > 0 : order >= 0) return false;
    }
    return true;
  };
  return jsonKernel(view, path, { kind: "callback", test }, false);
}

export function jsonInKernel(view: JsonView, path: readonly string[], values: readonly ScalarLiteral[], negate: boolean): Kernel {
  // Literals compared with JSON are numbers, strings or booleans (ast.ts); a Set's SameValueZero
  // equality is == for each of them.
  const set = new Set<unknown>(values);
  const test = (value: unknown): boolean => (typeof value === "number" || typeof value === "string" || typeof value === "boolean") && set.has(value);
  return jsonKernel(view, path, { kind: "callback", test }, negate);
}

export function jsonLikeKernel(view: JsonView, path: readonly string[], matcher: LikeMatcher): Kernel {
  return jsonKernel(view, path, { kind: "callback", test: (value) => typeof value === "string" && likeMatches(matcher, value) }, false);
}

/** `is null` on a JSON value: a null row, a missing path or a JSON null. Never UNKNOWN. */
export function jsonIsNullKernel(view: JsonView, path: readonly string[], negated: boolean): Kernel {
  return jsonKernel(view, path, { kind: "isNull" }, negated);
}

/** Equality of a JSON value with a literal: same type and value; lists element by element. */
export function jsonEqualsLiteral(value: unknown, literal: LiteralValue): boolean {
  if (Array.isArray(literal)) {
    if (!Array.isArray(value) || value.length !== literal.length) return false;
    for (let i = 0; i < literal.length; i++) if (!jsonEqualsLiteral(value[i], literal[i] as LiteralValue)) return false;
    return true;
  }
  return value === literal;
}

export function jsonContainsKernel(view: JsonView, path: readonly string[], mode: "one" | "all" | "any", elements: readonly LiteralValue[]): Kernel {
  const scalarsOnly = elements.every((element) => !Array.isArray(element));
  const wanted = new Set<unknown>(elements);
  const containsElement = (array: readonly unknown[], element: LiteralValue): boolean => {
    for (const item of array) if (jsonEqualsLiteral(item, element)) return true;
    return false;
  };
  const test = (value: unknown): boolean => {
    if (!Array.isArray(value)) return false;
    if (mode === "all") {
      for (const element of elements) if (!containsElement(value, element)) return false;
      return true;
    }
    if (scalarsOnly) {
      for (const item of value) if (wanted.has(item)) return true;
      return false;
    }
    for (const element of elements) if (containsElement(value, element)) return true;
    return false;
  };
  return jsonKernel(view, path, { kind: "callback", test }, false);
}
