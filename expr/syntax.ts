// The untyped syntax tree of a filter expression, as the parser builds it from tokens and before the
// checker resolves fields and types (check.ts). Every node keeps the character offset it starts at, so
// that type errors can name the position. Template placeholders are already replaced by their values.

import { clip, type Keyword } from "./lexer.ts";
import type { ArithOp, CompareOp, LiteralValue } from "./ast.ts";

export type ContainsFunction = Extract<Keyword, `json_${string}` | `array_${string}`>;

/** Every node: where it starts, and the height of its subtree (leaves 1), which bounds recursion over it. */
interface Node {
  pos: number;
  height: number;
}

export type Syntax = Node &
  (
  | { kind: "or"; children: Syntax[] }
  | { kind: "and"; children: Syntax[] }
  | { kind: "not"; child: Syntax }
  /** One comparison (`operands.length === 2`) or a chain such as `1 < x <= 5` (three operands). */
  | { kind: "compare"; operands: Syntax[]; ops: Array<{ op: CompareOp; pos: number }> }
  | { kind: "in"; value: Syntax; list: Extract<Syntax, { kind: "list" }>; negated: boolean }
  | { kind: "like"; value: Syntax; pattern: Syntax }
  | { kind: "isNull"; value: Syntax; negated: boolean }
  | { kind: "arith"; op: ArithOp; left: Syntax; right: Syntax }
  | { kind: "negate"; child: Syntax }
  /** A field name (or `$meta`) with an optional JSON path: name["a"][0]. */
  | { kind: "identifier"; name: string; path: Array<{ key: string; pos: number }> }
  | { kind: "literal"; value: bigint | number | string | boolean }
  /** A list of literal values (written inline or given as a template value). */
  | { kind: "list"; values: LiteralValue[] }
  | { kind: "call"; name: ContainsFunction; args: Syntax[] }
  );

/** How a syntax node reads in an error message ("found ..."). */
export function describeSyntax(node: Syntax): string {
  switch (node.kind) {
    case "or":
    case "and":
    case "not":
    case "compare":
    case "in":
    case "like":
    case "isNull":
    case "call":
      return "a condition";
    case "arith":
    case "negate":
      return "an arithmetic expression";
    case "identifier":
      return `"${clip(`${node.name}${node.path.map((step) => `[${JSON.stringify(step.key)}]`).join("")}`)}"`;
    case "literal":
      return describeLiteral(node.value);
    case "list":
      return "a list";
  }
}

export function describeLiteral(value: bigint | number | string | boolean): string {
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === "boolean") return `the boolean ${value}`;
  return `the number ${String(value)}`;
}
