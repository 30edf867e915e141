// In-process cluster test of the read path (DESIGN §13.3): a seeded random sequence of inserts,
// upserts, deletes, searches, queries and counts at every consistency level runs against a standalone
// Vela and against the oracle (test/oracle/model.ts), which evaluates each answer at the snapshot
// Vela reports. Ids must match exactly and distances within float tolerance. Replay a failure with
// VELA_SEED=<seed>.

import { afterEach, describe, expect, it } from "vitest";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { DataType } from "../../common/schema.ts";
import { Standalone } from "../../cluster/standalone.ts";
import { ModelStore, type Key, type ModelMetric, type ModelRow } from "../oracle/model.ts";
import { scratchDir } from "../servers/ports.ts";

const running: Standalone[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()?.close();
});

const DIM = 8;
const LEVELS = ["Strong", "Session", "Bounded", "Eventually"] as const;
const METRICS: ModelMetric[] = ["L2", "IP", "COSINE"];

async function startVela(label: string): Promise<Standalone> {
  const node = await Standalone.start({
    dataDir: scratchDir(label), fsync: false,
    rootCoordLimits: { pchannelCount: 3 }, timeSyncLimits: { tickIntervalMs: 25 },
    dataCoordLimits: { segmentRowCountMax: 40 }, computePoolLimits: { workerCount: 2 },
  });
  running.push(node);
  return node;
}

function randomVector(random: SeededRandom): Float32Array {
  return Float32Array.from({ length: DIM }, () => random.gaussian());
}

function closeTo(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= 1e-4 * (1 + Math.abs(expected));
}

describe("read path against the oracle", () => {
  it("agrees on every search, query and count of a seeded random workload", async () => {
    const seed = testSeed();
    console.log(`read model seed ${seed} (replay with VELA_SEED=${seed})`);
    const random = new SeededRandom(seed);
    const vela = await startVela("read-model");
    await vela.rootCoord.createCollection({
      schema: { name: "items", fields: [
        { name: "id", dataType: DataType.Int64, isPrimaryKey: true },
        { name: "vec", dataType: DataType.FloatVector, dim: DIM },
        { name: "n", dataType: DataType.Int32 },
      ] },
      shardsNum: 2,
    });
    await vela.queryCoord.loadCollection("default", "items");
    const model = new ModelStore();
    const live = new Set<bigint>();
    let nextKey = 1n;
    let sessionTs = 0n;
    let searches = 0;
    let hitsCompared = 0;

    const makeRows = (keys: bigint[]): ModelRow[] => keys.map((key) => ({ key, vector: randomVector(random), fields: { n: random.int(-1000, 1000) } }));
    const columns = (rows: ModelRow[]) => ({ id: rows.map((row) => row.key), vec: rows.map((row) => Array.from(row.vector)), n: rows.map((row) => row.fields.n) });
    const pickKeys = (count: number): bigint[] => {
      const pool = [...live];
      // Keys not yet written come from a negative range that plain inserts never use: an insert never
      // duplicates a key, so every key has at most one live version (duplicates are covered elsewhere).
      return Array.from({ length: count }, () => (pool.length > 0 && random.bool(0.8) ? random.pick(pool) : -BigInt(random.int(1, 50))));
    };

    for (let step = 0; step < 160; step++) {
      const action = random.next();
      if (action < 0.3) {
        const keys = Array.from({ length: random.int(1, 20) }, () => nextKey++);
        const rows = makeRows(keys);
        const result = await vela.proxy.insert({ collectionName: "items", columns: columns(rows) });
        model.insert(result.timestamp, rows);
        for (const key of keys) live.add(key);
        sessionTs = result.timestamp;
      } else if (action < 0.42) {
        const keys = [...new Set(pickKeys(random.int(1, 8)))];
        const rows = makeRows(keys);
        const result = await vela.proxy.upsert({ collectionName: "items", columns: columns(rows) });
        model.upsert(result.timestamp, rows);
        for (const key of keys) live.add(key);
        sessionTs = result.timestamp;
      } else if (action < 0.52) {
        const keys = pickKeys(random.int(1, 6));
        const result = await vela.proxy.delete({ collectionName: "items", primaryKeys: keys });
        model.delete(result.timestamp, keys);
        for (const key of keys) live.delete(key);
        sessionTs = result.timestamp;
      } else if (action < 0.85) {
        const level = random.pick(LEVELS);
        const metric = random.pick(METRICS);
        const nq = random.int(1, 3);
        const topk = random.int(1, 15);
        const offset = random.bool(0.3) ? random.int(1, 5) : 0;
        const queries = Array.from({ length: nq }, () => randomVector(random));
        const filterKeys = random.bool(0.2) ? pickKeys(random.int(1, 10)) : undefined;
        const result = await vela.reader.search({
          collectionName: "items", vectors: queries.map((query) => Array.from(query)), topk, offset, metricType: metric,
          outputFields: ["n"], consistencyLevel: level, sessionTs, ...(filterKeys === undefined ? {} : { filterKeys }),
        });
        if (level === "Strong" || level === "Session") expect(result.snapshotTs >= sessionTs, `${level} read sees the client's own writes`).toBe(true);
        searches += 1;
        for (let q = 0; q < nq; q++) {
          const expected = model.search(result.snapshotTs, queries[q] as Float32Array, topk, offset, metric, filterKeys);
          const actual = result.results[q] ?? [];
          expect(actual.map((hit) => hit.primaryKey), `search ${searches} query ${q} (${metric}, topk ${topk}, offset ${offset}, ${level})`).toEqual(expected.map((hit) => hit.key));
          actual.forEach((hit, i) => {
            expect(closeTo(hit.distance, expected[i]!.distance), `distance ${hit.distance} vs ${expected[i]!.distance}`).toBe(true);
            expect(hit.fields.n).toBe(expected[i]!.fields.n);
          });
          hitsCompared += actual.length;
        }
      } else if (action < 0.93) {
        const keys = pickKeys(random.int(1, 10));
        const result = await vela.reader.query({ collectionName: "items", filterKeys: keys, outputFields: ["n", "vec"], consistencyLevel: "Strong" });
        const visible = model.visible(result.snapshotTs);
        const expectedKeys = [...new Set(keys)].filter((key) => visible.has(key));
        expect(result.rows.map((row) => row.id as Key)).toEqual(expectedKeys);
        for (const row of result.rows) {
          const version = visible.get(row.id as Key)!;
          expect(row.n).toBe(version.fields.n);
          expect(row.vec).toEqual(Array.from(version.vector));
        }
      } else {
        const level = random.pick(LEVELS);
        const result = await vela.reader.count({ collectionName: "items", consistencyLevel: level, sessionTs });
        expect(result.count).toBe(model.countVisible(result.snapshotTs));
      }
    }
    expect(searches).toBeGreaterThan(20);
    expect(hitsCompared).toBeGreaterThan(100);
  });

  it("reads its own writes with Strong consistency, every time", async () => {
    const vela = await startVela("ryw");
    await vela.rootCoord.createCollection({
      schema: { name: "notes", fields: [{ name: "id", dataType: DataType.Int64, isPrimaryKey: true }, { name: "v", dataType: DataType.FloatVector, dim: 2 }] },
    });
    await vela.queryCoord.loadCollection("default", "notes");
    for (let i = 1; i <= 40; i++) {
      await vela.proxy.insert({ collectionName: "notes", columns: { id: [i], v: [[i, i]] } });
      const query = await vela.reader.query({ collectionName: "notes", filterKeys: [i], consistencyLevel: "Strong" });
      expect(query.rows.map((row) => row.id)).toEqual([BigInt(i)]);
      const search = await vela.reader.search({ collectionName: "notes", vectors: [[i, i]], topk: 1, consistencyLevel: "Strong" });
      expect(search.results[0]?.[0]?.primaryKey).toBe(BigInt(i));
      if (i % 2 === 0) {
        await vela.proxy.delete({ collectionName: "notes", primaryKeys: [i] });
        expect((await vela.reader.count({ collectionName: "notes", consistencyLevel: "Strong" })).count).toBe(i / 2);
      }
    }
  });
});
