// Fuzz test of the parser and checker: thousands of random strings and mutations of valid filters
// (deleted, inserted, swapped and duplicated characters and tokens, random Unicode including lone
// surrogates, broken template values). Every input must end in a typed AST or a VelaError
// InvalidArgument / LimitExceeded — never another exception, never a hang. Inputs that parse are also
// evaluated over random rows and checked against the oracle, since mutations reach odd corners.

import { expect, test } from "vitest";
import { ErrorCode, VelaError } from "../common/errors.ts";
import { SeededRandom, testSeed } from "../common/random.ts";
import type { FilterExpr } from "./ast.ts";
import { evaluateFilterSync } from "./evaluate.ts";
import { oracleMatches } from "./oracle.ts";
import { parseFilter, type TemplateValue } from "./parser.ts";
import { RandomFilterWriter, filterTestSchema, randomRows } from "./testing/random-filters.ts";
import { RowColumnSource } from "./testing/row-source.ts";

const schema = filterTestSchema();

const FRAGMENTS = [
  "(", ")", "[", "]", "{", "}", ",", "==", "!=", "<", "<=", ">", ">=", "=", "!", "&&", "||", "&", "|", "+", "-", "*", "/", "%", "**",
  "and", "OR", "not", "in", "NOT IN", "like", "is", "null", "IS NOT NULL", "true", "False", "json_contains", "array_contains_any",
  '"', "'", "\\", "\\u", "\\x4", "r'", "$meta", "$", "i32", "s", "j", "vec", "nj", "x", "{p0}", "{", "0x", "0b2", "09", "1e", ".", "1.5",
  "9223372036854775808", "-9223372036854775808", " ", "\t", "\n", "\u0000", "é", "😀", "\uD800", "\uDC00", "\uFFFF", "北京",
];

const TEMPLATE_VALUES: unknown[] = [1, -2.5, 7n, 2n ** 70n, "a%", true, [1, 2], ["a", [1, [2]]], null, undefined, { a: 1 }, Number.NaN, Infinity, [], Symbol("s"), () => 1];

function mutate(random: SeededRandom, text: string): string {
  let result = text;
  const edits = random.bool(0.6) ? 1 : random.int(2, 4);
  for (let edit = 0; edit < edits; edit++) {
    const at = random.int(0, result.length);
    switch (random.int(0, 6)) {
      case 0: // delete a run
        result = result.slice(0, at) + result.slice(Math.min(result.length, at + random.int(1, 6)));
        break;
      case 1: // insert a fragment
        result = result.slice(0, at) + random.pick(FRAGMENTS) + result.slice(at);
        break;
      case 2: {
        // swap two space-separated tokens
        const tokens = result.split(" ");
        if (tokens.length > 1) {
          const a = random.int(0, tokens.length - 1);
          const b = random.int(0, tokens.length - 1);
          [tokens[a], tokens[b]] = [tokens[b] as string, tokens[a] as string];
          result = tokens.join(" ");
        }
        break;
      }
      case 3: // swap two characters
        if (result.length > 1) {
          const b = random.int(0, result.length - 1);
          const chars = result.split("");
          [chars[at === result.length ? 0 : at], chars[b]] = [chars[b] as string, chars[at === result.length ? 0 : at] as string];
          result = chars.join("");
        }
        break;
      case 4: // duplicate a slice
        result = result.slice(0, at) + result.slice(at, at + random.int(1, 12)) + result.slice(at);
        break;
      case 5: // a random code unit anywhere in the BMP, surrogates included
        result = result.slice(0, at) + String.fromCharCode(random.int(0, 0xffff)) + result.slice(at);
        break;
      default: // truncate
        result = result.slice(0, at);
    }
  }
  return result;
}

function randomText(random: SeededRandom): string {
  let text = "";
  const pieces = random.int(0, 20);
  for (let i = 0; i < pieces; i++) text += random.bool(0.8) ? random.pick(FRAGMENTS) : String.fromCodePoint(random.int(0, 0x10ffff));
  return text;
}

test("the parser ends every input in an AST or a VelaError, and parsed inputs evaluate like the oracle", () => {
  const seed = testSeed();
  console.log(`filter fuzz seed ${seed} (replay: VELA_SEED=${seed})`);
  const random = new SeededRandom(seed);
  const writer = new RandomFilterWriter(random);
  const rows = randomRows(random, 61);
  const source = new RowColumnSource(rows);
  const outcomes = { parsed: 0, invalid: 0, limited: 0 };
  for (let iteration = 0; iteration < 40_000; iteration++) {
    let text: string;
    let templateValues: Record<string, unknown>;
    if (random.bool(0.8)) {
      const written = writer.next();
      text = mutate(random, written.text);
      templateValues = written.templateValues;
    } else {
      text = randomText(random);
      templateValues = {};
    }
    if (random.bool(0.2)) templateValues = { ...templateValues, [random.pick(["p0", "p1", "x"])]: random.pick(TEMPLATE_VALUES) };
    const context = `seed ${seed}, iteration ${iteration}: ${JSON.stringify(text)}`;
    let expr: FilterExpr;
    try {
      expr = parseFilter(text, schema, { templateValues: templateValues as Record<string, TemplateValue>, limits: { nestingDepthMax: random.pick([4, 64]) } });
    } catch (error) {
      if (!(error instanceof VelaError) || (error.code !== ErrorCode.InvalidArgument && error.code !== ErrorCode.LimitExceeded)) {
        throw new Error(`unexpected failure (${context}): ${String(error)}`, { cause: error });
      }
      if (error.code === ErrorCode.InvalidArgument) {
        // Every input error names where it is (bounds on the whole input and on template values excepted).
        if (!/^at \d+: /.test(error.message) && !error.message.startsWith("template values") && !/template value/.test(error.message)) {
          throw new Error(`error without a position (${context}): ${error.message}`);
        }
        outcomes.invalid += 1;
      } else outcomes.limited += 1;
      continue;
    }
    outcomes.parsed += 1;
    const actual = evaluateFilterSync(expr, source, rows.length);
    for (let row = 0; row < rows.length; row++) {
      if (actual.has(row) !== oracleMatches(expr, rows[row] as (typeof rows)[number])) throw new Error(`evaluator and oracle disagree on row ${row} (${context})`);
    }
  }
  console.log(`fuzz outcomes: ${JSON.stringify(outcomes)}`);
  // Both outcomes must be common, or the fuzzer is not reaching the interesting paths.
  expect(outcomes.parsed).toBeGreaterThan(2_500);
  expect(outcomes.invalid).toBeGreaterThan(10_000);
  expect(outcomes.limited).toBeGreaterThan(0);
}, 120_000);
