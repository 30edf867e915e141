// The public port (DESIGN §11): one TCP listener serving the Milvus gRPC API (HTTP/2) and the REST v2
// API (HTTP/1.1) side by side, as Milvus does on 19530. Each new connection is routed by its first
// bytes: the HTTP/2 client preface ("PRI * HTTP/2.0") goes to grpc-js through its connection
// injector, anything else to the HTTP/1.1 server. No bytes are copied through a second hop.

import * as grpc from "@grpc/grpc-js";
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { MilvusGrpcService } from "../grpc/milvus-grpc-service.ts";

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export interface PublicServerOptions {
  port: number;
  host?: string;
  grpcService: MilvusGrpcService;
  /** Serves HTTP/1.1 requests (REST). */
  httpHandler: (request: IncomingMessage, response: ServerResponse) => void;
  grpcMessageBytesMax: number;
  /** How long calls in flight may take to finish when the server closes (apiDefaults.shutdownGraceMs). */
  shutdownGraceMs: number;
}

export class PublicServer {
  private constructor(
    private readonly netServer: NetServer,
    private readonly grpcServer: grpc.Server,
    private readonly injector: ReturnType<grpc.Server["createConnectionInjector"]>,
    private readonly httpServer: HttpServer,
    readonly port: number,
    private readonly shutdownGraceMs: number,
    /** Connections whose first bytes have not arrived yet (neither server has them). */
    private readonly unrouted: Set<Socket>,
  ) {}

  static async start(options: PublicServerOptions): Promise<PublicServer> {
    const grpcServer = new grpc.Server({
      "grpc.max_receive_message_length": options.grpcMessageBytesMax,
      "grpc.max_send_message_length": options.grpcMessageBytesMax,
    });
    grpcServer.addService(options.grpcService.definition, options.grpcService.implementation);
    const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const httpServer = createHttpServer(options.httpHandler);
    httpServer.keepAliveTimeout = 30_000;
    const unrouted = new Set<Socket>();
    const netServer = createNetServer((socket) => route(socket, injector, httpServer, unrouted));
    await new Promise<void>((resolve, reject) => {
      netServer.once("error", reject);
      netServer.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
    });
    const address = netServer.address();
    const port = typeof address === "object" && address !== null ? address.port : options.port;
    return new PublicServer(netServer, grpcServer, injector, httpServer, port, options.shutdownGraceMs, unrouted);
  }

  /**
   * Stops accepting connections, lets gRPC calls in flight finish (drain), and closes HTTP keep-alive
   * connections at once: an idle REST client must not hold shutdown open.
   */
  async close(): Promise<void> {
    const listenerClosed = new Promise<void>((resolve) => this.netServer.close(() => resolve()));
    const httpClosed = new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    this.httpServer.closeIdleConnections();
    // A connection that has sent nothing yet (a client reconnecting just now) carries no call, and
    // neither server knows it: unless it is cut here, the listener's close would wait for it forever.
    for (const socket of this.unrouted) socket.destroy();
    this.injector.drain(this.shutdownGraceMs);
    // Calls in flight get the grace period to finish; then whatever is left is cut.
    let cancelGrace: () => void = () => undefined;
    const graceOver = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.shutdownGraceMs);
      cancelGrace = () => clearTimeout(timer);
    });
    await Promise.race([new Promise<void>((resolve) => this.grpcServer.tryShutdown(() => resolve())), graceOver]);
    cancelGrace();
    this.grpcServer.forceShutdown();
    this.injector.destroy();
    this.httpServer.closeAllConnections();
    await httpClosed;
    await listenerClosed;
  }
}

function route(socket: Socket, injector: ReturnType<grpc.Server["createConnectionInjector"]>, httpServer: HttpServer, unrouted: Set<Socket>): void {
  let seen = Buffer.alloc(0);
  unrouted.add(socket);
  socket.once("close", () => unrouted.delete(socket));
  const onData = (chunk: Buffer): void => {
    seen = Buffer.concat([seen, chunk]);
    const compared = Math.min(seen.length, HTTP2_PREFACE.length);
    const isHttp2 = seen.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (isHttp2 && seen.length < HTTP2_PREFACE.length) return; // need more bytes to decide
    socket.off("data", onData);
    unrouted.delete(socket);
    socket.pause();
    socket.unshift(seen);
    // Both servers take bytes already read from the socket's buffer when they adopt it; the HTTP/2
    // session then reads the socket's handle itself, so the socket must not be resumed in JavaScript.
    if (isHttp2) injector.injectConnection(socket);
    else {
      httpServer.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
}
