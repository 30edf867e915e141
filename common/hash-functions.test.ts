// The shared checksum and hash: CRC-32 against the standard check value and node:zlib, the table
// implementation against the native one, and MurmurHash3 x86_32 against its published test vectors.
import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32, portableCrc32 } from "./crc32.ts";
import { murmur3, murmur3Int64 } from "./murmur3.ts";
import { SeededRandom, testSeed } from "./random.ts";

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

describe("crc32", () => {
  it("gives the standard check value, and the table version agrees with zlib on random bytes", () => {
    expect(crc32(text("123456789"))).toBe(0xcbf43926);
    expect(portableCrc32(text("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const seed = testSeed();
    console.log(`crc32 test seed=${seed}`);
    const random = new SeededRandom(seed);
    const zlibCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
    for (let i = 0; i < 50; i++) {
      const bytes = random.bytes(random.int(1, 2000));
      expect(portableCrc32(bytes), `seed ${seed} sample ${i}`).toBe(crc32(bytes));
      if (zlibCrc32 !== undefined) expect(crc32(bytes)).toBe(zlibCrc32(bytes) >>> 0);
    }
  });
});

describe("murmur3", () => {
  it("matches the published MurmurHash3 x86_32 test vectors", () => {
    expect(murmur3(new Uint8Array(0), 0, 0)).toBe(0);
    expect(murmur3(new Uint8Array(0), 0, 1)).toBe(0x514e28b7);
    expect(murmur3(new Uint8Array([0, 0, 0, 0]))).toBe(0x2362f9de);
    expect(murmur3(text("aaaa"), 4, 0x9747b28c)).toBe(0x5a97808a);
    expect(murmur3(text("Hello, world!"), 13, 0x9747b28c)).toBe(0x24884cba);
    const fox = text("The quick brown fox jumps over the lazy dog");
    expect(murmur3(fox, fox.length, 0x9747b28c)).toBe(0x2fa826cd);
  });

  it("hashes an Int64 like its 8 little-endian bytes", () => {
    const seed = testSeed();
    console.log(`murmur3 Int64 seed ${seed}`);
    const random = new SeededRandom(seed);
    const samples = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n)];
    for (let i = 0; i < 500; i++) samples.push(BigInt.asIntN(64, (BigInt(random.nextUint32()) << 32n) | BigInt(random.nextUint32())));
    for (const value of samples) {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigInt64(0, value, true);
      expect(murmur3Int64(value)).toBe(murmur3(bytes));
    }
  });
});
