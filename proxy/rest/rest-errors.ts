// The REST protocol's own failures and the envelope every failure is answered with. Requests the
// REST layer cannot even hand to the facade — a body that is not JSON, a required field missing, rows
// that cannot be turned into columns, a request that outlived its timeout — get the codes Milvus's
// REST server uses for them (1801, 1802, 1804, 1806, 10001) with Milvus's message prefixes. Every
// other error is translated by `statusOf`, the one mapping from Vela errors to Milvus codes.
//
// Invariant: a RestRequestError is raised before the facade is called, so it never reports a
// partially applied request.

import { ErrorCode, VelaError } from "../../common/errors.ts";
import { statusOf } from "../api/status.ts";

export const RestErrorCode = {
  /** The body is not JSON, or a field has the wrong JSON type (Milvus merr.ErrIncorrectParameterFormat). */
  IncorrectParameterFormat: 1801,
  /** A required field is absent (Milvus merr.ErrMissingRequiredParameters). */
  MissingRequiredParameters: 1802,
  /** Insert or upsert rows cannot be turned into columns (Milvus merr.ErrInvalidInsertData). */
  InvalidInsertData: 1804,
  /** Primary keys given to get or delete have the wrong type (Milvus merr.ErrCheckPrimaryKey). */
  CheckPrimaryKey: 1806,
  /** The request ran longer than its timeout (Milvus merr.TimeoutCode). */
  RequestTimeout: 10001,
} as const;
export type RestErrorCode = (typeof RestErrorCode)[keyof typeof RestErrorCode];

const PREFIX: Record<RestErrorCode, string> = {
  [RestErrorCode.IncorrectParameterFormat]: "can only accept json format request",
  [RestErrorCode.MissingRequiredParameters]: "missing required parameters",
  [RestErrorCode.InvalidInsertData]: "fail to deal the insert data",
  [RestErrorCode.CheckPrimaryKey]: "please check the primary key and its' type can only in [int, string]",
  [RestErrorCode.RequestTimeout]: "request timeout",
};

/** A request the REST layer refuses before calling the facade. An InvalidArgument to the rest of Vela. */
export class RestRequestError extends VelaError {
  readonly restCode: RestErrorCode;

  constructor(restCode: RestErrorCode, detail: string) {
    super(ErrorCode.InvalidArgument, `${PREFIX[restCode]}, error: ${detail}`);
    this.restCode = restCode;
    this.name = "RestRequestError";
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export function badFormat(detail: string): RestRequestError {
  return new RestRequestError(RestErrorCode.IncorrectParameterFormat, detail);
}

export function missingField(name: string): RestRequestError {
  return new RestRequestError(RestErrorCode.MissingRequiredParameters, `${name} is required`);
}

export function badInsertData(detail: string): RestRequestError {
  return new RestRequestError(RestErrorCode.InvalidInsertData, detail);
}

export function badPrimaryKey(detail: string): RestRequestError {
  return new RestRequestError(RestErrorCode.CheckPrimaryKey, detail);
}

export interface ErrorEnvelope {
  code: number;
  message: string;
}

/** The `{code, message}` answer for any thrown value. */
export function errorEnvelope(error: unknown): ErrorEnvelope {
  if (error instanceof RestRequestError) return { code: error.restCode, message: error.message };
  const status = statusOf(error);
  return { code: status.code, message: status.reason };
}

export const TIMEOUT_ENVELOPE: ErrorEnvelope = { code: RestErrorCode.RequestTimeout, message: PREFIX[RestErrorCode.RequestTimeout] };
