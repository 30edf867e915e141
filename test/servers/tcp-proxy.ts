// A loopback TCP proxy for fault tests: forwards connections to a server and can cut a connection
// after a given number of request or response bytes (a client dying mid-upload, a network failure
// mid-download), or swallow connections without ever answering (a server that hangs). It also records
// the HTTP request lines it forwards, so a test can check which requests a client sent.
import { connect, createServer, type Socket } from "node:net";

export interface TcpProxyOptions {
  targetPort: number;
  /**
   * Cut a connection once this many bytes have gone to the server on it — counted from the start of
   * the first request whose request line matches cutRequestsMatching, when that is given. Undefined:
   * never cut requests.
   */
  cutRequestAfterBytes?: number;
  /** Only requests whose "METHOD /path?query" matches are cut (see cutRequestAfterBytes). */
  cutRequestsMatching?: RegExp;
  /** Cut a connection once this many bytes have come back from the server on it; undefined: never. */
  cutResponseAfterBytes?: number;
  /** Cut at most this many connections; later ones pass whole. Undefined: cut every one. */
  cutConnectionsMax?: number;
  /** Accept connections and never forward nor answer anything. */
  swallow?: boolean;
}

export interface TcpProxy {
  port: number;
  endpoint: string;
  /** "METHOD /path?query" of every HTTP request seen going to the server, in order. */
  readonly requestLines: string[];
  /** Connections cut so far. */
  cutCount(): number;
  stop(): Promise<void>;
}

const requestLinePattern = /(?:^|\r\n)(GET|PUT|POST|DELETE|HEAD) (\S+) HTTP\/1\.1\r\n/g;

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const requestLines: string[] = [];
  let cuts = 0;
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const mayCut = (): boolean => options.cutConnectionsMax === undefined || cuts < options.cutConnectionsMax;

  /**
   * Forwards from one socket to the other, cutting both once `limit` bytes have been counted. Without
   * `inspect`, counting starts at once; with it, `inspect` sees every chunk and says where in it
   * counting may start (undefined: not in this chunk).
   */
  const pipe = (
    from: Socket,
    to: Socket,
    limit: number | undefined,
    inspect?: (chunk: Buffer) => number | undefined,
  ): void => {
    let counted: number | undefined = inspect === undefined ? 0 : undefined;
    from.on("data", (chunk: Buffer) => {
      let countFrom = 0;
      const offset = inspect?.(chunk);
      if (counted === undefined && offset !== undefined) {
        counted = 0;
        countFrom = offset;
      }
      const fresh = chunk.length - countFrom;
      if (counted !== undefined && limit !== undefined && counted + fresh >= limit && mayCut()) {
        cuts++;
        to.end(chunk.subarray(0, countFrom + (limit - counted)));
        counted = limit;
        from.destroy();
        to.destroy();
        return;
      }
      if (counted !== undefined) counted += fresh;
      to.write(chunk);
    });
    from.on("end", () => to.end());
    from.on("close", () => to.destroy());
  };

  const server = createServer((client) => {
    track(client);
    if (options.swallow === true) {
      client.resume(); // read and drop; never answer
      return;
    }
    const upstream = connect(options.targetPort, "127.0.0.1");
    track(upstream);
    const matching = options.cutRequestsMatching;
    pipe(client, upstream, options.cutRequestAfterBytes, (chunk) => {
      let start: number | undefined = matching === undefined ? 0 : undefined;
      for (const match of chunk.toString("latin1").matchAll(requestLinePattern)) {
        const line = `${match[1]} ${match[2]}`;
        requestLines.push(line);
        if (start === undefined && matching?.test(line) === true) start = match.index + (match[0].startsWith("\r\n") ? 2 : 0);
      }
      return start;
    });
    pipe(upstream, client, options.cutResponseAfterBytes);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    requestLines,
    cutCount: () => cuts,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
