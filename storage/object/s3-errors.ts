// Turns what the AWS SDK throws into Vela's error codes, in one place, so that every S3ObjectStore
// call fails the same way for the same cause. The SDK throws two kinds of errors: a service error (the
// server answered with an S3 error code and an HTTP status) and a transport error (no answer: refused,
// reset, timed out, aborted). The mapping keeps the original as `cause` and names the operation.
//
// Invariant: nothing the SDK throws leaves S3ObjectStore as anything but a VelaError.
import { ErrorCode, VelaError, errorMessage } from "../../common/errors.ts";

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function shapeOf(error: unknown): SdkErrorShape {
  return typeof error === "object" && error !== null ? (error as SdkErrorShape) : {};
}

/** The S3 error code (NoSuchKey, AccessDenied, …) or the SDK's name for a transport error. */
export function s3ErrorName(error: unknown): string {
  const { name } = shapeOf(error);
  return typeof name === "string" ? name : "Error";
}

/** The HTTP status the server answered with, or undefined when no answer arrived. */
export function s3HttpStatus(error: unknown): number | undefined {
  const status = shapeOf(error).$metadata?.httpStatusCode;
  return typeof status === "number" ? status : undefined;
}

/** True when the server answered "no such object" (a HEAD's 404 has no body, hence no code). */
export function isS3NotFound(error: unknown): boolean {
  const name = s3ErrorName(error);
  if (name === "NoSuchBucket") return false;
  return name === "NoSuchKey" || name === "NotFound" || s3HttpStatus(error) === 404;
}

const credentialErrors = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "AllAccessDisabled",
  "AccountProblem",
]);
const throttlingErrors = new Set(["SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"]);
const tooLargeErrors = new Set(["EntityTooLarge", "KeyTooLongError", "MaxMessageLengthExceeded"]);
const badRequestErrors = new Set(["InvalidArgument", "InvalidRange", "EntityTooSmall", "InvalidPart", "InvalidPartOrder"]);

export interface S3ErrorContext {
  /** What was being done, e.g. `get "a/b"` — starts every message. */
  operation: string;
  bucket: string;
  endpoint: string;
  /** Set when the call's own deadline fired (the SDK reports that as an AbortError). */
  timedOutAfterMs?: number;
}

/** The VelaError for an error thrown by an S3 call. */
export function mapS3Error(error: unknown, context: S3ErrorContext): VelaError {
  if (error instanceof VelaError) return error;
  const name = s3ErrorName(error);
  const status = s3HttpStatus(error);
  const detail = errorMessage(error);
  const where = `S3 bucket "${context.bucket}" at ${context.endpoint}`;
  const make = (code: ErrorCode, message: string): VelaError =>
    new VelaError(code, `${context.operation}: ${message}`, { cause: error });

  if (context.timedOutAfterMs !== undefined && (name === "AbortError" || status === undefined)) {
    return make(ErrorCode.Unavailable, `${where} gave no answer within requestTimeoutMs (${context.timedOutAfterMs} ms)`);
  }
  if (status === undefined) {
    const code = shapeOf(error).code;
    const reason = typeof code === "string" && !detail.includes(code) ? `${code}: ${detail}` : detail;
    return make(ErrorCode.Unavailable, `cannot reach ${where}: ${reason}`);
  }
  const answer = `${name} (HTTP ${status}): ${detail}`;
  if (name === "NoSuchBucket") return make(ErrorCode.Unavailable, `${where} does not exist: ${answer}`);
  if (isS3NotFound(error)) return make(ErrorCode.NotFound, "the object does not exist");
  if (credentialErrors.has(name) || status === 401 || status === 403) {
    return make(ErrorCode.Unavailable, `${where} refused the credentials or permissions: ${answer}`);
  }
  if (throttlingErrors.has(name) || status === 429 || status >= 500) {
    return make(ErrorCode.Unavailable, `${where} cannot serve the request now: ${answer}`);
  }
  if (tooLargeErrors.has(name)) return make(ErrorCode.LimitExceeded, `${where} refused the size: ${answer}`);
  if (badRequestErrors.has(name)) return make(ErrorCode.InvalidArgument, `${where} refused the request: ${answer}`);
  return make(ErrorCode.Internal, `unexpected answer from ${where}: ${answer}`);
}
