// Reads a request body up to a byte limit without ever holding more than the limit: a declared
// Content-Length over the limit is refused before any byte is read, and a body that grows past it is
// refused at the chunk that crosses it. The rest of an oversized body is read and discarded, so the
// connection stays usable and the client receives the answer.

import type { IncomingMessage } from "node:http";

export type BodyResult =
  | { kind: "complete"; text: string }
  | { kind: "tooLarge"; bytes: number }
  | { kind: "aborted" };

export function readBody(request: IncomingMessage, bytesMax: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const declared = Number(request.headers["content-length"]);
    if (Number.isFinite(declared) && declared > bytesMax) {
      request.resume();
      finish({ kind: "tooLarge", bytes: declared });
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    request.on("data", (chunk: Buffer) => {
      if (settled) return; // discarding the rest of an oversized body
      bytes += chunk.length;
      if (bytes > bytesMax) {
        chunks.length = 0;
        finish({ kind: "tooLarge", bytes });
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => finish({ kind: "complete", text: Buffer.concat(chunks, bytes).toString("utf8") }));
    request.on("error", () => finish({ kind: "aborted" }));
    request.on("close", () => finish({ kind: "aborted" }));
  });
}
