// CRC-32 (IEEE 802.3, the zlib/PNG polynomial), the one checksum Vela uses: framing of the embedded
// meta store and log files, binlog column checksums, HNSW index files, and VarChar primary-key hashing
// (as Milvus hashes them). node:zlib computes it natively from Node 20.15; earlier Node 20 releases use
// the table version below, which gives the same values.

import * as zlib from "node:zlib";

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of bytes, as an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array): number {
  return nativeCrc32 === undefined ? portableCrc32(bytes) : nativeCrc32(bytes) >>> 0;
}

/** The table implementation (the reference the native one is tested against). */
export function portableCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = (TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
