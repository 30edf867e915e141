// The typed filter AST: what parseFilter produces from a Milvus boolean expression after checking it
// against a collection schema, and what the evaluator (evaluate.ts), the test oracle (oracle.ts) and the
// query node consume. Every field reference is resolved to its FieldSchema, every literal is already
// converted to the representation its comparison uses (see docs/expressions.md), so consumers never
// look at the schema or the expression text again.
//
// Invariants a checked AST keeps (the evaluator and the oracle rely on them, they do not re-check):
// - A `compare` node has a non-literal `left`; `right` is a literal or another non-literal value.
// - Literals compared with a float-typed value (Float/Double column, JSON value, float arithmetic) are
//   numbers (a Float column's are rounded to single precision); with an integer-typed value they are
//   bigint (integers) or number (non-integers, compared exactly).
// - Bool values are only compared with == and !=; arithmetic only ever has numeric operands;
//   literal divisors are never zero.
// - Depth is bounded by expressionDefaults.nestingDepthMax, so recursive walks cannot overflow.

import { DataType, type FieldSchema } from "../common/schema.ts";

/** An integer (bigint: exact, any Int64) or a floating-point number, a string, or a boolean. */
export type ScalarLiteral = bigint | number | string | boolean;
/** A literal as json_contains takes it: a scalar or a (nested) list of literals. */
export type LiteralValue = ScalarLiteral | readonly LiteralValue[];

/** The static type of a value: `json` values have a type per row, known only when evaluated. */
export type ValueType = "bool" | "int" | "float" | "string" | "json";

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=";
export type ArithOp = "+" | "-" | "*" | "/" | "%" | "**";

/** A scalar column of the schema (never a vector or JSON field). */
export interface ColumnValue {
  kind: "column";
  field: FieldSchema;
  type: "bool" | "int" | "float" | "string";
}

/** The value at a path inside a JSON field (the dynamic field `$meta` included); an empty path is the whole document. */
export interface JsonValue {
  kind: "json";
  field: FieldSchema;
  /** JSON Pointer steps: object keys, or decimal array indexes. */
  path: readonly string[];
  type: "json";
}

export interface LiteralScalar {
  kind: "literal";
  value: ScalarLiteral;
  type: "bool" | "int" | "float" | "string";
}

/**
 * Arithmetic over numbers. `int`: every operand is an integer and the result is exact (no overflow
 * wrap), `/` truncates toward zero, `%` takes the dividend's sign. `float`: IEEE double arithmetic.
 * A zero divisor at some row makes that row's comparison unknown (like a null).
 */
export interface ArithValue {
  kind: "arith";
  op: ArithOp;
  left: ValueExpr;
  right: ValueExpr;
  type: "int" | "float";
}

export type ValueExpr = ColumnValue | JsonValue | LiteralScalar | ArithValue;

export interface RangeBound {
  value: ScalarLiteral;
  inclusive: boolean;
}

/**
 * Conditions. Each evaluates per row to true, false or unknown (SQL three-valued logic): a null field
 * value makes a comparison unknown; `not` keeps unknown; a row matches only when the root is true.
 */
export type FilterExpr =
  | { kind: "const"; value: boolean }
  | { kind: "compare"; op: CompareOp; left: ValueExpr; right: ValueExpr }
  /** `lower < value < upper` from a chained comparison; at least one bound. */
  | { kind: "range"; value: ValueExpr; lower: RangeBound | undefined; upper: RangeBound | undefined }
  | { kind: "in"; value: ColumnValue | JsonValue; values: readonly ScalarLiteral[]; negated: boolean }
  /** SQL LIKE: `%` any run of characters, `_` one character (code point), `\` escapes the next one. */
  | { kind: "like"; value: ColumnValue | JsonValue; pattern: string }
  | { kind: "isNull"; value: ColumnValue | JsonValue; negated: boolean }
  /** json_contains (`one`), json_contains_all (`all`), json_contains_any (`any`) on a JSON array. */
  | { kind: "jsonContains"; mode: "one" | "all" | "any"; value: JsonValue; elements: readonly LiteralValue[] }
  | { kind: "and"; children: readonly FilterExpr[] }
  | { kind: "or"; children: readonly FilterExpr[] }
  | { kind: "not"; child: FilterExpr };

/** The value type a scalar field's column holds; undefined for vector fields. */
export function columnValueType(dataType: DataType): ValueType | undefined {
  switch (dataType) {
    case DataType.Bool:
      return "bool";
    case DataType.Int8:
    case DataType.Int16:
    case DataType.Int32:
    case DataType.Int64:
      return "int";
    case DataType.Float:
    case DataType.Double:
      return "float";
    case DataType.VarChar:
      return "string";
    case DataType.JSON:
      return "json";
    default:
      return undefined;
  }
}

/** Every field the expression reads, each once (the columns an evaluation needs). */
export function referencedFields(expr: FilterExpr): FieldSchema[] {
  const fields = new Map<number, FieldSchema>();
  const visitValue = (value: ValueExpr): void => {
    if (value.kind === "column" || value.kind === "json") fields.set(value.field.fieldId, value.field);
    else if (value.kind === "arith") {
      visitValue(value.left);
      visitValue(value.right);
    }
  };
  const visit = (node: FilterExpr): void => {
    switch (node.kind) {
      case "const":
        return;
      case "compare":
        visitValue(node.left);
        visitValue(node.right);
        return;
      case "range":
      case "in":
      case "like":
      case "isNull":
      case "jsonContains":
        visitValue(node.value);
        return;
      case "and":
      case "or":
        for (const child of node.children) visit(child);
        return;
      case "not":
        visit(node.child);
        return;
    }
  };
  visit(expr);
  return [...fields.values()];
}

/**
 * A string that two checked filters share exactly when they select the same rows of a segment by the
 * same rules: the AST with fields named by id, and bigint, non-finite and negative-zero numbers kept
 * apart from one another and from strings (each is wrapped in an object no AST node can produce).
 */
export function filterKey(expr: FilterExpr): string {
  return JSON.stringify(expr, function keyPart(this: unknown, name: string, value: unknown): unknown {
    if (typeof value === "bigint") return { "\u0000bigint": value.toString() };
    if (typeof value === "number" && (!Number.isFinite(value) || Object.is(value, -0))) return { "\u0000number": Object.is(value, -0) ? "-0" : String(value) };
    if (name === "field" && value !== null && typeof value === "object" && "fieldId" in value) return { "\u0000field": (value as FieldSchema).fieldId };
    return value;
  });
}
