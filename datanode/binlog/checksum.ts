// CRC-32 (IEEE) over binlog contents. Arrow IPC has no checksum of its own, so every binlog records the
// CRC of each column's logical contents in its schema metadata and the reader recomputes it: a flipped
// bit in a data buffer is reported as Corrupted instead of being served. Invariant: the writer and the
// reader checksum the same canonical bytes (see arrow-columns.ts), never Arrow's padded buffers.

import { crc32 } from "../../common/crc32.ts";
import { ErrorCode, VelaError } from "../../common/errors.ts";

export const crc32Bytes = crc32;

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

/**
 * Refuses bytes whose whole-file CRC-32 is not the one recorded when the file was written. Arrow files
 * must pass this before any parser sees them: apache-arrow's reader can spin on damaged metadata instead
 * of failing, so an unverified damaged binlog could hang its reader.
 */
export function verifyFileChecksum(path: string, bytes: Uint8Array, expectedCrc32: number | undefined): void {
  if (expectedCrc32 === undefined) return;
  const actual = crc32Bytes(bytes);
  if (actual !== expectedCrc32 >>> 0) {
    throw new VelaError(ErrorCode.Corrupted, `binlog ${path} is corrupted: its CRC-32 is ${actual}, the one recorded when it was written is ${expectedCrc32 >>> 0}`);
  }
}
