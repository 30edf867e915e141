// Filter expressions as every read and delete takes them: parsed and type-checked against the
// collection's schema by the expression language (expr/). A filter that only names primary keys
// (`pk in [..]`, `pk == x`, or-ed) becomes a key list, which query nodes answer from their key index;
// anything else is evaluated column by column into a bitset per segment.

import type { CollectionInfo } from "../../coord/catalog.ts";
import { parseFilter, type TemplateValue } from "../../expr/parser.ts";
import { primaryKeysOf } from "../../expr/primary-keys.ts";
import type { FilterSpec } from "./vela-service.ts";

export function expressionFilter(info: CollectionInfo, expression: string, templateValues: Record<string, unknown>): FilterSpec {
  const parsed = parseFilter(expression, info.schema, { templateValues: templateValues as Record<string, TemplateValue> });
  const keys = primaryKeysOf(parsed);
  return keys === undefined ? { expression: parsed } : { filterKeys: keys };
}
