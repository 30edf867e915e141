// Recognizes filters that only name primary keys — `pk in [..]`, `pk == x`, and `or`s of them — so
// the query node can look rows up in its primary-key index instead of scanning the segment. Invariant:
// when it returns a list, a row matches the filter exactly when its primary key is in the list.

import type { FilterExpr, ScalarLiteral } from "./ast.ts";
import type { PrimaryKey } from "../querynode/growing-segment.ts";

/** The keys the filter selects, deduplicated in first-seen order; undefined if it is not such a filter. */
export function primaryKeysOf(expr: FilterExpr): PrimaryKey[] | undefined {
  const keys: PrimaryKey[] = [];
  const seen = new Set<PrimaryKey>();
  const add = (value: ScalarLiteral): void => {
    let key: PrimaryKey;
    if (typeof value === "bigint" || typeof value === "string") key = value;
    else if (typeof value === "number" && Number.isInteger(value) && Math.abs(value) <= 2 ** 63) key = BigInt(value);
    else return; // 1.5 (or 1e300) names no Int64 key
    if (seen.has(key)) return;
    seen.add(key);
    keys.push(key);
  };
  const collect = (node: FilterExpr): boolean => {
    switch (node.kind) {
      case "or":
        return node.children.every(collect);
      case "in":
        if (node.negated || node.value.kind !== "column" || !node.value.field.isPrimaryKey) return false;
        node.values.forEach(add);
        return true;
      case "compare":
        if (node.op !== "==" || node.left.kind !== "column" || !node.left.field.isPrimaryKey || node.right.kind !== "literal") return false;
        add(node.right.value);
        return true;
      default:
        return false;
    }
  };
  return collect(expr) ? keys : undefined;
}
