// Runs s3rver in a process of its own, started by test/servers/s3.ts as
// `node --openssl-legacy-provider --import tsx s3rver-process.ts <directory>`. It prints {"port": N}
// once listening and exits when its parent closes stdin or sends SIGTERM.
//
// Why a process of its own: s3rver encrypts ListObjectsV2 continuation tokens with DES, which
// OpenSSL 3 only offers through its legacy provider; without it every truncated listing fails with
// HTTP 500. The flag must not be imposed on the test process itself.
//
// One correction, so that s3rver answers as S3 does (docs/objectstore.md): a ranged GET of an empty
// object makes s3rver announce one byte it never sends, and the client waits for its keep-alive to
// lapse; S3 and MinIO answer 416 InvalidRange, which this makes s3rver do too.
import { createRequire } from "node:module";
import S3rver from "s3rver";

interface StoredObject {
  size: number;
  range?: unknown;
  content: { destroy(): void } | null;
}
interface FilesystemStorePrototype {
  getObject(this: unknown, bucket: string, key: string, options?: unknown): Promise<StoredObject | null>;
}

const require = createRequire(import.meta.url);
const filesystemStore = require("s3rver/lib/stores/filesystem.js") as { prototype: FilesystemStorePrototype };
const getObject = filesystemStore.prototype.getObject;
filesystemStore.prototype.getObject = async function (bucket, key, options) {
  const object = await getObject.call(this, bucket, key, options);
  if (object !== null && object.range !== undefined && object.size === 0 && object.content !== null) {
    object.content.destroy();
    object.content = null; // s3rver answers 416 InvalidRange for a range without content
  }
  return object;
};

const directory = process.argv[2];
if (directory === undefined) {
  process.stderr.write("usage: s3rver-process.ts <directory>\n");
  process.exit(2);
}
const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory });
const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
process.on("SIGTERM", () => process.exit(0));
