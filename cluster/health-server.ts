// The monitoring port (DESIGN §11), apart from the public API: GET /healthz answers 200 while the node
// serves and 503 while it starts or stops, so an orchestrator can route and restart by it; GET /metrics
// serves Prometheus metrics once a provider is attached.

import { createServer, type Server } from "node:http";

export type HealthState = "starting" | "serving" | "stopping";

export type MetricsProvider = () => Promise<{ contentType: string; body: string }>;

export class HealthServer {
  state: HealthState = "starting";
  metrics: MetricsProvider | undefined;
  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(port: number, host = "0.0.0.0"): Promise<HealthServer> {
    const current: { health?: HealthServer } = {};
    const server = createServer((request, response) => {
      const path = (request.url ?? "/").split("?")[0];
      if (request.method === "GET" && path === "/healthz") {
        const state = current.health?.state ?? "starting";
        response.writeHead(state === "serving" ? 200 : 503, { "content-type": "application/json" });
        response.end(JSON.stringify({ status: state }));
        return;
      }
      if (request.method === "GET" && path === "/metrics" && current.health?.metrics !== undefined) {
        current.health.metrics().then(
          (rendered) => {
            response.writeHead(200, { "content-type": rendered.contentType });
            response.end(rendered.body);
          },
          (error: unknown) => {
            response.writeHead(500, { "content-type": "text/plain" });
            response.end(`metrics failed: ${String(error)}`);
          },
        );
        return;
      }
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: `no route for ${request.method ?? "?"} ${path ?? ""}` }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    current.health = new HealthServer(server, typeof address === "object" && address !== null ? address.port : port);
    return current.health;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
