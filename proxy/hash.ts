// Primary key → shard, as Milvus does it, so that data written by Vela and by Milvus tooling agree on
// placement: Int64 keys hash with murmur3 (x86, 32-bit, seed 0) over their 8 little-endian bytes, masked
// to 31 bits; VarChar keys hash with CRC-32 (IEEE) over at most their first 100 UTF-8 bytes. The shard
// is the hash modulo the shard count.

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array, length = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = 0; i < length; i++) crc = (CRC_TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** MurmurHash3 x86_32 of the 8 little-endian bytes of `value` (two's complement), seed 0. */
export function murmur3Int64(value: bigint): number {
  const unsigned = BigInt.asUintN(64, value);
  const low = Number(unsigned & 0xffffffffn);
  const high = Number(unsigned >> 32n);
  let h = 0;
  for (const block of [low, high]) {
    let k = Math.imul(block, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= 8;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const VARCHAR_HASH_PREFIX_BYTES = 100;
const encoder = new TextEncoder();

export function hashInt64Key(value: bigint): number {
  return (murmur3Int64(value) & 0x7fffffff) >>> 0;
}

export function hashVarCharKey(value: string): number {
  const bytes = encoder.encode(value);
  return crc32(bytes, Math.min(bytes.length, VARCHAR_HASH_PREFIX_BYTES));
}

export function shardOfKey(key: bigint | string, shardsNum: number): number {
  const hash = typeof key === "bigint" ? hashInt64Key(key) : hashVarCharKey(key);
  return hash % shardsNum;
}

/** MurmurHash3 x86_32 over arbitrary bytes: the reference the Int64 fast path is tested against. */
export function murmur3Bytes(bytes: Uint8Array, seed = 0): number {
  let h = seed | 0;
  const blocks = bytes.length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    let k = (bytes[o] as number) | ((bytes[o + 1] as number) << 8) | ((bytes[o + 2] as number) << 16) | ((bytes[o + 3] as number) << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  let k = 0;
  const tailLength = bytes.length & 3;
  if (tailLength >= 3) k ^= (bytes[tail + 2] as number) << 16;
  if (tailLength >= 2) k ^= (bytes[tail + 1] as number) << 8;
  if (tailLength >= 1) {
    k ^= bytes[tail] as number;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
