// The stored form of an HNSW index: a fixed 40-byte header followed by hnswlib's own serialisation
// (the payload, written by writeIndex and read by readIndex unchanged). The header says what the
// payload is (format version, metric, dim, M, efConstruction, rows) so a loader never has to trust
// the caller's description, and carries a CRC-32 of the payload and one of itself. Invariant: bytes
// that decode are exactly the bytes encoded; any damaged byte, wrong length or unknown version is
// refused with Corrupted before hnswlib ever reads the payload (hnswlib trusts its input).
//
// Layout, little-endian:
//   0  magic "VHNS"            4 bytes
//   4  format version          u16 (1)
//   6  metric                  u8  (1 L2, 2 IP, 3 COSINE)
//   7  reserved                u8  (0)
//   8  dim                     u32
//  12  M                       u32
//  16  efConstruction          u32
//  20  rows                    u32
//  24  payload length, bytes   u64
//  32  payload CRC-32          u32
//  36  header CRC-32           u32 (of bytes 0..35)
//  40  payload

import { ErrorCode, VelaError, assert } from "../../common/errors.ts";
import { MetricType } from "../../querynode/compute/metric.ts";
import { crc32 } from "../../common/crc32.ts";

export const hnswFormatVersion = 1;
export const hnswHeaderBytes = 40;
const magic = [0x56, 0x48, 0x4e, 0x53] as const; // "VHNS"

const metricCodes: Readonly<Record<MetricType, number>> = { L2: 1, IP: 2, COSINE: 3 };
const metricsByCode: ReadonlyMap<number, MetricType> = new Map([
  [1, MetricType.L2],
  [2, MetricType.IP],
  [3, MetricType.COSINE],
]);

/** What a stored index holds, as its header states it. */
export interface HnswIndexHeader {
  formatVersion: number;
  metric: MetricType;
  dim: number;
  M: number;
  efConstruction: number;
  rows: number;
  payloadBytes: number;
  payloadCrc32: number;
}

function corrupted(message: string): VelaError {
  return new VelaError(ErrorCode.Corrupted, `HNSW index bytes: ${message}`);
}

/** Header + payload in one fresh buffer. */
export function encodeHnswIndex(fields: Omit<HnswIndexHeader, "formatVersion" | "payloadBytes" | "payloadCrc32">, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(hnswHeaderBytes + payload.length);
  const view = new DataView(out.buffer, out.byteOffset, hnswHeaderBytes);
  out.set(magic, 0);
  view.setUint16(4, hnswFormatVersion, true);
  view.setUint8(6, metricCodes[fields.metric]);
  view.setUint8(7, 0);
  view.setUint32(8, fields.dim, true);
  view.setUint32(12, fields.M, true);
  view.setUint32(16, fields.efConstruction, true);
  view.setUint32(20, fields.rows, true);
  view.setBigUint64(24, BigInt(payload.length), true);
  view.setUint32(32, crc32(payload), true);
  view.setUint32(36, crc32(out.subarray(0, 36)), true);
  out.set(payload, hnswHeaderBytes);
  return out;
}

/** Reads and checks the header only (cheap: 40 bytes). Throws Corrupted on any mismatch. */
export function decodeHnswHeader(bytes: Uint8Array): HnswIndexHeader {
  if (!(bytes instanceof Uint8Array)) throw new VelaError(ErrorCode.InvalidArgument, "HNSW index bytes must be a Uint8Array");
  if (bytes.length < hnswHeaderBytes) throw corrupted(`${bytes.length} bytes is shorter than the ${hnswHeaderBytes}-byte header`);
  for (let i = 0; i < magic.length; i++) {
    if (bytes[i] !== magic[i]) throw corrupted("the header does not start with the magic \"VHNS\" (not an HNSW index file)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, hnswHeaderBytes);
  const headerCrc = view.getUint32(36, true);
  const computedHeaderCrc = crc32(bytes.subarray(0, 36));
  if (headerCrc !== computedHeaderCrc) throw corrupted(`header CRC-32 mismatch (stored ${headerCrc}, computed ${computedHeaderCrc})`);
  const formatVersion = view.getUint16(4, true);
  if (formatVersion !== hnswFormatVersion) throw corrupted(`format version ${formatVersion} is not supported (this build reads version ${hnswFormatVersion})`);
  const metric = metricsByCode.get(view.getUint8(6));
  if (metric === undefined) throw corrupted(`unknown metric code ${view.getUint8(6)}`);
  const payloadBytesBig = view.getBigUint64(24, true);
  const payloadBytes = Number(payloadBytesBig);
  if (payloadBytesBig !== BigInt(bytes.length - hnswHeaderBytes)) {
    throw corrupted(`the header announces a ${payloadBytesBig}-byte payload but ${bytes.length - hnswHeaderBytes} bytes follow it (truncated or padded)`);
  }
  const header: HnswIndexHeader = {
    formatVersion,
    metric,
    dim: view.getUint32(8, true),
    M: view.getUint32(12, true),
    efConstruction: view.getUint32(16, true),
    rows: view.getUint32(20, true),
    payloadBytes,
    payloadCrc32: view.getUint32(32, true),
  };
  if (header.dim < 1 || header.M < 1 || header.efConstruction < 1 || header.rows < 1) {
    throw corrupted(`implausible header (dim ${header.dim}, M ${header.M}, efConstruction ${header.efConstruction}, rows ${header.rows})`);
  }
  return header;
}

/**
 * Checks the whole index (header, then the payload's CRC-32) and returns the payload as a view of
 * `bytes`. Reads every byte: run it in a worker for large indexes.
 */
export function verifyHnswIndex(bytes: Uint8Array): { header: HnswIndexHeader; payload: Uint8Array } {
  const header = decodeHnswHeader(bytes);
  const payload = bytes.subarray(hnswHeaderBytes);
  assert(payload.length === header.payloadBytes, "payload length was checked against the header");
  const computed = crc32(payload);
  if (computed !== header.payloadCrc32) throw corrupted(`payload CRC-32 mismatch (stored ${header.payloadCrc32}, computed ${computed})`);
  return { header, payload };
}
