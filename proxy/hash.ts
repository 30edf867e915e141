// Primary key → shard, as Milvus does it, so that data written by Vela and by Milvus tooling agree on
// placement: Int64 keys hash with murmur3 (x86, 32-bit, seed 0) over their 8 little-endian bytes, masked
// to 31 bits; VarChar keys hash with CRC-32 (IEEE) over at most their first 100 UTF-8 bytes. The shard
// is the hash modulo the shard count.

import { crc32 } from "../common/crc32.ts";
import { murmur3Int64 } from "../common/murmur3.ts";

const VARCHAR_HASH_PREFIX_BYTES = 100;
const encoder = new TextEncoder();

export function hashInt64Key(value: bigint): number {
  return (murmur3Int64(value) & 0x7fffffff) >>> 0;
}

export function hashVarCharKey(value: string): number {
  const bytes = encoder.encode(value);
  return crc32(bytes.subarray(0, Math.min(bytes.length, VARCHAR_HASH_PREFIX_BYTES)));
}

export function shardOfKey(key: bigint | string, shardsNum: number): number {
  const hash = typeof key === "bigint" ? hashInt64Key(key) : hashVarCharKey(key);
  return hash % shardsNum;
}
