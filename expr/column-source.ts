// What the evaluator reads a segment through: one scalar column view per field over rows
// [0, rowCount). GrowingSegment satisfies it (querynode/growing-segment.ts `columnView`); tests build
// one from plain row objects. The views must stay valid for rows [0, rowCount) until an evaluation
// ends, across its yields to the event loop (a growing segment only appends, so they do).

import type { FieldSchema } from "../common/schema.ts";
import type { ScalarColumnView } from "../querynode/growing-segment.ts";

export type { ScalarColumnView };

export interface ColumnSource {
  columnView(field: FieldSchema, rowCount: number): ScalarColumnView;
}
