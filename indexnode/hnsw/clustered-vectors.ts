// Seeded synthetic vectors for HNSW tests and benchmarks: a mixture of Gaussian clusters, the shape
// real embeddings have (dense regions, empty space between them), which uniform noise lacks and which
// is what makes graph search hard near cluster borders. Invariant: the same seed and shape give the
// same vectors, bit for bit, so a failing recall test replays from its printed seed.

import { SeededRandom } from "../../common/random.ts";

export interface ClusteredVectorsOptions {
  rows: number;
  dim: number;
  /** Number of cluster centres. */
  clusters: number;
  /** Standard deviation of each component around its centre (centres have standard deviation 1). */
  spread: number;
  /** Allocate in a SharedArrayBuffer (workers then read it in place). */
  shared?: boolean;
}

/** Cluster centres, clusters × dim, drawn from the generator. */
export function clusterCentres(random: SeededRandom, clusters: number, dim: number): Float32Array {
  const centres = new Float32Array(clusters * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = random.gaussian();
  return centres;
}

/** `rows` vectors, each a random centre plus Gaussian noise of standard deviation `spread`. */
export function clusteredVectors(random: SeededRandom, centres: Float32Array, options: ClusteredVectorsOptions): Float32Array {
  const { rows, dim, clusters, spread } = options;
  const length = rows * dim;
  const vectors = new Float32Array(options.shared === true ? new SharedArrayBuffer(length * 4) : new ArrayBuffer(length * 4));
  for (let row = 0; row < rows; row++) {
    const centre = random.int(0, clusters - 1) * dim;
    for (let i = 0; i < dim; i++) vectors[row * dim + i] = (centres[centre + i] as number) + spread * random.gaussian();
  }
  return vectors;
}

/** A data set and queries drawn from the same clusters (queries are new points, not rows). */
export function clusteredDataSet(seed: number, options: ClusteredVectorsOptions & { queries: number }): { vectors: Float32Array; queries: Float32Array } {
  const random = new SeededRandom(seed);
  const centres = clusterCentres(random, options.clusters, options.dim);
  const vectors = clusteredVectors(random, centres, options);
  const queries = clusteredVectors(random, centres, { ...options, rows: options.queries, shared: false });
  return { vectors, queries };
}
