// Where a build's files live and what its params file says (DESIGN §7):
//
//   <root>/index_files/<buildId>/hnsw          the HNSW index (indexnode/hnsw/hnsw-format.ts: header + hnswlib payload)
//   <root>/index_files/<buildId>/params.json   what was built from what, for tools and GC (not needed to load)
//
// One build id names one (segment, index) pair for its whole life; retries of the build write the same
// paths. A build is deterministic (same rows in the same order, same parameters, same level seed give
// the same bytes), so a retry, or a late write of an attempt that was given up on, puts identical bytes.

import { invalidArgument } from "../common/errors.ts";
import type { MetricType } from "../querynode/compute/metric.ts";

export const INDEX_FILES_DIR = "index_files";
export const HNSW_FILE_NAME = "hnsw";
export const PARAMS_FILE_NAME = "params.json";
/** Version of the params file layout; readers refuse others. */
export const INDEX_PARAMS_FORMAT_VERSION = 1;

function checkRoot(root: string): void {
  if (typeof root !== "string" || root.endsWith("/")) throw invalidArgument(`index file root "${String(root)}" must be a string without a trailing '/'`);
}

/** `<root>/index_files/` (the prefix every build's files share). */
export function indexFilesRoot(root: string): string {
  checkRoot(root);
  return root === "" ? `${INDEX_FILES_DIR}/` : `${root}/${INDEX_FILES_DIR}/`;
}

/** `<root>/index_files/<buildId>/`. */
export function indexFilesPrefix(root: string, buildId: bigint): string {
  return `${indexFilesRoot(root)}${buildId}/`;
}

export function indexFilePath(root: string, buildId: bigint, name: string): string {
  return `${indexFilesPrefix(root, buildId)}${name}`;
}

/** The build id of a key under `<root>/index_files/`, or undefined when the key is not a build's file. */
export function buildIdOfIndexKey(root: string, key: string): bigint | undefined {
  const prefix = indexFilesRoot(root);
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf("/");
  const id = slash < 0 ? rest : rest.slice(0, slash);
  return /^(0|[1-9][0-9]*)$/.test(id) ? BigInt(id) : undefined;
}

/** The contents of params.json (ids as decimal strings: JSON numbers cannot hold 64-bit ids). */
export interface IndexParamsFile {
  format: number;
  buildId: string;
  indexId: string;
  collectionId: string;
  partitionId: string;
  segmentId: string;
  fieldId: number;
  indexType: "HNSW";
  metricType: MetricType;
  dim: number;
  M: number;
  efConstruction: number;
  rowCount: number;
  /** How labels map to rows. */
  labels: "row position in the segment's insert logs, log id ascending";
  /** The insert logs read, in that order. */
  insertLogs: string[];
  /** The index file's name and size. */
  indexFile: { name: string; sizeBytes: number };
}
