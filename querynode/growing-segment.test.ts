// GrowingSegment visibility against a plain model of the MVCC rule, under random appends, tombstones
// (including upserts at one timestamp and tombstones arriving out of order, as delta logs may) and
// snapshots below, between and above them; and the steady-state set that reads share.

import { describe, expect, it } from "vitest";
import { ErrorCode, isVelaError } from "../common/errors.ts";
import { SeededRandom, testSeed } from "../common/random.ts";
import { DataType, normalizeSchema } from "../common/schema.ts";
import { GrowingSegment } from "./growing-segment.ts";

const seed = testSeed();
console.log(`growing segment visibility seed ${seed} (replay: VELA_SEED=${seed})`);

const schema = normalizeSchema({
  name: "items",
  fields: [
    { name: "id", dataType: DataType.Int64, isPrimaryKey: true },
    { name: "vector", dataType: DataType.FloatVector, dim: 2 },
  ],
});
const idField = (schema.fields.find((field) => field.name === "id") as { fieldId: number }).fieldId;
const vectorField = (schema.fields.find((field) => field.name === "vector") as { fieldId: number }).fieldId;

function appendRows(segment: GrowingSegment, keys: bigint[], ts: bigint): void {
  segment.append([
    { fieldId: idField, type: DataType.Int64, values: BigInt64Array.from(keys) },
    { fieldId: vectorField, type: DataType.FloatVector, dim: 2, values: new Float32Array(keys.length * 2) },
  ], keys.length, ts);
}

/** The MVCC rule over plain arrays: visible iff inserted at or before ts and no tombstone for its key in (insertTs, ts]. */
function modelVisible(rows: Array<{ key: bigint; ts: bigint }>, tombstones: Array<{ key: bigint; ts: bigint }>, ts: bigint, rowCount: number): boolean[] {
  return rows.slice(0, rowCount).map((row) => row.ts <= ts && !tombstones.some((tombstone) => tombstone.key === row.key && tombstone.ts > row.ts && tombstone.ts <= ts));
}

describe("GrowingSegment visibility", () => {
  it("agrees with the MVCC model at every snapshot, steady or not", () => {
    const random = new SeededRandom(seed);
    for (let trial = 0; trial < 20; trial++) {
      const segment = new GrowingSegment(1n, 2n, 3n, "v", schema);
      const rows: Array<{ key: bigint; ts: bigint }> = [];
      const tombstones: Array<{ key: bigint; ts: bigint }> = [];
      let ts = 10n;
      for (let step = 0; step < 40; step++) {
        ts += BigInt(random.int(1, 3));
        if (random.bool(0.6)) {
          const keys = Array.from({ length: random.int(1, 20) }, () => BigInt(random.int(0, 60)));
          appendRows(segment, keys, ts);
          for (const key of keys) rows.push({ key, ts });
        } else {
          // Tombstones may carry any timestamp up to now (delta logs arrive in any order).
          const tombstone = { key: BigInt(random.int(0, 60)), ts: ts - BigInt(random.int(0, 8)) };
          segment.applyDelete(tombstone.key, tombstone.ts);
          tombstones.push(tombstone);
        }
        for (const snapshot of [ts - 5n, ts - 1n, ts, ts + 100n]) {
          const rowCount = random.bool(0.8) ? segment.snapshotRowCount() : random.int(0, segment.snapshotRowCount());
          const visible = segment.visibility(snapshot, rowCount);
          const expected = modelVisible(rows, tombstones, snapshot, rowCount);
          expect(visible.frozen).toBe(true);
          expect(visible.length).toBe(rowCount);
          const where = `trial ${trial} step ${step} snapshot ${snapshot}`;
          expect(Array.from({ length: rowCount }, (_, row) => visible.has(row)), where).toEqual(expected);
          expect(Array.from({ length: rowCount }, (_, row) => segment.isVisible(row, snapshot)), where).toEqual(expected);
          expect(visible.count(), where).toBe(expected.filter(Boolean).length);
        }
      }
    }
  });

  it("hands every read in the steady state the same set, until a row or a tombstone arrives", () => {
    const segment = new GrowingSegment(1n, 2n, 3n, "v", schema);
    appendRows(segment, [1n, 2n, 3n], 10n);
    const first = segment.visibility(50n, 3);
    expect(segment.visibility(60n, 3)).toBe(first);
    expect(first.count()).toBe(3);
    // Below a row's insert ts: not the steady state, a set of its own.
    expect(segment.visibility(9n, 3)).not.toBe(first);
    expect(segment.visibility(9n, 3).count()).toBe(0);

    segment.applyDelete(2n, 20n);
    const afterDelete = segment.visibility(50n, 3);
    expect(afterDelete).not.toBe(first);
    expect(afterDelete.count()).toBe(2);
    expect(first.count()).toBe(3); // a read that took the earlier set keeps its answer
    expect(segment.visibility(15n, 3).count()).toBe(3); // below the tombstone
    expect(segment.visibility(50n, 3)).toBe(afterDelete);

    appendRows(segment, [4n], 30n);
    expect(segment.visibility(50n, 3)).toBe(afterDelete); // an older snapshot's row count
    const grown = segment.visibility(50n, 4);
    expect(grown).not.toBe(afterDelete);
    expect(grown.count()).toBe(3);

    // A repeated tombstone changes nothing; an earlier one for the same row still rebuilds the set.
    segment.applyDelete(2n, 25n);
    expect(segment.visibility(50n, 4)).toBe(grown);
    segment.applyDelete(2n, 18n);
    const earlier = segment.visibility(50n, 4);
    expect(earlier.count()).toBe(3);
    expect(segment.visibility(19n, 4).count()).toBe(2);
  });

  it("refuses changes to a set it handed out, and row counts it does not hold", () => {
    const segment = new GrowingSegment(1n, 2n, 3n, "v", schema);
    appendRows(segment, [1n, 2n], 10n);
    const visible = segment.visibility(10n, 2);
    let error: unknown;
    try {
      visible.delete(0);
    } catch (thrown) {
      error = thrown;
    }
    expect(isVelaError(error, ErrorCode.Internal)).toBe(true);
    expect(segment.visibility(10n, 2).count()).toBe(2);
    expect(() => segment.visibility(10n, 3)).toThrow(/invariant broken/);
  });
});
