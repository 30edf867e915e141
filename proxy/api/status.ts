// The one place where Vela's errors become Milvus statuses (DESIGN §11; STYLE habit 7). gRPC answers
// carry `Status {error_code, code, reason}` with gRPC OK; REST answers carry `{code, message}`. The
// numeric codes are Milvus's (merr): collection not found 100, not loaded 101, partition not found
// 200, index not found 700, database not found 800, invalid parameter 1100, and so on.

import { ErrorCode, VelaError, errorMessage } from "../../common/errors.ts";

/** Legacy `common.ErrorCode` enum names the SDKs still check. */
export type LegacyErrorCode = "Success" | "UnexpectedError" | "CollectionNotExists" | "IndexNotExist" | "IllegalArgument" | "RateLimit" | "NotReadyServe";

export interface MilvusStatus {
  error_code: LegacyErrorCode;
  code: number;
  reason: string;
  retriable: boolean;
}

export const SUCCESS: MilvusStatus = { error_code: "Success", code: 0, reason: "", retriable: false };

interface Mapping {
  legacy: LegacyErrorCode;
  code: number;
  retriable: boolean;
}

const MAPPING: Record<ErrorCode, Mapping> = {
  [ErrorCode.InvalidArgument]: { legacy: "UnexpectedError", code: 1100, retriable: false },
  [ErrorCode.LimitExceeded]: { legacy: "UnexpectedError", code: 1102, retriable: true },
  [ErrorCode.NotFound]: { legacy: "UnexpectedError", code: 1000, retriable: false },
  [ErrorCode.DatabaseNotFound]: { legacy: "UnexpectedError", code: 800, retriable: false },
  [ErrorCode.CollectionNotFound]: { legacy: "CollectionNotExists", code: 100, retriable: false },
  [ErrorCode.PartitionNotFound]: { legacy: "UnexpectedError", code: 200, retriable: false },
  [ErrorCode.AliasNotFound]: { legacy: "UnexpectedError", code: 1600, retriable: false },
  [ErrorCode.IndexNotFound]: { legacy: "IndexNotExist", code: 700, retriable: false },
  [ErrorCode.CollectionNotLoaded]: { legacy: "UnexpectedError", code: 101, retriable: false },
  [ErrorCode.AlreadyExists]: { legacy: "UnexpectedError", code: 1100, retriable: false },
  [ErrorCode.Conflict]: { legacy: "UnexpectedError", code: 65535, retriable: true },
  [ErrorCode.Closed]: { legacy: "NotReadyServe", code: 1, retriable: true },
  [ErrorCode.Timeout]: { legacy: "UnexpectedError", code: 65535, retriable: true },
  [ErrorCode.Unavailable]: { legacy: "UnexpectedError", code: 2, retriable: true },
  [ErrorCode.Compacted]: { legacy: "UnexpectedError", code: 65535, retriable: false },
  [ErrorCode.LeaseNotFound]: { legacy: "UnexpectedError", code: 65535, retriable: true },
  [ErrorCode.Corrupted]: { legacy: "UnexpectedError", code: 5, retriable: false },
  [ErrorCode.Unsupported]: { legacy: "UnexpectedError", code: 10, retriable: false },
  [ErrorCode.Internal]: { legacy: "UnexpectedError", code: 5, retriable: false },
};

/** The Milvus status for any thrown value (a non-Vela error is an internal error: a bug). */
export function statusOf(error: unknown): MilvusStatus {
  if (error instanceof VelaError) {
    const mapping = MAPPING[error.code];
    return { error_code: mapping.legacy, code: mapping.code, reason: error.message, retriable: mapping.retriable };
  }
  return { error_code: "UnexpectedError", code: 5, reason: `internal error: ${errorMessage(error)}`, retriable: false };
}

export function unsupported(what: string): VelaError {
  return new VelaError(ErrorCode.Unsupported, `${what} is not supported by Vela`);
}
