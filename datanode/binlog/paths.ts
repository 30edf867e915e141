// Object keys of binlogs, exactly as DESIGN §7 lays them out:
//   <root>/insert_log/<collection>/<partition>/<segment>/<field>/<logId>   one field of one batch
//   <root>/delta_log/<collection>/<partition>/<segment>/<logId>            (pk, ts) tombstones
//   <root>/stats_log/<collection>/<partition>/<segment>/<field>/<logId>    primary-key statistics
// Invariant: formatBinlogPath and parseBinlogPath are inverses, so a path committed to the MetaStore
// alone tells a reader what the file holds and which ids its metadata must repeat.

import { invalidArgument } from "../../common/errors.ts";

export type BinlogKind = "insert_log" | "delta_log" | "stats_log";

export interface BinlogLocation {
  kind: BinlogKind;
  /** Key prefix of the store's binlogs, without a trailing '/'; "" for none. */
  root: string;
  collectionId: bigint;
  partitionId: bigint;
  segmentId: bigint;
  /** insert_log and stats_log only. */
  fieldId?: number;
  logId: bigint;
}

const ID_PATTERN = /^(0|[1-9][0-9]*)$/;
const UINT64_MAX = (1n << 64n) - 1n;

function checkId(name: string, value: bigint | number): void {
  const big = typeof value === "bigint" ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n;
  if (big < 0n || big > UINT64_MAX) throw invalidArgument(`binlog ${name} must be an integer in [0, 2^64), got ${String(value)}`);
}

export function formatBinlogPath(location: BinlogLocation): string {
  const { kind, root } = location;
  if (root.endsWith("/")) throw invalidArgument(`binlog root "${root}" must not end with '/'`);
  checkId("collection id", location.collectionId);
  checkId("partition id", location.partitionId);
  checkId("segment id", location.segmentId);
  checkId("log id", location.logId);
  const parts = [kind, location.collectionId, location.partitionId, location.segmentId];
  if (kind !== "delta_log") {
    if (location.fieldId === undefined) throw invalidArgument(`a ${kind} path needs a field id`);
    checkId("field id", location.fieldId);
    parts.push(BigInt(location.fieldId));
  } else if (location.fieldId !== undefined) {
    throw invalidArgument("a delta_log path has no field id");
  }
  parts.push(location.logId);
  const tail = parts.map(String).join("/");
  return root === "" ? tail : `${root}/${tail}`;
}

/** Reads the kind and ids back from a binlog path; InvalidArgument when it is not one. */
export function parseBinlogPath(path: string): BinlogLocation {
  const parts = path.split("/");
  for (const [kind, idCount] of [["insert_log", 5], ["delta_log", 4], ["stats_log", 5]] as const) {
    const at = parts.length - idCount - 1;
    if (at < 0 || parts[at] !== kind) continue;
    const ids = parts.slice(at + 1);
    if (!ids.every((id) => ID_PATTERN.test(id) && BigInt(id) <= UINT64_MAX)) continue;
    const big = ids.map((id) => BigInt(id));
    const location: BinlogLocation = {
      kind,
      root: parts.slice(0, at).join("/"),
      collectionId: big[0] as bigint,
      partitionId: big[1] as bigint,
      segmentId: big[2] as bigint,
      logId: big[idCount - 1] as bigint,
    };
    if (kind !== "delta_log") {
      const fieldId = Number(big[3]);
      if (!Number.isSafeInteger(fieldId)) continue;
      location.fieldId = fieldId;
    }
    return location;
  }
  throw invalidArgument(`"${path}" is not a binlog path (<root>/insert_log|stats_log/<collection>/<partition>/<segment>/<field>/<logId> or <root>/delta_log/<collection>/<partition>/<segment>/<logId>)`);
}
