// Writes REST responses as JSON without losing what JSON.stringify loses: bigints (64-bit ids and
// Int64 values) are written as exact integer literals, and float32 values (Float fields, vectors,
// distances) as the shortest decimal that reads back as the same float32 — as Milvus's Go server
// writes them — instead of the noisy double expansion (0.1f is "0.1", not "0.10000000149011612").
//
// Invariant: responses carry user-supplied nested values (JSON fields, dynamic keys) as RawJson text,
// so writing a response only recurses through Vela's own shallow structures. Callers that serialize a
// user's nested input directly must catch the RangeError a pathologically deep value raises.

/** JSON text written verbatim. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** The shortest decimal text that reads back as the float32 nearest to `value`. */
export function float32Text(value: number): string {
  const single = Math.fround(value);
  if (!Number.isFinite(single)) return "null";
  for (let precision = 1; precision <= 9; precision++) {
    const candidate = Number(single.toPrecision(precision));
    if (Math.fround(candidate) === single) return String(candidate);
  }
  return String(single);
}

export function float32Json(value: number): RawJson {
  return new RawJson(float32Text(value));
}

export function float32ArrayJson(values: ArrayLike<number>): RawJson {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) parts[i] = float32Text(values[i] as number);
  return new RawJson(`[${parts.join(",")}]`);
}

/** JSON text of `value`; bigints as integer literals, RawJson verbatim, undefined members left out. */
export function serializeJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof RawJson) return value.text;
  switch (typeof value) {
    case "bigint": return value.toString();
    case "number": return Number.isFinite(value) ? JSON.stringify(value) : "null";
    case "string": case "boolean": return JSON.stringify(value);
    case "object": break;
    default: return "null";
  }
  if (Array.isArray(value)) return `[${value.map((item) => serializeJson(item)).join(",")}]`;
  const members: string[] = [];
  for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
    if (member === undefined) continue;
    members.push(`${JSON.stringify(key)}:${serializeJson(member)}`);
  }
  return `{${members.join(",")}}`;
}
