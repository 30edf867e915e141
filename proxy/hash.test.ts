import { describe, expect, it } from "vitest";
import { SeededRandom, testSeed } from "../common/random.ts";
import { crc32, hashInt64Key, hashVarCharKey, murmur3Bytes, murmur3Int64, shardOfKey } from "./hash.ts";

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

describe("primary key hashing", () => {
  it("matches the published MurmurHash3 x86_32 test vectors", () => {
    expect(murmur3Bytes(new Uint8Array(0), 0)).toBe(0);
    expect(murmur3Bytes(new Uint8Array(0), 1)).toBe(0x514e28b7);
    expect(murmur3Bytes(new Uint8Array([0, 0, 0, 0]), 0)).toBe(0x2362f9de);
    expect(murmur3Bytes(text("aaaa"), 0x9747b28c)).toBe(0x5a97808a);
    expect(murmur3Bytes(text("Hello, world!"), 0x9747b28c)).toBe(0x24884cba);
    expect(murmur3Bytes(text("The quick brown fox jumps over the lazy dog"), 0x9747b28c)).toBe(0x2fa826cd);
  });

  it("hashes Int64 keys as murmur3 over their 8 little-endian bytes", () => {
    const seed = testSeed();
    console.log(`hash seed ${seed}`);
    const random = new SeededRandom(seed);
    const samples = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n)];
    for (let i = 0; i < 500; i++) samples.push(BigInt.asIntN(64, (BigInt(random.nextUint32()) << 32n) | BigInt(random.nextUint32())));
    for (const value of samples) {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigInt64(0, value, true);
      expect(murmur3Int64(value)).toBe(murmur3Bytes(bytes, 0));
      expect(hashInt64Key(value)).toBe(murmur3Bytes(bytes, 0) & 0x7fffffff);
    }
  });

  it("hashes VarChar keys with CRC-32 over at most 100 bytes", () => {
    expect(crc32(text("123456789"))).toBe(0xcbf43926);
    const long = "x".repeat(100);
    expect(hashVarCharKey(`${long}tail-a`)).toBe(hashVarCharKey(`${long}tail-b`));
    expect(hashVarCharKey("key-a")).not.toBe(hashVarCharKey("key-b"));
  });

  it("spreads keys over every shard", () => {
    const counts = new Array<number>(4).fill(0);
    for (let i = 0n; i < 4000n; i++) {
      const shard = shardOfKey(i, 4);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    for (const count of counts) expect(count).toBeGreaterThan(800);
    expect(shardOfKey("abc", 1)).toBe(0);
  });
});
