import { describe, expect, it } from "vitest";
import { ErrorCode, isVelaError } from "../../common/errors.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { Bitset } from "./bitset.ts";

const seed = testSeed();
console.log(`bitset tests seed ${seed} (replay with VELA_SEED=${seed})`);

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("Bitset", () => {
  it("agrees with a boolean array under random adds and deletes", () => {
    const random = new SeededRandom(seed);
    for (const length of [0, 1, 7, 8, 9, 63, 64, 65, 1000]) {
      const set = new Bitset(length, { shared: random.bool() });
      const model = new Array<boolean>(length).fill(false);
      for (let step = 0; step < length * 3; step++) {
        const row = random.int(0, length - 1);
        if (random.bool(0.6)) {
          set.add(row);
          model[row] = true;
        } else {
          set.delete(row);
          model[row] = false;
        }
      }
      for (let row = 0; row < length; row++) expect(set.has(row)).toBe(model[row]);
      expect(set.count()).toBe(model.filter(Boolean).length);
      expect(set.has(length)).toBe(false);
      expect(set.has(-1)).toBe(false);
    }
  });

  it("fills exactly its length and round-trips through bytes and masks", () => {
    const set = new Bitset(13);
    set.fill();
    expect(set.count()).toBe(13);
    expect(set.bytes[1]).toBe(0b11111);
    const copy = Bitset.fromBytes(set.bytes.slice(), 13);
    expect(copy.count()).toBe(13);
    const mask = new Uint8Array([1, 0, 0, 2, 0, 0, 0, 0, 0, 9]);
    const fromMask = Bitset.fromMask(mask);
    expect([...Array(10).keys()].filter((row) => fromMask.has(row))).toEqual([0, 3, 9]);
  });

  it("counts by words and bytes alike, on aligned and unaligned views", () => {
    const random = new SeededRandom(seed);
    for (const length of [0, 5, 31, 32, 33, 100, 1000, 4099]) {
      const bytes = new Uint8Array(((length + 7) >>> 3) + 3);
      for (let offset = 0; offset < 3; offset++) {
        const view = bytes.subarray(offset, offset + ((length + 7) >>> 3));
        for (let i = 0; i < view.length; i++) view[i] = random.int(0, 255);
        if ((length & 7) !== 0 && view.length > 0) view[view.length - 1] = (view[view.length - 1] as number) & ((1 << (length & 7)) - 1);
        const set = Bitset.fromBytes(view, length);
        let expected = 0;
        for (let row = 0; row < length; row++) if (set.has(row)) expected += 1;
        expect(set.count()).toBe(expected);
      }
    }
  });

  it("keeps its count once frozen and refuses every change after", () => {
    const set = new Bitset(100);
    set.fill();
    set.delete(3);
    expect(set.frozen).toBe(false);
    expect(set.freeze()).toBe(set);
    expect(set.frozen).toBe(true);
    expect(set.count()).toBe(99);
    for (const action of [() => set.add(3), () => set.delete(4), () => set.fill()]) {
      expect(isVelaError(thrownBy(action), ErrorCode.Internal)).toBe(true);
    }
    expect(set.count()).toBe(99);
    expect(set.has(3)).toBe(false);
  });

  it("intersects two sets as the models' AND, over aligned and unaligned bytes", () => {
    const random = new SeededRandom(seed + 7);
    for (const length of [0, 1, 7, 31, 32, 33, 100, 1001]) {
      for (const offset of [0, 1, 4]) {
        const a = new Bitset(length, { shared: random.bool() });
        const backing = new Uint8Array(((length + 7) >>> 3) + offset);
        const bModel: boolean[] = [];
        const aModel: boolean[] = [];
        for (let row = 0; row < length; row++) {
          aModel.push(random.bool());
          bModel.push(random.bool(0.7));
          if (aModel[row]) a.add(row);
          if (bModel[row]) backing[offset + (row >>> 3)] = (backing[offset + (row >>> 3)] as number) | (1 << (row & 7));
        }
        const b = Bitset.fromBytes(backing.subarray(offset), length);
        const both = Bitset.intersection(a, b, { shared: true });
        expect(both.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
        for (let row = 0; row < length; row++) expect(both.has(row)).toBe(aModel[row] === true && bModel[row] === true);
        expect(both.count()).toBe(aModel.filter((value, row) => value && bModel[row]).length);
      }
    }
    expect(isVelaError(thrownBy(() => Bitset.intersection(new Bitset(8), new Bitset(9))))).toBe(true);
  });

  it("shares its bytes between threads when asked", () => {
    expect(new Bitset(10, { shared: true }).bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(new Bitset(10).bytes.buffer).toBeInstanceOf(ArrayBuffer);
  });

  it("rejects rows out of range and bytes that do not fit", () => {
    const set = new Bitset(10);
    for (const action of [() => set.add(10), () => set.delete(-1), () => set.add(1.5), () => new Bitset(-1), () => Bitset.fromBytes(new Uint8Array(3), 10), () => Bitset.fromBytes(new Uint8Array([0, 0b100]), 10)]) {
      expect(isVelaError(thrownBy(action), ErrorCode.InvalidArgument)).toBe(true);
    }
  });
});
