// The integration seam: a GrowingSegment is a ColumnSource as it is. Rows appended to a real segment
// (columns as the log delivers them, JSON as UTF-8 bytes, validity masks) are filtered by
// evaluateFilter, combined with the segment's MVCC visibility through `within`, and checked against
// the oracle over the same rows.

import { expect, test } from "vitest";
import type { Column } from "../common/columns.ts";
import { SeededRandom, testSeed } from "../common/random.ts";
import { DataType, normalizeSchema } from "../common/schema.ts";
import { GrowingSegment } from "../querynode/growing-segment.ts";
import type { ColumnSource } from "./column-source.ts";
import { evaluateFilter } from "./evaluate.ts";
import { oracleMatches, type Row } from "./oracle.ts";
import { parseFilter } from "./parser.ts";
import { primaryKeysOf } from "./primary-keys.ts";

const schema = normalizeSchema({
  name: "items",
  enableDynamicField: true,
  fields: [
    { name: "id", dataType: DataType.Int64, isPrimaryKey: true },
    { name: "vector", dataType: DataType.FloatVector, dim: 2 },
    { name: "qty", dataType: DataType.Int32, nullable: true },
    { name: "name", dataType: DataType.VarChar, maxLength: 16 },
    { name: "meta", dataType: DataType.JSON },
  ],
});

test("a GrowingSegment is a ColumnSource; visibility narrows the result", async () => {
  const seed = testSeed();
  console.log(`growing segment filter seed ${seed} (replay: VELA_SEED=${seed})`);
  const random = new SeededRandom(seed);
  const segment = new GrowingSegment(1n, 2n, 3n, "vchannel", schema);
  const source: ColumnSource = segment;
  const rows: Row[] = [];
  const fieldId = (name: string): number => (schema.fields.find((field) => field.name === name) as { fieldId: number }).fieldId;
  const encoder = new TextEncoder();
  for (let batch = 0; batch < 3; batch++) {
    const count = 100;
    const ids = new BigInt64Array(count);
    const qty = new Int32Array(count);
    const valid = new Uint8Array(count);
    const names: string[] = [];
    const metas: Uint8Array[] = [];
    const dynamic: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const id = BigInt(batch * count + i);
      const present = random.bool(0.8);
      const row = {
        id,
        qty: present ? random.int(-5, 5) : null,
        name: random.pick(["apple", "apricot", "banana", "cherry"]),
        meta: { color: random.pick(["red", "green"]), size: random.int(0, 9) },
        $meta: random.bool() ? { tag: random.pick(["x", "y"]) } : {},
      };
      rows.push(row);
      ids[i] = id;
      qty[i] = row.qty ?? 0;
      valid[i] = present ? 1 : 0;
      names.push(row.name);
      metas.push(encoder.encode(JSON.stringify(row.meta)));
      dynamic.push(encoder.encode(JSON.stringify(row.$meta)));
    }
    const columns: Column[] = [
      { fieldId: fieldId("id"), type: DataType.Int64, values: ids },
      { fieldId: fieldId("vector"), type: DataType.FloatVector, dim: 2, values: new Float32Array(count * 2) },
      { fieldId: fieldId("qty"), type: DataType.Int32, values: qty, valid },
      { fieldId: fieldId("name"), type: DataType.VarChar, values: names },
      { fieldId: fieldId("meta"), type: DataType.JSON, values: metas },
      { fieldId: fieldId("$meta"), type: DataType.JSON, values: dynamic },
    ];
    segment.append(columns, count, BigInt(10 + batch));
  }
  segment.applyDelete(7n, 20n);
  const rowCount = segment.snapshotRowCount();
  const snapshot = 11n; // sees the first two batches, and row 7 (deleted at 20) still
  const visible = segment.visibility(snapshot, rowCount);
  const filters = ['qty > 0 and name like "ap%"', 'meta["color"] == "red" or tag == "x"', "not (qty <= 2) and meta[\"size\"] in [1, 3, 5]", "qty is null", "id in [7, 150, 250]"];
  for (const text of filters) {
    const expr = parseFilter(text, schema);
    const result = await evaluateFilter(expr, source, rowCount, { within: visible, limits: { evaluationChunkRows: 64 } });
    const expected = rows.map((row, index) => index < 200 && oracleMatches(expr, row));
    for (let row = 0; row < rowCount; row++) expect(result.has(row), `${text}, row ${row}`).toBe(expected[row]);
    expect(result.count()).toBe(expected.filter(Boolean).length);
  }
  expect(primaryKeysOf(parseFilter("id in [7, 150, 250]", schema))).toEqual([7n, 150n, 250n]);
});
