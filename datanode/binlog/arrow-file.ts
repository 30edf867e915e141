// One Arrow IPC *file* (not stream) holding one record batch, with string key/value schema metadata:
// the container of every insert and delta log. Invariant: whatever the bytes, reading either returns a
// table whose required metadata keys parse, or throws Corrupted naming the path — an Arrow parse error
// never escapes as a plain Error.

import { RecordBatch, Schema, Struct, Table, makeData, tableFromIPC, tableToIPC } from "apache-arrow";
import type { Vector } from "apache-arrow";
import type { EncodedArray } from "./arrow-columns.ts";
import { corrupted } from "./arrow-columns.ts";

/** Bumped on any incompatible change of a binlog's layout; readers refuse versions they do not know. */
export const BINLOG_FORMAT_VERSION = 1;

/** Metadata keys every Arrow binlog carries. */
export const metadataKeys = {
  kind: "vela.binlog",
  version: "vela.version",
  collectionId: "vela.collection_id",
  partitionId: "vela.partition_id",
  segmentId: "vela.segment_id",
  fieldId: "vela.field_id",
  logId: "vela.log_id",
  dataType: "vela.data_type",
  dim: "vela.dim",
  primaryKeyType: "vela.pk_type",
  rowCount: "vela.row_count",
  timestampMin: "vela.ts_min",
  timestampMax: "vela.ts_max",
  checksumPrefix: "vela.crc32.",
} as const;

export function encodeArrowFile(arrays: readonly EncodedArray[], metadata: ReadonlyMap<string, string>, rowCount: number): Uint8Array {
  const fields = arrays.map((array) => array.field);
  const schema = new Schema(fields, new Map(metadata));
  const struct = makeData({ type: new Struct(fields), length: rowCount, nullCount: 0, children: arrays.map((array) => array.data) });
  return tableToIPC(new Table([new RecordBatch(schema, struct)]), "file");
}

export class ArrowFileReader {
  readonly table: Table;
  readonly metadata: Map<string, string>;

  constructor(
    readonly path: string,
    bytes: Uint8Array,
  ) {
    try {
      this.table = tableFromIPC(bytes);
    } catch (error) {
      throw corrupted(path, `not a readable Arrow IPC file (${error instanceof Error ? error.message : String(error)})`, error);
    }
    this.metadata = this.table.schema.metadata;
    const version = this.string(metadataKeys.version);
    if (version !== String(BINLOG_FORMAT_VERSION)) throw corrupted(path, `format version ${version} is not one this reader knows (${BINLOG_FORMAT_VERSION})`);
  }

  string(key: string): string {
    const value = this.metadata.get(key);
    if (value === undefined) throw corrupted(this.path, `metadata key ${key} is missing`);
    return value;
  }

  bigint(key: string): bigint {
    const value = this.string(key);
    if (!/^(0|[1-9][0-9]*)$/.test(value)) throw corrupted(this.path, `metadata ${key}="${value}" is not an unsigned integer`);
    return BigInt(value);
  }

  integer(key: string): number {
    const value = this.bigint(key);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupted(this.path, `metadata ${key}=${value} is too large`);
    return Number(value);
  }

  column(name: string): Vector {
    const vector = this.table.getChild(name);
    if (vector === null) throw corrupted(this.path, `column "${name}" is missing`);
    return vector;
  }

  /** Checks the CRC recorded for column `name` against the one recomputed from its decoded contents. */
  verifyChecksum(name: string, actual: number): void {
    const recorded = this.string(metadataKeys.checksumPrefix + name);
    if (recorded !== checksumText(actual)) throw corrupted(this.path, `column "${name}" fails its checksum (recorded ${recorded}, computed ${checksumText(actual)})`);
  }

  /** Checks that an id in the file's metadata is the one its path names. */
  expectId(key: string, expected: bigint): void {
    const actual = this.bigint(key);
    if (actual !== expected) throw corrupted(this.path, `metadata ${key}=${actual} does not match the path (${expected})`);
  }
}

export function checksumText(checksum: number): string {
  return (checksum >>> 0).toString(16).padStart(8, "0");
}

/** Smallest and largest of the row timestamps (0, 0 for no rows). */
export function timestampRange(timestamps: BigUint64Array): { min: bigint; max: bigint } {
  if (timestamps.length === 0) return { min: 0n, max: 0n };
  let min = timestamps[0] as bigint;
  let max = min;
  for (let row = 1; row < timestamps.length; row++) {
    const ts = timestamps[row] as bigint;
    if (ts < min) min = ts;
    if (ts > max) max = ts;
  }
  return { min, max };
}
