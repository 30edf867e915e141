// Stats logs: a segment's primary-key statistics — row count, smallest and largest key, and a bloom
// filter of every key (bloom-filter.ts) — so that deletes and point lookups can skip segments without
// loading them. A small binary format, little-endian, described in docs/binlogs.md:
//   0  magic "VPKS"   4  version u8 (1)   5  pk type u8 (5 Int64, 21 VarChar)   6  flags u8 (bit 0: has min/max)
//   7  reserved u8    8  field id u32     12 hash count u32
//   16 collection id u64   24 partition id u64   32 segment id u64   40 log id u64   48 row count u64
//   56 bit count u64  64 min key, max key (Int64: i64; VarChar: u32 length + UTF-8)   then the filter's bytes
//   last 4 bytes: CRC-32 of everything before them.
// Invariants: decode(encode(s)) = s; a file decodes only if magic, version, CRC, lengths and the ids
// of its path all agree (else Corrupted naming the path); every key of the segment passes the filter.

import { binlogDefaults } from "../../common/config.ts";
import type { BinlogLimits } from "../../common/config.ts";
import { invalidArgument } from "../../common/errors.ts";
import { DataType } from "../../common/schema.ts";
import { corrupted, primaryKeyType } from "./arrow-columns.ts";
import type { PrimaryKeys } from "./arrow-columns.ts";
import { BloomFilter, bloomSizing } from "./bloom-filter.ts";
import { crc32Bytes } from "./checksum.ts";
import { parseBinlogPath } from "./paths.ts";

export const STATS_LOG_MAGIC = "VPKS";
export const STATS_LOG_VERSION = 1;
const HEADER_BYTES = 64;
const CRC_BYTES = 4;

export interface StatsLogHeader {
  collectionId: bigint;
  partitionId: bigint;
  segmentId: bigint;
  /** The primary key's field id. */
  fieldId: number;
  logId: bigint;
}

export interface PrimaryKeyStats {
  pkType: typeof DataType.Int64 | typeof DataType.VarChar;
  rowCount: number;
  /** Undefined when the segment has no rows. VarChar keys compare by UTF-16 code units (JavaScript order). */
  minPk: bigint | string | undefined;
  maxPk: bigint | string | undefined;
  bloom: BloomFilter;
}

export interface DecodedStatsLog extends PrimaryKeyStats {
  header: StatsLogHeader;
}

/** Min, max and a bloom filter sized for `keys.length` rows at the configured false-positive rate. */
export function buildPrimaryKeyStats(keys: PrimaryKeys, limitOverrides?: Partial<BinlogLimits>): PrimaryKeyStats {
  const limits = { ...binlogDefaults, ...(limitOverrides ?? {}) };
  const pkType = primaryKeyType(keys);
  const bloom = new BloomFilter(bloomSizing(keys.length, limits.bloomFalsePositiveRate, limits));
  let minPk: bigint | string | undefined;
  let maxPk: bigint | string | undefined;
  for (let row = 0; row < keys.length; row++) {
    const key = keys[row] as bigint | string;
    if (pkType === DataType.VarChar && typeof key !== "string") throw invalidArgument(`primary key at row ${row} is not a string`);
    bloom.add(key);
    if (minPk === undefined || key < minPk) minPk = key;
    if (maxPk === undefined || key > maxPk) maxPk = key;
  }
  return { pkType, rowCount: keys.length, minPk, maxPk, bloom };
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function keyBytes(pkType: number, key: bigint | string): Uint8Array {
  if (pkType === DataType.Int64) {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigInt64(0, key as bigint, true);
    return out;
  }
  const utf8 = utf8Encoder.encode(key as string);
  const out = new Uint8Array(4 + utf8.length);
  new DataView(out.buffer).setUint32(0, utf8.length, true);
  out.set(utf8, 4);
  return out;
}

export function encodeStatsLog(header: StatsLogHeader, stats: PrimaryKeyStats): Uint8Array {
  if (!Number.isInteger(header.fieldId) || header.fieldId < 0 || header.fieldId > 0xffffffff) throw invalidArgument(`stats log: field id ${header.fieldId} out of range`);
  const hasRange = stats.minPk !== undefined && stats.maxPk !== undefined;
  const keys = hasRange ? [keyBytes(stats.pkType, stats.minPk as bigint | string), keyBytes(stats.pkType, stats.maxPk as bigint | string)] : [];
  const keysBytes = keys.reduce((sum, bytes) => sum + bytes.length, 0);
  const total = HEADER_BYTES + keysBytes + stats.bloom.bits.length + CRC_BYTES;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(utf8Encoder.encode(STATS_LOG_MAGIC), 0);
  view.setUint8(4, STATS_LOG_VERSION);
  view.setUint8(5, stats.pkType);
  view.setUint8(6, hasRange ? 1 : 0);
  view.setUint32(8, header.fieldId, true);
  view.setUint32(12, stats.bloom.hashCount, true);
  view.setBigUint64(16, header.collectionId, true);
  view.setBigUint64(24, header.partitionId, true);
  view.setBigUint64(32, header.segmentId, true);
  view.setBigUint64(40, header.logId, true);
  view.setBigUint64(48, BigInt(stats.rowCount), true);
  view.setBigUint64(56, BigInt(stats.bloom.bitCount), true);
  let at = HEADER_BYTES;
  for (const bytes of keys) {
    out.set(bytes, at);
    at += bytes.length;
  }
  out.set(stats.bloom.bits, at);
  at += stats.bloom.bits.length;
  view.setUint32(at, crc32Bytes(out.subarray(0, at)), true);
  return out;
}

export function decodeStatsLog(path: string, bytes: Uint8Array, limitOverrides?: Partial<BinlogLimits>): DecodedStatsLog {
  const limits = { ...binlogDefaults, ...(limitOverrides ?? {}) };
  const location = parseBinlogPath(path);
  if (location.kind !== "stats_log") throw invalidArgument(`${path} is a ${location.kind} path, not a stats_log`);
  if (bytes.length < HEADER_BYTES + CRC_BYTES) throw corrupted(path, `${bytes.length} bytes is shorter than a stats log header`);
  if (new TextDecoder().decode(bytes.subarray(0, 4)) !== STATS_LOG_MAGIC) throw corrupted(path, "it does not start with the stats log magic");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const crcAt = bytes.length - CRC_BYTES;
  if (view.getUint32(crcAt, true) !== crc32Bytes(bytes.subarray(0, crcAt))) throw corrupted(path, "CRC-32 mismatch (truncated or damaged)");
  const version = view.getUint8(4);
  if (version !== STATS_LOG_VERSION) throw corrupted(path, `stats log version ${version} is not one this reader knows (${STATS_LOG_VERSION})`);
  const pkType = view.getUint8(5);
  if (pkType !== DataType.Int64 && pkType !== DataType.VarChar) throw corrupted(path, `primary key type ${pkType}`);
  const hasRange = (view.getUint8(6) & 1) === 1;
  const header: StatsLogHeader = {
    fieldId: view.getUint32(8, true),
    collectionId: view.getBigUint64(16, true),
    partitionId: view.getBigUint64(24, true),
    segmentId: view.getBigUint64(32, true),
    logId: view.getBigUint64(40, true),
  };
  for (const [name, recorded, expected] of [
    ["collection id", header.collectionId, location.collectionId],
    ["partition id", header.partitionId, location.partitionId],
    ["segment id", header.segmentId, location.segmentId],
    ["field id", BigInt(header.fieldId), BigInt(location.fieldId as number)],
    ["log id", header.logId, location.logId],
  ] as const) {
    if (recorded !== expected) throw corrupted(path, `${name} ${recorded} does not match the path (${expected})`);
  }
  const hashCount = view.getUint32(12, true);
  const rowCount = view.getBigUint64(48, true);
  const bitCount = view.getBigUint64(56, true);
  if (hashCount < 1 || hashCount > limits.bloomHashCountMax) throw corrupted(path, `bloom filter hash count ${hashCount}`);
  if (rowCount > BigInt(Number.MAX_SAFE_INTEGER) || bitCount % 8n !== 0n || bitCount === 0n || bitCount / 8n > BigInt(limits.bloomFilterBytesMax)) {
    throw corrupted(path, `row count ${rowCount} or bloom filter size ${bitCount} bits out of range`);
  }
  let at = HEADER_BYTES;
  const readKey = (): bigint | string => {
    if (pkType === DataType.Int64) {
      if (at + 8 > crcAt) throw corrupted(path, "truncated key");
      const key = view.getBigInt64(at, true);
      at += 8;
      return key;
    }
    if (at + 4 > crcAt) throw corrupted(path, "truncated key");
    const length = view.getUint32(at, true);
    if (at + 4 + length > crcAt) throw corrupted(path, "truncated key");
    try {
      const key = utf8Decoder.decode(bytes.subarray(at + 4, at + 4 + length));
      at += 4 + length;
      return key;
    } catch (error) {
      throw corrupted(path, "a key is not UTF-8", error);
    }
  };
  const minPk = hasRange ? readKey() : undefined;
  const maxPk = hasRange ? readKey() : undefined;
  const filterBytes = Number(bitCount / 8n);
  if (at + filterBytes !== crcAt) throw corrupted(path, `bloom filter of ${filterBytes} bytes does not fill the rest of the file (${crcAt - at} bytes)`);
  const bloom = new BloomFilter({ bitCount: Number(bitCount), hashCount }, bytes.slice(at, crcAt));
  return { header, pkType, rowCount: Number(rowCount), minPk, maxPk, bloom };
}
