// Turns what the etcd3 client throws into Vela's error hierarchy, in this one place. Invariant: no etcd3
// or gRPC error class escapes the EtcdMetaStore; callers see only VelaErrors with a code they can act on
// (Unavailable and Timeout are worth retrying, the rest are not).

import {
  ClientClosedError,
  EtcdError,
  EtcdLeaseInvalidError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCGenericError,
  GRPCResourceExhastedError,
  isRecoverableError,
} from "etcd3";
import { ErrorCode, VelaError, errorMessage } from "../../common/errors.ts";
import type { LeaseId } from "./meta-store.ts";
import { leaseNotFound, META_STORE } from "./validate.ts";

/** `leases`: the leases the request named, for the LeaseNotFound message (etcd does not say which). */
export function mapEtcdError(error: unknown, what: string, leases: readonly LeaseId[] = []): VelaError {
  if (error instanceof VelaError) return error;
  const message = errorMessage(error);
  const wrap = (code: ErrorCode, text: string): VelaError => new VelaError(code, `${META_STORE}: ${what}: ${text}`, { cause: error });
  if (error instanceof ClientClosedError) return new VelaError(ErrorCode.Closed, `${META_STORE} is closed`, { cause: error });
  if (error instanceof EtcdLeaseInvalidError || message.includes("requested lease not found")) return leaseNotFound(leases);
  if (message.includes("required revision has been compacted")) return wrap(ErrorCode.Compacted, message);
  if (message.includes("too many operations in txn request") || message.includes("request is too large")) {
    return wrap(ErrorCode.LimitExceeded, `etcd refused the request: ${message}`);
  }
  if (error instanceof GRPCResourceExhastedError) return wrap(ErrorCode.LimitExceeded, `etcd refused the request: ${message}`);
  if (message.includes("duplicate key given in txn request")) return wrap(ErrorCode.InvalidArgument, message);
  if (error instanceof GRPCDeadlineExceededError) return wrap(ErrorCode.Unavailable, `etcd did not answer in time (${message})`);
  if (error instanceof GRPCCancelledError || (error instanceof Error && isRecoverableError(error))) {
    return wrap(ErrorCode.Unavailable, `etcd is unreachable (${message})`);
  }
  if (error instanceof GRPCGenericError) return wrap(ErrorCode.Unavailable, `etcd call failed (${message})`);
  if (error instanceof EtcdError) return wrap(ErrorCode.Internal, `etcd answered with an unexpected error (${message})`);
  if (error instanceof Error && /BrokenCircuit|ECONNREFUSED|No connection established/i.test(`${error.name} ${message}`)) {
    return wrap(ErrorCode.Unavailable, `etcd is unreachable (${message})`);
  }
  return wrap(ErrorCode.Unavailable, message);
}
