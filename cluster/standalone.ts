// Standalone Vela (DESIGN §1): every role in one process, wired through in-process calls, on the seams
// it is given (embedded by default). The role code is the same as in a cluster; only the wiring here
// differs. Start order follows dependencies (seams → TSO → time sync → root coordinator → data
// coordinator → proxy → query node and coordinator → index node and coordinator); close runs in
// reverse, and each writer finishes its in-flight appends first.

import { join } from "node:path";
import { systemClock, type Clock } from "../common/clock.ts";
import {
  rootCoordDefaults, sessionDefaults, timeSyncDefaults, resolveLimits,
  apiDefaults, type ApiLimits, type DataCoordLimits, type DataNodeLimits, type QueryNodeLoadLimits, queryNodeLoadDefaults, type IndexCoordLimits, type IndexNodeLimits, type ProxyLimits, type QueryNodeReadLimits, type RootCoordLimits, type TimeSyncLimits, type WorkerPoolLimits,
} from "../common/config.ts";
import { RootCoord, pchannelNames } from "../coord/root-coord.ts";
import { DataCoord } from "../coord/data-coord.ts";
import { DataNode } from "../datanode/data-node.ts";
import { createBinlogPool } from "../datanode/binlog/binlog-pool.ts";
import { ErrorCode, isVelaError } from "../common/errors.ts";
import { TimestampOracle } from "../coord/tso.ts";
import { IndexCoord } from "../coord/index-coord.ts";
import { QueryCoord } from "../coord/query-coord.ts";
import { IndexNode } from "../indexnode/index-node.ts";
import { createHnswPool, type HnswPool } from "../indexnode/hnsw/hnsw-pool.ts";
import { PublicServer } from "../proxy/api/public-server.ts";
import { VelaService, type FilterParser } from "../proxy/api/vela-service.ts";
import { createMilvusGrpcService } from "../proxy/grpc/milvus-grpc-service.ts";
import { expressionFilter } from "../proxy/api/expression-filter.ts";
import { Proxy } from "../proxy/proxy.ts";
import { ReadPath } from "../proxy/read-path.ts";
import { searchBruteForce } from "../querynode/compute/brute-force.ts";
import { createComputePool, reduceInPool } from "../querynode/compute/compute-pool.ts";
import { QueryNode } from "../querynode/query-node.ts";
import type { WorkerPool } from "../common/worker-pool.ts";
import { EmbeddedLog } from "../storage/log/embedded-log.ts";
import type { Log } from "../storage/log/log.ts";
import { EmbeddedMetaStore } from "../storage/meta/embedded-meta-store.ts";
import type { MetaStore } from "../storage/meta/meta-store.ts";
import { LocalObjectStore } from "../storage/object/local-object-store.ts";
import type { ObjectStore } from "../storage/object/object-store.ts";
import { ChannelWriter, sessionLostError } from "../timesync/channel-writer.ts";
import { TimeSync } from "../timesync/time-sync.ts";
import { INDEX_NODE_ROLE } from "../types/index-node.ts";
import { Session } from "./session.ts";

export interface StandaloneOptions {
  /** Directory for the embedded seams (meta/, log/, objects/). Needed unless all three seams are given. */
  dataDir?: string;
  metaStore?: MetaStore;
  log?: Log;
  objectStore?: ObjectStore;
  clock?: Clock;
  /** fsync in the embedded seams (default true; off only for tests and benchmarks). */
  fsync?: boolean;
  rootCoordLimits?: Partial<RootCoordLimits>;
  timeSyncLimits?: Partial<TimeSyncLimits>;
  dataCoordLimits?: Partial<DataCoordLimits>;
  dataNodeLimits?: Partial<DataNodeLimits>;
  queryNodeLoadLimits?: Partial<QueryNodeLoadLimits>;
  proxyLimits?: Partial<ProxyLimits>;
  readLimits?: Partial<QueryNodeReadLimits>;
  apiLimits?: Partial<ApiLimits>;
  /** Filter expression parser; the expression language (expr/) when absent. */
  parseFilter?: FilterParser;
  computePoolLimits?: Partial<WorkerPoolLimits>;
  indexCoordLimits?: Partial<IndexCoordLimits>;
  indexNodeLimits?: Partial<IndexNodeLimits>;
  sessionTtlSeconds?: number;
  /** Called when a background task fails (time sync rounds); defaults to ignoring. */
  onBackgroundError?: (error: unknown) => void;
}

export class Standalone {
  private readonly closers: Array<() => Promise<void>> = [];

  private constructor(
    readonly metaStore: MetaStore,
    readonly log: Log,
    readonly objectStore: ObjectStore,
    readonly clock: Clock,
  ) {}

  rootCoord!: RootCoord;
  dataCoord!: DataCoord;
  dataNode!: DataNode;
  binlogPool!: WorkerPool;
  timeSync!: TimeSync;
  proxy!: Proxy;
  proxyWriter!: ChannelWriter;
  computePool!: WorkerPool;
  queryNode!: QueryNode;
  queryCoord!: QueryCoord;
  reader!: ReadPath;
  indexCoord!: IndexCoord;
  indexNode!: IndexNode;
  service!: VelaService;
  private apiLimits: ApiLimits = { ...apiDefaults };

  static async start(options: StandaloneOptions): Promise<Standalone> {
    const clock = options.clock ?? systemClock;
    const fsync = options.fsync ?? true;
    const needDir = (what: string): string => {
      if (options.dataDir === undefined) throw new Error(`standalone: dataDir is needed for the embedded ${what}`);
      return join(options.dataDir, what);
    };
    const opened: Array<() => Promise<void>> = [];
    try {
      const metaStore = options.metaStore ?? await EmbeddedMetaStore.open({ dir: needDir("meta"), clock, fsync });
      if (options.metaStore === undefined) opened.push(() => metaStore.close());
      const log = options.log ?? await EmbeddedLog.open({ dir: needDir("log"), fsync });
      if (options.log === undefined) opened.push(() => log.close());
      const objectStore = options.objectStore ?? await LocalObjectStore.open({ dir: needDir("objects") });
      if (options.objectStore === undefined) opened.push(() => objectStore.close());
      const node = new Standalone(metaStore, log, objectStore, clock);
      node.closers.push(...opened.reverse());
      opened.length = 0;
      try {
        await node.startRoles(options);
      } catch (error) {
        await node.close();
        throw error;
      }
      return node;
    } catch (error) {
      for (const close of opened.reverse()) await close().catch(() => undefined);
      throw error;
    }
  }

  private async startRoles(options: StandaloneOptions): Promise<void> {
    const clock = this.clock;
    const rootLimits = resolveLimits(rootCoordDefaults, options.rootCoordLimits, "root coordinator");
    const syncLimits = resolveLimits(timeSyncDefaults, options.timeSyncLimits, "time sync");
    const writerLimits = {
      pendingWritesMax: syncLimits.pendingWritesMax,
      appendBatchMessagesMax: syncLimits.appendBatchMessagesMax,
      appendBatchBytesMax: syncLimits.appendBatchBytesMax,
    };
    const sessionTtlSeconds = options.sessionTtlSeconds ?? sessionDefaults.sessionTtlSeconds;
    const onBackgroundError = options.onBackgroundError ?? (() => undefined);

    const tso = await TimestampOracle.open({ metaStore: this.metaStore, clock, windowMs: rootLimits.tsoWindowMs });
    const pchannels = pchannelNames("vela-dml", rootLimits.pchannelCount);
    this.timeSync = new TimeSync({
      log: this.log, metaStore: this.metaStore, tso, clock, pchannels,
      tickIntervalMs: syncLimits.tickIntervalMs, reportTimeoutMs: syncLimits.reportTimeoutMs,
      onRoundError: onBackgroundError,
    });
    this.closers.unshift(() => this.timeSync.close());

    // Every writer holds a session and registers with time sync before its first write; losing the
    // session fences the writer.
    const registerWriter = async (writer: ChannelWriter, role: string, nodeId: string): Promise<void> => {
      const session = await Session.create({
        metaStore: this.metaStore, clock, role, nodeId, ttlSeconds: sessionTtlSeconds,
        fenceFraction: sessionDefaults.sessionFenceFraction,
        onLost: () => writer.fail(sessionLostError(writer.sourceId)),
      });
      this.closers.unshift(async () => {
        await writer.close();
        await this.timeSync.unregister(writer.sourceId);
        await session.close();
      });
      await this.timeSync.register(writer, session.key);
    };

    const rootCoord = await RootCoord.open({
      metaStore: this.metaStore, log: this.log, clock, tso, limits: rootLimits, writerLimits,
      // A node id unique to this process's life: a crashed predecessor's session may outlive it by a TTL.
      registerWriter: async (writer) => registerWriter(writer, "rootcoord", String(await tso.allocate(1))),
    });
    this.rootCoord = rootCoord;
    this.closers.unshift(() => rootCoord.close());
    this.dataCoord = await DataCoord.open({
      metaStore: this.metaStore, clock, log: this.log, objectStore: this.objectStore,
      allocateId: () => rootCoord.allocIds(1), allocTimestamp: () => rootCoord.allocTimestamp(),
      collectionExists: async (collectionId) => {
        try {
          await rootCoord.describeCollectionById(collectionId);
          return true;
        } catch (error) {
          if (isVelaError(error, ErrorCode.CollectionNotFound)) return false;
          throw error;
        }
      },
      readerPositions: () => this.queryNode.readerPositions(),
      onBackgroundError,
      ...(options.dataCoordLimits === undefined ? {} : { limits: options.dataCoordLimits }),
    });
    const proxyNodeId = String(await this.rootCoord.allocIds(1));
    this.proxyWriter = new ChannelWriter({ sourceId: `proxy-${proxyNodeId}`, log: this.log, tso, pchannels, ...writerLimits });
    await registerWriter(this.proxyWriter, "proxy", proxyNodeId);
    this.proxy = new Proxy({
      rootCoord: this.rootCoord, segmentAllocator: this.dataCoord, writer: this.proxyWriter,
      ...(options.proxyLimits === undefined ? {} : { limits: options.proxyLimits }),
    });
    this.timeSync.start();

    const pool = createComputePool(options.computePoolLimits);
    this.computePool = pool;
    this.closers.unshift(() => pool.close());
    const binlogPool = createBinlogPool(options.computePoolLimits);
    this.binlogPool = binlogPool;
    this.closers.unshift(() => binlogPool.close());

    // The data node: a session (its liveness for the data coordinator) and the vchannels it watches.
    const dataNodeId = String(await this.rootCoord.allocIds(1));
    const dataNodeSession = await Session.create({
      metaStore: this.metaStore, clock, role: "datanode", nodeId: dataNodeId, ttlSeconds: sessionTtlSeconds,
      fenceFraction: sessionDefaults.sessionFenceFraction, onLost: () => undefined,
    });
    const dataNode = new DataNode({
      nodeId: dataNodeId, sessionKey: dataNodeSession.key, log: this.log, objectStore: this.objectStore, clock,
      dataCoord: this.dataCoord, describeCollection: async (collectionId) => (await rootCoord.describeCollectionById(collectionId)).info,
      allocIds: (count) => rootCoord.allocIds(count), pool: binlogPool, onError: onBackgroundError,
      ...(options.dataNodeLimits === undefined ? {} : { limits: options.dataNodeLimits }),
    });
    this.dataNode = dataNode;
    // Closing order (reverse of this): the coordinator's passes stop, then the node writes out its
    // buffers (graceful shutdown flushes), then its session ends.
    this.closers.unshift(async () => {
      try {
        await dataNode.close({ flush: true });
      } finally {
        await dataNodeSession.close();
      }
    });
    const dataCoord = this.dataCoord;
    this.closers.unshift(() => dataCoord.close());
    // Index building: an index node and the coordinator that gives it flushed segments to index. The
    // coordinator asks whether a collection is loaded (an index cannot be dropped then) lazily: the
    // query coordinator is opened after it, since reloading collections at start needs their indexes.
    const indexNodeId = String(await this.rootCoord.allocIds(1));
    const indexNode = new IndexNode({
      nodeId: indexNodeId, objectStore: this.objectStore,
      session: await Session.create({
        metaStore: this.metaStore, clock, role: INDEX_NODE_ROLE, nodeId: indexNodeId, ttlSeconds: sessionTtlSeconds,
        fenceFraction: sessionDefaults.sessionFenceFraction,
      }),
      ...(options.indexNodeLimits === undefined ? {} : { limits: options.indexNodeLimits }),
    });
    this.indexNode = indexNode;
    this.closers.unshift(() => indexNode.close());
    const indexCoord = await IndexCoord.open({
      metaStore: this.metaStore, objectStore: this.objectStore, dataCoord: this.dataCoord, clock,
      connectNode: (nodeId) => (nodeId === indexNode.nodeId ? indexNode : undefined),
      allocId: () => rootCoord.allocIds(1), allocTimestamp: () => rootCoord.allocTimestamp(),
      isLoaded: (collectionId) => this.queryCoord.loadState(collectionId) !== "NotLoad",
      onBackgroundError,
      ...(options.indexCoordLimits === undefined ? {} : { limits: options.indexCoordLimits }),
    });
    this.indexCoord = indexCoord;
    this.closers.unshift(() => indexCoord.close());
    indexNode.onJobSettled(() => indexCoord.requestRound());

    // The query node searches sealed segments' HNSW indexes in a pool of its own.
    const loadLimits = resolveLimits(queryNodeLoadDefaults, options.queryNodeLoadLimits, "query node load");
    let hnswPool: HnswPool | undefined;
    const queryNodeHnswPool = (): HnswPool => (hnswPool ??= createHnswPool({ name: "query node HNSW pool", workerCount: loadLimits.hnswWorkers }));
    this.closers.unshift(async () => hnswPool?.close());
    const queryNodeId = String(await this.rootCoord.allocIds(1));
    const queryNode = new QueryNode({
      nodeId: queryNodeId, log: this.log, clock, objectStore: this.objectStore, binlogPool, dataCoord: this.dataCoord, onError: onBackgroundError,
      indexes: { api: indexCoord, pool: queryNodeHnswPool, replicas: loadLimits.indexReplicas }, loadLimits,
      search: (request) => searchBruteForce(pool, request),
      reduce: (results, reduceOptions) => reduceInPool(pool, results, reduceOptions),
      ...(options.readLimits === undefined ? {} : { limits: options.readLimits }),
    });
    this.queryNode = queryNode;
    this.closers.unshift(() => queryNode.close());
    await this.dataCoord.registerDataNode(dataNode);
    this.dataCoord.start();
    this.queryCoord = await QueryCoord.open({ metaStore: this.metaStore, rootCoord: this.rootCoord, nodes: [queryNode], dataCoord: this.dataCoord, indexCoord });
    const queryCoord = this.queryCoord;
    this.closers.unshift(async () => queryCoord.close());
    indexCoord.start();
    this.reader = new ReadPath({
      rootCoord: this.rootCoord, queryCoord: this.queryCoord, clock,
      tickNow: () => this.timeSync.tickNow(),
      reduce: (results, reduceOptions) => reduceInPool(pool, results, reduceOptions),
      ...(options.readLimits === undefined ? {} : { limits: options.readLimits }),
    });
    this.apiLimits = resolveLimits(apiDefaults, options.apiLimits, "api");
    this.service = new VelaService({
      rootCoord, queryCoord, indexCoord: this.indexCoord, dataCoord: this.dataCoord, proxy: this.proxy,
      reader: this.reader, clock, parseFilter: options.parseFilter ?? expressionFilter, limits: this.apiLimits,
    });
  }

  /**
   * Serves the public API (Milvus gRPC and REST v2) on one port; `httpHandler` serves HTTP/1.1 (REST).
   * The server closes with the node.
   */
  async listen(options: { port: number; host?: string; httpHandler: Parameters<typeof PublicServer.start>[0]["httpHandler"]; onCall?: (method: string, ok: boolean, durationMs: number) => void }): Promise<PublicServer> {
    const server = await PublicServer.start({
      port: options.port, ...(options.host === undefined ? {} : { host: options.host }),
      grpcService: createMilvusGrpcService(this.service, options.onCall === undefined ? {} : { onCall: options.onCall }),
      httpHandler: options.httpHandler, grpcMessageBytesMax: this.apiLimits.grpcMessageBytesMax, shutdownGraceMs: this.apiLimits.shutdownGraceMs,
    });
    this.closers.unshift(() => server.close());
    return server;
  }

  /** Stops every role (writers finish their in-flight appends) and closes the seams it opened. */
  async close(): Promise<void> {
    const closers = this.closers.splice(0);
    let firstError: unknown;
    for (const close of closers) {
      try {
        await close();
      } catch (error) {
        firstError ??= error;
      }
    }
    if (firstError !== undefined) throw firstError;
  }
}
