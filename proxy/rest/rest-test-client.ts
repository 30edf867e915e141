// Test support for the REST API: a standalone node serving REST on a loopback port, and a client that
// posts JSON and returns the envelope (plus the raw text, where exact 64-bit numbers are checked).

import { Standalone } from "../../cluster/standalone.ts";
import { scratchDir } from "../../test/servers/ports.ts";
import { createRestHandler, type RestHandlerOptions } from "./rest-handler.ts";

export interface Envelope {
  code: number;
  message?: string;
  data?: any;
  [member: string]: unknown;
}

export interface RestReply {
  status: number;
  envelope: Envelope;
  text: string;
}

export class RestTestClient {
  private constructor(readonly node: Standalone, readonly baseUrl: string) {}

  static async start(label: string, options: RestHandlerOptions = {}): Promise<RestTestClient> {
    const node = await Standalone.start({ dataDir: scratchDir(label), fsync: false, computePoolLimits: { workerCount: 1 } });
    try {
      const server = await node.listen({ port: 0, host: "127.0.0.1", httpHandler: createRestHandler(node.service, options) });
      return new RestTestClient(node, `http://127.0.0.1:${server.port}`);
    } catch (error) {
      await node.close();
      throw error;
    }
  }

  /** POSTs `body` (an object, or raw text) to /v2/vectordb/<endpoint>. */
  async post(endpoint: string, body: unknown, headers: Record<string, string> = {}): Promise<RestReply> {
    return this.request("POST", `/v2/vectordb/${endpoint}`, typeof body === "string" ? body : JSON.stringify(body), headers);
  }

  /** POSTs and insists on success; returns `data`. */
  async ok(endpoint: string, body: unknown, headers: Record<string, string> = {}): Promise<any> {
    const reply = await this.post(endpoint, body, headers);
    if (reply.status !== 200 || reply.envelope.code !== 0) throw new Error(`${endpoint} failed: HTTP ${reply.status} ${reply.text}`);
    return reply.envelope.data;
  }

  /**
   * One request on its own connection (`connection: close`): the public server's close waits for open
   * connections, and a kept-alive fetch connection would hold a test's teardown for its idle timeout.
   */
  async request(method: string, path: string, body: string | undefined, headers: Record<string, string> = {}): Promise<RestReply> {
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers: { "content-type": "application/json", connection: "close", ...headers }, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    return { status: response.status, envelope: JSON.parse(text) as Envelope, text };
  }

  /** POSTs a body sent in chunks, without Content-Length (Transfer-Encoding: chunked). */
  async postChunked(endpoint: string, chunks: readonly string[]): Promise<RestReply> {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });
    const init = { method: "POST", headers: { "content-type": "application/json", connection: "close" }, body: stream, duplex: "half" };
    const response = await fetch(`${this.baseUrl}/v2/vectordb/${endpoint}`, init as RequestInit);
    const text = await response.text();
    return { status: response.status, envelope: JSON.parse(text) as Envelope, text };
  }

  close(): Promise<void> {
    return this.node.close();
  }
}
