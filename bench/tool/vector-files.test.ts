// The vector file readers read what the writers wrote (every format), and refuse truncated or foreign
// files with a message naming the problem rather than returning half a data set.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { encodeNpy, encodeVecs, parseNpy, parseVecs, readFloatVectors, readIvecs, writeVecsFile } from "./vector-files.ts";

const seed = testSeed();
console.log(`vector-files.test seed ${seed} (VELA_SEED to replay)`);
const directory = mkdtempSync(join(tmpdir(), "vela-bench-files-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function randomFloats(random: SeededRandom, length: number): Float32Array {
  return Float32Array.from({ length }, () => random.gaussian() * 10);
}

describe("vector files", () => {
  it("reads back an .fvecs file it wrote, bit for bit, and a prefix of it", () => {
    const random = new SeededRandom(seed);
    const values = randomFloats(random, 37 * 24);
    const path = join(directory, "base.fvecs");
    writeVecsFile(path, { rows: 37, dim: 24, values }, "fvecs");
    const read = readFloatVectors(path, { shared: true });
    expect(read.rows).toBe(37);
    expect(read.dim).toBe(24);
    expect(Array.from(read.values)).toEqual(Array.from(values));
    expect(read.values.buffer).toBeInstanceOf(SharedArrayBuffer);
    const prefix = readFloatVectors(path, { rowsMax: 5 });
    expect(prefix.rows).toBe(5);
    expect(Array.from(prefix.values)).toEqual(Array.from(values.subarray(0, 5 * 24)));
  });

  it("reads back .ivecs and .bvecs files it wrote", () => {
    const random = new SeededRandom(seed + 1);
    const ids = Int32Array.from({ length: 9 * 10 }, () => random.int(-1, 1_000_000));
    const idsPath = join(directory, "truth.ivecs");
    writeVecsFile(idsPath, { rows: 9, dim: 10, values: ids }, "ivecs");
    const readIds = readIvecs(idsPath);
    expect([readIds.rows, readIds.dim]).toEqual([9, 10]);
    expect(Array.from(readIds.values)).toEqual(Array.from(ids));

    const bytes = Float32Array.from({ length: 6 * 16 }, () => random.int(0, 255));
    const bytesPath = join(directory, "base.bvecs");
    writeVecsFile(bytesPath, { rows: 6, dim: 16, values: bytes }, "bvecs");
    const readBytes = readFloatVectors(bytesPath);
    expect([readBytes.rows, readBytes.dim]).toEqual([6, 16]);
    expect(Array.from(readBytes.values)).toEqual(Array.from(bytes));
  });

  it("reads back an .npy file it wrote, and NumPy's other element types", () => {
    const random = new SeededRandom(seed + 2);
    const values = randomFloats(random, 11 * 7);
    const path = join(directory, "base.npy");
    writeFileSync(path, encodeNpy({ rows: 11, dim: 7, values }));
    const read = readFloatVectors(path);
    expect([read.rows, read.dim]).toEqual([11, 7]);
    expect(Array.from(read.values)).toEqual(Array.from(values));

    // A float64 array of shape (2, 3) as NumPy 1.0 writes it (header padded to a multiple of 64 bytes).
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    header += " ".repeat(64 - ((10 + header.length + 1) % 64)) + "\n";
    const file = new Uint8Array(10 + header.length + 6 * 8);
    file.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
    new DataView(file.buffer).setUint16(8, header.length, true);
    file.set(new TextEncoder().encode(header), 10);
    [1.5, -2, 3.25, 4, 5, 6.125].forEach((value, i) => new DataView(file.buffer).setFloat64(10 + header.length + i * 8, value, true));
    const doubles = parseNpy(file);
    expect([doubles.rows, doubles.dim]).toEqual([2, 3]);
    expect(Array.from(doubles.values)).toEqual([1.5, -2, 3.25, 4, 5, 6.125]);
  });

  it("refuses truncated files, mixed dimensions and foreign files", () => {
    const encoded = encodeVecs({ rows: 3, dim: 4, values: new Float32Array(12) }, "fvecs");
    expect(() => parseVecs(encoded.subarray(0, encoded.length - 2), "fvecs")).toThrow(/not a whole number of 20-byte vectors/);
    const mixed = encoded.slice();
    new DataView(mixed.buffer).setInt32(20, 5, true);
    expect(() => parseVecs(mixed, "fvecs")).toThrow(/vector 1 has dimension 5, the first has 4/);
    expect(() => parseNpy(encoded)).toThrow(/not a .npy file/);
    const npy = encodeNpy({ rows: 2, dim: 2, values: new Float32Array(4) });
    expect(() => parseNpy(npy.subarray(0, npy.length - 4))).toThrow(/truncated/);
    expect(() => encodeVecs({ rows: 1, dim: 2, values: Float32Array.of(1, 300) }, "bvecs")).toThrow(/not a byte/);
    expect(() => readFloatVectors(join(directory, "truth.csv"))).toThrow();
  });
});
