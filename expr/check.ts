// The checker: resolves a filter's syntax tree against a collection schema and produces the typed AST
// (ast.ts). It decides what every name means (a schema field, a JSON path, or a key of the dynamic
// field `$meta`), rejects what cannot be evaluated (unknown fields, vector fields, type mismatches such
// as a VarChar compared with a number, `like` on a number, arithmetic on a string) with a VelaError
// InvalidArgument naming the offset, folds constant sub-expressions, and converts each literal to the
// representation its comparison uses. Invariant: its output satisfies every rule listed in ast.ts.

import { invalidArgument } from "../common/errors.ts";
import { DataType, DYNAMIC_FIELD_NAME, dataTypeName, fieldByName, type CollectionSchema } from "../common/schema.ts";
import {
  columnValueType,
  type ColumnValue,
  type CompareOp,
  type FilterExpr,
  type JsonValue,
  type LiteralScalar,
  type LiteralValue,
  type RangeBound,
  type ScalarLiteral,
  type ValueExpr,
} from "./ast.ts";
import { compareCodePoints, compareNumbers, flipCompareOp, holds } from "./order.ts";
import { clip } from "./lexer.ts";
import { describeLiteral, describeSyntax, type Syntax } from "./syntax.ts";
import { floatArith, integerArith } from "./arith.ts";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function checkFilter(syntax: Syntax, schema: CollectionSchema): FilterExpr {
  return new Checker(schema).condition(syntax);
}

function isOrdering(op: CompareOp): boolean {
  return op !== "==" && op !== "!=";
}

function describeValue(value: ValueExpr): string {
  switch (value.kind) {
    case "column":
      return `${dataTypeName(value.field.dataType)} field "${value.field.name}"`;
    case "json":
      return `the JSON value ${jsonPathText(value)}`;
    case "literal":
      return describeLiteral(value.value);
    case "arith":
      return "an arithmetic expression";
  }
}

function jsonPathText(value: JsonValue): string {
  const steps = value.path.map((step) => `[${JSON.stringify(step)}]`).join("");
  return `${value.field.name}${steps}`;
}

class Checker {
  constructor(private readonly schema: CollectionSchema) {}

  // ---- conditions ----

  condition(node: Syntax): FilterExpr {
    switch (node.kind) {
      case "or":
      case "and": {
        const children: FilterExpr[] = [];
        for (const child of node.children) {
          const checked = this.condition(child);
          if (checked.kind === node.kind) children.push(...checked.children);
          else children.push(checked);
        }
        return { kind: node.kind, children };
      }
      case "not":
        return { kind: "not", child: this.condition(node.child) };
      case "compare":
        if (node.ops.length === 1) {
          const [op] = node.ops as [{ op: CompareOp; pos: number }];
          return this.compare(op.op, op.pos, node.operands[0] as Syntax, node.operands[1] as Syntax);
        }
        return this.range(node);
      case "in":
        return this.inList(node);
      case "like":
        return this.like(node);
      case "isNull": {
        const value = this.value(node.value);
        if (value.kind !== "column" && value.kind !== "json") {
          throw invalidArgument(`at ${node.value.pos}: "is null" needs a field or a JSON value on its left, found ${describeValue(value)}`);
        }
        return { kind: "isNull", value, negated: node.negated };
      }
      case "call":
        return this.contains(node);
      case "literal":
        if (typeof node.value === "boolean") return { kind: "const", value: node.value };
        throw invalidArgument(`at ${node.pos}: expected a condition, found ${describeLiteral(node.value)}`);
      case "identifier": {
        const value = this.resolve(node);
        if (value.kind === "column" && value.type === "bool") {
          return { kind: "compare", op: "==", left: value, right: { kind: "literal", value: true, type: "bool" } };
        }
        const example = value.kind === "json" ? `${jsonPathText(value)} == true` : `${value.field.name} > 0`;
        throw invalidArgument(`at ${node.pos}: expected a condition, found ${describeValue(value)}; compare it with something, e.g. ${example}`);
      }
      default:
        throw invalidArgument(`at ${node.pos}: expected a condition, found ${describeSyntax(node)}`);
    }
  }

  private compare(op: CompareOp, pos: number, leftNode: Syntax, rightNode: Syntax): FilterExpr {
    let left = this.value(leftNode);
    let right = this.value(rightNode);
    if (left.kind === "literal" && right.kind === "literal") return { kind: "const", value: this.foldCompare(op, left, right, pos) };
    if (left.kind === "literal") {
      [left, right] = [right, left];
      op = flipCompareOp(op);
    }
    if (right.kind === "literal") {
      const value = this.coerce(right.value, left, op, pos);
      return { kind: "compare", op, left, right: { kind: "literal", value, type: right.type } };
    }
    const leftCategory = category(left);
    const rightCategory = category(right);
    if (leftCategory !== "json" && rightCategory !== "json" && leftCategory !== rightCategory) {
      throw invalidArgument(`at ${pos}: cannot compare ${describeValue(left)} with ${describeValue(right)}`);
    }
    if (isOrdering(op) && (leftCategory === "bool" || rightCategory === "bool")) {
      throw invalidArgument(`at ${pos}: booleans compare only with == and !=, not "${op}"`);
    }
    return { kind: "compare", op, left, right };
  }

  private foldCompare(op: CompareOp, left: LiteralScalar, right: LiteralScalar, pos: number): boolean {
    const a = left.value;
    const b = right.value;
    if ((typeof a === "bigint" || typeof a === "number") && (typeof b === "bigint" || typeof b === "number")) return holds(op, compareNumbers(a, b));
    if (typeof a === "string" && typeof b === "string") return holds(op, compareCodePoints(a, b));
    if (typeof a === "boolean" && typeof b === "boolean") {
      if (isOrdering(op)) throw invalidArgument(`at ${pos}: booleans compare only with == and !=, not "${op}"`);
      return op === "==" ? a === b : a !== b;
    }
    throw invalidArgument(`at ${pos}: cannot compare ${describeLiteral(a)} with ${describeLiteral(b)}`);
  }

  /** Converts a literal for comparison with `against` (see ast.ts), or explains why it cannot be compared. */
  private coerce(literal: ScalarLiteral, against: ValueExpr, op: CompareOp, pos: number): ScalarLiteral {
    // No closures here: this runs once per list element, and lists can hold a million.
    switch (against.type) {
      case "bool":
        if (typeof literal !== "boolean") throw mismatch(pos, against, literal);
        if (isOrdering(op)) throw invalidArgument(`at ${pos}: booleans compare only with == and !=, not "${op}"`);
        return literal;
      case "int":
        if (typeof literal !== "bigint" && typeof literal !== "number") throw mismatch(pos, against, literal);
        return literal;
      case "float":
        if (typeof literal !== "bigint" && typeof literal !== "number") throw mismatch(pos, against, literal);
        // Converted to the column's type, as Milvus does: a Float column compares in single precision.
        return against.kind === "column" && against.field.dataType === DataType.Float ? Math.fround(Number(literal)) : Number(literal);
      case "string":
        if (typeof literal !== "string") throw mismatch(pos, against, literal);
        return literal;
      case "json":
        if (typeof literal === "boolean" && isOrdering(op)) throw invalidArgument(`at ${pos}: booleans compare only with == and !=, not "${op}"`);
        return typeof literal === "bigint" ? Number(literal) : literal;
    }
  }

  private range(node: Extract<Syntax, { kind: "compare" }>): FilterExpr {
    const [first, second] = node.ops as [{ op: CompareOp; pos: number }, { op: CompareOp; pos: number }];
    const ascending = (op: CompareOp): boolean => op === "<" || op === "<=";
    const descending = (op: CompareOp): boolean => op === ">" || op === ">=";
    if (!((ascending(first.op) && ascending(second.op)) || (descending(first.op) && descending(second.op)))) {
      throw invalidArgument(`at ${second.pos}: a chained comparison must be a range using < and <= (or > and >=) on both sides, like 1 < x <= 5`);
    }
    const [lowNode, middleNode, highNode] = node.operands as [Syntax, Syntax, Syntax];
    const value = this.value(middleNode);
    if (value.kind === "literal") throw invalidArgument(`at ${middleNode.pos}: the middle of a range must be a field or an expression over fields, found ${describeValue(value)}`);
    const outer = [this.value(lowNode), this.value(highNode)];
    for (const [index, bound] of outer.entries()) {
      if (bound.kind !== "literal") {
        const boundNode = index === 0 ? lowNode : highNode;
        throw invalidArgument(`at ${boundNode.pos}: range bounds must be constants, found ${describeValue(bound)}`);
      }
    }
    const [a, b] = outer as [LiteralScalar, LiteralScalar];
    const boundOf = (literal: LiteralScalar, op: CompareOp, pos: number): RangeBound => ({
      value: this.coerce(literal.value, value, op, pos),
      inclusive: op === "<=" || op === ">=",
    });
    // 1 < x <= 5: lower 1, upper 5. 5 > x >= 1: upper 5, lower 1.
    const lower = ascending(first.op) ? boundOf(a, first.op, first.pos) : boundOf(b, second.op, second.pos);
    const upper = ascending(first.op) ? boundOf(b, second.op, second.pos) : boundOf(a, first.op, first.pos);
    const isNumeric = (bound: RangeBound): boolean => typeof bound.value === "bigint" || typeof bound.value === "number";
    if (isNumeric(lower) !== isNumeric(upper)) {
      throw invalidArgument(`at ${node.pos}: range bounds must both be numbers or both be strings`);
    }
    return { kind: "range", value, lower, upper };
  }

  private inList(node: Extract<Syntax, { kind: "in" }>): FilterExpr {
    const value = this.value(node.value);
    if (value.kind !== "column" && value.kind !== "json") {
      throw invalidArgument(`at ${node.value.pos}: "${node.negated ? "not in" : "in"}" needs a field or a JSON value on its left, found ${describeValue(value)}`);
    }
    const elements = node.list.values;
    const values: ScalarLiteral[] = new Array<ScalarLiteral>(elements.length);
    for (let index = 0; index < elements.length; index++) {
      const element = elements[index] as LiteralValue;
      if (Array.isArray(element)) throw invalidArgument(`at ${node.list.pos}: element ${index} of the list is itself a list; "in" takes a list of values`);
      checkInt64Range(element, node.list.pos);
      values[index] = this.coerce(element as ScalarLiteral, value, "==", node.list.pos);
    }
    return { kind: "in", value, values, negated: node.negated };
  }

  private like(node: Extract<Syntax, { kind: "like" }>): FilterExpr {
    const value = this.value(node.value);
    if (!((value.kind === "column" && value.type === "string") || value.kind === "json")) {
      throw invalidArgument(`at ${node.value.pos}: "like" needs a VarChar field or a JSON value on its left, found ${describeValue(value)}`);
    }
    const pattern = node.pattern;
    if (pattern.kind !== "literal" || typeof pattern.value !== "string") {
      throw invalidArgument(`at ${pattern.pos}: "like" needs a string pattern, found ${describeSyntax(pattern)}`);
    }
    checkLikePattern(pattern.value, pattern.pos);
    return { kind: "like", value, pattern: pattern.value };
  }

  private contains(node: Extract<Syntax, { kind: "call" }>): FilterExpr {
    const [targetNode, argumentNode] = node.args as [Syntax, Syntax];
    const target = this.value(targetNode);
    if (target.kind !== "json") {
      throw invalidArgument(`at ${targetNode.pos}: ${node.name} needs a JSON field or path as its first argument, found ${describeValue(target)}`);
    }
    const mode = node.name.endsWith("_all") ? "all" : node.name.endsWith("_any") ? "any" : "one";
    let argument: LiteralValue;
    if (argumentNode.kind === "list") argument = argumentNode.values;
    else {
      const value = this.value(argumentNode);
      if (value.kind !== "literal") throw invalidArgument(`at ${argumentNode.pos}: the second argument of ${node.name} must be a literal or a list, found ${describeValue(value)}`);
      argument = value.value;
    }
    if (mode !== "one" && !Array.isArray(argument)) {
      throw invalidArgument(`at ${argumentNode.pos}: the second argument of ${node.name} must be a list, found ${describeLiteral(argument as ScalarLiteral)}`);
    }
    checkInt64Range(argument, argumentNode.pos);
    const elements = mode === "one" ? [toJsonLiteral(argument)] : (argument as readonly LiteralValue[]).map(toJsonLiteral);
    return { kind: "jsonContains", mode, value: target, elements };
  }

  // ---- values ----

  value(node: Syntax): ValueExpr {
    switch (node.kind) {
      case "literal":
        return literalNode(node.value, node.pos);
      case "negate": {
        if (node.child.kind === "literal") {
          const literal = node.child.value;
          if (typeof literal !== "bigint" && typeof literal !== "number") throw invalidArgument(`at ${node.pos}: "-" needs a number, found ${describeLiteral(literal)}`);
          return literalNode(-literal, node.pos);
        }
        const child = this.value(node.child);
        this.requireNumber(child, node.child.pos);
        if (child.kind === "literal") return { ...child, value: -(child.value as bigint | number) };
        return child.type === "int"
          ? { kind: "arith", op: "-", left: { kind: "literal", value: 0n, type: "int" }, right: child, type: "int" }
          : { kind: "arith", op: "-", left: { kind: "literal", value: 0, type: "float" }, right: child, type: "float" };
      }
      case "arith":
        return this.arith(node);
      case "identifier":
        return this.resolve(node);
      case "list":
        throw invalidArgument(`at ${node.pos}: a list is only allowed after "in" or as an argument of json_contains_*`);
      default:
        throw invalidArgument(`at ${node.pos}: expected a value, found ${describeSyntax(node)}`);
    }
  }

  private requireNumber(value: ValueExpr, pos: number): void {
    if (value.type !== "int" && value.type !== "float" && value.type !== "json") {
      throw invalidArgument(`at ${pos}: arithmetic needs numbers, found ${describeValue(value)}`);
    }
  }

  private arith(node: Extract<Syntax, { kind: "arith" }>): ValueExpr {
    const left = this.value(node.left);
    const right = this.value(node.right);
    this.requireNumber(left, node.left.pos);
    this.requireNumber(right, node.right.pos);
    const op = node.op;
    const type = op === "**" || left.type !== "int" || right.type !== "int" ? "float" : "int";
    if ((op === "/" || op === "%") && right.kind === "literal" && Number(right.value) === 0) {
      throw invalidArgument(`at ${node.right.pos}: division by zero`);
    }
    if (left.kind === "literal" && right.kind === "literal") {
      const folded = type === "int" ? integerArith(op, left.value as bigint, right.value as bigint) : floatArith(op, Number(left.value), Number(right.value));
      return { kind: "literal", value: folded, type };
    }
    // In float arithmetic every operand is a double, literals included.
    const operand = (value: ValueExpr): ValueExpr => (type === "float" && value.kind === "literal" ? { kind: "literal", value: Number(value.value), type: "float" } : value);
    return { kind: "arith", op, left: operand(left), right: operand(right), type };
  }

  private resolve(node: Extract<Syntax, { kind: "identifier" }>): ColumnValue | JsonValue {
    const field = fieldByName(this.schema, node.name);
    const path = node.path.map((step) => step.key);
    if (field === undefined) {
      if (this.schema.enableDynamicField && node.name !== DYNAMIC_FIELD_NAME) {
        const dynamic = fieldByName(this.schema, DYNAMIC_FIELD_NAME);
        if (dynamic !== undefined) return { kind: "json", field: dynamic, path: [node.name, ...path], type: "json" };
      }
      const hint = this.schema.enableDynamicField ? "" : " (the collection has no such field and dynamic fields are not enabled)";
      throw invalidArgument(`at ${node.pos}: unknown field "${clip(node.name)}"${hint}`);
    }
    const type = columnValueType(field.dataType);
    if (type === undefined) {
      throw invalidArgument(`at ${node.pos}: "${field.name}" is a ${dataTypeName(field.dataType)} field; filters apply to scalar fields only`);
    }
    if (type === "json") return { kind: "json", field, path, type: "json" };
    if (node.path.length > 0) {
      throw invalidArgument(`at ${(node.path[0] as { pos: number }).pos}: "${field.name}" is a ${dataTypeName(field.dataType)} field; only JSON fields take a ["key"] path`);
    }
    return { kind: "column", field, type };
  }
}

function mismatch(pos: number, against: ValueExpr, literal: ScalarLiteral): Error {
  return invalidArgument(`at ${pos}: cannot compare ${describeValue(against)} with ${describeLiteral(literal)}`);
}

type Category = "bool" | "number" | "string" | "json";

function category(value: ValueExpr): Category {
  switch (value.type) {
    case "bool":
      return "bool";
    case "string":
      return "string";
    case "json":
      return "json";
    default:
      return "number";
  }
}

/** Integers in lists must fit Int64, as written ones do. */
function checkInt64Range(value: LiteralValue, pos: number): void {
  if (Array.isArray(value)) for (const element of value as readonly LiteralValue[]) checkInt64Range(element, pos);
  else if (typeof value === "bigint" && (value < INT64_MIN || value > INT64_MAX)) throw invalidArgument(`at ${pos}: the integer ${value} in the list is outside the Int64 range`);
}

function literalNode(value: bigint | number | string | boolean, pos: number): LiteralScalar {
  switch (typeof value) {
    case "bigint":
      if (value < INT64_MIN || value > INT64_MAX) throw invalidArgument(`at ${pos}: the integer ${value} is outside the Int64 range`);
      return { kind: "literal", value, type: "int" };
    case "number":
      return { kind: "literal", value, type: "float" };
    case "string":
      return { kind: "literal", value, type: "string" };
    default:
      return { kind: "literal", value, type: "bool" };
  }
}

/** JSON numbers are doubles: integer literals compared with JSON become numbers. */
function toJsonLiteral(value: LiteralValue): LiteralValue {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return (value as readonly LiteralValue[]).map(toJsonLiteral);
  return value;
}

/** A like pattern must be well-formed UTF-16 and must not end in the middle of an escape. */
function checkLikePattern(pattern: string, pos: number): void {
  for (let i = 0; i < pattern.length; i++) {
    const unit = pattern.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    const next = pattern.charCodeAt(i + 1);
    if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i += 1;
      continue;
    }
    throw invalidArgument(`at ${pos}: the like pattern holds a lone surrogate (invalid Unicode)`);
  }
  for (let i = 0; i < pattern.length; i++) {
    if (pattern.charCodeAt(i) !== 0x5c) continue;
    if (i + 1 >= pattern.length) throw invalidArgument(`at ${pos}: the like pattern ends with an unfinished escape "\\"`);
    i += 1; // the escaped unit is a literal
  }
}
