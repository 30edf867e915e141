// The real ObjectStore (DESIGN §2): S3 through @aws-sdk/client-s3; MinIO and other S3 servers work
// unchanged. Keys live under an optional root prefix in one bucket.
//
// Invariant: put is atomic. A small object goes up in one PutObject, which S3 stores whole or not at
// all. A large one goes up as a multipart upload: its parts are invisible until CompleteMultipartUpload,
// which is sent only after every part succeeded; if any part fails, the upload is aborted (its parts
// discarded) and the put fails — the key keeps its previous object, if any.
//
// List pages use StartAfter with the last key of the previous page as the continuation token, as the
// local store does, so tokens mean the same thing in both stores (and work on servers whose opaque
// ContinuationTokens do not, such as s3rver on current Node).
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type BucketLocationConstraint,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import type { ObjectStoreLimits } from "../../common/config.ts";
import { closedError, ErrorCode, errorMessage, invalidArgument, notFound, VelaError } from "../../common/errors.ts";
import type { ListOptions, ListPage, ObjectInfo, ObjectStore } from "./object-store.ts";
import { isS3NotFound, mapS3Error, s3ErrorName, s3HttpStatus } from "./s3-errors.ts";
import {
  describeKey,
  resolveObjectStoreLimits,
  validateBody,
  validateKey,
  validateListOptions,
  validatePrefix,
  validateRange,
} from "./validate.ts";

export interface S3ObjectStoreOptions {
  /** Server URL for MinIO and other S3 servers, e.g. http://127.0.0.1:9000; omit for AWS. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Keys are stored under `<rootPrefix>/`; empty or omitted: at the top of the bucket. */
  rootPrefix?: string;
  /** Static credentials; omit both to use the SDK's default chain (environment, profile, role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Bucket in the path rather than the host name; defaults to true when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Create the bucket when it is missing (default true); when false, a missing bucket fails connect. */
  createBucket?: boolean;
  limits?: Partial<ObjectStoreLimits>;
}

const contentRangePattern = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

export class S3ObjectStore implements ObjectStore {
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    readonly rootPrefix: string,
    private readonly endpoint: string,
    private readonly limits: ObjectStoreLimits,
  ) {}

  /** Connects, checks that the bucket is reachable, and creates it when missing (unless told not to). */
  static async connect(options: S3ObjectStoreOptions): Promise<S3ObjectStore> {
    const limits = checkOptions(options);
    const rootPrefix = options.rootPrefix ?? "";
    const endpoint = options.endpoint ?? `https://s3.${options.region}.amazonaws.com`;
    const client = new S3Client({
      region: options.region,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      ...(options.accessKeyId === undefined || options.secretAccessKey === undefined
        ? {}
        : { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }),
      maxAttempts: limits.requestAttemptsMax,
    });
    const store = new S3ObjectStore(client, options.bucket, rootPrefix, endpoint, limits);
    try {
      await store.ensureBucket(options.createBucket ?? true, options.region);
    } catch (error) {
      client.destroy();
      throw error;
    }
    return store;
  }

  put(key: string, body: Uint8Array): Promise<void> {
    return this.run(async () => {
      validateKey(key, this.limits);
      validateBody(key, body, this.limits);
      if (body.byteLength >= this.limits.multipartThresholdBytes) {
        await this.putMultipart(key, body);
        return;
      }
      await this.call(`put ${describeKey(key)}`, (abortSignal) =>
        this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: this.pathOf(key), Body: body, ContentLength: body.byteLength }),
          { abortSignal },
        ),
      );
    });
  }

  get(key: string): Promise<Uint8Array> {
    return this.run(async () => {
      validateKey(key, this.limits);
      return this.call(`get ${describeKey(key)}`, async (abortSignal) => {
        const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.pathOf(key) }), {
          abortSignal,
        });
        return answer.Body === undefined ? new Uint8Array(0) : await answer.Body.transformToByteArray();
      });
    });
  }

  getRange(key: string, start: number, endExclusive: number): Promise<Uint8Array> {
    return this.run(async () => {
      validateKey(key, this.limits);
      const range = validateRange(key, start, endExclusive);
      const operation = `get range [${range.start}, ${range.endExclusive}) of ${describeKey(key)}`;
      // HTTP cannot ask for zero bytes; a HEAD still tells a missing object from an empty answer.
      if (range.start === range.endExclusive) {
        if ((await this.headChecked(key)) === undefined) throw notFound(`${operation}: the object does not exist`);
        return new Uint8Array(0);
      }
      try {
        return await this.call(operation, async (abortSignal) => {
          const answer = await this.client.send(
            new GetObjectCommand({
              Bucket: this.bucket,
              Key: this.pathOf(key),
              Range: `bytes=${range.start}-${range.endExclusive - 1}`,
            }),
            { abortSignal },
          );
          const bytes = answer.Body === undefined ? new Uint8Array(0) : await answer.Body.transformToByteArray();
          return clipToRange(bytes, answer.ContentRange, range.start, range.endExclusive);
        });
      } catch (error) {
        const cause = error instanceof VelaError ? error.cause : error;
        // 416: the object exists and holds no byte at or after start.
        if (s3ErrorName(cause) === "InvalidRange" || s3HttpStatus(cause) === 416) return new Uint8Array(0);
        throw error;
      }
    });
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.run(async () => {
      validateKey(key, this.limits);
      return this.headChecked(key);
    });
  }

  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    return this.run(async () => {
      const checked = validateListOptions(prefix, options, this.limits);
      const page = await this.listChecked(checked.prefix, checked.limit, checked.startAfter);
      const last = page.objects[page.objects.length - 1];
      return page.truncated && last !== undefined ? { objects: page.objects, nextToken: last.key } : { objects: page.objects };
    });
  }

  delete(key: string): Promise<void> {
    return this.run(async () => {
      validateKey(key, this.limits);
      await this.call(`delete ${describeKey(key)}`, (abortSignal) =>
        this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.pathOf(key) }), { abortSignal }),
      );
    });
  }

  deletePrefix(prefix: string): Promise<number> {
    return this.run(async () => {
      validatePrefix(prefix, this.limits);
      const batchKeysMax = Math.min(this.limits.listPageKeysMax, this.limits.deleteBatchKeysMax);
      const operation = `delete prefix ${describeKey(prefix)}`;
      let deleted = 0;
      let startAfter: string | undefined;
      while (true) {
        const page = await this.listChecked(prefix, batchKeysMax, startAfter);
        const last = page.objects[page.objects.length - 1];
        if (last === undefined) return deleted;
        const answer = await this.call(operation, (abortSignal) =>
          this.client.send(
            new DeleteObjectsCommand({
              Bucket: this.bucket,
              Delete: { Objects: page.objects.map((info) => ({ Key: this.pathOf(info.key) })), Quiet: true },
            }),
            { abortSignal },
          ),
        );
        const errors = answer.Errors ?? [];
        deleted += page.objects.length - errors.length;
        const first = errors[0];
        if (first !== undefined) {
          throw new VelaError(
            ErrorCode.Unavailable,
            `${operation}: ${errors.length} of ${page.objects.length} objects were not deleted, ` +
              `e.g. ${JSON.stringify(first.Key)}: ${first.Code ?? "?"} ${first.Message ?? ""} (${deleted} deleted so far)`,
          );
        }
        if (!page.truncated) return deleted;
        startAfter = last.key;
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    this.client.destroy();
  }

  /** Runs one operation: refuses it once closed, and lets close wait for it. */
  private run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(closedError(`S3ObjectStore for bucket "${this.bucket}" at ${this.endpoint}`));
    const promise = operation();
    this.inFlight.add(promise);
    const forget = (): void => {
      this.inFlight.delete(promise);
    };
    void promise.then(forget, forget);
    return promise;
  }

  /**
   * One SDK call (retries included) bounded by requestTimeoutMs, and by `cancel` when given; whatever
   * it throws comes out as a VelaError.
   */
  private async call<T>(
    operation: string,
    send: (abortSignal: AbortSignal) => Promise<T>,
    cancel?: AbortSignal,
  ): Promise<T> {
    const deadline = AbortSignal.timeout(this.limits.requestTimeoutMs);
    const abortSignal = cancel === undefined ? deadline : AbortSignal.any([deadline, cancel]);
    try {
      return await send(abortSignal);
    } catch (error) {
      throw mapS3Error(error, {
        operation,
        bucket: this.bucket,
        endpoint: this.endpoint,
        ...(deadline.aborted ? { timedOutAfterMs: this.limits.requestTimeoutMs } : {}),
      });
    }
  }

  /** The bucket key of a store key. */
  private pathOf(key: string): string {
    return this.rootPrefix === "" ? key : `${this.rootPrefix}/${key}`;
  }

  /** The store key of a bucket key listed under the root prefix. */
  private keyOf(path: string): string {
    if (this.rootPrefix === "") return path;
    const root = `${this.rootPrefix}/`;
    if (!path.startsWith(root)) {
      throw new VelaError(ErrorCode.Internal, `S3 listed key ${describeKey(path)} outside the root prefix ${describeKey(root)}`);
    }
    return path.slice(root.length);
  }

  private async headChecked(key: string): Promise<ObjectInfo | undefined> {
    try {
      const answer = await this.call(`head ${describeKey(key)}`, (abortSignal) =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.pathOf(key) }), { abortSignal }),
      );
      return { key, sizeBytes: answer.ContentLength ?? 0, modifiedMs: answer.LastModified?.getTime() ?? 0 };
    } catch (error) {
      if (error instanceof VelaError && error.code === ErrorCode.NotFound) return undefined;
      throw error;
    }
  }

  private async listChecked(
    prefix: string,
    limit: number,
    startAfter: string | undefined,
  ): Promise<{ objects: ObjectInfo[]; truncated: boolean }> {
    const fullPrefix = this.rootPrefix === "" ? prefix : `${this.rootPrefix}/${prefix}`;
    const answer = await this.call(`list ${describeKey(prefix)}`, (abortSignal) =>
      this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          ...(fullPrefix === "" ? {} : { Prefix: fullPrefix }),
          MaxKeys: limit,
          ...(startAfter === undefined ? {} : { StartAfter: this.pathOf(startAfter) }),
        }),
        { abortSignal },
      ),
    );
    const objects = (answer.Contents ?? []).map((entry) => ({
      key: this.keyOf(entry.Key ?? ""),
      sizeBytes: entry.Size ?? 0,
      modifiedMs: entry.LastModified?.getTime() ?? 0,
    }));
    if (objects.length > limit) {
      throw new VelaError(ErrorCode.Internal, `S3 returned ${objects.length} keys for a list page of at most ${limit}`);
    }
    return { objects, truncated: answer.IsTruncated === true && objects.length > 0 };
  }

  /**
   * A multipart upload: parts go up at most multipartConcurrentPartsMax at a time; the first failure
   * cancels the others and aborts the upload, so the key never shows a partial object.
   */
  private async putMultipart(key: string, body: Uint8Array): Promise<void> {
    const operation = `put ${describeKey(key)} (multipart)`;
    const path = this.pathOf(key);
    const created = await this.call(operation, (abortSignal) =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: path, ChecksumAlgorithm: "CRC32" }), {
        abortSignal,
      }),
    );
    const uploadId = created.UploadId;
    if (uploadId === undefined || uploadId === "") {
      throw new VelaError(ErrorCode.Internal, `${operation}: S3 started a multipart upload without an upload id`);
    }
    const partBytes = this.limits.multipartPartBytes;
    const partCount = Math.ceil(body.byteLength / partBytes);
    const parts: CompletedPart[] = [];
    const failure = new AbortController();
    let firstError: VelaError | undefined;
    let nextPart = 0;
    const uploadParts = async (): Promise<void> => {
      while (!failure.signal.aborted && nextPart < partCount) {
        const index = nextPart++;
        const partNumber = index + 1;
        const chunk = body.subarray(index * partBytes, Math.min((index + 1) * partBytes, body.byteLength));
        try {
          const answer = await this.call(
            `${operation} part ${partNumber} of ${partCount}`,
            (abortSignal) =>
              this.client.send(
                new UploadPartCommand({
                  Bucket: this.bucket,
                  Key: path,
                  UploadId: uploadId,
                  PartNumber: partNumber,
                  Body: chunk,
                  ContentLength: chunk.byteLength,
                  ChecksumAlgorithm: "CRC32",
                }),
                { abortSignal },
              ),
            failure.signal,
          );
          parts.push({
            PartNumber: partNumber,
            ETag: answer.ETag,
            ...(answer.ChecksumCRC32 === undefined ? {} : { ChecksumCRC32: answer.ChecksumCRC32 }),
          });
        } catch (error) {
          firstError ??= error instanceof VelaError ? error : mapS3Error(error, this.errorContext(operation));
          failure.abort();
        }
      }
    };
    const workers = Math.min(this.limits.multipartConcurrentPartsMax, partCount);
    await Promise.all(Array.from({ length: workers }, uploadParts));
    if (firstError !== undefined) throw await this.abortUpload(operation, path, uploadId, firstError);
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    try {
      await this.call(operation, (abortSignal) =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: path,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
          { abortSignal },
        ),
      );
    } catch (error) {
      const cause = error instanceof VelaError ? error : mapS3Error(error, this.errorContext(operation));
      throw await this.abortUpload(operation, path, uploadId, cause);
    }
  }

  /**
   * Discards a failed upload's parts and returns the error to throw. When the abort fails too, the
   * parts stay stored but invisible (a bucket lifecycle rule for incomplete uploads removes them), and
   * the message says so.
   */
  private async abortUpload(operation: string, path: string, uploadId: string, cause: VelaError): Promise<VelaError> {
    try {
      await this.call(`${operation} abort`, (abortSignal) =>
        this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: path, UploadId: uploadId }), {
          abortSignal,
        }),
      );
      return cause;
    } catch (abortError) {
      return new VelaError(
        cause.code,
        `${cause.message}; the upload's parts could not be discarded either (${errorMessage(abortError)}): ` +
          "they stay invisible until a lifecycle rule for incomplete multipart uploads removes them",
        { cause },
      );
    }
  }

  private errorContext(operation: string): { operation: string; bucket: string; endpoint: string } {
    return { operation, bucket: this.bucket, endpoint: this.endpoint };
  }

  private async ensureBucket(create: boolean, region: string): Promise<void> {
    const operation = `open bucket "${this.bucket}"`;
    const exists = async (): Promise<boolean> => {
      try {
        await this.call(operation, (abortSignal) => this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal }));
        return true;
      } catch (error) {
        if (error instanceof VelaError && isS3NotFound(error.cause)) return false;
        throw error;
      }
    };
    if (await exists()) return;
    if (!create) {
      throw new VelaError(
        ErrorCode.Unavailable,
        `${operation}: the bucket does not exist at ${this.endpoint} (connect with createBucket: true to create it)`,
      );
    }
    try {
      await this.call(`create bucket "${this.bucket}"`, (abortSignal) =>
        this.client.send(
          new CreateBucketCommand({
            Bucket: this.bucket,
            ...(region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
          }),
          { abortSignal },
        ),
      );
    } catch (error) {
      // Someone else created it meanwhile: fine, as long as it is ours to use.
      const name = error instanceof VelaError ? s3ErrorName(error.cause) : "";
      if ((name === "BucketAlreadyOwnedByYou" || name === "BucketAlreadyExists") && (await exists())) return;
      throw error;
    }
  }
}

/** Validates connect options once; returns the resolved limits. */
function checkOptions(options: S3ObjectStoreOptions): ObjectStoreLimits {
  if (typeof options !== "object" || options === null) throw invalidArgument("S3ObjectStore.connect: options are required");
  for (const name of ["region", "bucket"] as const) {
    if (typeof options[name] !== "string" || options[name] === "") {
      throw invalidArgument(`S3ObjectStore.connect: ${name} must be a non-empty string`);
    }
  }
  if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
    throw invalidArgument("S3ObjectStore.connect: give both accessKeyId and secretAccessKey, or neither");
  }
  const limits = resolveObjectStoreLimits(options.limits, "S3ObjectStore");
  if (options.rootPrefix !== undefined && options.rootPrefix !== "") {
    try {
      validateKey(options.rootPrefix, limits);
    } catch (error) {
      throw invalidArgument(`S3ObjectStore.connect: rootPrefix must be empty or a valid key: ${errorMessage(error)}`);
    }
  }
  if (limits.multipartPartBytes < limits.multipartPartBytesMin) {
    throw invalidArgument(
      `S3ObjectStore: multipartPartBytes (${limits.multipartPartBytes}) is below multipartPartBytesMin (${limits.multipartPartBytesMin})`,
    );
  }
  if (Math.ceil(limits.objectBytesMax / limits.multipartPartBytes) > limits.multipartPartsMax) {
    throw invalidArgument(
      `S3ObjectStore: an object of objectBytesMax (${limits.objectBytesMax}) bytes would need more than ` +
        `multipartPartsMax (${limits.multipartPartsMax}) parts of multipartPartBytes (${limits.multipartPartBytes})`,
    );
  }
  return limits;
}

/**
 * The bytes [start, endExclusive) out of a ranged answer. A server may send more than asked (a whole
 * object when it ignores Range, or a wider range); Content-Range says where the answer starts.
 */
function clipToRange(bytes: Uint8Array, contentRange: string | undefined, start: number, endExclusive: number): Uint8Array {
  let answerStart = 0;
  if (contentRange !== undefined) {
    const match = contentRangePattern.exec(contentRange);
    if (match === null) {
      throw new VelaError(ErrorCode.Internal, `S3 answered a ranged get with an unreadable Content-Range "${contentRange}"`);
    }
    answerStart = Number(match[1]);
  }
  const from = start - answerStart;
  if (from < 0) {
    throw new VelaError(ErrorCode.Internal, `S3 answered bytes from ${answerStart} to a ranged get from ${start}`);
  }
  return bytes.subarray(from, Math.min(bytes.length, endExclusive - answerStart));
}
