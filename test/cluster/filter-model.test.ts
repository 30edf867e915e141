// Filter expressions end to end (issue #6): seeded random rows with every scalar type, nulls, JSON and
// dynamic keys go in through the proxy; seeded random expressions go through search, query, count and
// delete; every answer is checked against the expression oracle (expr/oracle.ts) applied row by row to
// the same rows. Replay with VELA_SEED=<seed>.

import { afterEach, describe, expect, it } from "vitest";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { DYNAMIC_FIELD_NAME } from "../../common/schema.ts";
import { Standalone } from "../../cluster/standalone.ts";
import { oracleMatches, type Row } from "../../expr/oracle.ts";
import { parseFilter } from "../../expr/parser.ts";
import { RandomFilterWriter, filterTestSchema, randomRows } from "../../expr/testing/random-filters.ts";
import { distance } from "../oracle/model.ts";
import { scratchDir } from "../servers/ports.ts";

const running: Standalone[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()?.close();
});

describe("filter expressions through the read and delete paths", () => {
  it("agree with the expression oracle on search, query, count and delete", async () => {
    const seed = testSeed();
    console.log(`filter model seed ${seed} (replay with VELA_SEED=${seed})`);
    const random = new SeededRandom(seed);
    const schema = filterTestSchema();
    const vela = await Standalone.start({ dataDir: scratchDir("filter-model"), fsync: false, rootCoordLimits: { pchannelCount: 2 }, computePoolLimits: { workerCount: 1 }, timeSyncLimits: { tickIntervalMs: 25 } });
    running.push(vela);
    await vela.rootCoord.createCollection({
      schema: {
        name: "filters", enableDynamicField: true,
        fields: schema.fields.filter((field) => !field.isDynamic).map((field) => ({
          name: field.name, dataType: field.dataType, isPrimaryKey: field.isPrimaryKey, nullable: field.nullable,
          ...(field.dim === undefined ? {} : { dim: field.dim }), ...(field.maxLength === undefined ? {} : { maxLength: field.maxLength }),
        })),
      },
      shardsNum: 2,
    });
    await vela.queryCoord.loadCollection("default", "filters");

    // Vela refuses non-finite floats in scalar fields; the generator's float32 overflows become the float32 maximum.
    const finite = (value: unknown): unknown => (typeof value === "number" && !Number.isFinite(value) ? Math.sign(value) * 3.4028234663852886e38 : value);
    // JSON is stored as text, which has no -0 and no integers past 2^53: the oracle judges the documents as stored.
    const asStored = (value: unknown): unknown => (value === null || value === undefined ? value : JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v))) as unknown);
    const rows: Array<Row & { vec: number[] }> = randomRows(random, 300).map((row) => ({
      ...row, f: finite(row.f), nf: finite(row.nf), j: asStored(row.j), nj: asStored(row.nj), [DYNAMIC_FIELD_NAME]: asStored(row[DYNAMIC_FIELD_NAME]),
      vec: [random.gaussian(), random.gaussian()],
    }));
    for (let start = 0; start < rows.length; start += 100) {
      const batch = rows.slice(start, start + 100);
      const columns: Record<string, unknown[]> = {};
      // JSON columns travel as JSON text (a JS string in a JSON column is read as text, as the APIs send it).
      for (const field of schema.fields) columns[field.name] = batch.map((row) => (field.dataType === 23 && row[field.name] !== null && row[field.name] !== undefined ? JSON.stringify(row[field.name], (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v)) : row[field.name] ?? null));
      columns[DYNAMIC_FIELD_NAME] = batch.map((row) => row[DYNAMIC_FIELD_NAME]);
      await vela.proxy.insert({ collectionName: "filters", columns });
    }
    let live = [...rows];
    const writer = new RandomFilterWriter(random);
    let checked = 0;
    let nonTrivial = 0;

    for (let round = 0; round < 60; round++) {
      const { text, templateValues } = writer.next();
      const parsed = parseFilter(text, schema, { templateValues });
      const expected = live.filter((row) => oracleMatches(parsed, row));
      const expectedIds = expected.map((row) => row.id as bigint).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (expected.length > 0 && expected.length < live.length) nonTrivial += 1;
      const context = `filter ${JSON.stringify(text)} ${JSON.stringify(templateValues, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v))}`;

      const query = await vela.service.query({}, { collectionName: "filters", filter: text, templateValues, outputFields: ["id"], consistencyLevel: "Strong", limit: 16_384 });
      expect(query.rows.map((row) => row.id as bigint).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), context).toEqual(expectedIds);

      const count = await vela.service.query({}, { collectionName: "filters", filter: text, templateValues, outputFields: ["count(*)"], consistencyLevel: "Strong" });
      expect(count.count, context).toBe(expected.length);

      const queryVector = [random.gaussian(), random.gaussian()];
      const search = await vela.service.search({}, { collectionName: "filters", vectors: [queryVector], topk: 5, metricType: "L2", filter: text, templateValues, consistencyLevel: "Strong" });
      const best = expected
        .map((row) => ({ id: row.id as bigint, d: distance("L2", Float32Array.from(queryVector), Float32Array.from(row.vec)) }))
        .sort((a, b) => a.d - b.d)
        .slice(0, 5);
      expect(search.results[0]?.map((hit) => hit.primaryKey), context).toEqual(best.map((hit) => hit.id));
      checked += 1;

      if (round % 15 === 14 && expected.length > 0 && expected.length < live.length / 2) {
        const deleted = await vela.service.delete({}, "filters", undefined, text, templateValues);
        expect(deleted.count, context).toBe(expected.length);
        const removed = new Set(expectedIds);
        live = live.filter((row) => !removed.has(row.id as bigint));
        const total = await vela.service.query({}, { collectionName: "filters", outputFields: ["count(*)"], consistencyLevel: "Strong" });
        expect(total.count).toBe(live.length);
      }
    }
    expect(checked).toBe(60);
    expect(nonTrivial).toBeGreaterThan(10);
  });

  it("refuses malformed filters with the position and what was expected, changing nothing", async () => {
    const vela = await Standalone.start({ dataDir: scratchDir("filter-errors"), fsync: false, rootCoordLimits: { pchannelCount: 2 }, computePoolLimits: { workerCount: 1 } });
    running.push(vela);
    await vela.rootCoord.createCollection({ schema: { name: "c", fields: [{ name: "id", dataType: 5, isPrimaryKey: true }, { name: "v", dataType: 101, dim: 2 }, { name: "title", dataType: 21, maxLength: 10 }] } });
    await vela.queryCoord.loadCollection("default", "c");
    await vela.proxy.insert({ collectionName: "c", columns: { id: [1, 2], v: [[1, 1], [2, 2]], title: ["a", "b"] } });
    await expect(vela.service.query({}, { collectionName: "c", filter: "id in [1, ", outputFields: ["count(*)"] })).rejects.toMatchObject({ code: "InvalidArgument", message: expect.stringMatching(/^at \d+: /) });
    await expect(vela.service.query({}, { collectionName: "c", filter: "missing > 1", limit: 1 })).rejects.toMatchObject({ code: "InvalidArgument", message: expect.stringMatching(/missing/) });
    await expect(vela.service.query({}, { collectionName: "c", filter: "title > 3", limit: 1 })).rejects.toMatchObject({ code: "InvalidArgument" });
    await expect(vela.service.delete({}, "c", undefined, "title like ")).rejects.toMatchObject({ code: "InvalidArgument" });
    // A key filter that names no key matches nothing, everywhere.
    expect((await vela.service.query({}, { collectionName: "c", filter: "id in []", outputFields: ["count(*)"], consistencyLevel: "Strong" })).count).toBe(0);
    expect((await vela.service.query({}, { collectionName: "c", filter: "id in []", outputFields: ["title"], consistencyLevel: "Strong" })).rows).toEqual([]);
    expect((await vela.service.search({}, { collectionName: "c", vectors: [[1, 1]], topk: 2, filter: "id in [1.5]", consistencyLevel: "Strong" })).results).toEqual([[]]);
    expect((await vela.service.delete({}, "c", undefined, "id in []")).count).toBe(0);
    expect((await vela.service.query({}, { collectionName: "c", outputFields: ["count(*)"], consistencyLevel: "Strong" })).count).toBe(2);
  });
});
