// The arithmetic operators of filter expressions, shared by constant folding (check.ts) and
// column evaluation (value-vectors.ts) so both compute exactly the same values. Integers are bigints
// (never wrapping); `**` is a floating-point operator only. Division by zero is the callers' concern.

import { ErrorCode, VelaError } from "../common/errors.ts";
import type { ArithOp } from "./ast.ts";

export function integerArith(op: ArithOp, a: bigint, b: bigint): bigint {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return a / b;
    case "%":
      return a % b;
    default:
      throw new VelaError(ErrorCode.Internal, `invariant broken: ${op} is never an integer operation`);
  }
}

export function floatArith(op: ArithOp, a: number, b: number): number {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return a / b;
    case "%":
      return a % b;
    case "**":
      return a ** b;
  }
}
