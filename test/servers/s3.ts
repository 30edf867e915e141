// Starts the S3 protocol test server (s3rver, DESIGN §2) on a free loopback port, in a process of its
// own (see s3rver-process.ts for why), with its data in a scratch directory. A test that needs S3 fails
// when the server cannot start — it never skips.
//
// What s3rver does differently from S3 and MinIO (docs/objectstore.md): it writes a PutObject body
// straight into place, so a request cut midway leaves a truncated object; it refuses
// AbortMultipartUpload (MethodNotAllowed); it ignores conditional puts; its listing order differs from
// S3's byte order when a key segment continues with a character below '/' (such as '-' or '.'); its
// continuation tokens need OpenSSL's legacy provider and region us-east-1.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { scratchDir } from "./ports.ts";

export interface S3TestServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  port: number;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Where s3rver keeps its buckets. */
  directory: string;
  stop(): Promise<void>;
}

const repoRoot = join(import.meta.dirname, "..", "..");

export async function startS3Server(): Promise<S3TestServer> {
  const directory = scratchDir("s3rver");
  const child = spawn(
    process.execPath,
    ["--openssl-legacy-provider", "--import", "tsx", join(import.meta.dirname, "s3rver-process.ts"), directory],
    { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const fail = (why: string): void => {
      lines.close();
      reject(new VelaError(ErrorCode.Unavailable, `cannot start s3rver (npm dev dependency) in ${directory}: ${why}${stderr === "" ? "" : `\n${stderr}`}`));
    };
    child.once("error", (error) => fail(error.message));
    child.once("exit", (code, signal) => fail(`it exited (code ${String(code)}, signal ${String(signal)}) before listening`));
    lines.once("line", (line) => {
      const port = (JSON.parse(line) as { port?: unknown }).port;
      if (typeof port === "number" && port > 0) resolve(port);
      else fail(`it printed ${JSON.stringify(line)} instead of its port`);
    });
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    region: "us-east-1",
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    directory,
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
