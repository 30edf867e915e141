import { invalidArgument } from "./errors.ts";

// Every bound in Vela has a name, a unit in that name, and a default here. Roles and seams take the
// part they need as an options object (validated once at start); nothing reads a global. Going past a
// bound rejects at once with a LimitExceeded or InvalidArgument error — it never queues without limit.

export const metaStoreDefaults = {
  /** Longest key accepted, in UTF-8 bytes. */
  keyBytesMax: 4096,
  /** Largest value accepted. etcd's default request limit is 1.5 MiB; stay well below it. */
  valueBytesMax: 1024 * 1024,
  /** Most operations (puts + deletes, and compares) in one transaction; etcd's default --max-txn-ops. */
  txnOpsMax: 128,
  /** Most keys one range call returns when the caller sets no smaller limit. */
  rangeKeysMax: 10_000,
  /** Events a watcher buffers for a slow consumer before it fails with a resumable error. */
  watchQueueEventsMax: 10_000,
  /** Shortest lease TTL accepted (etcd rounds shorter ones up to about this). */
  leaseTtlSecondsMin: 1,
  /** Longest lease TTL accepted. */
  leaseTtlSecondsMax: 3600,
  /** Embedded: rewrite the write-ahead file as a snapshot after this many appended bytes. */
  embeddedCompactAfterBytes: 64 * 1024 * 1024,
  /** Embedded: revisions of history kept for watchers to resume from. */
  embeddedHistoryRevisionsMax: 100_000,
  /** Embedded: bytes (keys + values) of history kept for watchers; the oldest revisions go first. */
  embeddedHistoryBytesMax: 64 * 1024 * 1024,
  /** Embedded: writes waiting for durability at once before new ones are refused. */
  embeddedPendingWritesMax: 10_000,
  /** Embedded: bytes (keys + values) of writes waiting for durability before new ones are refused. */
  embeddedPendingWriteBytesMax: 64 * 1024 * 1024,
  /** Embedded: most bytes (keys + values) of writes shared by one append + fsync (group commit). */
  embeddedGroupCommitBytesMax: 4 * 1024 * 1024,
  /** Embedded: a snapshot frame closes once it holds this many key + value bytes (the writer yields between frames). */
  embeddedSnapshotFrameBytesMax: 4 * 1024 * 1024,
  /** Real: how long one request to etcd may take before it fails as Unavailable. */
  requestTimeoutMs: 5_000,
  /** Real: largest response accepted from etcd (gRPC receive limit; ranges and watch batches). */
  responseBytesMax: 256 * 1024 * 1024,
  /** Real: first pause before a watch stream or the gRPC channel reconnects; it doubles per failure. */
  reconnectDelayMsMin: 100,
  /** Real: longest pause between two reconnection attempts. */
  reconnectDelayMsMax: 2_000,
  /** Real: an idle connection to etcd is probed (HTTP/2 ping) this often, so a silent peer is noticed. etcd refuses pings under 5 s. */
  connectionProbeIntervalMs: 10_000,
  /** Election: pause before an observer reads again after a failed read. */
  electionRetryDelayMs: 500,
} as const;
export type MetaStoreLimits = { -readonly [K in keyof typeof metaStoreDefaults]: number };

export const logDefaults = {
  /** Longest channel name; Kafka's topic limit is 249 characters. */
  channelNameLengthMax: 249,
  /** Largest payload of one message. */
  messageBytesMax: 8 * 1024 * 1024,
  /** Most messages in one append call. */
  appendBatchMessagesMax: 10_000,
  /** Largest total payload of one append call. */
  appendBatchBytesMax: 64 * 1024 * 1024,
  /** Embedded: roll to a new segment file after this many bytes. */
  embeddedSegmentBytesMax: 64 * 1024 * 1024,
  /** Embedded: most time an append waits for others to share its fsync (group commit window). */
  embeddedGroupCommitWaitMs: 2,
  /** Embedded: most bytes waiting for one group commit before the window closes early. */
  embeddedGroupCommitBytesMax: 4 * 1024 * 1024,
  /** Embedded: appends waiting for durability at once before new ones are refused. */
  embeddedPendingAppendsMax: 100_000,
  /** Embedded: bytes of appends waiting for durability at once before new ones are refused. */
  embeddedPendingBytesMax: 256 * 1024 * 1024,
  /** Embedded: a sparse in-memory index keeps one entry per this many segment bytes (bounds a seek's scan). */
  embeddedIndexIntervalBytes: 64 * 1024,
  /** Embedded: most bytes one read of a segment file fetches (a larger record is read whole). */
  embeddedReadChunkBytes: 1024 * 1024,
  /** Records a reader fetches ahead of its consumer (back-pressure bound). */
  readAheadRecordsMax: 1_000,
  /** Bytes a reader fetches ahead of its consumer (back-pressure bound). */
  readAheadBytesMax: 16 * 1024 * 1024,
  /** Real: how long one request to the broker may take before it fails as Unavailable. */
  requestTimeoutMs: 10_000,
  /** Real: longest a TCP connection to a broker may take to open. */
  kafkaConnectionTimeoutMs: 3_000,
  /** Real: longest a fetch waits at the broker for new records (long poll) before it asks again. */
  kafkaFetchWaitMs: 500,
  /** Real: longest a reader keeps retrying an unreachable broker before it fails as Unavailable. */
  kafkaReaderRetryWindowMs: 60_000,
  /** Real: longest pause between two retries of a failed fetch. */
  kafkaRetryBackoffMsMax: 1_000,
} as const;
export type LogLimits = { -readonly [K in keyof typeof logDefaults]: number };

export const objectStoreDefaults = {
  /** Longest object key, in UTF-8 bytes (S3's limit is 1024). */
  keyBytesMax: 1024,
  /** Longest '/'-separated segment of a key, in UTF-8 bytes (a file name in the local store: NAME_MAX). */
  keySegmentBytesMax: 255,
  /** Largest object accepted by one put. */
  objectBytesMax: 5 * 1024 * 1024 * 1024,
  /** Most keys one list page returns (S3's page limit is 1000). */
  listPageKeysMax: 1000,
  /** Real: how long one request may take, retries included, before it fails as Unavailable. */
  requestTimeoutMs: 30_000,
  /** Real: attempts of one request (the first try and its retries) on network errors and throttling. */
  requestAttemptsMax: 3,
  /** Real: objects at least this large are uploaded in parts. */
  multipartThresholdBytes: 64 * 1024 * 1024,
  /** Real: size of one multipart part (S3 minimum is 5 MiB). */
  multipartPartBytes: 16 * 1024 * 1024,
  /** Real: smallest part size accepted for multipartPartBytes (S3's rule for every part but the last). */
  multipartPartBytesMin: 5 * 1024 * 1024,
  /** Real: most parts of one multipart upload (S3's limit is 10,000). */
  multipartPartsMax: 10_000,
  /** Real: parts of one multipart upload in flight at once. */
  multipartConcurrentPartsMax: 4,
  /** Real: most keys in one DeleteObjects request (S3's limit is 1000). */
  deleteBatchKeysMax: 1000,
  /** Local: attempts to move a finished temp file into place when a concurrent delete removes its directory. */
  localRenameAttemptsMax: 4,
} as const;
export type ObjectStoreLimits = { -readonly [K in keyof typeof objectStoreDefaults]: number };

/** Merges caller overrides into defaults and checks that every value is a positive finite number. */
export function resolveLimits<T extends Record<string, number>>(defaults: T, overrides: Partial<T> | undefined, what: string): T {
  const merged = { ...defaults, ...(overrides ?? {}) } as T;
  for (const [name, value] of Object.entries(merged)) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw invalidArgument(`${what}: limit ${name} must be a non-negative finite number, got ${String(value)}`);
    }
  }
  return merged;
}

export const schemaLimits = {
  /** Longest collection, field, partition, alias or database name. */
  nameLengthMax: 255,
  /** Most fields in one collection (Milvus: 64). */
  fieldsPerCollectionMax: 64,
  /** Most vector fields in one collection (Milvus: 4). */
  vectorFieldsPerCollectionMax: 4,
  vectorDimMin: 2,
  vectorDimMax: 32_768,
  /** Longest VarChar max_length (Milvus: 65,535). */
  varcharLengthMax: 65_535,
  /** The id of a collection's first field; the rest follow in declaration order (as Milvus). */
  firstFieldId: 100,
} as const;

export const rootCoordDefaults = {
  /** Most collections across all databases (Milvus: 65,536). */
  collectionsMax: 65_536,
  /** Most partitions in one collection (Milvus: 1,024). */
  partitionsPerCollectionMax: 1024,
  /** Most databases (Milvus: 64). */
  databasesMax: 64,
  /** Most shards (vchannels) of one collection (Milvus: 16). */
  shardsPerCollectionMax: 16,
  /** Shards of a collection created without a shard count. */
  shardsPerCollectionDefault: 1,
  /** Size of the fixed pool of physical log channels (Milvus: 16). */
  pchannelCount: 16,
  /** How far ahead of the wall clock the TSO persists its upper bound before using a window. */
  tsoWindowMs: 3000,
  /** IDs reserved per persisted window of the ID allocator. */
  idWindowSize: 100_000,
  /** Definition (DDL) requests waiting at once before new ones are refused. */
  ddlQueueDepthMax: 1024,
  /** Most timestamps or IDs handed out by one allocation call. */
  allocationCountMax: 1_000_000,
} as const;
export type RootCoordLimits = { -readonly [K in keyof typeof rootCoordDefaults]: number };

export const timeSyncDefaults = {
  /** How often each pchannel gets a TimeTick (Milvus: 200 ms). */
  tickIntervalMs: 200,
  /** How long time sync waits for one source's report before skipping the round (no tick is safe). */
  reportTimeoutMs: 2_000,
  /** Writes (reservations) a channel writer holds in flight at once before refusing more. */
  pendingWritesMax: 10_000,
  /** Most messages a channel writer packs into one log append. */
  appendBatchMessagesMax: 1_000,
  /** Most payload bytes a channel writer packs into one log append. */
  appendBatchBytesMax: 32 * 1024 * 1024,
} as const;
export type TimeSyncLimits = { -readonly [K in keyof typeof timeSyncDefaults]: number };

export const dataCoordDefaults = {
  /** A growing segment is closed to new rows once its estimated size reaches this. */
  segmentSizeBytesMax: 256 * 1024 * 1024,
  /** ... or once it holds this many rows, whichever comes first. */
  segmentRowCountMax: 1_000_000,
  /** A row quota handed to a proxy may be written for this long; a sealed segment is flushed only after (Milvus: 2 s). */
  segmentAllocationExpiryMs: 2_000,
  /** A growing segment that got no new quota for this long is sealed (Milvus: segment.maxIdleTime, 10 min). */
  segmentIdleSealMs: 600_000,
  /** A growing segment older than this is sealed however small (Milvus: segment.maxLife, 24 h). */
  segmentLifetimeMsMax: 24 * 3600 * 1000,
  /** How often the seal policy, garbage collection and log retention are checked. */
  sealCheckIntervalMs: 1_000,
  /** How often garbage collection runs. */
  gcIntervalMs: 60_000,
  /** Files of a dropped segment are kept this long, for readers that still hold it (Milvus: gc.dropTolerance). */
  gcDroppedRetentionMs: 10 * 60 * 1000,
  /** A binlog file no segment names is deleted only once it is this old (a younger one may be mid-commit). */
  gcOrphanMinAgeMs: 60 * 60 * 1000,
  /** How often log retention (truncation below every checkpoint) runs. */
  logRetentionIntervalMs: 10_000,
  /** Most segments the Flush call waits on in one GetFlushState request. */
  flushStateSegmentsMax: 100_000,
  /** How often compaction candidates are looked for. */
  compactionIntervalMs: 60_000,
  /** A flushed segment under this fraction of segmentRowCountMax rows is small: small ones of a shard are merged. */
  compactionSmallRowsFraction: 0.5,
  /** A flushed segment with at least this fraction of its rows deleted is rewritten without them. */
  compactionDeletedFractionMin: 0.2,
  /** Most segments merged by one compaction. */
  compactionSegmentsMax: 16,
} as const;
export type DataCoordLimits = { -readonly [K in keyof typeof dataCoordDefaults]: number };

export const dataNodeDefaults = {
  /** Rows and tombstones a data node buffers (all its vchannels) before it writes the largest segment's buffer out. */
  bufferBytesMax: 256 * 1024 * 1024,
  /** A buffered row or tombstone is written out at the latest this long after it arrived (bounds replay and log retention). */
  syncPeriodMs: 10 * 60 * 1000,
  /** A vchannel's checkpoint is committed at least this often while it moves. */
  checkpointIntervalMs: 5_000,
  /** Most segments committed in one MetaStore transaction (each is one operation; etcd allows 128). */
  commitSegmentsMax: 100,
} as const;
export type DataNodeLimits = { -readonly [K in keyof typeof dataNodeDefaults]: number };

export const proxyDefaults = {
  /** Largest insert, upsert or delete request (Milvus: 64 MiB). */
  insertBatchBytesMax: 64 * 1024 * 1024,
  /** Most rows in one insert or upsert request. */
  insertBatchRowsMax: 1_000_000,
  /** Most primary keys in one delete request. */
  deleteBatchKeysMax: 1_000_000,
  /** Largest JSON value of one row (Milvus: 64 KiB). */
  jsonBytesMax: 64 * 1024,
} as const;
export type ProxyLimits = { -readonly [K in keyof typeof proxyDefaults]: number };

export const sessionDefaults = {
  /** TTL of a node's session lease (Milvus: 30 s). The node is declared dead this long after it stops renewing. */
  sessionTtlSeconds: 30,
  /**
   * A node fences itself (stops writing) when no renewal succeeded for this fraction of the TTL, so that
   * the rest of the TTL is left for its in-flight appends to finish before anyone else may act on its death.
   */
  sessionFenceFraction: 2 / 3,
} as const;

export const workerPoolDefaults = {
  /** Worker threads in a pool; 0 means one per CPU core (os.availableParallelism()). */
  workerCount: 0,
  /** Most worker threads one pool may be given. */
  workerCountMax: 256,
  /** Tasks waiting for a free worker before new ones are refused with LimitExceeded (Milvus: task queue full). */
  taskQueueDepthMax: 1024,
  /**
   * Closing a pool waits this long at most for a worker still starting (loading its module and the
   * TypeScript loader) or still running a task before terminating it: a worker terminated inside a
   * native call (loading hnswlib, or an hnswlib call that throws) takes the whole process down.
   */
  workerStartWaitMsMax: 10_000,
} as const;
export type WorkerPoolLimits = { -readonly [K in keyof typeof workerPoolDefaults]: number };

export const queryNodeDefaults = {
  /** Largest topk a search may ask for, offset included (Milvus: topk + offset ≤ 16,384). */
  searchTopKMax: 16_384,
  /** Most query vectors in one search request (Milvus: nq ≤ 16,384). */
  searchQueryCountMax: 16_384,
  /** Most result entries (nq × topk, offset included) of one search: each costs ~24 bytes in heaps and results per scan. */
  searchResultEntriesMax: 4_194_304,
  /** A brute-force search is split across workers by row ranges only if every range gets at least this many rows. */
  searchSplitRowsMin: 32_768,
  /** Merges and reduces of more entries than this (nq × topk × inputs) run in a worker, not on the calling thread. */
  searchInlineMergeEntriesMax: 65_536,
} as const;
export type QueryNodeLimits = { -readonly [K in keyof typeof queryNodeDefaults]: number };

export const queryNodeLoadDefaults = {
  /** Bytes of segment data and indexes a query node holds; a load that would pass it is refused. */
  memoryBytesMax: 16 * 1024 * 1024 * 1024,
  /** Copies of each segment's HNSW index, each in its own worker (at most the HNSW pool's workers), so one segment's searches run in parallel. */
  indexReplicas: 2,
  /** Worker threads searching HNSW indexes on a query node; 0: one per core. */
  hnswWorkers: 0,
} as const;
export type QueryNodeLoadLimits = { -readonly [K in keyof typeof queryNodeLoadDefaults]: number };

export const queryNodeReadDefaults = {
  /** Longest a search or query waits for tsafe to reach its guarantee timestamp. */
  tsafeWaitMsMax: 10_000,
  /** Bounded consistency: the guarantee timestamp lags the wall clock by this much (Milvus: 5 s). */
  boundedStalenessMs: 5_000,
  /** Largest topk (Milvus: 16,384). */
  topkMax: 16_384,
  /** Largest offset + topk of a search, and offset + limit of a query (Milvus: 16,384). */
  resultWindowMax: 16_384,
  /** Most query vectors (nq) in one search (Milvus: 16,384). */
  nqMax: 16_384,
  /** Most rows a query returns. */
  queryLimitMax: 16_384,
  /** Most rows one delete by filter expression may remove. */
  deleteByFilterKeysMax: 1_000_000,
  /** Searches and queries waiting at once on one query node before new ones are refused. */
  readQueueDepthMax: 1_024,
  /**
   * Filter results one segment keeps (distinct filters, least recently used dropped first; each one bit
   * per row): a filter repeated on a segment whose row count has not changed costs an AND with the
   * visibility instead of an evaluation over every row.
   */
  filterCacheEntriesMax: 16,
} as const;
export type QueryNodeReadLimits = { -readonly [K in keyof typeof queryNodeReadDefaults]: number };

export const apiDefaults = {
  /** Client connections whose last write timestamp is remembered (Session consistency); oldest forgotten first. */
  sessionsTrackedMax: 100_000,
  /** Largest gRPC message accepted or sent (Milvus: 64 MiB requests, 2 GiB responses capped here). */
  grpcMessageBytesMax: 256 * 1024 * 1024,
  /** When the public server closes, calls in flight get this long to finish before they are cut. */
  shutdownGraceMs: 5_000,
  /** Largest REST request body; a larger one is refused as soon as it is seen, never buffered. */
  restBodyBytesMax: 64 * 1024 * 1024,
  /** A REST request still running after this long is answered "request timeout" (HTTP 408) unless its Request-Timeout header says otherwise (Milvus: 30 s). */
  restRequestTimeoutMs: 30_000,
  /** Longest Request-Timeout a REST client may ask for; a larger one is refused. */
  restRequestTimeoutMsMax: 600_000,
} as const;
export type ApiLimits = { -readonly [K in keyof typeof apiDefaults]: number };

export const expressionDefaults = {
  /** Longest filter expression accepted, in characters (UTF-16 code units). */
  expressionLengthMax: 262_144,
  /**
   * Deepest nesting of a filter: each parenthesis, prefix operator, list and binary operator below
   * another adds a level (`and`/`or` chains are flat and add one). Bounds the parser's and the
   * evaluator's recursion, so a hostile expression fails with LimitExceeded instead of a stack overflow.
   */
  nestingDepthMax: 64,
  /** Most elements in one list: `in [...]`, json_contains_* lists and lists given as template values. */
  listLengthMax: 1_000_000,
  /** Most named values in one template-values object (`{name}` placeholders). */
  templateValuesMax: 1_024,
  /** Rows a filter evaluates between two yields to the event loop; a multiple of 8 (whole bitset bytes). */
  evaluationChunkRows: 65_536,
} as const;
export type ExpressionLimits = { -readonly [K in keyof typeof expressionDefaults]: number };

export const hnswDefaults = {
  /** Smallest M (links per node and layer; layer 0 keeps 2·M) accepted for a build (Milvus: [2, 2048]). */
  hnswMMin: 2,
  /** Largest M accepted: each row costs about 8·M bytes of links on layer 0. */
  hnswMMax: 2_048,
  /** M used when an index definition gives none. */
  hnswMDefault: 16,
  /** Smallest efConstruction (candidate list length while inserting) accepted for a build. */
  hnswEfConstructionMin: 1,
  /** Largest efConstruction accepted: build time grows about linearly with it. */
  hnswEfConstructionMax: 65_535,
  /** efConstruction used when an index definition gives none. */
  hnswEfConstructionDefault: 200,
  /** ef (candidate list length while searching) when a search gives none; never below topk. */
  hnswEfSearchDefault: 64,
  /** Largest ef a search may ask for (Milvus: 32,768). */
  hnswEfSearchMax: 32_768,
  /** Most rows one index may hold (labels are row indexes, 32-bit in hnswlib). */
  hnswBuildRowsMax: 16_777_216,
  /**
   * A filtered search keeping fewer than this fraction of a segment's rows searches exactly instead:
   * the graph walk then visits most nodes only to reject them (Milvus/knowhere switch at 93% filtered out).
   */
  hnswExactSearchAllowedFractionMin: 0.07,
  /** Most bytes of indexes one HNSW pool keeps loaded in its workers, replicas counted each. */
  hnswResidentBytesMax: 8 * 1024 * 1024 * 1024,
  /** Memory a loaded index takes beyond its serialised graph, per row and copy (hnswlib's label map and visited list). */
  hnswResidentOverheadBytesPerRow: 64,
  /**
   * Most searches one message to an HNSW worker carries. Searches that arrive while a worker is busy
   * wait and then go together, one message and one wake-up for the lot instead of one each; a lone
   * search still goes at once.
   */
  hnswSearchBatchMax: 64,
} as const;
export type HnswLimits = { -readonly [K in keyof typeof hnswDefaults]: number };

export const binlogDefaults = {
  /**
   * Binlog encodes and decodes of batches larger than this (in-memory column bytes when writing, file
   * bytes when reading) run in a worker of the binlog pool, not on the event loop.
   */
  inlineCodecBytesMax: 1024 * 1024,
  /** Largest total of string or JSON bytes of one column in one binlog (Arrow Utf8/Binary offsets are 32-bit). */
  variableColumnBytesMax: 1024 * 1024 * 1024,
  /** The primary-key bloom filter of a stats log is sized for this false-positive rate (Milvus: 0.001). */
  bloomFalsePositiveRate: 0.001,
  /** Largest bloom filter of one stats log; a segment that would need more is refused. */
  bloomFilterBytesMax: 64 * 1024 * 1024,
  /** Most hash functions of a bloom filter (a decoded filter asking for more is corrupt). */
  bloomHashCountMax: 30,
} as const;
export type BinlogLimits = { -readonly [K in keyof typeof binlogDefaults]: number };

export const indexCoordDefaults = {
  /** Attempts of one build task (the first and its retries) before it is Failed for good (Milvus retries too). */
  indexBuildAttemptsMax: 3,
  /** Pause before the first retry of a failed build; it doubles with each further failure. */
  indexBuildRetryDelayMsMin: 1_000,
  /** Longest pause before a retry of a failed build. */
  indexBuildRetryDelayMsMax: 60_000,
  /** How often the coordinator schedules: creates tasks for new segments, polls index nodes, checks their sessions. */
  indexScheduleIntervalMs: 1_000,
  /** Build tasks issued to index nodes in one scheduling round (bounds a round's MetaStore writes). */
  indexTasksIssuedPerRoundMax: 64,
  /**
   * Index files of a dropped segment (compacted away, or its partition dropped) stay this long before
   * garbage collection, so a query node still loading or serving the segment during handoff can read them.
   */
  droppedSegmentIndexRetentionMs: 60 * 60 * 1000,
  /** How often the coordinator lists `index_files/` and deletes the files of builds it has no record of. */
  indexOrphanSweepIntervalMs: 60 * 60 * 1000,
  /** Longest failure text kept in a task record and in a fail reason (longer ones are cut). */
  indexFailReasonLengthMax: 1_024,
} as const;
export type IndexCoordLimits = { -readonly [K in keyof typeof indexCoordDefaults]: number };

export const indexNodeDefaults = {
  /**
   * Builds one index node runs at once, each in its own HNSW worker; 0 means one less than the cores
   * (at least 1), so that a core stays free for the event loop and the other roles of the process.
   */
  indexBuildConcurrency: 0,
  /** Build tasks a node holds beyond those running before it refuses more (the coordinator sends at most its slots). */
  indexBuildQueueDepthMax: 16,
  /** Bytes of vectors copied into a build's shared buffer between two yields to the event loop. */
  indexVectorCopyChunkBytes: 4 * 1024 * 1024,
  /** Settled jobs (finished or failed) a node keeps for the coordinator to collect; the oldest are forgotten first. */
  indexSettledJobsKeptMax: 1_024,
} as const;
export type IndexNodeLimits = { -readonly [K in keyof typeof indexNodeDefaults]: number };

/**
 * The load generator (`vela bench`, bench/tool/): data set shape, phase sizes and durations, waits and
 * report bounds. Command-line flags override them; the reference workload (docs/benchmarks.md) is these
 * defaults with every phase and peer on.
 */
export const benchDefaults = {
  /** Rows of a generated data set. */
  generatedRows: 100_000,
  /** Dimension of a generated data set. */
  generatedDim: 128,
  /** Gaussian clusters of a generated data set. */
  generatedClusters: 100,
  /** Standard deviation of each component around its cluster centre (centres have standard deviation 1). */
  generatedClusterSpread: 0.5,
  /** Seed of a generated data set (and of everything else random in a run). */
  seed: 42,
  /** Query vectors: generated ones, or the first this many of a query file. */
  queryCount: 1_000,
  /** k of every search and of recall@k. */
  topK: 10,
  /** HNSW links per node (Vela's index and both peers). */
  hnswM: 16,
  /** HNSW candidate list length while building. */
  hnswEfConstruction: 200,
  /** HNSW candidate list length while searching. */
  hnswEf: 64,
  /** Rows per insert request. */
  insertBatchRows: 1_000,
  /** Insert requests in flight at once (over all insert threads). */
  insertConcurrency: 4,
  /**
   * SDK clients the ingest phase spreads its inserts over, each in its own worker thread; 1 = the tool's
   * own thread. The Node SDK spends ~0.14 s of client CPU per 1,000 × 128 insert, so one thread caps
   * ingest near 7,000 vectors/s whatever the server does.
   */
  insertThreads: 1,
  /**
   * SDK clients each search level spreads its clients over, each in its own worker thread; 1 = the
   * tool's own thread. The Node SDK spends about 1 ms of client CPU per search, so one thread caps a
   * level near 1,000 queries/s whatever the server does.
   */
  searchThreads: 1,
  /** Rows per second the ingest phase paces itself to; 0 = as fast as acknowledged. */
  insertRateRowsPerSecond: 0,
  /** Query vectors per search request. */
  searchNq: 1,
  /** Search requests in flight at once, one level after another. */
  searchConcurrencyLevels: [1, 4, 16, 64],
  /** ef values of the recall sweep (HNSW only; FLAT ignores ef). */
  efSweep: [16, 32, 64, 128, 256],
  /** Seconds each search concurrency level (and each peer level) runs. */
  searchLevelSeconds: 10,
  /** Searches at one concurrency level stop after this many requests even when time remains. */
  searchLevelRequestsMax: 1_000_000,
  /** Concurrency of the ef sweep, the filtered-search phase and the headline ratios (the reference's 16 clients). */
  referenceConcurrency: 16,
  /** Filtered search keeps rows whose `tag` (row mod 100) is below this: a percentage of the rows. */
  filterKeepPercent: 10,
  /** Seconds the mixed phase (inserts + searches + freshness probes) runs. */
  mixedSeconds: 15,
  /** Rows per second inserted in the background of the mixed phase. */
  mixedInsertRowsPerSecond: 5_000,
  /** Rows per background insert of the mixed phase. */
  mixedInsertBatchRows: 500,
  /** Searches in flight in the background of the mixed phase. */
  mixedSearchConcurrency: 4,
  /** Pause between two freshness probes (each inserts one marker row and polls until a search returns it). */
  freshnessProbeIntervalMs: 100,
  /** A marker row not returned within this long counts as a freshness error. */
  freshnessTimeoutMs: 30_000,
  /**
   * Rows the `ceiling` phase inserts into the null server (the data set's first ones; all of them when
   * it has fewer): enough for a steady rate, bounded so a large data set does not make the phase long.
   */
  ceilingIngestRowsMax: 100_000,
  /**
   * Seconds the `ceiling` phase searches, then inserts, before measuring each (JIT and connections warm
   * on both ends, as they are for Vela's searches at the reference concurrency after the lower levels).
   */
  ceilingWarmUpSeconds: 2,
  /** Encoded answers (one per search shape or insert size) the null server keeps to send again. */
  nullServerCachedAnswersMax: 64,
  /** Seconds to wait for a started standalone Vela to serve. */
  serverStartSeconds: 60,
  /** Seconds to wait for a started standalone Vela to exit after SIGTERM before it is killed. */
  serverStopSeconds: 30,
  /** Seconds to wait for flush, index build and load each. */
  buildPhaseSeconds: 1_800,
  /** Pause between two polls of the index build state. */
  indexPollIntervalMs: 200,
  /** Queries per ground-truth task sent to a worker. */
  groundTruthQueriesPerTask: 64,
  /** Error messages kept per phase (the rest are counted only). */
  errorMessagesKept: 5,
  /** Progress bar redraw interval on a terminal. */
  progressRedrawMs: 200,
  /** Interval of the plain progress lines written when stderr is not a terminal. */
  progressLineMs: 10_000,
} as const;
export type BenchLimits = { -readonly [K in keyof typeof benchDefaults]: (typeof benchDefaults)[K] extends readonly number[] ? number[] : number };
