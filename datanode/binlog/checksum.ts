// CRC-32 (IEEE) over binlog contents. Arrow IPC has no checksum of its own, so every binlog records the
// CRC of each column's logical contents in its schema metadata and the reader recomputes it: a flipped
// bit in a data buffer is reported as Corrupted instead of being served. Invariant: the writer and the
// reader checksum the same canonical bytes (see arrow-columns.ts), never Arrow's padded buffers.

import * as zlib from "node:zlib";
import { crc32 as portableCrc32 } from "../../storage/meta/crc32.ts";

// node:zlib gained a native crc32 in Node 20.15; older Node 20 releases use the portable table version.
// Both compute the same IEEE CRC-32.
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

export function crc32Bytes(bytes: Uint8Array): number {
  return nativeCrc32 === undefined ? portableCrc32(bytes) : nativeCrc32(bytes) >>> 0;
}

/** The bytes under a typed array (little-endian, as Arrow stores them). */
export function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** One CRC over several parts: the CRC of their CRCs and lengths, so that moving bytes between parts is noticed. */
export function combinedChecksum(parts: readonly ArrayBufferView[]): number {
  const summary = new DataView(new ArrayBuffer(parts.length * 12));
  parts.forEach((part, index) => {
    summary.setUint32(index * 12, crc32Bytes(bytesOf(part)), true);
    summary.setBigUint64(index * 12 + 4, BigInt(part.byteLength), true);
  });
  return crc32Bytes(new Uint8Array(summary.buffer));
}
