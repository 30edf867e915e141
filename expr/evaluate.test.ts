// Model-based test of the evaluator: random well-typed filters over random rows of a schema with every
// scalar type, evaluated column-wise by evaluate.ts and row by row by the oracle; the answers must be
// identical row for row. A failure prints the seed (replay with VELA_SEED=<seed>) and the expression.

import { describe, expect, test } from "vitest";
import { SeededRandom, testSeed } from "../common/random.ts";
import { Bitset } from "../querynode/compute/bitset.ts";
import { evaluateFilter, evaluateFilterSync } from "./evaluate.ts";
import { oracleMatches, oracleTruth, type Row } from "./oracle.ts";
import { parseFilter } from "./parser.ts";
import { primaryKeysOf } from "./primary-keys.ts";
import { RandomFilterWriter, filterTestSchema, randomRows } from "./testing/random-filters.ts";
import { RowColumnSource } from "./testing/row-source.ts";

const schema = filterTestSchema();

function expectedBits(rows: readonly Row[], matches: (row: Row) => boolean): number[] {
  const out: number[] = [];
  rows.forEach((row, index) => {
    if (matches(row)) out.push(index);
  });
  return out;
}

function setRows(bits: Bitset): number[] {
  const out: number[] = [];
  for (let row = 0; row < bits.length; row++) if (bits.has(row)) out.push(row);
  return out;
}

describe("evaluate.ts agrees with the row-by-row oracle", () => {
  test("random filters over random rows", async () => {
    const seed = testSeed();
    console.log(`filter equivalence seed ${seed} (replay: VELA_SEED=${seed})`);
    const random = new SeededRandom(seed);
    const rowCount = 333; // not a multiple of 8: the last byte is partial
    const rows = randomRows(random, rowCount);
    const source = new RowColumnSource(rows);
    const writer = new RandomFilterWriter(random);
    let nonTrivial = 0;
    for (let iteration = 0; iteration < 3000; iteration++) {
      const { text, templateValues } = writer.next();
      const context = `seed ${seed}, iteration ${iteration}: ${text} ${JSON.stringify(templateValues, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v))}`;
      let expr;
      try {
        expr = parseFilter(text, schema, { templateValues });
      } catch (error) {
        throw new Error(`generated filter failed to parse (${context}): ${String(error)}`);
      }
      const expected = expectedBits(rows, (row) => oracleMatches(expr, row));
      if (expected.length > 0 && expected.length < rowCount) nonTrivial += 1;
      // Small chunks exercise chunk boundaries and the early exits of and/or.
      const chunkRows = random.pick([8, 64, 65_536]);
      const bits = evaluateFilterSync(expr, source, rowCount, { limits: { evaluationChunkRows: chunkRows } });
      expect(setRows(bits), context).toEqual(expected);
      expect(bits.count(), `${context}: no bit beyond the last row`).toBe(expected.length);
      if (iteration % 50 === 0) {
        // The async path, restricted to a random `within` set.
        const within = new Bitset(rowCount);
        for (let row = 0; row < rowCount; row++) if (random.bool(0.5)) within.add(row);
        const restricted = setRows(await evaluateFilter(expr, source, rowCount, { within, limits: { evaluationChunkRows: 16 } }));
        expect(restricted, context).toEqual(expected.filter((row) => within.has(row)));
      }
    }
    // The generator must produce selective filters, or the comparison proves little.
    expect(nonTrivial).toBeGreaterThan(1000);
  }, 120_000);

  test("not of an unknown stays unknown: not (x > 1) skips null rows", () => {
    const rows: Row[] = [
      { id: 0n, ni32: null, $meta: {} },
      { id: 1n, ni32: 0, $meta: {} },
      { id: 2n, ni32: 5, $meta: {} },
    ];
    const source = new RowColumnSource(rows);
    const run = (text: string): number[] => setRows(evaluateFilterSync(parseFilter(text, schema), source, rows.length));
    expect(run("ni32 > 1")).toEqual([2]);
    expect(run("not (ni32 > 1)")).toEqual([1]);
    expect(run("ni32 > 1 or ni32 is null")).toEqual([0, 2]);
    expect(run("not (ni32 > 1 and false)")).toEqual([0, 1, 2]);
    expect(run("ni32 > 1 or true")).toEqual([0, 1, 2]);
    expect(oracleTruth(parseFilter("not (ni32 > 1)", schema), rows[0] as Row)).toBe(null);
  });

  test("JSON: wrong type or missing path is false, and != is its negation", () => {
    const rows: Row[] = [
      { id: 0n, j: { a: 5 }, $meta: {} },
      { id: 1n, j: { a: "5" }, $meta: {} },
      { id: 2n, j: {}, $meta: {} },
      { id: 3n, j: { a: null }, $meta: {} },
      { id: 4n, j: { a: [5] }, $meta: {} },
    ];
    const source = new RowColumnSource(rows);
    const run = (text: string): number[] => setRows(evaluateFilterSync(parseFilter(text, schema), source, rows.length));
    expect(run('j["a"] == 5')).toEqual([0]);
    expect(run('j["a"] >= 5')).toEqual([0]);
    expect(run('j["a"] != 5')).toEqual([1, 2, 3, 4]);
    expect(run('j["a"] == "5"')).toEqual([1]);
    expect(run('j["a"] is null')).toEqual([2, 3]);
    expect(run('j["a"] in [5, "x"]')).toEqual([0]);
    expect(run('j["a"] not in [5, "x"]')).toEqual([1, 2, 3, 4]);
    expect(run('json_contains(j["a"], 5)')).toEqual([4]);
  });

  test("Int64 beyond 2^53 keeps its precision", () => {
    const big = 2n ** 53n + 1n;
    const rows: Row[] = [
      { id: 0n, i64: big, $meta: {} },
      { id: 1n, i64: big - 1n, $meta: {} },
      { id: 2n, i64: 2n ** 63n - 1n, $meta: {} },
      { id: 3n, i64: -(2n ** 63n), $meta: {} },
    ];
    const source = new RowColumnSource(rows);
    const run = (text: string): number[] => setRows(evaluateFilterSync(parseFilter(text, schema), source, rows.length));
    expect(run("i64 == 9007199254740993")).toEqual([0]);
    expect(run("i64 > 9007199254740992")).toEqual([0, 2]);
    expect(run("i64 in [9007199254740993, 9223372036854775807]")).toEqual([0, 2]);
    expect(run("i64 < -9223372036854775807")).toEqual([3]);
    expect(run("i64 > 9007199254740992.0")).toEqual([0, 2]);
    expect(run("i64 + 1 == 9007199254740994")).toEqual([0]);
    expect(run("i64 * 2 > 0")).toEqual([0, 1, 2]); // exact: no wraparound
    expect(run("i64 >= 1.5 and i64 < 9007199254740993")).toEqual([1]);
  });

  test("integer arithmetic truncates toward zero; a zero divisor makes the row unknown", () => {
    const rows: Row[] = [
      { id: 0n, i32: -7, i8: 2, $meta: {} },
      { id: 1n, i32: 7, i8: 0, $meta: {} },
      { id: 2n, i32: 6, i8: -4, $meta: {} },
    ];
    const source = new RowColumnSource(rows);
    const run = (text: string): number[] => setRows(evaluateFilterSync(parseFilter(text, schema), source, rows.length));
    expect(run("i32 / 2 == -3")).toEqual([0]);
    expect(run("i32 % 4 == -3")).toEqual([0]);
    expect(run("i32 / i8 < 0")).toEqual([0, 2]);
    expect(run("not (i32 / i8 < 0)")).toEqual([]); // row 1 divides by zero: unknown either way
    expect(run("i32 / 2.0 == -3.5")).toEqual([0]);
    expect(run("i32 ** 2 == 49")).toEqual([0, 1]);
    // A large literal operand forces exact BigInt arithmetic even when the result is small.
    expect(run("9007199254740993 % i32 == 5")).toEqual([0, 1]);
    expect(run("9007199254740993 % i32 == 3")).toEqual([2]);
  });

  test("Float fields compare at single precision, as Milvus does", () => {
    const rows: Row[] = [{ id: 0n, f: Math.fround(0.1), d: 0.1, $meta: {} }];
    const source = new RowColumnSource(rows);
    const run = (text: string): number[] => setRows(evaluateFilterSync(parseFilter(text, schema), source, rows.length));
    expect(run("f == 0.1")).toEqual([0]);
    expect(run("d == 0.1")).toEqual([0]);
    expect(run("f * 1 == 0.1")).toEqual([]); // arithmetic is double precision
  });

  test("strings order by code point (UTF-8 byte order), like by code point", () => {
    const rows: Row[] = [
      { id: 0n, s: "\uFFFF", $meta: {} },
      { id: 1n, s: "😀", $meta: {} },
      { id: 2n, s: "a😀b", $meta: {} },
      { id: 3n, s: "a%b", $meta: {} },
    ];
    const source = new RowColumnSource(rows);
    const run = (text: string): number[] => setRows(evaluateFilterSync(parseFilter(text, schema), source, rows.length));
    expect(run('s < "😀"')).toEqual([0, 2, 3]);
    expect(run('s > "\\uFFFF"')).toEqual([1]);
    expect(run('s like "a_b"')).toEqual([2, 3]);
    expect(run('s like "a\\\\%b"')).toEqual([3]);
    expect(run('s like "a\\%b"')).toEqual([3]);
    expect(run('s like "%b"')).toEqual([2, 3]);
  });

  test("primaryKeysOf recognizes key lookups only", () => {
    expect(primaryKeysOf(parseFilter("id in [3, 1, 3]", schema))).toEqual([3n, 1n]);
    expect(primaryKeysOf(parseFilter("id == 7 or id in [8] or 9 == id", schema))).toEqual([7n, 8n, 9n]);
    expect(primaryKeysOf(parseFilter("id in []", schema))).toEqual([]);
    expect(primaryKeysOf(parseFilter("id in [1.5, 2.0]", schema))).toEqual([2n]);
    expect(primaryKeysOf(parseFilter("id in [1] and i32 > 0", schema))).toBeUndefined();
    expect(primaryKeysOf(parseFilter("id not in [1]", schema))).toBeUndefined();
    expect(primaryKeysOf(parseFilter("id > 1", schema))).toBeUndefined();
    expect(primaryKeysOf(parseFilter("i64 == 1", schema))).toBeUndefined();
  });
});
