// A bloom filter of primary keys, for a segment's stats log: lets a delete or an upsert skip every
// sealed segment that certainly does not hold a key. m bits and k hash functions, sized from the row
// count n and the false-positive bound p (binlogDefaults.bloomFalsePositiveRate):
//   m = ceil(-n ln p / (ln 2)^2) rounded up to whole bytes (at least 64),  k = round(m/n ln 2) ≥ 1.
// The k bit positions come from double hashing, g_i = (h1 + i·h2) mod m, i = 0..k-1, where h1 and h2
// are MurmurHash3 x86_32 of the key's bytes with seeds 0 and 0x9747b28c. Key bytes: an Int64 key is
// its 8 little-endian bytes, a VarChar key its UTF-8 bytes. Invariant: no false negatives — every key
// added answers mightContain = true, in this process and after a round trip through the stats log.

import { invalidArgument, limitExceeded } from "../../common/errors.ts";
import { murmur3 } from "../../common/murmur3.ts";

export const BLOOM_SEED_1 = 0;
export const BLOOM_SEED_2 = 0x9747b28c;


export interface BloomSizing {
  bitCount: number;
  hashCount: number;
}

/** m and k for n keys at false-positive rate p (see the header). */
export function bloomSizing(expectedKeys: number, falsePositiveRate: number, limits: { bloomFilterBytesMax: number; bloomHashCountMax: number }): BloomSizing {
  if (!Number.isSafeInteger(expectedKeys) || expectedKeys < 0) throw invalidArgument(`bloom filter: key count must be a non-negative integer, got ${expectedKeys}`);
  if (!(falsePositiveRate > 0 && falsePositiveRate < 1)) throw invalidArgument(`bloom filter: false-positive rate must be in (0, 1), got ${falsePositiveRate}`);
  const n = Math.max(expectedKeys, 1);
  const exactBits = Math.ceil((-n * Math.log(falsePositiveRate)) / (Math.LN2 * Math.LN2));
  const bitCount = Math.max(64, Math.ceil(exactBits / 8) * 8);
  if (bitCount / 8 > limits.bloomFilterBytesMax) {
    throw limitExceeded(`bloom filter for ${expectedKeys} keys at false-positive rate ${falsePositiveRate} needs ${bitCount / 8} bytes, more than bloomFilterBytesMax (${limits.bloomFilterBytesMax})`);
  }
  const hashCount = Math.min(limits.bloomHashCountMax, Math.max(1, Math.round((bitCount / n) * Math.LN2)));
  return { bitCount, hashCount };
}

const utf8Encoder = new TextEncoder();

export class BloomFilter {
  readonly bitCount: number;
  readonly hashCount: number;
  readonly bits: Uint8Array;
  /** Scratch space for a key's bytes (grown for long strings); never shared between filters. */
  private keyBytes = new Uint8Array(64);
  private keyView = new DataView(this.keyBytes.buffer);

  constructor(sizing: BloomSizing, bits?: Uint8Array) {
    const { bitCount, hashCount } = sizing;
    if (!Number.isSafeInteger(bitCount) || bitCount < 8 || bitCount % 8 !== 0) throw invalidArgument(`bloom filter: bit count must be a positive multiple of 8, got ${bitCount}`);
    if (!Number.isSafeInteger(hashCount) || hashCount < 1) throw invalidArgument(`bloom filter: hash count must be a positive integer, got ${hashCount}`);
    if (bits !== undefined && bits.length * 8 !== bitCount) throw invalidArgument(`bloom filter: ${bits.length} bytes for ${bitCount} bits`);
    this.bitCount = bitCount;
    this.hashCount = hashCount;
    this.bits = bits ?? new Uint8Array(bitCount / 8);
  }

  add(key: bigint | string): void {
    const length = this.keyToBytes(key);
    const h1 = murmur3(this.keyBytes, length, BLOOM_SEED_1);
    const h2 = murmur3(this.keyBytes, length, BLOOM_SEED_2);
    const m = this.bitCount;
    for (let i = 0; i < this.hashCount; i++) {
      const bit = (h1 + i * h2) % m;
      this.bits[bit >>> 3] = (this.bits[bit >>> 3] as number) | (1 << (bit & 7));
    }
  }

  /** False: the key was certainly never added. True: it probably was. */
  mightContain(key: bigint | string): boolean {
    const length = this.keyToBytes(key);
    const h1 = murmur3(this.keyBytes, length, BLOOM_SEED_1);
    const h2 = murmur3(this.keyBytes, length, BLOOM_SEED_2);
    const m = this.bitCount;
    for (let i = 0; i < this.hashCount; i++) {
      const bit = (h1 + i * h2) % m;
      if ((((this.bits[bit >>> 3] as number) >>> (bit & 7)) & 1) === 0) return false;
    }
    return true;
  }

  private keyToBytes(key: bigint | string): number {
    if (typeof key === "bigint") {
      this.keyView.setBigInt64(0, BigInt.asIntN(64, key), true);
      return 8;
    }
    if (typeof key !== "string") throw invalidArgument(`bloom filter keys are bigint (Int64) or string (VarChar), got ${typeof key}`);
    if (key.length * 3 > this.keyBytes.length) {
      this.keyBytes = new Uint8Array(key.length * 3);
      this.keyView = new DataView(this.keyBytes.buffer);
    }
    return utf8Encoder.encodeInto(key, this.keyBytes).written;
  }
}
