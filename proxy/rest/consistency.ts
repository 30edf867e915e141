// The `consistencyLevel` request field, as Milvus's REST server reads it: one of the level names
// (case-sensitive), "Customized" meaning the collection's default. REST requests carry no client
// identity, so Session gives them no read-your-writes guarantee; they pass Strong for that.

import { invalidArgument } from "../../common/errors.ts";
import type { RequestBody } from "./request-body.ts";

const LEVELS = ["Strong", "Session", "Bounded", "Eventually", "Customized"];

/** The level to pass to the facade; undefined for the collection's default. */
export function consistencyLevelOf(body: RequestBody): string | undefined {
  const level = body.optionalString("consistencyLevel");
  if (level === undefined) return undefined;
  if (!LEVELS.includes(level)) throw invalidArgument(`consistencyLevel can only be [${LEVELS.join(", ")}], default: Bounded; got ${JSON.stringify(level)}`);
  return level === "Customized" ? undefined : level;
}
