import { describe, expect, it } from "vitest";
import { crc32 } from "../common/crc32.ts";
import { murmur3Int64 } from "../common/murmur3.ts";
import { hashInt64Key, hashVarCharKey, shardOfKey } from "./hash.ts";

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

describe("primary key hashing", () => {
  it("hashes Int64 keys as Milvus does: murmur3 of the little-endian bytes, masked to 31 bits", () => {
    for (const value of [0n, 1n, -1n, 123456789n, 2n ** 63n - 1n, -(2n ** 63n)]) {
      expect(hashInt64Key(value)).toBe(murmur3Int64(value) & 0x7fffffff);
      expect(hashInt64Key(value)).toBeLessThan(2 ** 31);
    }
  });

  it("hashes VarChar keys with CRC-32 over at most 100 bytes", () => {
    expect(hashVarCharKey("123456789")).toBe(crc32(text("123456789")));
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
