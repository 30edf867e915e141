// What every peer of a bench run is given: the same vectors, queries and ground truth as Vela, and the
// same index and search parameters, so their figures sit beside Vela's with the ratios.

import type { MetricType } from "../../../querynode/compute/metric.ts";
import type { DataSet } from "../dataset.ts";
import type { GroundTruth } from "../ground-truth.ts";
import type { Progress } from "../progress.ts";

export interface PeerWorkload {
  dataSet: DataSet;
  truth: GroundTruth;
  metric: MetricType;
  M: number;
  efConstruction: number;
  ef: number;
  k: number;
  efSweep: readonly number[];
  levelSeconds: number;
  requestsMax: number;
  progress: Progress;
}
