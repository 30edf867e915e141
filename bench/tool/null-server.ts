// A Milvus gRPC server that does no database work, for the `ceiling` phase of `vela bench`: it answers
// the SDK's Connect, DescribeCollection, Search and Insert in exactly the shape and size Vela answers
// them (the same schema the tool creates, k hits per query with the primary key column, a MutationResult
// acknowledging every row), and nothing else (every other MilvusService call is UNIMPLEMENTED). Driving it
// with the tool's own driver measures what the SDK client alone costs, so a report can say which targets
// no server could reach through the SDK on this machine.
//
// It keeps its own CPU minimal: requests are not decoded (a scan of the protobuf wire format reads only
// the query count, topk or row count), and answers are encoded once per shape and then sent as cached
// bytes. It runs as a child process (null-server-process.ts), like the standalone Vela, so it never shares
// the tool's event loop; startNullServer starts it.

import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { apiDefaults, benchDefaults, queryNodeReadDefaults } from "../../common/config.ts";
import { MILVUS_LOADER_OPTIONS, milvusDescriptor, milvusType } from "../../proxy/grpc/milvus-protocol.ts";


/** Vela's Status for a call that succeeded. */
const SUCCESS = { error_code: "Success", code: 0, reason: "", retriable: false };

/** The largest topk the null server answers: Vela's own bound. */
const topkMax = queryNodeReadDefaults.topkMax;

export interface NullServerOptions {
  /** Dimension of the `vector` field it describes. */
  dim: number;
  /**
   * Keys in its answers are taken from [0, rows), so they are as wide on the wire as the keys Vela
   * answers for a data set of this many rows.
   */
  rows: number;
}

/** What a Search request asks for, read from the wire without decoding it. */
export interface SearchShape {
  nq: number;
  topk: number;
}

// --- reading the protobuf wire format: only what the answers depend on ---

/**
 * Calls `visit` for each top-level field of a message in bytes [start, end): its number, wire type,
 * and either its varint value (exact below 2^53, which the counts read here are) or the bounds of its
 * length-delimited payload. Truncated or overlong fields are a RangeError (protobufjs's reader).
 */
function forEachField(bytes: Uint8Array, start: number, end: number, visit: (field: number, wireType: number, varint: number, payloadStart: number, payloadEnd: number) => void): void {
  const reader = protobuf.Reader.create(bytes);
  reader.pos = start;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === 0) {
      const value = reader.uint64() as unknown as number | { toNumber(): number };
      visit(field, wireType, typeof value === "number" ? value : value.toNumber(), reader.pos, reader.pos);
    } else if (wireType === 2) {
      const length = reader.uint32();
      const payloadEnd = reader.pos + length;
      if (payloadEnd > end) throw new RangeError(`field ${field} runs past the end of its message`);
      visit(field, wireType, 0, reader.pos, payloadEnd);
      reader.pos = payloadEnd;
    } else {
      reader.skipType(wireType);
    }
  }
  if (reader.pos !== end) throw new RangeError("a field runs past the end of its message");
}

function utf8(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("utf8");
}

/**
 * nq and topk of a SearchRequest. nq is the number of query vectors in the first placeholder of
 * placeholder_group (field 6; PlaceholderGroup.placeholders = 1, PlaceholderValue.values = 3), as Vela
 * counts them; topk is the `topk` (or `limit`) search param (field 9, KeyValuePair key = 1, value = 2),
 * 10 when absent, as in Vela.
 */
export function searchShapeOf(bytes: Uint8Array): SearchShape {
  let nq = 0;
  let topkText: string | undefined;
  let limitText: string | undefined;
  forEachField(bytes, 0, bytes.length, (field, wireType, _varint, start, end) => {
    if (wireType !== 2) return;
    if (field === 6) {
      let firstPlaceholder = true;
      forEachField(bytes, start, end, (groupField, groupWireType, _groupVarint, placeholderStart, placeholderEnd) => {
        if (groupField !== 1 || groupWireType !== 2 || !firstPlaceholder) return;
        firstPlaceholder = false;
        forEachField(bytes, placeholderStart, placeholderEnd, (valueField, valueWireType) => {
          if (valueField === 3 && valueWireType === 2) nq += 1;
        });
      });
    } else if (field === 9) {
      let key = "";
      let value = "";
      forEachField(bytes, start, end, (pairField, pairWireType, _pairVarint, textStart, textEnd) => {
        if (pairWireType !== 2) return;
        if (pairField === 1) key = utf8(bytes, textStart, textEnd);
        else if (pairField === 2) value = utf8(bytes, textStart, textEnd);
      });
      if (key === "topk") topkText = value;
      else if (key === "limit") limitText = value;
    }
  });
  return { nq, topk: Number(topkText ?? limitText ?? 10) };
}

/** num_rows (field 7) of an InsertRequest; 0 when absent. */
export function insertRowCountOf(bytes: Uint8Array): number {
  let rows = 0;
  forEachField(bytes, 0, bytes.length, (field, wireType, varint) => {
    if (field === 7 && wireType === 0) rows = varint;
  });
  return rows;
}

// --- the answers ---

/** A request the null server could not read: answered INVALID_ARGUMENT instead of with a guess. */
type Unreadable = { unreadable: string };

function unreadable(error: unknown): Unreadable {
  return { unreadable: error instanceof Error ? error.message : String(error) };
}

export interface NullMilvusService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
  /** Calls answered so far, by method (UNIMPLEMENTED ones included). */
  calls: Map<string, number>;
}

/** The MilvusService of a server that does no work (see the header). */
export function createNullMilvusService(options: NullServerOptions): NullMilvusService {
  if (!(Number.isInteger(options.dim) && options.dim > 0)) throw new RangeError(`dim must be a positive integer, got ${options.dim}`);
  const keySpan = Math.max(1, Math.floor(options.rows));
  const packageDefinition = protoLoader.fromJSON(milvusDescriptor, MILVUS_LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(packageDefinition) as any;
  const milvusService = (loaded.milvus.proto.milvus.MilvusService as grpc.ServiceClientConstructor).service;
  const encoderOf = (typeName: string) => {
    const type = milvusType(typeName);
    return (body: Record<string, unknown>): Buffer => {
      const bytes = type.encode(type.fromObject(body)).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    };
  };
  const encodeConnect = encoderOf("milvus.proto.milvus.ConnectResponse");
  const encodeDescribe = encoderOf("milvus.proto.milvus.DescribeCollectionResponse");
  const encodeSearch = encoderOf("milvus.proto.milvus.SearchResults");
  const encodeMutation = encoderOf("milvus.proto.milvus.MutationResult");

  // A hybrid timestamp of now (physical milliseconds << 18), as wide on the wire as Vela's.
  const timestamp = String(BigInt(Date.now()) << 18n);
  const keyOf = (index: number): number => keySpan - 1 - (index % keySpan);
  let connections = 0;

  const field = (fieldID: number, name: string, dataType: string, extra: { isPrimaryKey?: boolean; dim?: number } = {}): Record<string, unknown> => ({
    fieldID: String(fieldID), name, is_primary_key: extra.isPrimaryKey === true, description: "", data_type: dataType,
    type_params: extra.dim === undefined ? [] : [{ key: "dim", value: String(extra.dim) }], index_params: [],
    autoID: false, state: "FieldCreated", is_dynamic: false, nullable: false,
  });
  // The collection the tool creates (vela-driver.ts recreateCollection), described as Vela describes it.
  const describeAnswer = (collectionName: string): Buffer => encodeDescribe({
    status: SUCCESS,
    schema: {
      name: collectionName, description: "", autoID: false,
      fields: [field(100, "id", "Int64", { isPrimaryKey: true }), field(101, "vector", "FloatVector", { dim: options.dim }), field(102, "tag", "Int32")],
      enable_dynamic_field: false, properties: [], dbName: "default",
    },
    collectionID: "1", virtual_channel_names: ["null-dml_0_1v0"], physical_channel_names: ["null-dml_0"],
    created_timestamp: timestamp, created_utc_timestamp: String(Date.now()), shards_num: 1, aliases: [], consistency_level: "Bounded",
    collection_name: collectionName, properties: [], db_name: "default", num_partitions: "1", update_timestamp: timestamp, update_timestamp_str: timestamp,
  });

  const searchAnswers = new Map<string, Buffer>();
  const searchAnswer = ({ nq, topk }: SearchShape): Buffer => {
    const cacheKey = `${nq}x${topk}`;
    const cached = searchAnswers.get(cacheKey);
    if (cached !== undefined) return cached;
    const keys: number[] = [];
    const scores: number[] = [];
    for (let query = 0; query < nq; query++) {
      for (let hit = 0; hit < topk; hit++) {
        keys.push(keyOf(query * topk + hit));
        scores.push(1 + hit / 4);
      }
    }
    const answer = encodeSearch({
      status: SUCCESS,
      results: {
        num_queries: String(nq), top_k: String(topk),
        fields_data: [{ type: "Int64", field_name: "id", field_id: "100", is_dynamic: false, scalars: { long_data: { data: keys } } }],
        scores, distances: [], ids: { int_id: { data: keys } }, topks: Array.from({ length: nq }, () => String(topk)),
        output_fields: ["id"], primary_field_name: "id",
      },
      collection_name: "", session_ts: timestamp,
    });
    if (searchAnswers.size < benchDefaults.nullServerCachedAnswersMax) searchAnswers.set(cacheKey, answer);
    return answer;
  };

  const insertAnswers = new Map<number, Buffer>();
  const insertAnswer = (rows: number): Buffer => {
    const cached = insertAnswers.get(rows);
    if (cached !== undefined) return cached;
    const indexes = Array.from({ length: rows }, (_, i) => i);
    const answer = encodeMutation({
      status: SUCCESS, IDs: { int_id: { data: indexes.map(keyOf) } }, succ_index: indexes, err_index: [],
      insert_cnt: String(rows), upsert_cnt: "0", delete_cnt: "0", timestamp, acknowledged: true,
    });
    if (insertAnswers.size < benchDefaults.nullServerCachedAnswersMax) insertAnswers.set(rows, answer);
    return answer;
  };

  const calls = new Map<string, number>();
  const count = (method: string): void => {
    calls.set(method, (calls.get(method) ?? 0) + 1);
  };
  const sendBytes = (value: Buffer): Buffer => value;
  const invalid = (callback: grpc.sendUnaryData<Buffer>, what: string, why: string): void => callback({ code: grpc.status.INVALID_ARGUMENT, details: `null server: ${what}: ${why}` });

  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...milvusService };
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(milvusService)) {
    implementation[method] = (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      count(method);
      callback({ code: grpc.status.UNIMPLEMENTED, details: `the null server answers Connect, DescribeCollection, Search and Insert only, not ${method}` });
    };
  }
  const answered = (method: string, requestDeserialize: (bytes: Buffer) => unknown, answer: (request: any, callback: grpc.sendUnaryData<Buffer>) => void): void => {
    definition[method] = { ...(milvusService[method] as grpc.MethodDefinition<unknown, unknown>), requestDeserialize, responseSerialize: sendBytes } as grpc.MethodDefinition<unknown, unknown>;
    implementation[method] = (call: grpc.ServerUnaryCall<unknown, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      count(method);
      answer(call.request, callback);
    };
  };
  const decoded = (method: string) => (milvusService[method] as grpc.MethodDefinition<unknown, unknown>).requestDeserialize;

  answered("Connect", () => ({}), (_request, callback) => {
    connections += 1;
    callback(null, encodeConnect({
      status: SUCCESS, identifier: String(connections),
      server_info: { build_tags: "null", build_time: "", git_commit: "", go_version: "", deploy_mode: "STANDALONE", reserved: { name: "vela-null-server" } },
    }));
  });
  answered("DescribeCollection", decoded("DescribeCollection"), (request: { collection_name?: string }, callback) => callback(null, describeAnswer(request.collection_name ?? "")));
  answered("Search", (bytes) => {
    try {
      return searchShapeOf(bytes);
    } catch (error) {
      return unreadable(error);
    }
  }, (request: SearchShape | Unreadable, callback) => {
    if ("unreadable" in request) return invalid(callback, "Search", request.unreadable);
    if (request.nq === 0) return invalid(callback, "Search", "no query vectors in placeholder_group");
    if (!(Number.isInteger(request.topk) && request.topk >= 1 && request.topk <= topkMax)) return invalid(callback, "Search", `topk must be an integer in [1, ${topkMax}], got ${request.topk}`);
    callback(null, searchAnswer(request));
  });
  answered("Insert", (bytes) => {
    try {
      return { rows: insertRowCountOf(bytes) };
    } catch (error) {
      return unreadable(error);
    }
  }, (request: { rows: number } | Unreadable, callback) => {
    if ("unreadable" in request) return invalid(callback, "Insert", request.unreadable);
    if (request.rows === 0) return invalid(callback, "Insert", "num_rows is missing or 0");
    callback(null, insertAnswer(request.rows));
  });
  return { definition: definition as grpc.ServiceDefinition, implementation, calls };
}

/** Serves the null MilvusService on host:port (0: a free port); resolves to the port bound. */
export async function serveNullMilvus(options: NullServerOptions & { host: string; port: number }): Promise<{ port: number; server: grpc.Server; calls: Map<string, number> }> {
  const service = createNullMilvusService(options);
  // The message size limits Vela's public server has, so a request Vela takes is taken here too.
  const server = new grpc.Server({ "grpc.max_receive_message_length": apiDefaults.grpcMessageBytesMax, "grpc.max_send_message_length": apiDefaults.grpcMessageBytesMax });
  server.addService(service.definition, service.implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error)));
  });
  return { port, server, calls: service.calls };
}

// --- the child process ---

export interface StartedNullServer {
  address: string;
  pid: number;
  /** SIGTERM; resolves once it has exited, with the calls it answered by method. */
  stop(): Promise<{ exitCode: number | null; signal: NodeJS.Signals | null; calls: Record<string, number> }>;
  running(): boolean;
}

const processFile = join(import.meta.dirname, "null-server-process.ts");
const repositoryRoot = join(import.meta.dirname, "..", "..");

/** Starts the null server as a child process on a free loopback port. */
export async function startNullServer(options: NullServerOptions & { startSeconds?: number; stopSeconds?: number }): Promise<StartedNullServer> {
  const child = spawn(process.execPath, ["--import", "tsx", processFile, "--dim", String(options.dim), "--rows", String(options.rows)], {
    cwd: repositoryRoot, stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    stderr = (stderr + text).slice(-4_000);
  });
  const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (exitCode, signal) => resolve({ exitCode, signal }));
  });
  // Its stdout carries two JSON lines: {"port": N} once serving, {"calls": {...}} on the way out.
  const lines = createInterface({ input: child.stdout });
  const outputEnded = new Promise<void>((resolve) => lines.once("close", () => resolve()));
  let calls: Record<string, number> = {};
  let announcePort: (port: number) => void = () => undefined;
  lines.on("line", (line) => {
    let message: { port?: unknown; calls?: Record<string, number> };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return; // not one of its messages (a runtime warning, say)
    }
    if (message.calls !== undefined) calls = message.calls;
    if (typeof message.port === "number" && message.port > 0) announcePort(message.port);
  });
  const startSeconds = options.startSeconds ?? benchDefaults.serverStartSeconds;
  const port = await new Promise<number>((resolve, reject) => {
    const settle = (): void => {
      clearTimeout(timer);
      child.off("error", onError);
      child.off("exit", onExit);
    };
    const fail = (why: string): void => {
      settle();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      reject(new Error(`the null server did not start: ${why}${stderr === "" ? "" : `\n${stderr.trim()}`}`));
    };
    const onError = (error: Error): void => fail(error.message);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`it exited (code ${String(code)}, signal ${String(signal)}) before serving`);
    const timer = setTimeout(() => fail(`it did not serve within ${startSeconds} s`), startSeconds * 1000);
    child.once("error", onError);
    child.once("exit", onExit);
    announcePort = (announced) => {
      settle();
      resolve(announced);
    };
  });
  const stopSeconds = options.stopSeconds ?? benchDefaults.serverStopSeconds;
  return {
    address: `127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    running: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), stopSeconds * 1000);
        const outcome = await exited;
        clearTimeout(timer);
        await outputEnded;
        return { ...outcome, calls };
      }
      const outcome = await exited;
      await outputEnded;
      return { ...outcome, calls };
    },
  };
}
