// HTTP/1.1 on the public port: the REST v2 API, with every request counted and timed for metrics
// under its path (e.g. "REST /v2/vectordb/entities/search").

import type { IncomingMessage, ServerResponse } from "node:http";
import type { VelaService } from "../proxy/api/vela-service.ts";
import { createRestHandler } from "../proxy/rest/rest-handler.ts";

export type CallObserver = (method: string, ok: boolean, durationMs: number) => void;

export function createPublicHttpHandler(service: VelaService, observe: CallObserver): (request: IncomingMessage, response: ServerResponse) => void {
  const rest = createRestHandler(service);
  return (request, response) => {
    const started = performance.now();
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    response.once("finish", () => observe(`REST ${path}`, response.statusCode === 200, performance.now() - started));
    rest(request, response);
  };
}
