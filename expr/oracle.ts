// The test oracle for filters: a deliberately plain, row-at-a-time evaluator of the typed AST over row
// objects ({ fieldName: value }, null for a null field). It shares nothing with evaluate.ts beyond the
// AST types, so the two can only agree by both following the semantics written in
// docs/expressions.md: SQL three-valued logic for nulls, exact integer arithmetic, code point order for
// strings, JSON comparisons that need a compatible type, and `!=` as the negation of `==`.

import type { FieldSchema } from "../common/schema.ts";
import type { CompareOp, FilterExpr, LiteralValue, ValueExpr } from "./ast.ts";

export type Row = Readonly<Record<string, unknown>>;

/** TRUE, FALSE, or null for UNKNOWN. */
export type Truth = boolean | null;

type Evaluated = { value: unknown } | "null" | "absent";

export function oracleMatches(expr: FilterExpr, row: Row): boolean {
  return oracleTruth(expr, row) === true;
}

export function oracleTruth(expr: FilterExpr, row: Row): Truth {
  switch (expr.kind) {
    case "const":
      return expr.value;
    case "and": {
      let result: Truth = true;
      for (const child of expr.children) {
        const truth = oracleTruth(child, row);
        if (truth === false) return false;
        if (truth === null) result = null;
      }
      return result;
    }
    case "or": {
      let result: Truth = false;
      for (const child of expr.children) {
        const truth = oracleTruth(child, row);
        if (truth === true) return true;
        if (truth === null) result = null;
      }
      return result;
    }
    case "not": {
      const truth = oracleTruth(expr.child, row);
      return truth === null ? null : !truth;
    }
    case "compare": {
      const left = valueOf(expr.left, row);
      const right = valueOf(expr.right, row);
      if (left === "null" || right === "null") return null;
      if (left === "absent" || right === "absent") return expr.op === "!=";
      return compare(expr.op, left.value, right.value);
    }
    case "range": {
      const value = valueOf(expr.value, row);
      if (value === "null") return null;
      if (value === "absent") return false;
      const lowerOk = expr.lower === undefined || compare(expr.lower.inclusive ? ">=" : ">", value.value, expr.lower.value);
      const upperOk = expr.upper === undefined || compare(expr.upper.inclusive ? "<=" : "<", value.value, expr.upper.value);
      return lowerOk && upperOk;
    }
    case "in": {
      const value = valueOf(expr.value, row);
      if (value === "null") return null;
      const found = value !== "absent" && expr.values.some((candidate) => compare("==", value.value, candidate));
      return expr.negated ? !found : found;
    }
    case "like": {
      const value = valueOf(expr.value, row);
      if (value === "null") return null;
      return value !== "absent" && typeof value.value === "string" && likeOracle(expr.pattern, value.value);
    }
    case "isNull": {
      const value = valueOf(expr.value, row);
      const isNull = value === "null" || value === "absent" || value.value === null;
      return expr.negated ? !isNull : isNull;
    }
    case "jsonContains": {
      const value = valueOf(expr.value, row);
      if (value === "null") return null;
      if (value === "absent" || !Array.isArray(value.value)) return false;
      const items: unknown[] = value.value;
      const has = (element: LiteralValue): boolean => items.some((item) => deepEqual(item, element));
      if (expr.mode === "all") return expr.elements.every(has);
      return expr.elements.some(has);
    }
  }
}

function fieldValue(field: FieldSchema, row: Row): unknown {
  const value = row[field.name];
  return value === undefined ? null : value;
}

function valueOf(expr: ValueExpr, row: Row): Evaluated {
  switch (expr.kind) {
    case "literal":
      return { value: expr.value };
    case "column": {
      const value = fieldValue(expr.field, row);
      return value === null ? "null" : { value };
    }
    case "json": {
      let current = fieldValue(expr.field, row);
      if (current === null && expr.field.nullable) return "null";
      for (const step of expr.path) {
        if (Array.isArray(current)) {
          if (!/^(0|[1-9][0-9]*)$/.test(step) || Number(step) >= current.length) return "absent";
          current = current[Number(step)];
        } else if (typeof current === "object" && current !== null && Object.prototype.hasOwnProperty.call(current, step)) {
          current = (current as Record<string, unknown>)[step];
        } else return "absent";
      }
      return { value: current };
    }
    case "arith": {
      const left = valueOf(expr.left, row);
      const right = valueOf(expr.right, row);
      if (left === "null" || right === "null") return "null";
      if (left === "absent" || right === "absent") return "absent";
      const a = left.value;
      const b = right.value;
      if ((typeof a !== "number" && typeof a !== "bigint") || (typeof b !== "number" && typeof b !== "bigint")) return "absent";
      if (expr.type === "int") {
        const x = BigInt(a);
        const y = BigInt(b);
        if ((expr.op === "/" || expr.op === "%") && y === 0n) return "null";
        if (expr.op === "+") return { value: x + y };
        if (expr.op === "-") return { value: x - y };
        if (expr.op === "*") return { value: x * y };
        if (expr.op === "/") return { value: x / y };
        return { value: x % y };
      }
      const x = Number(a);
      const y = Number(b);
      if ((expr.op === "/" || expr.op === "%") && y === 0) return "null";
      if (expr.op === "+") return { value: x + y };
      if (expr.op === "-") return { value: x - y };
      if (expr.op === "*") return { value: x * y };
      if (expr.op === "/") return { value: x / y };
      if (expr.op === "%") return { value: x % y };
      return { value: Math.pow(x, y) };
    }
  }
}

function compare(op: CompareOp, a: unknown, b: unknown): boolean {
  let order: number | undefined;
  if ((typeof a === "number" || typeof a === "bigint") && (typeof b === "number" || typeof b === "bigint")) {
    if (Number.isNaN(a) || Number.isNaN(b)) order = undefined;
    else order = a < b ? -1 : a > b ? 1 : 0;
  } else if (typeof a === "string" && typeof b === "string") {
    order = compareByCodePoint(a, b);
  } else if (typeof a === "boolean" && typeof b === "boolean") {
    if (op === "==") return a === b;
    if (op === "!=") return a !== b;
    return false;
  } else {
    return op === "!=";
  }
  if (order === undefined) return op === "!=";
  if (op === "==") return order === 0;
  if (op === "!=") return order !== 0;
  if (op === "<") return order < 0;
  if (op === "<=") return order <= 0;
  if (op === ">") return order > 0;
  return order >= 0;
}

function compareByCodePoint(a: string, b: string): number {
  const x = Array.from(a, (char) => char.codePointAt(0) as number);
  const y = Array.from(b, (char) => char.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] as number) < (y[i] as number) ? -1 : 1;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

function deepEqual(value: unknown, literal: LiteralValue): boolean {
  if (Array.isArray(literal)) {
    return Array.isArray(value) && value.length === literal.length && literal.every((element, i) => deepEqual(value[i], element as LiteralValue));
  }
  if (typeof value === "number" && typeof literal === "number") return value === literal;
  return typeof value === typeof literal && value === literal;
}

/** LIKE by dynamic programming over code points: `%` any run, `_` one code point, `\` escapes. */
function likeOracle(pattern: string, text: string): boolean {
  type Piece = { any: "run" } | { any: "one" } | { char: string };
  const pieces: Piece[] = [];
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i] as string;
    if (char === "\\" && i + 1 < chars.length) pieces.push({ char: chars[++i] as string });
    else if (char === "%") pieces.push({ any: "run" });
    else if (char === "_") pieces.push({ any: "one" });
    else pieces.push({ char });
  }
  const input = Array.from(text);
  // matches[j]: the first i characters of the pattern match the first j characters of the text.
  let matches = new Array<boolean>(input.length + 1).fill(false);
  matches[0] = true;
  for (const piece of pieces) {
    const next = new Array<boolean>(input.length + 1).fill(false);
    for (let j = 0; j <= input.length; j++) {
      if ("any" in piece && piece.any === "run") next[j] = matches[j] === true || (j > 0 && next[j - 1] === true);
      else if (j > 0 && matches[j - 1] === true) next[j] = "any" in piece || input[j - 1] === piece.char;
    }
    matches = next;
  }
  return matches[input.length] === true;
}
