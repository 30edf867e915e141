// The Milvus RESTful API v2 (DESIGN §11) as an HTTP/1.1 handler for the public port:
// `POST /v2/vectordb/<resource>/<action>` with a JSON body, answered `{code, data, message}`.
// Like Milvus, every answer to a recognised endpoint is HTTP 200 — code 0 on success, a Milvus code on
// failure — except a request that outlives its timeout (HTTP 408, code 10001). A path that is no
// endpoint is HTTP 404; another method than POST on an endpoint is HTTP 405. Milvus endpoints Vela does
// not implement answer "not supported" (code 10), as the gRPC service does for such RPCs.
//
// Headers: `DB-Name` names the database when the body has no dbName; `Accept-Type-Allow-Int64: true`
// returns Int64 values as JSON numbers instead of strings; `Request-Timeout` (seconds) bounds the
// request; `Authorization` is accepted and ignored (Vela has no authentication yet). REST requests
// have no connection identity, so nothing is remembered between them.
//
// Invariant: a request is answered exactly once, and a refused request (bad body, missing field,
// oversized body) never reaches the facade, so it changes nothing.

import type { IncomingMessage, ServerResponse } from "node:http";
import { systemClock, type Clock } from "../../common/clock.ts";
import { resolveLimits, type ApiLimits } from "../../common/config.ts";
import { invalidArgument, limitExceeded } from "../../common/errors.ts";
import { unsupported } from "../api/status.ts";
import type { CallContext, VelaService } from "../api/vela-service.ts";
import { aliasRoutes } from "./alias-routes.ts";
import { readBody } from "./body-reader.ts";
import { collectionRoutes } from "./collection-routes.ts";
import { databaseRoutes } from "./database-routes.ts";
import { entityRoutes } from "./entity-routes.ts";
import { indexRoutes } from "./index-routes.ts";
import { parseJsonBody } from "./json-parse.ts";
import { serializeJson } from "./json-serialize.ts";
import { partitionRoutes } from "./partition-routes.ts";
import { RequestBody } from "./request-body.ts";
import { TIMEOUT_ENVELOPE, badFormat, errorEnvelope } from "./rest-errors.ts";
import type { RouteContext, RouteHandler, RouteResult } from "./route.ts";

export type RestLimits = Pick<ApiLimits, "restBodyBytesMax" | "restRequestTimeoutMs" | "restRequestTimeoutMsMax">;

export interface RestHandlerOptions {
  /** Overrides of the facade's REST limits (common/config.ts apiDefaults). */
  limits?: Partial<RestLimits>;
  /** Times Request-Timeout; the system clock by default. */
  clock?: Clock;
}

export type HttpHandler = (request: IncomingMessage, response: ServerResponse) => void;

const PATH_PREFIX = "/v2/vectordb/";

const ROUTES = new Map(Object.entries<RouteHandler>({ ...collectionRoutes, ...entityRoutes, ...partitionRoutes, ...aliasRoutes, ...indexRoutes, ...databaseRoutes }));

/** Milvus 2.5 REST v2 endpoints Vela does not implement: answered "not supported", not 404. */
const NOT_IMPLEMENTED = new Set([
  "collections/refresh_load", "collections/alter_properties", "collections/drop_properties", "collections/compact",
  "collections/get_compaction_state", "collections/fields/alter_properties",
  "databases/alter", "databases/drop_properties",
  "entities/advanced_search", "entities/hybrid_search",
  "indexes/alter_properties", "indexes/drop_properties",
  "users/list", "users/describe", "users/create", "users/update_password", "users/drop", "users/grant_role", "users/revoke_role",
  "roles/list", "roles/describe", "roles/create", "roles/drop", "roles/grant_privilege", "roles/revoke_privilege",
  "roles/grant_privilege_v2", "roles/revoke_privilege_v2",
  "privilege_groups/create", "privilege_groups/drop", "privilege_groups/list", "privilege_groups/add_privileges_to_group",
  "privilege_groups/remove_privileges_from_group",
  "jobs/import/list", "jobs/import/create", "jobs/import/get_progress", "jobs/import/describe",
  "resource_groups/create", "resource_groups/drop", "resource_groups/alter", "resource_groups/describe", "resource_groups/list",
  "resource_groups/transfer_replica",
]);

export function createRestHandler(service: VelaService, options: RestHandlerOptions = {}): HttpHandler {
  const limits = resolveLimits<RestLimits>({
    restBodyBytesMax: service.limits.restBodyBytesMax,
    restRequestTimeoutMs: service.limits.restRequestTimeoutMs,
    restRequestTimeoutMsMax: service.limits.restRequestTimeoutMsMax,
  }, options.limits, "rest");
  const clock = options.clock ?? systemClock;
  return (request, response) => {
    void serve(service, limits, clock, request, response).catch((error: unknown) => {
      send(response, 200, { ...errorEnvelope(error) });
    });
  };
}

async function serve(service: VelaService, limits: RestLimits, clock: Clock, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? "/").split("?")[0] ?? "/";
  const endpoint = path.startsWith(PATH_PREFIX) ? path.slice(PATH_PREFIX.length) : undefined;
  const route = endpoint === undefined ? undefined : ROUTES.get(endpoint);
  const known = route !== undefined || (endpoint !== undefined && NOT_IMPLEMENTED.has(endpoint));
  if (!known) {
    request.resume();
    send(response, 404, { code: 404, message: `no REST endpoint at ${path}; Vela serves POST ${PATH_PREFIX}<resource>/<action> (see docs/rest-api.md)` });
    return;
  }
  if (request.method !== "POST") {
    request.resume();
    send(response, 405, { code: 405, message: `${path} accepts POST only, not ${request.method ?? "this method"}` }, { allow: "POST" });
    return;
  }
  if (route === undefined) {
    request.resume();
    send(response, 200, { ...errorEnvelope(unsupported(`the REST endpoint ${path}`)) });
    return;
  }

  const body = await readBody(request, limits.restBodyBytesMax);
  if (body.kind === "aborted") return;
  if (body.kind === "tooLarge") {
    send(response, 200, { ...errorEnvelope(limitExceeded(`request body of ${body.bytes} bytes or more exceeds the limit of ${limits.restBodyBytesMax} bytes (restBodyBytesMax)`)) });
    return;
  }

  let timeoutMs: number;
  let context: RouteContext;
  try {
    timeoutMs = requestTimeoutMs(request, limits);
    if (body.text.trim() === "") throw badFormat("the request body is empty; send a JSON object ({} when the endpoint needs no fields)");
    const parsed = RequestBody.of(parseJsonBody(body.text));
    context = { service, body: parsed, call: callContextOf(parsed, request), allowInt64: parseBool(header(request, "accept-type-allow-int64")) };
  } catch (error) {
    send(response, 200, { ...errorEnvelope(error) });
    return;
  }

  let cancelTimer = (): void => undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    cancelTimer = clock.setTimer(timeoutMs, () => resolve("timeout"));
  });
  const work = Promise.resolve().then(() => route(context));
  try {
    const outcome: RouteResult | "timeout" = await Promise.race([work, timedOut]);
    if (outcome === "timeout") {
      void work.catch(() => undefined); // the operation may still finish; its answer is no longer wanted
      send(response, 408, { ...TIMEOUT_ENVELOPE });
      return;
    }
    send(response, 200, { code: 0, ...outcome.extra, data: outcome.data });
  } catch (error) {
    send(response, 200, { ...errorEnvelope(error) });
  } finally {
    cancelTimer();
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The body's dbName, else the DB-Name header; the facade uses "default" when neither is given. */
function callContextOf(body: RequestBody, request: IncomingMessage): CallContext {
  const dbName = body.optionalString("dbName") ?? header(request, "db-name");
  return dbName === undefined || dbName === "" ? {} : { dbName };
}

/** Request-Timeout in whole seconds (Milvus), bounded by restRequestTimeoutMsMax. */
function requestTimeoutMs(request: IncomingMessage, limits: RestLimits): number {
  const given = header(request, "request-timeout");
  if (given === undefined || given.trim() === "") return limits.restRequestTimeoutMs;
  const seconds = /^\d+$/.test(given.trim()) ? Number(given.trim()) : Number.NaN;
  const timeoutMs = seconds * 1000;
  if (!(seconds >= 1) || timeoutMs > limits.restRequestTimeoutMsMax) {
    throw invalidArgument(`Request-Timeout must be a whole number of seconds from 1 to ${Math.floor(limits.restRequestTimeoutMsMax / 1000)} (restRequestTimeoutMsMax), got ${JSON.stringify(given)}`);
  }
  return timeoutMs;
}

/** Go's strconv.ParseBool, false for anything it does not accept (as Milvus reads the header). */
function parseBool(value: string | undefined): boolean {
  return value !== undefined && ["1", "t", "T", "TRUE", "true", "True"].includes(value.trim());
}

function send(response: ServerResponse, httpStatus: number, envelope: Record<string, unknown>, headers: Record<string, string> = {}): void {
  if (response.headersSent || response.writableEnded || response.destroyed) return;
  const text = serializeJson(envelope);
  response.writeHead(httpStatus, { "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(text)), ...headers });
  response.end(text);
}
