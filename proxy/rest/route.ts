// What a REST v2 endpoint is: a function from a parsed request to the `data` of a success envelope.
// Endpoints call only the VelaService facade; HTTP, bodies, timeouts and envelopes are the handler's.

import type { CallContext, VelaService } from "../api/vela-service.ts";
import type { RequestBody } from "./request-body.ts";

export interface RouteContext {
  service: VelaService;
  body: RequestBody;
  /** The database the request names (body `dbName`, else the `DB-Name` header); no client identity. */
  call: CallContext;
  /** `Accept-Type-Allow-Int64: true`: Int64 values as JSON numbers instead of decimal strings. */
  allowInt64: boolean;
}

export interface RouteResult {
  data: unknown;
  /** Envelope members besides code and data (Milvus's `cost`, `topks`). */
  extra?: Record<string, unknown>;
}

export type RouteHandler = (context: RouteContext) => Promise<RouteResult> | RouteResult;

/** Endpoints by path below /v2/vectordb/, e.g. "collections/create". */
export type RouteTable = Record<string, RouteHandler>;

export const EMPTY: RouteResult = { data: {} };
