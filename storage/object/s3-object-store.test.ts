// S3ObjectStore against s3rver: the ObjectStore contract, plus connecting (bucket creation, root
// prefixes, unreachable or hanging servers, refused credentials) and faults on the wire: an upload
// cut midway through a TCP proxy. s3rver's own gaps (docs/objectstore.md) shape the fault tests: it
// stores a cut single PutObject's partial body, so the single-request test checks that the store's
// retry replaces it whole; it refuses to abort multipart uploads, so the multipart test checks that
// the store asked for the abort and says it failed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ObjectStoreLimits } from "../../common/config.ts";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { objectStoreContract } from "../../test/contract/object-store.contract.ts";
import { freePort } from "../../test/servers/ports.ts";
import { startS3Server, type S3TestServer } from "../../test/servers/s3.ts";
import { startTcpProxy, type TcpProxy } from "../../test/servers/tcp-proxy.ts";
import { listAll } from "./object-store.ts";
import { S3ObjectStore, type S3ObjectStoreOptions } from "./s3-object-store.ts";

let server: S3TestServer | undefined;
let locations = 0;
const contractBucket = "vela-contract";

beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => {
  await server?.stop();
});

function s3(): S3TestServer {
  if (server === undefined) throw new Error("the S3 test server did not start");
  return server;
}

function options(overrides: Partial<S3ObjectStoreOptions> = {}): S3ObjectStoreOptions {
  const { endpoint, region, accessKeyId, secretAccessKey } = s3();
  return { endpoint, region, accessKeyId, secretAccessKey, bucket: contractBucket, ...overrides };
}

// Each location is its own root prefix in one bucket: isolation between them is part of what passes.
objectStoreContract("S3ObjectStore (s3rver)", async () => {
  const rootPrefix = `contract-${++locations}`;
  return {
    open: (limits?: Partial<ObjectStoreLimits>) =>
      S3ObjectStore.connect(options(limits === undefined ? { rootPrefix } : { rootPrefix, limits })),
  };
});

async function keys(store: S3ObjectStore, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const info of listAll(store, prefix)) out.push(info.key);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<VelaError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(VelaError);
  return error as VelaError;
}

async function expectVelaError(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<VelaError> {
  const error = await rejection(promise);
  expect({ code: error.code, message: error.message }).toEqual({ code, message: expect.stringMatching(message) });
  return error;
}

/** A body whose bytes never spell an HTTP request line, so the proxy's request log stays exact. */
function filler(length: number): Uint8Array {
  return new Uint8Array(length).fill(0x61);
}

const mebibyte = 1024 * 1024;

/** "PUT key part 2" from "PUT /bucket/shapes/key?partNumber=2&uploadId=…": what an S3 request did. */
function requestShape(line: string): string {
  const [method = "", target = ""] = line.split(" ");
  const url = new URL(target, "http://host");
  const key = url.pathname.split("/").slice(3).join("/");
  const query = url.searchParams;
  const kind = query.has("uploads")
    ? "start"
    : query.has("partNumber")
      ? `part ${query.get("partNumber")}`
      : query.has("uploadId")
        ? method === "DELETE"
          ? "abort"
          : "complete"
        : "whole";
  return `${method} ${key} ${kind}`;
}

describe("S3ObjectStore", () => {
  const stores: S3ObjectStore[] = [];
  const proxies: TcpProxy[] = [];
  const connect = async (overrides: Partial<S3ObjectStoreOptions> = {}): Promise<S3ObjectStore> => {
    const store = await S3ObjectStore.connect(options(overrides));
    stores.push(store);
    return store;
  };
  const proxy = async (settings: Omit<Parameters<typeof startTcpProxy>[0], "targetPort">): Promise<TcpProxy> => {
    const started = await startTcpProxy({ targetPort: s3().port, ...settings });
    proxies.push(started);
    return started;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await Promise.all(proxies.splice(0).map((started) => started.stop()));
  });

  describe("connect", () => {
    it("creates a missing bucket, and connects again to an existing one", async () => {
      const first = await connect({ bucket: "vela-created" });
      await first.put("k", Uint8Array.from([1]));
      const second = await connect({ bucket: "vela-created", createBucket: false });
      expect(await second.get("k")).toEqual(Uint8Array.from([1]));
    });

    it("fails clearly when the bucket is missing and may not be created", async () => {
      await expectVelaError(
        S3ObjectStore.connect(options({ bucket: "vela-never-created", createBucket: false })),
        ErrorCode.Unavailable,
        /open bucket "vela-never-created": the bucket does not exist at http:\/\/127\.0\.0\.1:\d+ \(connect with createBucket: true/,
      );
      // … and nothing was created on the way.
      const probe = await connect({ bucket: "vela-never-created" }); // creates it now
      expect(await keys(probe)).toEqual([]);
    });

    it("keeps root prefixes apart: deleting everything in one leaves the other", async () => {
      const one = await connect({ bucket: "vela-roots", rootPrefix: "one" });
      const two = await connect({ bucket: "vela-roots", rootPrefix: "two/nested" });
      const top = await connect({ bucket: "vela-roots" });
      await one.put("k", Uint8Array.from([1]));
      await two.put("k", Uint8Array.from([2]));
      expect(await keys(top)).toEqual(["one/k", "two/nested/k"]);
      expect(await one.deletePrefix("")).toBe(1);
      expect(await keys(one)).toEqual([]);
      expect(await two.get("k")).toEqual(Uint8Array.from([2]));
      expect(await keys(top)).toEqual(["two/nested/k"]);
    });

    it("refuses bad options before any request", async () => {
      await expectVelaError(S3ObjectStore.connect(options({ bucket: "" })), ErrorCode.InvalidArgument, /bucket must be a non-empty string/);
      await expectVelaError(
        S3ObjectStore.connect(options({ rootPrefix: "/abs" })),
        ErrorCode.InvalidArgument,
        /rootPrefix must be empty or a valid key: .*must not start with '\/'/,
      );
      await expectVelaError(
        S3ObjectStore.connect(options({ secretAccessKey: undefined })),
        ErrorCode.InvalidArgument,
        /give both accessKeyId and secretAccessKey, or neither/,
      );
      await expectVelaError(
        S3ObjectStore.connect(options({ limits: { multipartPartBytes: mebibyte } })),
        ErrorCode.InvalidArgument,
        /multipartPartBytes \(1048576\) is below multipartPartBytesMin \(5242880\)/,
      );
      await expectVelaError(
        S3ObjectStore.connect(options({ limits: { multipartPartBytes: 5 * mebibyte, multipartPartsMax: 10 } })),
        ErrorCode.InvalidArgument,
        /would need more than multipartPartsMax \(10\) parts/,
      );
    });

    it("fails with Unavailable when nothing listens at the endpoint", async () => {
      const port = await freePort();
      await expectVelaError(
        S3ObjectStore.connect(options({ endpoint: `http://127.0.0.1:${port}`, limits: { requestAttemptsMax: 1 } })),
        ErrorCode.Unavailable,
        new RegExp(`cannot reach S3 bucket "${contractBucket}" at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
      );
    });

    it("fails with Unavailable when the server never answers, after requestTimeoutMs", async () => {
      const hanging = await proxy({ swallow: true });
      await expectVelaError(
        S3ObjectStore.connect(options({ endpoint: hanging.endpoint, limits: { requestTimeoutMs: 300 } })),
        ErrorCode.Unavailable,
        /gave no answer within requestTimeoutMs \(300 ms\)/,
      );
    });

    it("fails with Unavailable and says so when the server refuses the credentials", async () => {
      await expectVelaError(
        S3ObjectStore.connect(options({ accessKeyId: "WRONG", secretAccessKey: "WRONG" })),
        ErrorCode.Unavailable,
        /refused the credentials or permissions: .*\(HTTP 403\)/,
      );
    });
  });

  describe("request shapes", () => {
    it("puts below multipartThresholdBytes in one request and larger objects in parts", async () => {
      const watching = await proxy({});
      const store = await connect({
        endpoint: watching.endpoint,
        rootPrefix: "shapes",
        limits: { multipartThresholdBytes: 6 * mebibyte, multipartPartBytes: 5 * mebibyte },
      });
      await store.put("small", filler(6 * mebibyte - 1));
      await store.put("large", filler(6 * mebibyte));
      const shapes = watching.requestLines.filter((line) => line.includes(" /vela-contract/shapes/")).map(requestShape);
      expect(shapes.slice(0, 2)).toEqual(["PUT small whole", "POST large start"]);
      expect(shapes.slice(2, 4).sort()).toEqual(["PUT large part 1", "PUT large part 2"]);
      expect(shapes.slice(4)).toEqual(["POST large complete"]);
    });
  });

  describe("faults on the wire", () => {
    it("a multipart upload whose last part is cut midway shows no object, and the store aborts the upload", async () => {
      const store = await connect({ rootPrefix: "fault-multipart" });
      // Parts go one at a time without retries: parts 1 and 2 arrive whole, and the connection dies
      // 512 KiB into part 3.
      const cutting = await proxy({ cutRequestAfterBytes: 512 * 1024, cutRequestsMatching: /partNumber=3&/ });
      const cut = await connect({
        endpoint: cutting.endpoint,
        rootPrefix: "fault-multipart",
        limits: {
          multipartThresholdBytes: 6 * mebibyte,
          multipartPartBytes: 5 * mebibyte,
          multipartConcurrentPartsMax: 1,
          requestAttemptsMax: 1,
        },
      });
      const error = await expectVelaError(cut.put("seg/big", filler(11 * mebibyte)), ErrorCode.Unavailable, /put "seg\/big" \(multipart\) part 3 of 3/);
      expect(cutting.cutCount()).toBe(1);
      // Parts 1 and 2 were stored, part 3 was cut, no CompleteMultipartUpload followed, an abort did.
      expect(cutting.requestLines.filter((line) => line.includes("/fault-multipart/")).map(requestShape)).toEqual([
        "POST seg/big start",
        "PUT seg/big part 1",
        "PUT seg/big part 2",
        "PUT seg/big part 3",
        "DELETE seg/big abort",
      ]);
      // s3rver refuses the abort (MethodNotAllowed); the error says the invisible parts remain.
      expect(error.message).toMatch(/the upload's parts could not be discarded either \(.*MethodNotAllowed/);
      expect(await store.head("seg/big")).toBeUndefined();
      await expectVelaError(store.get("seg/big"), ErrorCode.NotFound, /does not exist/);
      expect(await keys(store)).toEqual([]);
    });

    it("a multipart upload cut on every try of a part fails with Unavailable", async () => {
      const cutting = await proxy({ cutRequestAfterBytes: mebibyte });
      const cut = await connect({
        endpoint: cutting.endpoint,
        rootPrefix: "fault-multipart-retries",
        limits: { multipartThresholdBytes: 6 * mebibyte, multipartPartBytes: 5 * mebibyte },
      });
      await expectVelaError(cut.put("seg/big", filler(11 * mebibyte)), ErrorCode.Unavailable, /put "seg\/big" \(multipart\) part \d of 3/);
      expect(cutting.cutCount()).toBeGreaterThanOrEqual(3); // every one of requestAttemptsMax tries
      expect(await cut.head("seg/big")).toBeUndefined();
    });

    it("a failed multipart overwrite leaves the previous object whole", async () => {
      const store = await connect({ rootPrefix: "fault-overwrite" });
      await store.put("seg/big", Uint8Array.from([1, 2, 3]));
      const cutting = await proxy({ cutRequestAfterBytes: mebibyte });
      const cut = await connect({
        endpoint: cutting.endpoint,
        rootPrefix: "fault-overwrite",
        limits: { multipartThresholdBytes: 6 * mebibyte, multipartPartBytes: 5 * mebibyte },
      });
      await expectVelaError(cut.put("seg/big", filler(11 * mebibyte)), ErrorCode.Unavailable, /multipart/);
      expect(await store.get("seg/big")).toEqual(Uint8Array.from([1, 2, 3]));
      expect(await keys(store)).toEqual(["seg/big"]);
    });

    it("a single-request put cut midway is retried, and the object ends up whole", async () => {
      const store = await connect({ rootPrefix: "fault-single" });
      const cutting = await proxy({ cutRequestAfterBytes: 256 * 1024, cutConnectionsMax: 1 });
      const cut = await connect({ endpoint: cutting.endpoint, rootPrefix: "fault-single" });
      const body = filler(2 * mebibyte);
      await cut.put("seg/one", body);
      expect(cutting.cutCount()).toBe(1);
      expect(cutting.requestLines.filter((line) => line.startsWith("PUT /vela-contract/fault-single/seg/one")).length).toBe(2);
      const back = await store.get("seg/one");
      expect(back.length).toBe(body.length);
      expect(Buffer.compare(back, body)).toBe(0);
    });

    it("a single-request put cut on every try fails with Unavailable", async () => {
      const cutting = await proxy({ cutRequestAfterBytes: 256 * 1024 });
      const cut = await connect({ endpoint: cutting.endpoint, rootPrefix: "fault-single-fails", limits: { requestAttemptsMax: 2 } });
      await expectVelaError(cut.put("seg/one", filler(2 * mebibyte)), ErrorCode.Unavailable, /put "seg\/one": cannot reach S3 bucket/);
      expect(cutting.cutCount()).toBe(2);
    });

    it("a get whose answer is cut midway fails with Unavailable, never returning a truncated object", async () => {
      const store = await connect({ rootPrefix: "fault-read" });
      await store.put("k", filler(2 * mebibyte));
      const cutting = await proxy({ cutResponseAfterBytes: 512 * 1024 });
      const reader = await connect({ endpoint: cutting.endpoint, rootPrefix: "fault-read" });
      await expectVelaError(reader.get("k"), ErrorCode.Unavailable, /get "k": cannot reach S3 bucket/);
      await expectVelaError(reader.getRange("k", 0, 2 * mebibyte), ErrorCode.Unavailable, /get range \[0, 2097152\) of "k"/);
      expect(cutting.cutCount()).toBeGreaterThanOrEqual(2);
      expect((await store.get("k")).length).toBe(2 * mebibyte);
    });
  });
});
