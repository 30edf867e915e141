// Parser and checker tests: every construct of the filter language produces the expected typed AST,
// and every kind of bad input fails with a VelaError whose message names the offset and what was
// expected. Bounds fail with LimitExceeded, never a stack overflow.

import { describe, expect, test } from "vitest";
import { ErrorCode, VelaError } from "../common/errors.ts";
import { DataType, normalizeSchema, type CollectionSchema } from "../common/schema.ts";
import { filterKey, type FilterExpr } from "./ast.ts";
import { parseFilter, type ParseOptions } from "./parser.ts";

const schema = normalizeSchema({
  name: "products",
  enableDynamicField: true,
  fields: [
    { name: "id", dataType: DataType.Int64, isPrimaryKey: true },
    { name: "vec", dataType: DataType.FloatVector, dim: 4 },
    { name: "price", dataType: DataType.Double },
    { name: "count", dataType: DataType.Int32 },
    { name: "weight", dataType: DataType.Float },
    { name: "name", dataType: DataType.VarChar, maxLength: 100 },
    { name: "flag", dataType: DataType.Bool },
    { name: "meta", dataType: DataType.JSON },
    { name: "opt", dataType: DataType.Int32, nullable: true },
  ],
});

const strictSchema: CollectionSchema = normalizeSchema({
  name: "strict",
  fields: [
    { name: "id", dataType: DataType.VarChar, isPrimaryKey: true, maxLength: 10 },
    { name: "vec", dataType: DataType.FloatVector, dim: 4 },
    { name: "age", dataType: DataType.Int16 },
  ],
});

function parse(text: string, options?: ParseOptions): FilterExpr {
  return parseFilter(text, schema, options);
}

/** A compact rendering of the AST, so tests read as expressions. */
function show(expr: FilterExpr): string {
  const value = (v: unknown): string => {
    const node = v as { kind: string; field?: { name: string }; path?: string[]; value?: unknown; op?: string; left?: unknown; right?: unknown };
    if (node.kind === "column") return node.field?.name ?? "?";
    if (node.kind === "json") return `${node.field?.name}${(node.path ?? []).map((step) => `[${JSON.stringify(step)}]`).join("")}`;
    if (node.kind === "literal") return literal(node.value);
    return `(${value(node.left)} ${node.op} ${value(node.right)})`;
  };
  const literal = (v: unknown): string => (typeof v === "bigint" ? `${v}n` : typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(literal).join(",")}]` : String(v));
  switch (expr.kind) {
    case "const":
      return String(expr.value);
    case "compare":
      return `${value(expr.left)} ${expr.op} ${value(expr.right)}`;
    case "range":
      return `${expr.lower === undefined ? "" : `${literal(expr.lower.value)} ${expr.lower.inclusive ? "<=" : "<"} `}${value(expr.value)}${expr.upper === undefined ? "" : ` ${expr.upper.inclusive ? "<=" : "<"} ${literal(expr.upper.value)}`}`;
    case "in":
      return `${value(expr.value)} ${expr.negated ? "not in" : "in"} [${expr.values.map(literal).join(",")}]`;
    case "like":
      return `${value(expr.value)} like ${JSON.stringify(expr.pattern)}`;
    case "isNull":
      return `${value(expr.value)} is ${expr.negated ? "not " : ""}null`;
    case "jsonContains":
      return `contains_${expr.mode}(${value(expr.value)}, ${expr.elements.map(literal).join(",")})`;
    case "and":
    case "or":
      return `(${expr.children.map(show).join(` ${expr.kind} `)})`;
    case "not":
      return `not ${show(expr.child)}`;
  }
}

function failure(text: string, options?: ParseOptions, against: CollectionSchema = schema): VelaError {
  try {
    parseFilter(text, against, options);
  } catch (error) {
    if (error instanceof VelaError) return error;
    throw error;
  }
  throw new Error(`expected "${text}" to fail`);
}

function invalid(text: string, options?: ParseOptions, against?: CollectionSchema): string {
  const error = failure(text, options, against);
  expect(error.code).toBe(ErrorCode.InvalidArgument);
  return error.message;
}

describe("comparisons", () => {
  test("every operator, with the field on either side", () => {
    expect(show(parse("count == 1"))).toBe("count == 1n");
    expect(show(parse("count != 1"))).toBe("count != 1n");
    expect(show(parse("count < 1"))).toBe("count < 1n");
    expect(show(parse("count <= 1"))).toBe("count <= 1n");
    expect(show(parse("count > 1"))).toBe("count > 1n");
    expect(show(parse("count >= 1"))).toBe("count >= 1n");
    expect(show(parse("1 < count"))).toBe("count > 1n");
    expect(show(parse("1 >= count"))).toBe("count <= 1n");
    expect(show(parse('"a" == name'))).toBe('name == "a"');
  });

  test("chained ranges in both directions", () => {
    expect(show(parse("1 < count <= 5"))).toBe("1n < count <= 5n");
    expect(show(parse("5 >= count > 1"))).toBe("1n < count <= 5n");
    expect(show(parse('"a" <= name < "b"'))).toBe('"a" <= name < "b"');
    expect(show(parse('0.5 < meta["x"] < 2'))).toBe('0.5 < meta["x"] < 2');
    expect(invalid("1 < count > 5")).toBe("at 10: a chained comparison must be a range using < and <= (or > and >=) on both sides, like 1 < x <= 5");
    expect(invalid("1 == count == 5")).toMatch(/^at 11: a chained comparison must be a range/);
    expect(invalid("count < price < 5")).toBe('at 0: range bounds must be constants, found Int32 field "count"');
    expect(invalid("1 < count < 2 < 3")).toBe("at 14: comparisons cannot be chained beyond a range such as 1 < x <= 5");
    expect(invalid('1 < name < "b"')).toBe('at 2: cannot compare VarChar field "name" with the number 1');
  });

  test("literals are converted to the type they are compared with", () => {
    const float = parse("weight == 0.1") as Extract<FilterExpr, { kind: "compare" }>;
    expect(float.right).toMatchObject({ value: Math.fround(0.1) });
    const double = parse("price == 1") as Extract<FilterExpr, { kind: "compare" }>;
    expect(double.right).toMatchObject({ value: 1 });
    const int64 = parse("id == 9223372036854775807") as Extract<FilterExpr, { kind: "compare" }>;
    expect(int64.right).toMatchObject({ value: 9223372036854775807n });
    expect(show(parse("id > -9223372036854775808"))).toBe("id > -9223372036854775808n");
    expect(show(parse("count > 1.5"))).toBe("count > 1.5");
    expect(show(parse('meta["a"] == 3'))).toBe('meta["a"] == 3');
  });

  test("field against field", () => {
    expect(show(parse("count < price"))).toBe("count < price");
    expect(show(parse('name == meta["n"]'))).toBe('name == meta["n"]');
    expect(show(parse("flag != flag"))).toBe("flag != flag");
    expect(invalid("name < count")).toBe('at 5: cannot compare VarChar field "name" with Int32 field "count"');
    expect(invalid("flag < flag")).toBe('at 5: booleans compare only with == and !=, not "<"');
  });

  test("constant comparisons fold", () => {
    expect(show(parse("1 < 2"))).toBe("true");
    expect(show(parse('"b" < "a"'))).toBe("false");
    expect(show(parse("9007199254740993 > 9007199254740992.0"))).toBe("true");
    expect(invalid('1 == "1"')).toBe('at 2: cannot compare the number 1 with the string "1"');
  });
});

describe("in, like, is null", () => {
  test("in and not in", () => {
    expect(show(parse("count in [1, 2, 3]"))).toBe("count in [1n,2n,3n]");
    expect(show(parse("count not in [1, -2,]"))).toBe("count not in [1n,-2n]");
    expect(show(parse("count NOT IN []"))).toBe("count not in []");
    expect(show(parse('name In ["a", \'b\']'))).toBe('name in ["a","b"]');
    expect(show(parse('meta["k"] in [1, "a", true]'))).toBe('meta["k"] in [1,"a",true]');
    expect(invalid("count in )")).toBe('at 9: expected a list after "in", found ")"');
    expect(invalid("count in [1, 2")).toBe('at 14: expected "," or "]" in the list opened at 9, found the end of the expression');
    expect(invalid("count in [1, count]")).toBe('at 13: expected a literal value in the list, found "count" (list elements must be literals)');
    expect(invalid('count in [1, "a"]')).toBe('at 9: cannot compare Int32 field "count" with the string "a"');
    expect(invalid("count in [[1]]")).toBe('at 9: element 0 of the list is itself a list; "in" takes a list of values');
    expect(invalid("count + 1 in [1]")).toBe('at 0: "in" needs a field or a JSON value on its left, found an arithmetic expression');
    expect(invalid("count not like 1")).toBe('at 10: expected "in" after "not", found "like"');
  });

  test("like with every wildcard position", () => {
    expect(show(parse('name like "Prod%"'))).toBe('name like "Prod%"');
    expect(show(parse('name LIKE "%XYZ"'))).toBe('name like "%XYZ"');
    expect(show(parse('name like "%a_b%"'))).toBe('name like "%a_b%"');
    expect(show(parse('meta["s"] like "x%"'))).toBe('meta["s"] like "x%"');
    expect(show(parse('name like "50\\%"'))).toBe('name like "50\\\\%"');
    expect(invalid('count like "1%"')).toBe('at 0: "like" needs a VarChar field or a JSON value on its left, found Int32 field "count"');
    expect(invalid("name like 5")).toBe('at 10: "like" needs a string pattern, found the number 5');
    expect(invalid('name like "a\\\\"')).toBe('at 10: the like pattern ends with an unfinished escape "\\"');
  });

  test("is null and is not null in any case", () => {
    expect(show(parse("opt is null"))).toBe("opt is null");
    expect(show(parse("opt IS NOT NULL"))).toBe("opt is not null");
    expect(show(parse('meta["a"] Is Null'))).toBe('meta["a"] is null');
    expect(show(parse("missing_key is not null"))).toBe('$meta["missing_key"] is not null');
    expect(invalid("opt is 5")).toBe('at 7: expected "null" or "not null" after "is", found "5"');
    expect(invalid("opt is not 5")).toBe('at 11: expected "null" after "is not", found "5"');
    expect(invalid("count + 1 is null")).toBe('at 0: "is null" needs a field or a JSON value on its left, found an arithmetic expression');
    expect(invalid("opt == null")).toBe('at 7: null is not a value; use "is null" or "is not null"');
  });
});

describe("logic", () => {
  test("and binds tighter than or; not looser than a comparison", () => {
    expect(show(parse("flag or count > 1 and price < 2"))).toBe("(flag == true or (count > 1n and price < 2))");
    expect(show(parse("(flag or count > 1) and price < 2"))).toBe("((flag == true or count > 1n) and price < 2)");
    expect(show(parse("not count > 1"))).toBe("not count > 1n");
    expect(show(parse("!(count > 1) && !flag || false"))).toBe("((not count > 1n and not flag == true) or false)");
    expect(show(parse("a == 1 and b == 2 and c == 3"))).toBe('($meta["a"] == 1 and $meta["b"] == 2 and $meta["c"] == 3)');
  });

  test("keywords in any letter case", () => {
    expect(show(parse("flag AND flag And flag aNd flag"))).toBe("(flag == true and flag == true and flag == true and flag == true)");
    expect(show(parse("flag OR NOT flag"))).toBe("(flag == true or not flag == true)");
    expect(show(parse("flag == TRUE or flag == False"))).toBe("(flag == true or flag == false)");
  });

  test("a bare Bool field is a condition; other values are not", () => {
    expect(show(parse("flag"))).toBe("flag == true");
    expect(invalid("count")).toBe('at 0: expected a condition, found Int32 field "count"; compare it with something, e.g. count > 0');
    expect(invalid('meta["ok"]')).toBe('at 0: expected a condition, found the JSON value meta["ok"]; compare it with something, e.g. meta["ok"] == true');
    expect(invalid("5")).toBe("at 0: expected a condition, found the number 5");
    expect(invalid("(count > 1) + 1 > 2")).toBe("at 1: expected a value, found a condition");
    expect(invalid("flag and")).toBe('at 8: expected a value, found the end of the expression');
  });
});

describe("arithmetic", () => {
  test("on numeric fields inside comparisons, with precedence and folding", () => {
    expect(show(parse("price * 2 > 10"))).toBe("(price * 2) > 10");
    expect(show(parse("count + 2 * count == 1"))).toBe("(count + (2n * count)) == 1n");
    expect(show(parse("(count + 2) * count == 1"))).toBe("((count + 2n) * count) == 1n");
    expect(show(parse("count % 3 == 1"))).toBe("(count % 3n) == 1n");
    expect(show(parse("count > 1 + 2 * 3"))).toBe("count > 7n");
    expect(show(parse("count > 2 ** 3 ** 2"))).toBe("count > 512");
    expect(show(parse("count > -2 ** 2"))).toBe("count > -4");
    expect(show(parse("count > 7 / 2"))).toBe("count > 3n");
    expect(show(parse("count > -7 % 3"))).toBe("count > -1n");
    expect(show(parse("-count < 5"))).toBe("(0n - count) < 5n");
    expect(show(parse("count * 1.5 > 1"))).toBe("(count * 1.5) > 1");
    expect(show(parse('meta["p"] * 2 > 1'))).toBe('(meta["p"] * 2) > 1');
  });

  test("type errors", () => {
    expect(invalid("name * 2 > 1")).toBe('at 0: arithmetic needs numbers, found VarChar field "name"');
    expect(invalid('count + "a" > 1')).toBe('at 8: arithmetic needs numbers, found the string "a"');
    expect(invalid("flag + 1 > 1")).toBe('at 0: arithmetic needs numbers, found Bool field "flag"');
    expect(invalid("count / 0 > 1")).toBe("at 8: division by zero");
    expect(invalid("count % (1 - 1) > 1")).toBe("at 9: division by zero");
    expect(invalid('count > -"a"')).toBe('at 8: "-" needs a number, found the string "a"');
    expect(invalid("count + > 1")).toBe('at 8: expected a value after "+", found ">"');
  });
});

describe("fields, JSON and dynamic fields", () => {
  test("JSON paths", () => {
    expect(show(parse('meta["a"]["b"] == 1'))).toBe('meta["a"]["b"] == 1');
    expect(show(parse('meta["list"][0] == 1'))).toBe('meta["list"]["0"] == 1');
    expect(show(parse("meta['a'] == 'x'"))).toBe('meta["a"] == "x"');
    expect(show(parse("meta == 1"))).toBe("meta == 1");
    expect(invalid("meta[-1] == 1")).toBe('at 5: expected a key string or an array index after "[", found "-"');
    expect(invalid("meta[01] == 1")).toBe('at 5: expected a key string or an array index after "[", found "01"');
    expect(invalid('meta["a" == 1')).toBe('at 9: expected "]" to close the "[" at 4, found "=="');
    expect(invalid('count["a"] == 1')).toBe('at 6: "count" is a Int32 field; only JSON fields take a ["key"] path');
  });

  test("dynamic fields by bare name or through $meta", () => {
    expect(show(parse("color == 'red'"))).toBe('$meta["color"] == "red"');
    expect(show(parse('$meta["color"] == "red"'))).toBe('$meta["color"] == "red"');
    expect(show(parse('color["shade"] == 1'))).toBe('$meta["color"]["shade"] == 1');
    expect(invalid("color == 'red'", undefined, strictSchema)).toBe('at 0: unknown field "color" (the collection has no such field and dynamic fields are not enabled)');
    expect(invalid('$meta["a"] == 1', undefined, strictSchema)).toBe('at 0: unknown field "$meta" (the collection has no such field and dynamic fields are not enabled)');
  });

  test("vector fields cannot be filtered", () => {
    expect(invalid("vec == 1")).toBe('at 0: "vec" is a FloatVector field; filters apply to scalar fields only');
    expect(invalid("vec is null")).toBe('at 0: "vec" is a FloatVector field; filters apply to scalar fields only');
  });

  test("json_contains, json_contains_all, json_contains_any and the array_ spellings", () => {
    expect(show(parse('json_contains(meta["tags"], "sale")'))).toBe('contains_one(meta["tags"], "sale")');
    expect(show(parse("JSON_CONTAINS(meta, [1, 2])"))).toBe("contains_one(meta, [1,2])");
    expect(show(parse('json_contains_all(meta["t"], [1, "a"])'))).toBe('contains_all(meta["t"], 1,"a")');
    expect(show(parse("json_contains_any(tags, [true])"))).toBe('contains_any($meta["tags"], true)');
    expect(show(parse("array_contains(tags, 1)"))).toBe('contains_one($meta["tags"], 1)');
    expect(show(parse("array_contains_all(tags, [])"))).toBe('contains_all($meta["tags"], )');
    expect(invalid("json_contains(count, 1)")).toBe('at 14: json_contains needs a JSON field or path as its first argument, found Int32 field "count"');
    expect(invalid("json_contains_all(meta, 1)")).toBe("at 24: the second argument of json_contains_all must be a list, found the number 1");
    expect(invalid("json_contains(meta, count)")).toBe('at 20: the second argument of json_contains must be a literal or a list, found Int32 field "count"');
    expect(invalid("json_containz(meta, 1)")).toBe('at 0: unknown function "json_containz"; the functions are json_contains, json_contains_all, json_contains_any, array_contains, array_contains_all, array_contains_any');
    expect(invalid("json_contains(meta 1)")).toBe('at 19: expected "," after the first argument of json_contains, found "1"');
  });
});

describe("literals", () => {
  test("strings in both quotes with escapes", () => {
    const value = (text: string): unknown => (parse(`name == ${text}`) as Extract<FilterExpr, { kind: "compare" }>).right.kind === "literal" ? ((parse(`name == ${text}`) as { right: { value: unknown } }).right.value) : undefined;
    expect(value(`"a\\"b"`)).toBe('a"b');
    expect(value(`'a\\'b'`)).toBe("a'b");
    expect(value(`'say "hi"'`)).toBe('say "hi"');
    expect(value(`"\\n\\t\\\\"`)).toBe("\n\t\\");
    expect(value(`"\\u00e9\\U0001F600\\x41"`)).toBe("é😀A");
    expect(value(`r"a\\d"`)).toBe("a\\d");
    expect(value(`"北京"`)).toBe("北京");
    expect(invalid('name == "abc')).toBe("at 8: unterminated string: expected a closing \"");
    expect(invalid('name == "a\\qb"')).toBe('at 10: unknown escape "\\q" in a string');
    expect(invalid('name == "\\uD800"')).toBe('at 9: invalid escape: "\\uD800" is not a Unicode scalar value');
  });

  test("integers of every base, large Int64 values, floats", () => {
    const right = (text: string): unknown => (parse(`id == ${text}`) as { right: { value: unknown } }).right.value;
    expect(right("0x1F")).toBe(31n);
    expect(right("0b101")).toBe(5n);
    expect(right("010")).toBe(8n);
    expect(right("9223372036854775807")).toBe(9223372036854775807n);
    expect(right("1.5")).toBe(1.5);
    expect(right(".5")).toBe(0.5);
    expect(right("5.")).toBe(5);
    expect(right("1e3")).toBe(1000);
    expect(right("2.5E-1")).toBe(0.25);
    expect(invalid("id == 9223372036854775808")).toBe("at 6: the integer 9223372036854775808 is outside the Int64 range");
    expect(invalid("id in [9223372036854775808]")).toBe("at 6: the integer 9223372036854775808 in the list is outside the Int64 range");
    expect(invalid("id == 09")).toBe('at 6: invalid number "09" (a leading 0 makes an octal number; digits 8 and 9 are not octal)');
    expect(invalid("id == 1.2.3")).toBe('at 6: invalid number "1.2.3"');
    expect(invalid("id == 0x")).toBe('at 6: invalid number "0x"');
    expect(invalid("id == 12abc")).toBe('at 6: invalid number "12abc"');
  });
});

describe("templates", () => {
  test("placeholders take numbers, bigints, strings, booleans and lists", () => {
    const templateValues = { age: 25, city: ["北京", "上海"], big: 9007199254740993n, ratio: 0.5, on: true, ids: [1, 2n] };
    expect(show(parse("count > {age} AND name IN {city}", { templateValues }))).toBe('(count > 25n and name in ["北京","上海"])');
    expect(show(parse("id == {big}", { templateValues }))).toBe("id == 9007199254740993n");
    expect(show(parse("price < {ratio} and flag == {on}", { templateValues }))).toBe("(price < 0.5 and flag == true)");
    expect(show(parse("id in [{age}, 3]", { templateValues }))).toBe("id in [25n,3n]");
    expect(show(parse("json_contains_any(meta, {ids})", { templateValues }))).toBe("contains_any(meta, 1,2)");
    expect(show(parse("name like {p}", { templateValues: { p: "a%" } }))).toBe('name like "a%"');
  });

  test("missing or unusable values are clear errors", () => {
    expect(invalid("count > {age}")).toBe("at 8: no template value was given for the placeholder {age}");
    expect(invalid("count > {age}", { templateValues: { age: null as unknown as number } })).toBe("at 8: the template value {age} must be a number, bigint, string, boolean or an array of them, got null");
    expect(invalid("count > {age}", { templateValues: { age: Number.NaN } })).toBe("at 8: the template value {age} is NaN; numbers must be finite");
    expect(invalid("count in {age}", { templateValues: { age: 1 } })).toBe('at 9: expected a list after "in", the template value is a single value');
    expect(invalid("count > {age}", { templateValues: { age: [1] } })).toBe("at 8: a list is only allowed after \"in\" or as an argument of json_contains_*");
    expect(invalid("count > {1}")).toBe('at 9: expected a placeholder name after "{", found "1"');
  });
});

describe("syntax errors name the offset and the expectation", () => {
  test.each([
    ["", 'at 0: expected a condition, found the end of the expression'],
    ["   ", 'at 3: expected a condition, found the end of the expression'],
    ["count > 1 count", 'at 10: expected an operator, "and", "or" or the end of the expression, found "count"'],
    ["(count > 1", 'at 10: expected ")" to close the "(" at 0, found the end of the expression'],
    ["count > 1)", 'at 9: expected an operator, "and", "or" or the end of the expression, found ")"'],
    ["()", 'at 1: expected an expression inside "()", found ")"'],
    ["count = 1", 'at 6: unexpected "="; did you mean "=="?'],
    ["count > 1 & flag", 'at 10: unexpected "&"; did you mean "&&" (bitwise operators are not supported)?'],
    ["count @ 1", 'at 6: unexpected "@"'],
    ["count > ", 'at 8: expected a value after ">", found the end of the expression'],
    ["not", 'at 3: expected a condition after "not", found the end of the expression'],
    ["count > 1 and or flag", 'at 14: expected a value, found "or"'],
    ["name == 'x' + 1", "at 8: arithmetic needs numbers, found the string \"x\""],
    ["unknown_in_strict > 1", 'at 0: unknown field "unknown_in_strict" (the collection has no such field and dynamic fields are not enabled)'],
  ])("%j", (text, message) => {
    expect(invalid(text, undefined, text.startsWith("unknown_in_strict") ? strictSchema : schema)).toBe(message);
  });

  test("a string compared with a number is a type error", () => {
    expect(invalid("name == 5")).toBe('at 5: cannot compare VarChar field "name" with the number 5');
    expect(invalid("count == 'five'")).toBe('at 6: cannot compare Int32 field "count" with the string "five"');
    expect(invalid("flag > true")).toBe('at 5: booleans compare only with == and !=, not ">"');
    expect(invalid('meta["a"] < false')).toBe('at 10: booleans compare only with == and !=, not "<"');
  });
});

describe("bounds", () => {
  test("expression length", () => {
    const error = failure(`count > ${"1".repeat(40)}`, { limits: { expressionLengthMax: 20 } });
    expect(error.code).toBe(ErrorCode.LimitExceeded);
    expect(error.message).toBe("the filter expression is 48 characters long, more than the limit of 20 (expressionLengthMax)");
  });

  test("deep nesting fails with a depth error, not a stack overflow", () => {
    for (const text of ["(".repeat(100_000) + "flag" + ")".repeat(100_000), "not ".repeat(50_000) + "flag", "!".repeat(100_000) + "flag", "count > " + "-".repeat(100_000) + "1", "count > " + "2 ** ".repeat(50_000) + "1", "id in " + "[".repeat(100_000)]) {
      const error = failure(text);
      expect(error.code).toBe(ErrorCode.LimitExceeded);
      expect(error.message).toMatch(/^at \d+: the expression nests more than 64 levels deep \(nestingDepthMax\)$/);
    }
    const chain = failure(`count > ${Array.from({ length: 100 }, () => "count").join(" + ")}`);
    expect(chain.code).toBe(ErrorCode.LimitExceeded);
    // Flat and/or chains add one level however long they are.
    expect(show(parse(Array.from({ length: 1000 }, () => "flag").join(" or ")))).toMatch(/^\(flag == true or /);
    expect(show(parse("(".repeat(60) + "flag" + ")".repeat(60)))).toBe("flag == true");
  });

  test("list length and template count", () => {
    const list = failure("count in [1, 2, 3]", { limits: { listLengthMax: 2 } });
    expect(list.code).toBe(ErrorCode.LimitExceeded);
    expect(list.message).toBe("at 9: the list has more than 2 elements (listLengthMax)");
    const templated = failure("count in {xs}", { templateValues: { xs: [1, 2, 3] }, limits: { listLengthMax: 2 } });
    expect(templated.message).toBe("at 9: the template value {xs} has 3 elements, more than the limit of 2 (listLengthMax)");
    const many = failure("flag", { templateValues: { a: 1, b: 2 }, limits: { templateValuesMax: 1 } });
    expect(many.code).toBe(ErrorCode.LimitExceeded);
    expect(many.message).toBe("2 template values are more than the limit of 1 (templateValuesMax)");
  });
});

describe("filterKey", () => {
  test("is the same for the same filter however it is written, and differs whenever the rows could", () => {
    // Same rows: the same AST from different texts, and the same text parsed twice.
    expect(filterKey(parse("count < 30"))).toBe(filterKey(parse("count  <  30")));
    expect(filterKey(parse("price > 1.5 and name == 'a'"))).toBe(filterKey(parse("(price > 1.5) and (name == \"a\")")));
    // Different rows: every one of these keys must be distinct.
    const texts = [
      "count < 30", "count < 31", "count <= 30", "opt < 30", "price < 30", "price < 30.5",
      "name == '30'", "name == 'count < 30'", "meta['a'] == 30", "meta['a'] == '30'", "meta['b'] == 30",
      "price > 1e400", "price > -1e400", "price == 0.0", "price == -0.0", "count in [1, 2]", "count in [2, 1]",
      "count not in [1, 2]", "not (count < 30)", "count < 30 and flag == true", "count < 30 or flag == true",
    ];
    const keys = texts.map((text) => filterKey(parse(text)));
    const seen = new Map<string, string>();
    for (const [index, key] of keys.entries()) {
      expect(seen.get(key), `${texts[index]} shares its key with ${seen.get(key)}`).toBeUndefined();
      seen.set(key, texts[index] as string);
    }
  });
});
