// Typed access to the fields of a REST request body, with Milvus's binding rules: field names match
// case-insensitively when no exact match exists (Go's encoding/json), JSON null counts as absent, a
// missing required field is error 1802 and a field of the wrong JSON type is error 1801 — both naming
// the field by its full path (`schema.fields[2].dataType`).

import { badFormat, missingField } from "./rest-errors.ts";

export class RequestBody {
  private constructor(
    private readonly fields: Record<string, unknown>,
    private readonly path: string,
  ) {}

  /** The top-level body; anything but a JSON object is error 1801. */
  static of(value: unknown): RequestBody {
    if (!isPlainObject(value)) throw badFormat(`the request body must be a JSON object, got ${jsonType(value)}`);
    return new RequestBody(value, "");
  }

  /** The raw value of a field (undefined when absent or null). */
  get(name: string): unknown {
    let value = this.fields[name];
    if (value === undefined && !Object.hasOwn(this.fields, name)) {
      const lower = name.toLowerCase();
      const key = Object.keys(this.fields).find((candidate) => candidate.toLowerCase() === lower);
      if (key !== undefined) value = this.fields[key];
    }
    return value === null ? undefined : value;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** The field's name as error messages show it. */
  nameOf(name: string): string {
    return this.path === "" ? name : `${this.path}.${name}`;
  }

  requiredString(name: string): string {
    const value = this.optionalString(name);
    if (value === undefined) throw missingField(this.nameOf(name));
    return value;
  }

  /** A string field; "" counts as absent (Go's zero value). */
  optionalString(name: string): string | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (typeof value !== "string") throw this.wrongType(name, "a string", value);
    return value === "" ? undefined : value;
  }

  optionalInteger(name: string): number | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isSafeInteger(value)) throw this.wrongType(name, "an integer", value);
    return value;
  }

  optionalBoolean(name: string): boolean | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") throw this.wrongType(name, "a boolean", value);
    return value;
  }

  requiredStringArray(name: string): string[] {
    const value = this.optionalStringArray(name);
    if (value === undefined) throw missingField(this.nameOf(name));
    return value;
  }

  optionalStringArray(name: string): string[] | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw this.wrongType(name, "an array of strings", value);
    value.forEach((item, index) => {
      if (typeof item !== "string") throw badFormat(`${this.nameOf(name)}[${index}] must be a string, got ${jsonType(item)}`);
    });
    return value as string[];
  }

  requiredArray(name: string): unknown[] {
    const value = this.optionalArray(name);
    if (value === undefined) throw missingField(this.nameOf(name));
    return value;
  }

  optionalArray(name: string): unknown[] | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw this.wrongType(name, "an array", value);
    return value;
  }

  optionalObject(name: string): RequestBody | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    if (!isPlainObject(value)) throw this.wrongType(name, "an object", value);
    return new RequestBody(value, this.nameOf(name));
  }

  /** Each element of an array of objects, as a RequestBody named `name[i]`. */
  objectsOf(name: string, items: readonly unknown[]): RequestBody[] {
    return items.map((item, index) => {
      const path = `${this.nameOf(name)}[${index}]`;
      if (!isPlainObject(item)) throw badFormat(`${path} must be an object, got ${jsonType(item)}`);
      return new RequestBody(item, path);
    });
  }

  /** The object's own entries (null members left out). */
  entries(): Array<[string, unknown]> {
    return Object.entries(this.fields).filter(([, value]) => value !== null && value !== undefined);
  }

  private wrongType(name: string, expected: string, value: unknown): Error {
    return badFormat(`${this.nameOf(name)} must be ${expected}, got ${jsonType(value)}`);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The JSON type of a parsed value, for error messages. */
export function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing (the field is missing)";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "bigint") return "an integer beyond 2^53";
  if (typeof value === "object") return "an object";
  return typeof value === "string" ? `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}` : `${typeof value} ${String(value)}`;
}
