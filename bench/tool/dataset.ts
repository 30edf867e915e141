// The vectors a benchmark run uses: a seeded clustered-Gaussian data set (the shape real embeddings have:
// dense regions with empty space between them) or a published one read from files. Base vectors live in
// a SharedArrayBuffer so ground-truth workers and the hnswlib peer's workers read them in place.
// Invariant: the same seed and shape give the same vectors bit for bit, whatever the machine, so a
// cached ground truth and a recorded figure can be traced back to their data.

import { createHash } from "node:crypto";
import { basename } from "node:path";
import { invalidArgument } from "../../common/errors.ts";
import { SeededRandom } from "../../common/random.ts";
import { clusterCentres, clusteredVectors } from "../../indexnode/hnsw/clustered-vectors.ts";
import { readFloatVectors, readIvecs } from "./vector-files.ts";

export interface GeneratedDataSetOptions {
  rows: number;
  dim: number;
  clusters: number;
  /** Standard deviation of each component around its centre. */
  spread: number;
  queries: number;
  seed: number;
}

export interface DataSet {
  /** How it was made, for the report: "generated" with its shape and seed, or the file names. */
  description: string;
  source: { kind: "generated"; clusters: number; spread: number; seed: number } | { kind: "files"; base: string; queries: string; groundTruth?: string };
  rows: number;
  dim: number;
  /** rows × dim, SharedArrayBuffer-backed. Row r is inserted with primary key r. */
  vectors: Float32Array;
  queryCount: number;
  /** queryCount × dim. */
  queries: Float32Array;
  /** Neighbour ids per query shipped with a file data set (.ivecs), when given: queryCount × width. */
  givenGroundTruth?: { width: number; ids: Int32Array };
}

/**
 * A clustered data set: cluster centres with standard deviation 1 per component, rows drawn around a
 * uniformly chosen centre with standard deviation `spread`; queries are new points drawn the same way
 * (not copies of rows). Uses one generator seeded with `seed` for centres, then rows, then queries.
 */
export function generateDataSet(options: GeneratedDataSetOptions): DataSet {
  const { rows, dim, clusters, spread, queries, seed } = options;
  if (!Number.isInteger(rows) || rows < 1) throw invalidArgument(`generator: rows must be a positive integer, got ${rows}`);
  if (!Number.isInteger(dim) || dim < 2) throw invalidArgument(`generator: dim must be an integer ≥ 2, got ${dim}`);
  if (!Number.isInteger(clusters) || clusters < 1) throw invalidArgument(`generator: clusters must be a positive integer, got ${clusters}`);
  if (!Number.isInteger(queries) || queries < 1) throw invalidArgument(`generator: queries must be a positive integer, got ${queries}`);
  if (!(spread > 0)) throw invalidArgument(`generator: spread must be positive, got ${spread}`);
  const random = new SeededRandom(seed);
  const centres = clusterCentres(random, clusters, dim);
  const vectors = clusteredVectors(random, centres, { rows, dim, clusters, spread, shared: true });
  const queryVectors = clusteredVectors(random, centres, { rows: queries, dim, clusters, spread, shared: true });
  return {
    description: `generated: ${rows} × ${dim}, ${clusters} clusters (spread ${spread}), seed ${seed}, ${queries} queries`,
    source: { kind: "generated", clusters, spread, seed },
    rows, dim, vectors, queryCount: queries, queries: queryVectors,
  };
}

/** A data set from files: base vectors (.fvecs/.bvecs/.npy), queries, and optionally their .ivecs ground truth. */
export function readDataSet(options: { base: string; queries: string; groundTruth?: string; rowsMax?: number; queryCountMax: number }): DataSet {
  const base = readFloatVectors(options.base, { shared: true, ...(options.rowsMax === undefined ? {} : { rowsMax: options.rowsMax }) });
  const queries = readFloatVectors(options.queries, { shared: true, rowsMax: options.queryCountMax });
  if (queries.dim !== base.dim) throw invalidArgument(`${options.queries}: queries have dimension ${queries.dim}, the base vectors ${base.dim}`);
  const dataSet: DataSet = {
    description: `files: ${basename(options.base)} (${base.rows} × ${base.dim}), ${queries.rows} queries from ${basename(options.queries)}`,
    source: { kind: "files", base: options.base, queries: options.queries, ...(options.groundTruth === undefined ? {} : { groundTruth: options.groundTruth }) },
    rows: base.rows, dim: base.dim, vectors: base.values, queryCount: queries.rows, queries: queries.values,
  };
  if (options.groundTruth !== undefined) {
    // Published ground truth is computed over the whole base file: it only holds for a whole file.
    if (options.rowsMax !== undefined) throw invalidArgument("--ground-truth holds for the whole base file; drop --rows (the ground truth is then computed)");
    const truth = readIvecs(options.groundTruth, { rowsMax: queries.rows });
    if (truth.rows < queries.rows) throw invalidArgument(`${options.groundTruth}: ${truth.rows} rows of ground truth for ${queries.rows} queries`);
    dataSet.givenGroundTruth = { width: truth.dim, ids: truth.values };
    dataSet.description += `, ground truth from ${basename(options.groundTruth)}`;
  }
  return dataSet;
}

/** A hash of the vectors and queries (hex), naming the data set in cache keys. */
export function dataSetFingerprint(dataSet: DataSet): string {
  const hash = createHash("sha256");
  hash.update(`${dataSet.rows}x${dataSet.dim}/${dataSet.queryCount}\n`);
  hash.update(new Uint8Array(dataSet.vectors.buffer, dataSet.vectors.byteOffset, dataSet.vectors.byteLength));
  hash.update(new Uint8Array(dataSet.queries.buffer, dataSet.queries.byteOffset, dataSet.queries.byteLength));
  return hash.digest("hex");
}

/** The `tag` scalar of row r (row mod 100): what the filtered-search phase filters on. */
export function tagOfRow(row: number): number {
  return row % 100;
}

/** The rows a `tag < keepPercent` filter keeps: a byte mask (shared, for ground-truth workers) and their count. */
export function tagFilterMask(rows: number, keepPercent: number): { mask: Uint8Array; kept: number } {
  const mask = new Uint8Array(new SharedArrayBuffer(rows));
  let kept = 0;
  for (let row = 0; row < rows; row++) {
    if (tagOfRow(row) < keepPercent) {
      mask[row] = 1;
      kept += 1;
    }
  }
  return { mask, kept };
}
