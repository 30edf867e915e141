// Benchmark (a script, not a test): filtered evaluation throughput over 1M rows. For a few
// representative filters — a range on Int64, `in` on VarChar, a `like` prefix, a JSON path comparison,
// a compound and/or — compares, in one run on the same data: expr/evaluate.ts over column views (the
// way a query node reads a GrowingSegment) and a plain JavaScript loop over row objects with a
// hand-written predicate. Both produce a bitset of matching rows; their counts are checked equal.
// Prints figures only; nothing here is asserted. Row objects hold Int64 values as BigInt, as exactness
// requires (a Number would round beyond 2^53).
//
//   npx tsx bench/filter-query.ts [rows]     (VELA_BENCH_ROUNDS, default 5: best of that many runs)

import { cpus, loadavg } from "node:os";
import { SeededRandom } from "../common/random.ts";
import { DataType, normalizeSchema, type FieldSchema } from "../common/schema.ts";
import { evaluateFilter, evaluateFilterSync } from "../expr/evaluate.ts";
import type { ColumnSource, ScalarColumnView } from "../expr/column-source.ts";
import { parseFilter } from "../expr/parser.ts";

const rowCount = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.env.VELA_BENCH_ROUNDS ?? "5");

const schema = normalizeSchema({
  name: "bench",
  fields: [
    { name: "id", dataType: DataType.Int64, isPrimaryKey: true },
    { name: "vector", dataType: DataType.FloatVector, dim: 4 },
    { name: "price", dataType: DataType.Int64 },
    { name: "qty", dataType: DataType.Int32 },
    { name: "category", dataType: DataType.VarChar, maxLength: 32 },
    { name: "name", dataType: DataType.VarChar, maxLength: 64 },
    { name: "meta", dataType: DataType.JSON },
  ],
});

interface BenchRow {
  id: bigint;
  price: bigint;
  qty: number;
  category: string;
  name: string;
  meta: { brand: string; score: number };
}

const random = new SeededRandom(42);
const brands = ["acme", "globex", "initech", "umbrella", "hooli"];
const categories = Array.from({ length: 64 }, (_, i) => `c${i}`);
const rows: BenchRow[] = new Array<BenchRow>(rowCount);
const columns = {
  price: new BigInt64Array(rowCount),
  qty: new Int32Array(rowCount),
  category: new Array<string>(rowCount),
  name: new Array<string>(rowCount),
  meta: new Array<unknown>(rowCount),
};
for (let row = 0; row < rowCount; row++) {
  const price = BigInt(random.int(0, 99_999));
  const qty = random.int(0, 20);
  const category = random.pick(categories);
  const name = `prod-${random.int(0, 999_999)}`;
  const meta = { brand: random.pick(brands), score: random.int(0, 100) };
  rows[row] = { id: BigInt(row), price, qty, category, name, meta };
  columns.price[row] = price;
  columns.qty[row] = qty;
  columns.category[row] = category;
  columns.name[row] = name;
  columns.meta[row] = meta; // parsed once, as GrowingSegment caches parsed JSON
}

const source: ColumnSource = {
  columnView(field: FieldSchema, count: number): ScalarColumnView {
    switch (field.name) {
      case "price":
        return { kind: "typed", values: columns.price, rowCount: count };
      case "qty":
        return { kind: "typed", values: columns.qty, rowCount: count };
      case "category":
        return { kind: "strings", values: columns.category, rowCount: count };
      case "name":
        return { kind: "strings", values: columns.name, rowCount: count };
      default:
        return { kind: "json", values: columns.meta, rowCount: count };
    }
  },
};

interface Case {
  title: string;
  filter: string;
  predicate: (row: BenchRow) => boolean;
}

const wanted = new Set(["c1", "c7", "c13", "c42"]);
const cases: Case[] = [
  { title: "range on Int64", filter: "10000 <= price < 30000", predicate: (row) => row.price >= 10_000n && row.price < 30_000n },
  { title: "in on VarChar", filter: 'category in ["c1", "c7", "c13", "c42"]', predicate: (row) => wanted.has(row.category) },
  { title: "like prefix", filter: 'name like "prod-12%"', predicate: (row) => row.name.startsWith("prod-12") },
  { title: "JSON path comparison", filter: 'meta["score"] > 90', predicate: (row) => typeof row.meta.score === "number" && row.meta.score > 90 },
  {
    title: "compound and/or",
    filter: '(price < 20000 or category == "c3") and meta["brand"] == "acme" and not (qty > 10)',
    predicate: (row) => (row.price < 20_000n || row.category === "c3") && row.meta.brand === "acme" && !(row.qty > 10),
  },
];

function plainLoop(predicate: (row: BenchRow) => boolean): Uint8Array {
  const bits = new Uint8Array((rowCount + 7) >>> 3);
  for (let row = 0; row < rowCount; row++) if (predicate(rows[row] as BenchRow)) bits[row >>> 3] = (bits[row >>> 3] as number) | (1 << (row & 7));
  return bits;
}

function countBits(bits: Uint8Array): number {
  let count = 0;
  for (const byte of bits) for (let value = byte; value !== 0; value &= value - 1) count += 1;
  return count;
}

function best(run: () => void): number {
  let fastest = Infinity;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    run();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest;
}

const load = (): string => loadavg().map((value) => value.toFixed(2)).join(" ");
console.log(`filter evaluation over ${rowCount.toLocaleString("en-US")} rows; node ${process.version}; ${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"})`);
console.log(`best of ${rounds} runs per cell; load average before: ${load()}\n`);
const header = ["filter", "matches", "evaluate.ts rows/s", "plain loop rows/s", "ratio", "async rows/s"];
const lines: string[][] = [];
for (const benchCase of cases) {
  const expr = parseFilter(benchCase.filter, schema);
  let matches = 0;
  const evaluateMs = best(() => {
    matches = evaluateFilterSync(expr, source, rowCount, { shared: false }).count();
  });
  let plainMatches = 0;
  const plainMs = best(() => {
    plainMatches = countBits(plainLoop(benchCase.predicate));
  });
  if (plainMatches !== matches) throw new Error(`${benchCase.title}: evaluate.ts found ${matches} rows, the plain loop ${plainMatches}`);
  const asyncStarted = performance.now();
  await evaluateFilter(expr, source, rowCount);
  const asyncMs = performance.now() - asyncStarted;
  const rate = (ms: number): string => `${((rowCount / ms) * 1000 / 1e6).toFixed(1)} M`;
  lines.push([`${benchCase.title}: ${benchCase.filter}`, matches.toLocaleString("en-US"), rate(evaluateMs), rate(plainMs), `${(plainMs / evaluateMs).toFixed(2)}x`, rate(asyncMs)]);
}
const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] as string).length)));
const format = (line: string[]): string => `| ${line.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] as number) : cell.padStart(widths[column] as number))).join(" | ")} |`;
console.log(format(header));
console.log(`|${widths.map((width, column) => (column === 0 ? "-".repeat(width + 2) : "-".repeat(width + 1) + ":")).join("|")}|`);
for (const line of lines) console.log(format(line));
console.log(`\nratio = plain loop time / evaluate.ts time (above 1: evaluate.ts is faster). async = one run of evaluateFilter, yielding every ${(65_536).toLocaleString("en-US")} rows.`);
console.log(`load average after: ${load()}`);
