// The filter parser: Milvus boolean expression text → syntax tree (recursive descent over the lexer's
// tokens) → typed AST checked against a collection schema (check.ts). `parseFilter` is the one entry
// point the proxy and the query node call.
//
// Precedence, loosest first: `or`/`||`; `and`/`&&`; prefix `not`/`!`; comparisons, `in`, `not in`,
// `like`, `is [not] null`; `+ -`; `* / %`; prefix `- +`; `**` (right-associative). Unlike Milvus's
// grammar, `not` binds looser than a comparison, so `not x > 1` means `not (x > 1)`.
//
// Invariants: every failure is a VelaError — InvalidArgument for bad input, LimitExceeded when a bound
// of expressionDefaults is passed — whose message starts with the character offset (except the bounds
// on the whole text and on the template values); recursion is bounded by nestingDepthMax (checked
// before descending), and so is the height of the tree built by loops, so no input overflows the stack.

import { expressionDefaults, resolveLimits, type ExpressionLimits } from "../common/config.ts";
import { invalidArgument, limitExceeded } from "../common/errors.ts";
import type { CollectionSchema } from "../common/schema.ts";
import type { ArithOp, CompareOp, FilterExpr, LiteralValue } from "./ast.ts";
import { checkFilter } from "./check.ts";
import { describeToken, tokenize, type Keyword, type Punctuation, type Token } from "./lexer.ts";
import type { ContainsFunction, Syntax } from "./syntax.ts";

/** A value given for a `{name}` placeholder. Integral numbers up to 2^53 count as integers. */
export type TemplateValue = number | bigint | string | boolean | readonly TemplateValue[];

export interface ParseOptions {
  /** Values for the expression's `{name}` placeholders (Milvus filter templating). */
  templateValues?: Readonly<Record<string, TemplateValue>>;
  limits?: Partial<ExpressionLimits>;
}

/**
 * Parses and checks a filter expression against `schema`. Throws VelaError InvalidArgument (message
 * `at <offset>: ...`) for a syntax or type error, LimitExceeded when a bound is passed.
 */
export function parseFilter(text: string, schema: CollectionSchema, options: ParseOptions = {}): FilterExpr {
  const limits = resolveLimits(expressionDefaults, options.limits, "expression limits");
  const syntax = parseSyntax(text, options.templateValues, limits);
  return checkFilter(syntax, schema);
}

/** Parses the text into an untyped syntax tree (no schema needed). */
export function parseSyntax(text: string, templateValues: Readonly<Record<string, TemplateValue>> | undefined, limits: ExpressionLimits): Syntax {
  if (typeof text !== "string") throw invalidArgument("a filter expression must be a string");
  if (text.length > limits.expressionLengthMax) {
    throw limitExceeded(`the filter expression is ${text.length} characters long, more than the limit of ${limits.expressionLengthMax} (expressionLengthMax)`);
  }
  if (templateValues !== undefined) {
    if (typeof templateValues !== "object" || templateValues === null || Array.isArray(templateValues)) {
      throw invalidArgument("template values must be an object of named values");
    }
    const count = Object.keys(templateValues).length;
    if (count > limits.templateValuesMax) {
      throw limitExceeded(`${count} template values are more than the limit of ${limits.templateValuesMax} (templateValuesMax)`);
    }
  }
  return new Parser(tokenize(text), templateValues, limits).parseExpression();
}

const COMPARE_OPS = new Set<string>(["==", "!=", "<", "<=", ">", ">="]);
const CONTAINS_FUNCTIONS = new Set<string>(["json_contains", "json_contains_all", "json_contains_any", "array_contains", "array_contains_all", "array_contains_any"]);

class Parser {
  private index = 0;
  /** Active recursive descents (parentheses, prefix operators, powers, lists, calls). */
  private depth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly templateValues: Readonly<Record<string, TemplateValue>> | undefined,
    private readonly limits: ExpressionLimits,
  ) {}

  parseExpression(): Syntax {
    const first = this.peek();
    if (first.kind === "eof") throw invalidArgument(`at ${first.pos}: expected a condition, found ${describeToken(first)}`);
    const node = this.parseOr();
    const next = this.peek();
    if (next.kind !== "eof") {
      throw invalidArgument(`at ${next.pos}: expected an operator, "and", "or" or the end of the expression, found ${describeToken(next)}`);
    }
    return node;
  }

  // ---- token helpers ----

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)] as Token;
  }

  private advance(): Token {
    const token = this.peek();
    if (this.index < this.tokens.length - 1) this.index += 1;
    return token;
  }

  private isPunctuation(token: Token, ...punctuation: Punctuation[]): boolean {
    return token.kind === "punctuation" && punctuation.includes(token.punctuation);
  }

  private isKeyword(token: Token, ...keywords: Keyword[]): boolean {
    return token.kind === "keyword" && keywords.includes(token.keyword);
  }

  private expectPunctuation(punctuation: Punctuation, context: string): Token {
    const token = this.peek();
    if (!this.isPunctuation(token, punctuation)) throw invalidArgument(`at ${token.pos}: expected "${punctuation}" ${context}, found ${describeToken(token)}`);
    return this.advance();
  }

  /** Runs a recursive descent one level deeper, failing cleanly past the nesting bound. */
  private descend<T>(pos: number, parse: () => T): T {
    if (this.depth >= this.limits.nestingDepthMax) throw this.tooDeep(pos);
    this.depth += 1;
    try {
      return parse();
    } finally {
      this.depth -= 1;
    }
  }

  private tooDeep(pos: number): Error {
    return limitExceeded(`at ${pos}: the expression nests more than ${this.limits.nestingDepthMax} levels deep (nestingDepthMax)`);
  }

  /** Sets a node's height from its children's; bounds the tree that left-associative loops build without recursing. */
  private built<T extends Syntax>(node: T, ...children: Syntax[]): T {
    let height = 0;
    for (const child of children) height = Math.max(height, child.height);
    if (height + 1 > this.limits.nestingDepthMax) throw this.tooDeep(node.pos);
    node.height = height + 1;
    return node;
  }

  // ---- grammar ----

  private parseOr(): Syntax {
    const first = this.parseAnd();
    if (!this.isOr(this.peek())) return first;
    const children = [first];
    while (this.isOr(this.peek())) {
      this.advance();
      children.push(this.parseAnd());
    }
    return this.built({ kind: "or", pos: first.pos, height: 0, children }, ...children);
  }

  private isOr(token: Token): boolean {
    return this.isKeyword(token, "or") || this.isPunctuation(token, "||");
  }

  private isAnd(token: Token): boolean {
    return this.isKeyword(token, "and") || this.isPunctuation(token, "&&");
  }

  private parseAnd(): Syntax {
    const first = this.parseNot();
    if (!this.isAnd(this.peek())) return first;
    const children = [first];
    while (this.isAnd(this.peek())) {
      this.advance();
      children.push(this.parseNot());
    }
    return this.built({ kind: "and", pos: first.pos, height: 0, children }, ...children);
  }

  private parseNot(): Syntax {
    const token = this.peek();
    if (this.isKeyword(token, "not") || this.isPunctuation(token, "!")) {
      this.advance();
      if (this.peek().kind === "eof") throw invalidArgument(`at ${this.peek().pos}: expected a condition after ${describeToken(token)}, found the end of the expression`);
      const child = this.descend(token.pos, () => this.parseNot());
      return this.built({ kind: "not", pos: token.pos, height: 0, child }, child);
    }
    return this.parsePredicate();
  }

  private parsePredicate(): Syntax {
    const value = this.parseAdditive();
    const token = this.peek();
    if (token.kind === "punctuation" && COMPARE_OPS.has(token.punctuation)) {
      const operands = [value];
      const ops: Array<{ op: CompareOp; pos: number }> = [];
      while (true) {
        const next = this.peek();
        if (!(next.kind === "punctuation" && COMPARE_OPS.has(next.punctuation))) break;
        this.advance();
        ops.push({ op: next.punctuation as CompareOp, pos: next.pos });
        operands.push(this.parseOperand(`after "${next.punctuation}"`));
        if (ops.length > 2) {
          throw invalidArgument(`at ${next.pos}: comparisons cannot be chained beyond a range such as 1 < x <= 5`);
        }
      }
      return this.built({ kind: "compare", pos: value.pos, height: 0, operands, ops }, ...operands);
    }
    if (this.isKeyword(token, "in")) {
      this.advance();
      const list = this.parseListOperand(token);
      return this.built({ kind: "in", pos: value.pos, height: 0, value, list, negated: false }, value, list);
    }
    if (this.isKeyword(token, "not")) {
      const next = this.peek(1);
      if (!this.isKeyword(next, "in")) throw invalidArgument(`at ${next.pos}: expected "in" after "not", found ${describeToken(next)}`);
      this.advance();
      this.advance();
      const list = this.parseListOperand(next);
      return this.built({ kind: "in", pos: value.pos, height: 0, value, list, negated: true }, value, list);
    }
    if (this.isKeyword(token, "like")) {
      this.advance();
      const pattern = this.parseOperand(`after ${describeToken(token)}`);
      return this.built({ kind: "like", pos: value.pos, height: 0, value, pattern }, value, pattern);
    }
    if (this.isKeyword(token, "is")) {
      this.advance();
      let negated = false;
      if (this.isKeyword(this.peek(), "not")) {
        this.advance();
        negated = true;
      }
      const nullToken = this.peek();
      if (!this.isKeyword(nullToken, "null")) {
        throw invalidArgument(`at ${nullToken.pos}: expected ${negated ? '"null" after "is not"' : '"null" or "not null" after "is"'}, found ${describeToken(nullToken)}`);
      }
      this.advance();
      return this.built({ kind: "isNull", pos: value.pos, height: 0, value, negated }, value);
    }
    return value;
  }

  /** The right side of `in`: a list literal or a template placeholder holding a list. */
  private parseListOperand(inToken: Token): Extract<Syntax, { kind: "list" }> {
    const token = this.peek();
    const what = `after ${describeToken(inToken)}`;
    if (this.isPunctuation(token, "[")) return this.parseList();
    if (this.isPunctuation(token, "{")) {
      const value = this.parseTemplate();
      if (value.kind !== "list") throw invalidArgument(`at ${token.pos}: expected a list ${what}, the template value is ${value.kind === "literal" ? "a single value" : "not a list"}`);
      return value;
    }
    throw invalidArgument(`at ${token.pos}: expected a list ${what}, found ${describeToken(token)}`);
  }

  /** An operand that must be present (after a binary operator). */
  private parseOperand(context: string): Syntax {
    const token = this.peek();
    if (!this.startsValue(token)) throw invalidArgument(`at ${token.pos}: expected a value ${context}, found ${describeToken(token)}`);
    return this.parseAdditive();
  }

  private startsValue(token: Token): boolean {
    switch (token.kind) {
      case "identifier":
      case "integer":
      case "float":
      case "string":
      case "boolean":
        return true;
      case "keyword":
        // `null` is not a value, but parsePrimary explains that better than "expected a value".
        return CONTAINS_FUNCTIONS.has(token.keyword) || token.keyword === "null";
      case "punctuation":
        return ["(", "[", "{", "-", "+"].includes(token.punctuation);
      default:
        return false;
    }
  }

  private parseAdditive(): Syntax {
    let left = this.parseMultiplicative();
    while (true) {
      const token = this.peek();
      if (!this.isPunctuation(token, "+", "-")) return left;
      this.advance();
      this.requireOperand(token);
      const right = this.parseMultiplicative();
      left = this.built({ kind: "arith", pos: left.pos, height: 0, op: (token as { punctuation: ArithOp }).punctuation, left, right }, left, right);
    }
  }

  private parseMultiplicative(): Syntax {
    let left = this.parseUnary();
    while (true) {
      const token = this.peek();
      if (!this.isPunctuation(token, "*", "/", "%")) return left;
      this.advance();
      this.requireOperand(token);
      const right = this.parseUnary();
      left = this.built({ kind: "arith", pos: left.pos, height: 0, op: (token as { punctuation: ArithOp }).punctuation, left, right }, left, right);
    }
  }

  private requireOperand(operator: Token): void {
    const token = this.peek();
    if (!this.startsValue(token)) throw invalidArgument(`at ${token.pos}: expected a value after ${describeToken(operator)}, found ${describeToken(token)}`);
  }

  private parseUnary(): Syntax {
    const token = this.peek();
    if (this.isPunctuation(token, "-", "+")) {
      this.advance();
      return this.descend(token.pos, () => {
        this.requireOperand(token);
        const child = this.parseUnary();
        if ((token as { punctuation: string }).punctuation === "+") return child;
        return this.built({ kind: "negate", pos: token.pos, height: 0, child }, child);
      });
    }
    return this.parsePower();
  }

  private parsePower(): Syntax {
    const base = this.parsePrimary();
    const token = this.peek();
    if (!this.isPunctuation(token, "**")) return base;
    this.advance();
    const exponent = this.descend(token.pos, () => {
      this.requireOperand(token);
      return this.parseUnary();
    });
    return this.built({ kind: "arith", pos: base.pos, height: 0, op: "**", left: base, right: exponent }, base, exponent);
  }

  private parsePrimary(): Syntax {
    const token = this.peek();
    switch (token.kind) {
      case "integer":
      case "float":
      case "string":
      case "boolean":
        this.advance();
        return this.built({ kind: "literal", pos: token.pos, height: 0, value: token.value });
      case "identifier":
        return this.parseIdentifier();
      case "keyword":
        if (CONTAINS_FUNCTIONS.has(token.keyword)) return this.parseCall();
        if (token.keyword === "null") throw invalidArgument(`at ${token.pos}: null is not a value; use "is null" or "is not null"`);
        throw invalidArgument(`at ${token.pos}: expected a value, found ${describeToken(token)}`);
      case "punctuation":
        if (token.punctuation === "(") {
          this.advance();
          const inner = this.descend(token.pos, () => {
            if (this.isPunctuation(this.peek(), ")")) throw invalidArgument(`at ${this.peek().pos}: expected an expression inside "()", found ")"`);
            return this.parseOr();
          });
          this.expectPunctuation(")", `to close the "(" at ${token.pos}`);
          return inner;
        }
        if (token.punctuation === "[") return this.parseList();
        if (token.punctuation === "{") return this.parseTemplate();
        throw invalidArgument(`at ${token.pos}: expected a value, found ${describeToken(token)}`);
      default:
        throw invalidArgument(`at ${token.pos}: expected a value, found ${describeToken(token)}`);
    }
  }

  private parseIdentifier(): Syntax {
    const token = this.advance() as Extract<Token, { kind: "identifier" }>;
    if (this.isPunctuation(this.peek(), "(")) {
      throw invalidArgument(`at ${token.pos}: unknown function "${token.name}"; the functions are ${[...CONTAINS_FUNCTIONS].join(", ")}`);
    }
    const path: Array<{ key: string; pos: number }> = [];
    while (this.isPunctuation(this.peek(), "[")) {
      const open = this.advance();
      const step = this.peek();
      if (step.kind === "string") path.push({ key: step.value, pos: step.pos });
      else if (step.kind === "integer" && /^(0|[1-9][0-9]*)$/.test(step.text)) path.push({ key: step.text, pos: step.pos });
      else throw invalidArgument(`at ${step.pos}: expected a key string or an array index after "[", found ${describeToken(step)}`);
      this.advance();
      this.expectPunctuation("]", `to close the "[" at ${open.pos}`);
      if (path.length > this.limits.nestingDepthMax) throw this.tooDeep(open.pos);
    }
    return this.built({ kind: "identifier", pos: token.pos, height: 0, name: token.name, path });
  }

  private parseCall(): Syntax {
    const token = this.advance() as Extract<Token, { kind: "keyword" }>;
    const name = token.keyword as ContainsFunction;
    this.expectPunctuation("(", `after "${token.text}"`);
    return this.descend(token.pos, () => {
      const target = this.parseOperand(`as the first argument of ${token.text}`);
      this.expectPunctuation(",", `after the first argument of ${token.text}`);
      const argument = this.parseOperand(`as the second argument of ${token.text}`);
      this.expectPunctuation(")", `to close ${token.text}(`);
      return this.built({ kind: "call", pos: token.pos, height: 0, name, args: [target, argument] }, target, argument);
    });
  }

  /** A list literal: `[v, v, ...]` where each v is a literal, a negated number, a nested list or a placeholder. */
  private parseList(): Extract<Syntax, { kind: "list" }> {
    const open = this.advance();
    return this.descend(open.pos, () => {
      const values: LiteralValue[] = [];
      if (this.isPunctuation(this.peek(), "]")) {
        this.advance();
        return this.built({ kind: "list", pos: open.pos, height: 0, values });
      }
      while (true) {
        values.push(this.parseListElement());
        if (values.length > this.limits.listLengthMax) {
          throw limitExceeded(`at ${open.pos}: the list has more than ${this.limits.listLengthMax} elements (listLengthMax)`);
        }
        const next = this.peek();
        if (this.isPunctuation(next, ",")) {
          this.advance();
          if (this.isPunctuation(this.peek(), "]")) break; // a trailing comma, as Milvus allows
          continue;
        }
        if (this.isPunctuation(next, "]")) break;
        throw invalidArgument(`at ${next.pos}: expected "," or "]" in the list opened at ${open.pos}, found ${describeToken(next)}`);
      }
      this.advance();
      return this.built({ kind: "list", pos: open.pos, height: 0, values });
    });
  }

  private parseListElement(): LiteralValue {
    const token = this.peek();
    if (token.kind === "integer" || token.kind === "float" || token.kind === "string" || token.kind === "boolean") {
      this.advance();
      return token.value;
    }
    if (this.isPunctuation(token, "-", "+")) {
      this.advance();
      const number = this.peek();
      if (number.kind !== "integer" && number.kind !== "float") throw invalidArgument(`at ${number.pos}: expected a number after ${describeToken(token)} in a list, found ${describeToken(number)}`);
      this.advance();
      return (token as { punctuation: string }).punctuation === "-" ? -number.value : number.value;
    }
    if (this.isPunctuation(token, "[")) return this.parseList().values;
    if (this.isPunctuation(token, "{")) {
      const value = this.parseTemplate();
      return value.kind === "list" ? value.values : value.value;
    }
    throw invalidArgument(`at ${token.pos}: expected a literal value in the list, found ${describeToken(token)} (list elements must be literals)`);
  }

  /** `{name}`: the template value, as a literal or a list node at the placeholder's position. */
  private parseTemplate(): Extract<Syntax, { kind: "literal" } | { kind: "list" }> {
    const open = this.advance();
    const nameToken = this.peek();
    if (nameToken.kind !== "identifier") throw invalidArgument(`at ${nameToken.pos}: expected a placeholder name after "{", found ${describeToken(nameToken)}`);
    this.advance();
    this.expectPunctuation("}", `to close the placeholder {${nameToken.name}`);
    const values = this.templateValues;
    if (values === undefined || !Object.hasOwn(values, nameToken.name)) {
      throw invalidArgument(`at ${open.pos}: no template value was given for the placeholder {${nameToken.name}}`);
    }
    const converted = this.convertTemplateValue(values[nameToken.name], nameToken.name, open.pos, 0);
    if (Array.isArray(converted)) return this.built({ kind: "list", pos: open.pos, height: 0, values: converted as LiteralValue[] });
    return this.built({ kind: "literal", pos: open.pos, height: 0, value: converted as bigint | number | string | boolean });
  }

  private convertTemplateValue(value: unknown, name: string, pos: number, depth: number): LiteralValue {
    if (depth >= this.limits.nestingDepthMax) throw this.tooDeep(pos);
    switch (typeof value) {
      case "bigint":
      case "string":
      case "boolean":
        return value;
      case "number":
        if (!Number.isFinite(value)) throw invalidArgument(`at ${pos}: the template value {${name}} is ${value}; numbers must be finite`);
        // An integral number within 2^53 is an integer, as it would be if written in the expression.
        return Number.isInteger(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER ? BigInt(value) : value;
      default:
        if (Array.isArray(value)) {
          if (value.length > this.limits.listLengthMax) {
            throw limitExceeded(`at ${pos}: the template value {${name}} has ${value.length} elements, more than the limit of ${this.limits.listLengthMax} (listLengthMax)`);
          }
          const out = new Array<LiteralValue>(value.length);
          for (let i = 0; i < value.length; i++) out[i] = this.convertTemplateValue(value[i], name, pos, depth + 1);
          return out;
        }
        throw invalidArgument(`at ${pos}: the template value {${name}} must be a number, bigint, string, boolean or an array of them, got ${value === null ? "null" : typeof value}`);
    }
  }
}

