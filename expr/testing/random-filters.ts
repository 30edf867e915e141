// Seeded generators for filter tests: a schema with every scalar type (nullable variants, a JSON
// field, dynamic fields), random rows with values chosen to collide with literals and sit on type
// boundaries, and random well-typed filter expressions covering every construct of the language
// (written as text, in varied spellings, sometimes with template placeholders).

import { DataType, normalizeSchema, type CollectionSchema } from "../../common/schema.ts";
import type { SeededRandom } from "../../common/random.ts";
import type { Row } from "../oracle.ts";
import type { TemplateValue } from "../parser.ts";

export function filterTestSchema(): CollectionSchema {
  return normalizeSchema({
    name: "filters",
    enableDynamicField: true,
    fields: [
      { name: "id", dataType: DataType.Int64, isPrimaryKey: true },
      { name: "vec", dataType: DataType.FloatVector, dim: 2 },
      { name: "b", dataType: DataType.Bool },
      { name: "i8", dataType: DataType.Int8 },
      { name: "i16", dataType: DataType.Int16 },
      { name: "i32", dataType: DataType.Int32 },
      { name: "i64", dataType: DataType.Int64 },
      { name: "f", dataType: DataType.Float },
      { name: "d", dataType: DataType.Double },
      { name: "s", dataType: DataType.VarChar, maxLength: 64 },
      { name: "j", dataType: DataType.JSON },
      { name: "nb", dataType: DataType.Bool, nullable: true },
      { name: "ni32", dataType: DataType.Int32, nullable: true },
      { name: "ni64", dataType: DataType.Int64, nullable: true },
      { name: "nf", dataType: DataType.Float, nullable: true },
      { name: "nd", dataType: DataType.Double, nullable: true },
      { name: "ns", dataType: DataType.VarChar, maxLength: 64, nullable: true },
      { name: "nj", dataType: DataType.JSON, nullable: true },
    ],
  });
}

const STRING_PIECES = ["a", "b", "ab", "A", "é", "😀", "\uE000", "\uFFFF", "%", "_", "\\", " ", "z"];
const INT64_EDGES = [0n, 1n, -1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 32n, -(2n ** 32n), 4294967295n];

function randomString(random: SeededRandom): string {
  let text = "";
  const length = random.int(0, 3);
  for (let i = 0; i < length; i++) text += random.pick(STRING_PIECES);
  return text;
}

function smallInt(random: SeededRandom): number {
  return random.int(-4, 4);
}

function randomInt64(random: SeededRandom): bigint {
  const choice = random.int(0, 9);
  if (choice < 6) return BigInt(smallInt(random));
  if (choice < 9) return random.pick(INT64_EDGES);
  return BigInt.asIntN(64, (BigInt(random.nextUint32()) << 32n) | BigInt(random.nextUint32()));
}

function randomDouble(random: SeededRandom): number {
  return random.pick([0, -0, 0.5, 1, -1, 2, 2.5, -2.5, 0.1, 0.30000000000000004, 1e300, -1e300, 3, 4, -4, 1.25]);
}

function randomScalarJson(random: SeededRandom): unknown {
  switch (random.int(0, 5)) {
    case 0:
      return smallInt(random);
    case 1:
      return randomDouble(random);
    case 2:
      return randomString(random);
    case 3:
      return random.bool();
    case 4:
      return null;
    default:
      return random.pick([2 ** 53, -7, 100]);
  }
}

function randomJsonList(random: SeededRandom): unknown[] {
  const length = random.int(0, 4);
  const list: unknown[] = [];
  for (let i = 0; i < length; i++) list.push(random.bool(0.15) ? [smallInt(random), smallInt(random)] : random.pick([smallInt(random), random.pick(["a", "b", "é"]), random.bool()]));
  return list;
}

function randomDocument(random: SeededRandom): unknown {
  if (random.bool(0.08)) return random.pick([3, "a", [1, 2], true]);
  const document: Record<string, unknown> = {};
  if (random.bool(0.85)) document.a = random.bool(0.15) ? randomJsonList(random) : randomScalarJson(random);
  if (random.bool(0.6)) document.b = random.bool(0.8) ? { c: randomScalarJson(random) } : randomScalarJson(random);
  if (random.bool(0.7)) document.list = randomJsonList(random);
  if (random.bool(0.1)) document["0"] = smallInt(random);
  return document;
}

function maybeNull<T>(random: SeededRandom, make: () => T): T | null {
  return random.bool(0.25) ? null : make();
}

export function randomRows(random: SeededRandom, count: number): Row[] {
  const rows: Row[] = [];
  for (let index = 0; index < count; index++) {
    const meta: Record<string, unknown> = {};
    if (random.bool(0.8)) meta.x = random.bool(0.7) ? smallInt(random) : randomScalarJson(random);
    if (random.bool(0.6)) meta.y = randomString(random);
    if (random.bool(0.6)) meta.tags = randomJsonList(random);
    if (random.bool(0.3)) meta.nested = { k: smallInt(random) };
    rows.push({
      id: BigInt(index),
      b: random.bool(),
      i8: random.bool(0.9) ? smallInt(random) : random.pick([127, -128]),
      i16: random.bool(0.9) ? smallInt(random) : random.pick([32767, -32768]),
      i32: random.bool(0.9) ? smallInt(random) : random.pick([2147483647, -2147483648]),
      i64: randomInt64(random),
      f: Math.fround(random.bool(0.8) ? randomDouble(random) : random.pick([16777217, 0.1, 3.4e38])),
      d: randomDouble(random),
      s: randomString(random),
      j: randomDocument(random),
      nb: maybeNull(random, () => random.bool()),
      ni32: maybeNull(random, () => smallInt(random)),
      ni64: maybeNull(random, () => randomInt64(random)),
      nf: maybeNull(random, () => Math.fround(randomDouble(random))),
      nd: maybeNull(random, () => randomDouble(random)),
      ns: maybeNull(random, () => randomString(random)),
      nj: maybeNull(random, () => randomDocument(random)),
      $meta: meta,
    });
  }
  return rows;
}

const INT_FIELDS = ["id", "i8", "i16", "i32", "i64", "ni32", "ni64"];
const FLOAT_FIELDS = ["f", "d", "nf", "nd"];
const STRING_FIELDS = ["s", "ns"];
const BOOL_FIELDS = ["b", "nb"];
const JSON_PATHS = ['j["a"]', 'j["b"]["c"]', 'j["list"][0]', 'j["list"][1]', 'j["b"]', 'j["0"]', "j[0]", 'j["missing"]', "j", 'nj["a"]', 'nj["list"][0]', "x", "y", '$meta["x"]', 'nested["k"]', "tags[0]", "absent_key"];
const JSON_LIST_PATHS = ['j["list"]', 'j["a"]', "tags", '$meta["tags"]', 'nj["list"]', "j"];
const INT_LITERALS = ["0", "1", "-1", "2", "3", "-3", "4", "127", "-128", "32767", "2147483647", "-2147483648", "9007199254740993", "-9007199254740993", "9223372036854775807", "-9223372036854775808", "4294967295", "0x10", "07", "0b11"];
const FLOAT_LITERALS = ["0.5", "-0.5", "1.25", "0.1", ".5", "2.", "1e3", "2.5e-1", "-0.0", "1e300", "1e400", "16777217.0", "0.30000000000000004", "-2.5"];
const COMPARE_OPS = ["==", "!=", "<", "<=", ">", ">="];

/** Generates well-typed random filters as text, with the template values they use. */
export class RandomFilterWriter {
  private templateValues: Record<string, TemplateValue> = {};
  private templateCount = 0;

  constructor(private readonly random: SeededRandom) {}

  next(): { text: string; templateValues: Record<string, TemplateValue> } {
    this.templateValues = {};
    this.templateCount = 0;
    const text = this.condition(this.random.int(0, 3));
    return { text, templateValues: this.templateValues };
  }

  private keyword(word: string): string {
    return this.random.pick([word, word.toUpperCase(), word[0]?.toUpperCase() + word.slice(1)]);
  }

  private template(value: TemplateValue, written: string): string {
    if (!this.random.bool(0.1)) return written;
    const name = `p${this.templateCount++}`;
    this.templateValues[name] = value;
    return `{${name}}`;
  }

  private intLiteral(): string {
    const text = this.random.bool(0.7) ? this.random.pick(INT_LITERALS) : String(smallInt(this.random));
    const value = BigInt(/^0[0-7]+$/.test(text) ? `0o${text.slice(1)}` : text);
    return this.template(value, text);
  }

  private floatLiteral(): string {
    const text = this.random.pick(FLOAT_LITERALS);
    const value = Number(text);
    return Number.isFinite(value) ? this.template(value, text) : text;
  }

  private numberLiteral(): string {
    return this.random.bool(0.6) ? this.intLiteral() : this.floatLiteral();
  }

  private stringLiteral(): string {
    const value = randomString(this.random);
    const quote = this.random.bool() ? '"' : "'";
    let written = "";
    for (const char of value) {
      if (char === quote || char === "\\") written += `\\${char}`;
      else if (char === "é" && this.random.bool(0.5)) written += "\\u00e9";
      else written += char;
    }
    return this.template(value, `${quote}${written}${quote}`);
  }

  private boolLiteral(): string {
    const value = this.random.bool();
    return this.template(value, this.random.pick(value ? ["true", "True", "TRUE"] : ["false", "False", "FALSE"]));
  }

  private scalarLiteral(): { text: string; kind: "number" | "string" | "bool" } {
    switch (this.random.int(0, 3)) {
      case 0:
        return { text: this.intLiteral(), kind: "number" };
      case 1:
        return { text: this.floatLiteral(), kind: "number" };
      case 2:
        return { text: this.stringLiteral(), kind: "string" };
      default:
        return { text: this.boolLiteral(), kind: "bool" };
    }
  }

  private list(element: () => string): string {
    const length = this.random.int(0, 4);
    const items: string[] = [];
    for (let i = 0; i < length; i++) items.push(element());
    if (items.some((item) => item.startsWith("{"))) return `[${items.join(", ")}]`;
    return `[${items.join(", ")}${items.length > 0 && this.random.bool(0.1) ? "," : ""}]`;
  }

  private condition(depth: number): string {
    if (depth <= 0 || this.random.bool(0.35)) return this.leaf();
    switch (this.random.int(0, 4)) {
      case 0:
        return `${this.random.pick([this.keyword("not") + " ", "!"])}(${this.condition(depth - 1)})`;
      case 1:
        return `${this.keyword("not")} ${this.leaf()}`;
      case 2: {
        const parts = [this.condition(depth - 1), this.condition(depth - 1)];
        if (this.random.bool(0.3)) parts.push(this.condition(depth - 1));
        const joiner = this.random.pick([` ${this.keyword("and")} `, " && "]);
        return `(${parts.join(joiner)})`;
      }
      default: {
        const parts = [this.condition(depth - 1), this.condition(depth - 1)];
        const joiner = this.random.pick([` ${this.keyword("or")} `, " || "]);
        return `(${parts.join(joiner)})`;
      }
    }
  }

  private compareOp(): string {
    return this.random.pick(COMPARE_OPS);
  }

  private oriented(left: string, op: string, right: string): string {
    if (!this.random.bool(0.3)) return `${left} ${op} ${right}`;
    const flipped: Record<string, string> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!=" };
    return `${right} ${flipped[op]} ${left}`;
  }

  private numericOperand(): string {
    switch (this.random.int(0, 3)) {
      case 0:
      case 1:
        return this.random.pick(INT_FIELDS);
      case 2:
        return this.random.pick(FLOAT_FIELDS);
      default:
        return this.random.pick(['j["a"]', "x", 'j["b"]["c"]', 'nj["a"]']);
    }
  }

  /** Arithmetic with at least one field per operator, so nothing folds (no literal zero divisors). */
  private arithmetic(depth: number): string {
    const left = depth > 0 && this.random.bool(0.3) ? `(${this.arithmetic(depth - 1)})` : this.numericOperand();
    const op = this.random.pick(["+", "-", "*", "/", "%", "**", "*", "+"]);
    let right: string;
    if (this.random.bool(0.5)) right = this.numericOperand();
    else if (op === "**") right = this.random.pick(["2", "0.5", "3", "-1"]);
    else right = this.random.pick(["2", "3", "-3", "0.5", "7", "1e10", "2147483648", "9007199254740993", "2.5"]);
    if (this.random.bool(0.15)) return `-${left} ${op} ${right}`;
    return `${left} ${op} ${right}`;
  }

  private leaf(): string {
    const random = this.random;
    switch (random.int(0, 17)) {
      case 0:
      case 1:
        return this.oriented(random.pick(INT_FIELDS), this.compareOp(), this.numberLiteral());
      case 2:
        return this.oriented(random.pick(FLOAT_FIELDS), this.compareOp(), this.numberLiteral());
      case 3:
        return this.oriented(random.pick(STRING_FIELDS), this.compareOp(), this.stringLiteral());
      case 4:
        return random.bool(0.5) ? random.pick(BOOL_FIELDS) : this.oriented(random.pick(BOOL_FIELDS), random.pick(["==", "!="]), this.boolLiteral());
      case 5: {
        const literal = this.scalarLiteral();
        const op = literal.kind === "bool" ? random.pick(["==", "!="]) : this.compareOp();
        return this.oriented(random.pick(JSON_PATHS), op, literal.text);
      }
      case 6: {
        const strings = random.bool(0.3);
        const [low, high] = strings ? [this.stringLiteral(), this.stringLiteral()] : [this.numberLiteral(), this.numberLiteral()];
        const target = strings ? random.pick([...STRING_FIELDS, ...JSON_PATHS]) : random.pick([...INT_FIELDS, ...FLOAT_FIELDS, ...JSON_PATHS]);
        const [a, b] = [random.pick(["<", "<="]), random.pick(["<", "<="])];
        if (random.bool(0.5)) return `${low} ${a} ${target} ${b} ${high}`;
        const flip = (op: string): string => (op === "<" ? ">" : ">=");
        return `${high} ${flip(a)} ${target} ${flip(b)} ${low}`;
      }
      case 7: {
        const kind = random.int(0, 4);
        const negation = random.bool(0.3) ? ` ${this.keyword("not")} ${this.keyword("in")} ` : ` ${this.keyword("in")} `;
        if (kind === 0) return `${random.pick(INT_FIELDS)}${negation}${this.list(() => this.numberLiteral())}`;
        if (kind === 1) return `${random.pick(FLOAT_FIELDS)}${negation}${this.list(() => this.numberLiteral())}`;
        if (kind === 2) return `${random.pick(STRING_FIELDS)}${negation}${this.list(() => this.stringLiteral())}`;
        if (kind === 3) return `${random.pick(BOOL_FIELDS)}${negation}${this.list(() => this.boolLiteral())}`;
        if (random.bool(0.2)) {
          const name = `p${this.templateCount++}`;
          this.templateValues[name] = [BigInt(smallInt(random)), "a", randomDouble(random), random.bool()];
          return `${random.pick(JSON_PATHS)}${negation}{${name}}`;
        }
        return `${random.pick(JSON_PATHS)}${negation}${this.list(() => this.scalarLiteral().text)}`;
      }
      case 8: {
        const pattern = this.likePattern();
        return `${random.pick([...STRING_FIELDS, ...STRING_FIELDS, 'j["a"]', "y", 'nj["a"]'])} ${this.keyword("like")} ${pattern}`;
      }
      case 9: {
        const target = random.pick([...INT_FIELDS, ...FLOAT_FIELDS, ...STRING_FIELDS, ...BOOL_FIELDS, ...JSON_PATHS, "nj"]);
        return `${target} ${random.pick(["is null", "IS NULL", "is not null", "IS NOT NULL", "Is  Not\tNull"])}`;
      }
      case 10: {
        const name = random.pick(["json_contains", "JSON_CONTAINS", "array_contains"]);
        const argument = random.bool(0.15) ? `[${smallInt(random)}, ${smallInt(random)}]` : this.scalarLiteral().text;
        return `${name}(${random.pick(JSON_LIST_PATHS)}, ${argument})`;
      }
      case 11: {
        const name = random.pick(["json_contains_all", "json_contains_any", "ARRAY_CONTAINS_ALL", "array_contains_any"]);
        return `${name}(${random.pick(JSON_LIST_PATHS)}, ${this.list(() => this.scalarLiteral().text)})`;
      }
      case 12:
      case 13:
        return this.oriented(`(${this.arithmetic(1)})`, this.compareOp(), this.numberLiteral());
      case 14: {
        const pair = random.int(0, 3);
        if (pair === 0) return `${this.numericOperand()} ${this.compareOp()} ${this.numericOperand()}`;
        if (pair === 1) return `${random.pick(STRING_FIELDS)} ${this.compareOp()} ${random.pick([...STRING_FIELDS, "y", 'j["a"]'])}`;
        if (pair === 2) return `${random.pick(BOOL_FIELDS)} ${random.pick(["==", "!="])} ${random.pick([...BOOL_FIELDS, 'j["a"]'])}`;
        return `${random.pick(JSON_PATHS)} ${this.compareOp()} ${random.pick(JSON_PATHS)}`;
      }
      case 15:
        return `${this.arithmetic(1)} ${this.compareOp()} ${this.arithmetic(0)}`;
      case 16:
        return this.boolLiteral();
      default:
        return `${this.numberLiteral()} ${random.pick(["<", "<="])} ${this.arithmetic(0)} ${random.pick(["<", "<="])} ${this.numberLiteral()}`;
    }
  }

  private likePattern(): string {
    const pieces = ["a", "b", "é", "😀", "%", "%", "_", "\\\\%", "\\\\_", "\\\\\\\\", "ab", "\uE000"];
    let pattern = "";
    const length = this.random.int(0, 4);
    for (let i = 0; i < length; i++) pattern += this.random.pick(pieces);
    return `"${pattern}"`;
  }
}
