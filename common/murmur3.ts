// MurmurHash3 x86_32, the one non-cryptographic hash Vela uses: Int64 primary keys to shards (as Milvus
// places them) and the double hashing of primary-key bloom filters.

/** MurmurHash3 x86_32 of bytes[0, length) with a seed. */
export function murmur3(bytes: Uint8Array, length = bytes.length, seed = 0): number {
  let h = seed | 0;
  const blocks = length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    h = mixBlock(h, (bytes[o] as number) | ((bytes[o + 1] as number) << 8) | ((bytes[o + 2] as number) << 16) | ((bytes[o + 3] as number) << 24));
  }
  const tail = blocks * 4;
  let k = 0;
  const tailLength = length & 3;
  if (tailLength >= 3) k ^= (bytes[tail + 2] as number) << 16;
  if (tailLength >= 2) k ^= (bytes[tail + 1] as number) << 8;
  if (tailLength >= 1) {
    k ^= bytes[tail] as number;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  return finalize(h, length);
}

/** MurmurHash3 x86_32 (seed 0) of the 8 little-endian bytes of `value`, without building the bytes. */
export function murmur3Int64(value: bigint): number {
  const unsigned = BigInt.asUintN(64, value);
  let h = mixBlock(0, Number(unsigned & 0xffffffffn));
  h = mixBlock(h, Number(unsigned >> 32n));
  return finalize(h, 8);
}

function mixBlock(h: number, block: number): number {
  let k = Math.imul(block, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalize(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
