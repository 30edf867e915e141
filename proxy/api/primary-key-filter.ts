// Primary-key filters (`id in [1, 2]`, `id == 3`, `name in ["a"]`): the filter forms every read and
// delete accepts even without the full expression language, resolved through the primary-key index.

import { invalidArgument } from "../../common/errors.ts";
import { primaryKeyField } from "../../common/schema.ts";
import type { CollectionInfo } from "../../coord/catalog.ts";
import type { FilterSpec } from "./vela-service.ts";

const IN_LIST = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s+in\s+\[(.*)\]\s*$/is;
const EQUALS = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*==\s*(.+?)\s*$/s;

export function primaryKeyFilter(info: CollectionInfo, expression: string): FilterSpec {
  const pk = primaryKeyField(info.schema);
  const inList = IN_LIST.exec(expression);
  const equals = inList === null ? EQUALS.exec(expression) : null;
  const match = inList ?? equals;
  if (match === null || match[1] !== pk.name) {
    throw invalidArgument(`unsupported filter "${expression}": only primary-key filters ("${pk.name} in [...]" or "${pk.name} == value") are accepted`);
  }
  const body = (match[2] ?? "").trim();
  const items = inList === null ? [body] : body === "" ? [] : splitList(body);
  return { filterKeys: items.map((item) => literal(item, expression)) };
}

function splitList(body: string): string[] {
  const items: string[] = [];
  let current = "";
  let quote: string | undefined;
  for (let i = 0; i < body.length; i++) {
    const char = body[i] as string;
    if (quote !== undefined) {
      current += char;
      if (char === "\\") current += body[++i] ?? "";
      else if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      quote = char;
      current += char;
    } else if (char === ",") {
      items.push(current.trim());
      current = "";
    } else current += char;
  }
  if (current.trim() !== "") items.push(current.trim());
  return items;
}

function literal(text: string, expression: string): string | bigint {
  if (/^-?\d+$/.test(text)) return BigInt(text);
  const quoted = /^(["'])(.*)\1$/s.exec(text);
  if (quoted !== null) return (quoted[2] ?? "").replace(/\\(.)/g, "$1");
  throw invalidArgument(`unsupported value ${text} in filter "${expression}"`);
}
