// One error hierarchy for all of Vela. Every operating error (bad input, missing object, closed
// resource, limit reached, unreachable server) is a VelaError with a code; the public surfaces map
// codes to Milvus statuses and REST envelopes in exactly one place. A plain Error escaping a role is
// a bug.

export const ErrorCode = {
  /** The request is malformed or violates the schema; nothing was changed. */
  InvalidArgument: "InvalidArgument",
  /** A named bound (size, count, queue depth) would be exceeded; nothing was changed. */
  LimitExceeded: "LimitExceeded",
  /** The thing asked for does not exist. */
  NotFound: "NotFound",
  /** A database, collection, partition or alias named in a request does not exist. */
  DatabaseNotFound: "DatabaseNotFound",
  CollectionNotFound: "CollectionNotFound",
  PartitionNotFound: "PartitionNotFound",
  AliasNotFound: "AliasNotFound",
  /** No index is defined on the field or collection named. */
  IndexNotFound: "IndexNotFound",
  /** The collection exists but is not loaded for search and query. */
  CollectionNotLoaded: "CollectionNotLoaded",
  /** The thing to create exists already. */
  AlreadyExists: "AlreadyExists",
  /** A compare-and-set or fencing check failed: someone else changed the state first. */
  Conflict: "Conflict",
  /** The resource was closed; create a new one. */
  Closed: "Closed",
  /** A bounded wait ran out. */
  Timeout: "Timeout",
  /** A server or peer cannot be reached now; retrying later may succeed. */
  Unavailable: "Unavailable",
  /** A watch or read asked for history that was compacted or truncated away. */
  Compacted: "Compacted",
  /** A lease is unknown or has expired. */
  LeaseNotFound: "LeaseNotFound",
  /** Stored bytes fail their checksum or framing. */
  Corrupted: "Corrupted",
  /** The operation is not supported by this implementation or this version. */
  Unsupported: "Unsupported",
  /** A bug: an invariant was broken. */
  Internal: "Internal",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class VelaError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "VelaError";
    // Keep instanceof working across transpilation targets and subclassing.
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export function isVelaError(error: unknown, code?: ErrorCode): error is VelaError {
  return error instanceof VelaError && (code === undefined || error.code === code);
}

export function invalidArgument(message: string): VelaError {
  return new VelaError(ErrorCode.InvalidArgument, message);
}

export function limitExceeded(message: string): VelaError {
  return new VelaError(ErrorCode.LimitExceeded, message);
}

export function notFound(message: string): VelaError {
  return new VelaError(ErrorCode.NotFound, message);
}

export function closedError(what: string): VelaError {
  return new VelaError(ErrorCode.Closed, `${what} is closed`);
}

/** Fails loudly on a broken invariant: a programmer error, never an operating error. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new VelaError(ErrorCode.Internal, `invariant broken: ${message}`);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
