// Search metrics and their order. L2 is the squared Euclidean distance (as Milvus reports it), smaller
// is better; IP (inner product) and COSINE are similarities, larger is better. Every comparison of two
// hits in Vela goes through `isBetterHit`, so that the kernels, the split-merge and the reduces agree
// on one order: better distance first, then the smaller tie-break index.

import { invalidArgument } from "../../common/errors.ts";

export const MetricType = {
  L2: "L2",
  IP: "IP",
  COSINE: "COSINE",
} as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

export function isMetricType(value: unknown): value is MetricType {
  return value === MetricType.L2 || value === MetricType.IP || value === MetricType.COSINE;
}

/** Checks a metric given by the caller; throws InvalidArgument naming the accepted ones. */
export function checkMetricType(value: unknown): MetricType {
  if (isMetricType(value)) return value;
  throw invalidArgument(`unknown metric type ${JSON.stringify(value)}; expected one of L2, IP, COSINE`);
}

/** Parses a metric as a client spells it (Milvus accepts any case: "l2", "Cosine"). */
export function parseMetricType(text: string): MetricType {
  return checkMetricType(typeof text === "string" ? text.toUpperCase() : text);
}

/** True when larger distances are better (IP, COSINE); false for L2. */
export function largerIsBetter(metric: MetricType): boolean {
  return metric !== MetricType.L2;
}

/**
 * True when hit a (distance, tie-break index) ranks before hit b under `metric`: a better distance,
 * or an equal one and a smaller tie-break index.
 */
export function isBetterHit(metric: MetricType, distanceA: number, tieA: number, distanceB: number, tieB: number): boolean {
  if (distanceA !== distanceB) return metric === MetricType.L2 ? distanceA < distanceB : distanceA > distanceB;
  return tieA < tieB;
}
