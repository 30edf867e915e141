// The health endpoint on its own HTTP port (DESIGN §11): GET /healthz answers 200 while the node
// serves and 503 while it starts or stops, so an orchestrator can route and restart by it.

import { createServer, type Server } from "node:http";

export type HealthState = "starting" | "serving" | "stopping";

export class HealthServer {
  state: HealthState = "starting";
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
