// Input rules shared by every ObjectStore implementation: object keys, list prefixes, continuation
// tokens, ranges, bodies and limits. One module, so that a key the local store accepts is exactly a key
// S3 accepts, and a request refused by one is refused by the other with the same code and message.
//
// Invariant: a key that passes validateKey is a relative path of non-empty segments, none '.' or '..',
// with no NUL, backslash or control character: joined under a root directory it can never leave it.
import { objectStoreDefaults, resolveLimits, type ObjectStoreLimits } from "../../common/config.ts";
import { invalidArgument, limitExceeded } from "../../common/errors.ts";

/** Limits merged over the defaults and checked: positive integers that agree with one another. */
export function resolveObjectStoreLimits(overrides: Partial<ObjectStoreLimits> | undefined, what: string): ObjectStoreLimits {
  const limits: ObjectStoreLimits = resolveLimits({ ...objectStoreDefaults }, overrides, what);
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw invalidArgument(`${what}: limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (limits.keySegmentBytesMax > limits.keyBytesMax) {
    throw invalidArgument(
      `${what}: keySegmentBytesMax (${limits.keySegmentBytesMax}) must not exceed keyBytesMax (${limits.keyBytesMax})`,
    );
  }
  return limits;
}

/** Shows a caller's key in a message: quoted, escaped, and cut short when long. */
export function describeKey(key: string): string {
  const shown = key.length > 80 ? `${key.slice(0, 80)}…` : key;
  return JSON.stringify(shown);
}

const utf8 = new TextEncoder();

export function utf8Length(text: string): number {
  return utf8.encode(text).length;
}

/** Orders keys as S3 does: by the bytes of their UTF-8 encoding (not by UTF-16 code units). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

// Control characters cannot be carried in S3's XML listings (XML 1.0) and make file names unsafe to
// handle; backslash is a path separator on some systems. Neither has a use in Vela's layout.
// eslint-disable-next-line no-control-regex
const forbiddenCharacter = /[\u0000-\u001f\u007f\\]/;
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Checks the characters, length and encoding common to keys and prefixes; returns a reason or undefined. */
function characterProblem(text: string): string | undefined {
  const forbidden = forbiddenCharacter.exec(text);
  if (forbidden !== null) {
    const code = forbidden[0].charCodeAt(0).toString(16).padStart(4, "0");
    return `contains the forbidden character U+${code} (control characters and backslash are not allowed)`;
  }
  // A lone surrogate has no UTF-8 encoding: two different keys would be stored under the same bytes.
  if (loneSurrogate.test(text)) return "is not well-formed Unicode (it contains a lone surrogate)";
  return undefined;
}

function segmentProblem(segment: string, limits: ObjectStoreLimits): string | undefined {
  if (segment === "") return "has an empty segment (a leading, trailing or doubled '/')";
  if (segment === "." || segment === "..") return `has a '${segment}' segment`;
  if (utf8Length(segment) > limits.keySegmentBytesMax) {
    return `has a segment longer than keySegmentBytesMax (${limits.keySegmentBytesMax} bytes)`;
  }
  return undefined;
}

/** Accepts a key or throws InvalidArgument / LimitExceeded saying which rule it breaks. */
export function validateKey(key: unknown, limits: ObjectStoreLimits): string {
  if (typeof key !== "string") throw invalidArgument(`object key must be a string, got ${typeof key}`);
  if (key === "") throw invalidArgument("object key must not be empty");
  const bytes = utf8Length(key);
  if (bytes > limits.keyBytesMax) {
    throw limitExceeded(`object key ${describeKey(key)} is ${bytes} bytes long; keyBytesMax is ${limits.keyBytesMax}`);
  }
  const characters = characterProblem(key);
  if (characters !== undefined) throw invalidArgument(`object key ${describeKey(key)} ${characters}`);
  if (key.startsWith("/")) throw invalidArgument(`object key ${describeKey(key)} must not start with '/'`);
  for (const segment of key.split("/")) {
    const problem = segmentProblem(segment, limits);
    if (problem !== undefined) {
      const code = problem.startsWith("has a segment longer") ? limitExceeded : invalidArgument;
      throw code(`object key ${describeKey(key)} ${problem}`);
    }
  }
  return key;
}

/**
 * Accepts a list prefix. Any string a valid key can start with is a valid prefix: every complete
 * segment (before the last '/') follows the key rules, and the last, partial segment may be anything
 * (including empty). The empty prefix means every object.
 */
export function validatePrefix(prefix: unknown, limits: ObjectStoreLimits): string {
  if (typeof prefix !== "string") throw invalidArgument(`list prefix must be a string, got ${typeof prefix}`);
  if (prefix === "") return prefix;
  const bytes = utf8Length(prefix);
  if (bytes > limits.keyBytesMax) {
    throw limitExceeded(`list prefix ${describeKey(prefix)} is ${bytes} bytes long; keyBytesMax is ${limits.keyBytesMax}`);
  }
  const characters = characterProblem(prefix);
  if (characters !== undefined) throw invalidArgument(`list prefix ${describeKey(prefix)} ${characters}`);
  if (prefix.startsWith("/")) throw invalidArgument(`list prefix ${describeKey(prefix)} must not start with '/'`);
  const segments = prefix.split("/");
  const partial = segments.pop() ?? "";
  for (const segment of segments) {
    const problem = segmentProblem(segment, limits);
    if (problem !== undefined) throw invalidArgument(`list prefix ${describeKey(prefix)} ${problem}`);
  }
  if (utf8Length(partial) > limits.keySegmentBytesMax) {
    throw invalidArgument(`list prefix ${describeKey(prefix)} ends in a segment longer than keySegmentBytesMax`);
  }
  return prefix;
}

export interface CheckedListOptions {
  prefix: string;
  limit: number;
  /** List keys strictly after this one (the previous page's last key). */
  startAfter: string | undefined;
}

/**
 * Accepts list arguments. A continuation token is the last key of the previous page: it must be a
 * valid key under the prefix, else the caller mixed up two listings.
 */
export function validateListOptions(
  prefix: unknown,
  options: { limit?: unknown; continuationToken?: unknown } | undefined,
  limits: ObjectStoreLimits,
): CheckedListOptions {
  const checkedPrefix = validatePrefix(prefix, limits);
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw invalidArgument("list options must be an object");
  }
  const requested = options?.limit;
  let limit = limits.listPageKeysMax;
  if (requested !== undefined) {
    if (typeof requested !== "number" || !Number.isSafeInteger(requested) || requested < 1) {
      throw invalidArgument(`list limit must be a positive integer, got ${String(requested)}`);
    }
    if (requested > limits.listPageKeysMax) {
      throw limitExceeded(`list limit ${requested} exceeds listPageKeysMax (${limits.listPageKeysMax})`);
    }
    limit = requested;
  }
  const token = options?.continuationToken;
  let startAfter: string | undefined;
  if (token !== undefined) {
    if (typeof token !== "string" || token === "") {
      throw invalidArgument("continuation token must be the non-empty nextToken of a previous page");
    }
    try {
      validateKey(token, limits);
    } catch {
      throw invalidArgument(`continuation token ${describeKey(token)} is not a token this store issued`);
    }
    if (!token.startsWith(checkedPrefix)) {
      throw invalidArgument(
        `continuation token ${describeKey(token)} does not belong to a listing of prefix ${describeKey(checkedPrefix)}`,
      );
    }
    startAfter = token;
  }
  return { prefix: checkedPrefix, limit, startAfter };
}

/** Accepts a body to put: a Uint8Array no larger than objectBytesMax. */
export function validateBody(key: string, body: unknown, limits: ObjectStoreLimits): Uint8Array {
  if (!(body instanceof Uint8Array)) {
    throw invalidArgument(`body of object ${describeKey(key)} must be a Uint8Array`);
  }
  if (body.byteLength > limits.objectBytesMax) {
    throw limitExceeded(
      `object ${describeKey(key)} is ${body.byteLength} bytes; objectBytesMax is ${limits.objectBytesMax}`,
    );
  }
  return body;
}

/** Accepts a byte range [start, endExclusive): non-negative integers, end not before start. */
export function validateRange(key: string, start: unknown, endExclusive: unknown): { start: number; endExclusive: number } {
  for (const [name, value] of [
    ["start", start],
    ["endExclusive", endExclusive],
  ] as const) {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw invalidArgument(`range of object ${describeKey(key)}: ${name} must be a non-negative integer, got ${String(value)}`);
    }
  }
  const from = start as number;
  const to = endExclusive as number;
  if (to < from) {
    throw invalidArgument(`range of object ${describeKey(key)}: endExclusive (${to}) must not be before start (${from})`);
  }
  return { start: from, endExclusive: to };
}
