// HTTP/1.1 on the public port: the REST v2 API when it is present, a JSON 404 for anything else.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { VelaService } from "../proxy/api/vela-service.ts";

export type CallObserver = (method: string, ok: boolean, durationMs: number) => void;

export function createPublicHttpHandler(_service: VelaService, _observe: CallObserver): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ code: 404, message: `no route for ${request.method ?? "?"} ${request.url ?? ""}` }));
  };
}
