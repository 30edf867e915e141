// The index coordinator (DESIGN §1, §6, §9): index definitions per vector field, stored under
// `index/<collectionId>/<indexId>`, and the build tasks that turn each flushed segment of an HNSW-indexed
// field into an index file, stored under `segment-index/<segmentId>/<buildId>` (index-tasks.ts).
//
// Scheduling runs in rounds (every indexScheduleIntervalMs, and at once when a segment is flushed or a
// node finishes a build): create a task for every flushed segment that lacks one, poll the index nodes
// for the tasks they hold, re-issue the tasks of nodes whose session ended, issue waiting tasks to nodes
// with free slots, and collect garbage. The data coordinator's events only speed this up: every round
// reconciles against its segment list, so an event missed while this coordinator was down is harmless.
//
// Invariants: every task record is persisted before a node hears of it, so a restarted coordinator
// finds every task where it left it (InProgress on a live node: polled again; on a dead one: issued
// again); a build is recorded Finished only from the report of the node and attempt it was issued to;
// at most one index per field (the same definition again is a no-op, another is refused); an index of
// a loaded collection cannot be dropped (release it first, as Milvus); bad input changes nothing.

import type { Clock } from "../common/clock.ts";
import { indexCoordDefaults, resolveLimits, type IndexCoordLimits } from "../common/config.ts";
import { ErrorCode, VelaError, errorMessage, invalidArgument, isVelaError } from "../common/errors.ts";
import { Mutex } from "../common/mutex.ts";
import type { Timestamp } from "../common/timestamp.ts";
import { buildIdOfIndexKey, indexFilesPrefix, indexFilesRoot } from "../indexnode/index-files.ts";
import { decodeValue, type MetaStore } from "../storage/meta/meta-store.ts";
import { rangeAll } from "../storage/meta/range-all.ts";
import { listAll, type ObjectStore } from "../storage/object/object-store.ts";
import type { DataCoordApi, SegmentEvent, SegmentInfo } from "../types/data-coord.ts";
import type { IndexCoordApi, SegmentIndexInfo } from "../types/index-coord.ts";
import { INDEX_NODE_ROLE, type IndexBuildTask, type IndexNodeApi } from "../types/index-node.ts";
import { decodeRecord, encodeRecord, type CollectionInfo } from "./catalog.ts";
import { describeDefinition, resolveIndexRequest, sameIndex, type IndexDefinition } from "./index-definition.ts";
import { SEGMENT_INDEX_PREFIX, indexProgress, segmentIndexKey, transition, type IndexProgress, type SegmentIndexTask, type TaskEvent } from "./index-tasks.ts";

export type { IndexDefinition, IndexType } from "./index-definition.ts";

export interface CreateIndexRequest {
  collection: CollectionInfo;
  fieldName: string;
  indexName?: string;
  /** index_type, metric_type and the index's own params (M, efConstruction, ...), all as strings. */
  params: Record<string, string>;
}

export interface IndexCoordOptions {
  metaStore: MetaStore;
  /** Where index files live; the coordinator deletes the files of dropped indexes and builds. */
  objectStore: ObjectStore;
  /** Key prefix of index files ("" for none; the index nodes' root): `<root>/index_files/<buildId>/`. */
  objectRoot?: string;
  /** Flushed segments and their binlogs. */
  dataCoord: DataCoordApi;
  /** The index node behind a live session `session/indexnode/<nodeId>`; undefined when it cannot be reached. */
  connectNode: (nodeId: string) => IndexNodeApi | undefined;
  clock: Clock;
  allocId: () => Promise<bigint>;
  allocTimestamp: () => Promise<Timestamp>;
  /** True when the collection is loaded (its index cannot be dropped then). */
  isLoaded: (collectionId: bigint) => boolean;
  limits?: Partial<IndexCoordLimits>;
  /** Called when a background round fails; defaults to ignoring (the next round retries). */
  onBackgroundError?: (error: unknown) => void;
}

const definitionKey = (collectionId: bigint, indexId: bigint): string => `index/${collectionId}/${indexId}`;
const pairKey = (segmentId: bigint, indexId: bigint): string => `${segmentId}/${indexId}`;

/** createJob failures that mean "not now" rather than "this task is bad". */
const NOT_NOW = new Set<ErrorCode>([ErrorCode.LimitExceeded, ErrorCode.Closed, ErrorCode.Unavailable, ErrorCode.Timeout]);

export class IndexCoord implements IndexCoordApi {
  readonly limits: IndexCoordLimits;
  private readonly root: string;
  private readonly definitions = new Map<bigint, IndexDefinition>();
  private readonly tasks = new Map<bigint, SegmentIndexTask>();
  /** `<segmentId>/<indexId>` → build id. */
  private readonly taskOfPair = new Map<string, bigint>();
  private readonly builtListeners = new Set<(index: SegmentIndexInfo) => void>();
  private readonly mutex = new Mutex();
  private unsubscribe: (() => void) | undefined;
  private cancelTimer: (() => void) | undefined;
  private roundRunning: Promise<void> | undefined;
  private roundAgain = false;
  /** Segment events being handled (close waits for them). */
  private readonly pendingEvents = new Set<Promise<void>>();
  private lastOrphanSweepMs = Number.NEGATIVE_INFINITY;
  private closed = false;

  private constructor(private readonly options: IndexCoordOptions) {
    this.limits = resolveLimits(indexCoordDefaults as IndexCoordLimits, options.limits, "index coordinator");
    this.root = options.objectRoot ?? "";
    indexFilesRoot(this.root); // validates the root
  }

  /**
   * Opens the coordinator on what the MetaStore holds: definitions, then tasks (tasks of an index that
   * no longer exists, left by a drop that was cut short, are removed with their files), then creates
   * tasks for flushed segments that lack one. Does not schedule until start() or scheduleNow().
   */
  static async open(options: IndexCoordOptions): Promise<IndexCoord> {
    const coord = new IndexCoord(options);
    for (const kv of await rangeAll(options.metaStore, "index/")) {
      const definition = decodeRecord<IndexDefinition>(decodeValue(kv.value), kv.key);
      coord.definitions.set(definition.indexId, definition);
    }
    for (const kv of await rangeAll(options.metaStore, SEGMENT_INDEX_PREFIX)) {
      const task = decodeRecord<SegmentIndexTask>(decodeValue(kv.value), kv.key);
      coord.remember(task);
    }
    await coord.mutex.run(async () => {
      await coord.removeTasks((task) => !coord.definitions.has(task.indexId));
      await coord.reconcile();
    });
    coord.unsubscribe = options.dataCoord.onSegmentEvent((event) => coord.onSegmentEvent(event));
    return coord;
  }

  /** Schedules a round every indexScheduleIntervalMs until close(). */
  start(): void {
    if (this.closed || this.cancelTimer !== undefined) return;
    const arm = (): void => {
      this.cancelTimer = this.options.clock.setTimer(this.limits.indexScheduleIntervalMs, () => {
        if (this.closed) return;
        this.requestRound();
        arm();
      });
    };
    arm();
  }

  /** Stops scheduling; a round in progress finishes first. Tasks stay where they are, for the next coordinator. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await Promise.all([...this.pendingEvents]);
    await this.roundRunning;
  }

  // ---- definitions ----

  createIndex(request: CreateIndexRequest): Promise<IndexDefinition> {
    return this.mutex.run(async () => {
      const { collection } = request;
      const field = collection.schema.fields.find((candidate) => candidate.name === request.fieldName);
      if (field === undefined) throw invalidArgument(`field "${request.fieldName}" is not in collection "${collection.name}"`);
      const resolved = resolveIndexRequest({ field, params: request.params });
      const indexName = request.indexName === undefined || request.indexName === "" ? field.name : request.indexName;
      const existing = [...this.definitions.values()].filter((definition) => definition.collectionId === collection.id);
      const onField = existing.find((definition) => definition.fieldId === field.fieldId);
      if (onField !== undefined) {
        if (sameIndex(onField, indexName, resolved)) return onField;
        throw invalidArgument(`field "${field.name}" already has index "${onField.indexName}" (${describeDefinition(onField)}); drop it first to create "${indexName}" (${describeDefinition(resolved)})`);
      }
      if (existing.some((definition) => definition.indexName === indexName)) throw invalidArgument(`index name "${indexName}" is already used in collection "${collection.name}"`);
      const definition: IndexDefinition = {
        indexId: await this.options.allocId(),
        collectionId: collection.id,
        fieldId: field.fieldId,
        fieldName: field.name,
        indexName,
        ...resolved,
        createdTs: await this.options.allocTimestamp(),
      };
      await this.options.metaStore.put(definitionKey(collection.id, definition.indexId), encodeRecord(definition));
      this.definitions.set(definition.indexId, definition);
      await this.reconcile();
      this.requestRound();
      return definition;
    });
  }

  /** The collection's indexes, narrowed to an index or field name; IndexNotFound when none match. */
  describe(collection: CollectionInfo, name?: string): IndexDefinition[] {
    const matches = [...this.definitions.values()].filter((definition) => definition.collectionId === collection.id
      && (name === undefined || name === "" || definition.indexName === name || definition.fieldName === name));
    if (matches.length === 0) {
      throw new VelaError(ErrorCode.IndexNotFound, name === undefined || name === "" ? `index not found in collection "${collection.name}"` : `index "${name}" not found in collection "${collection.name}"`);
    }
    return matches;
  }

  /** The index on a field, if any. */
  indexOfField(collectionId: bigint, fieldId: number): IndexDefinition | undefined {
    return [...this.definitions.values()].find((definition) => definition.collectionId === collectionId && definition.fieldId === fieldId);
  }

  /** Build progress of an index over the collection's flushed segments (index-tasks.ts: indexProgress). */
  progress(definition: IndexDefinition): IndexProgress {
    const segments = this.options.dataCoord.listSegments(definition.collectionId);
    return indexProgress(definition, segments, (segmentId) => this.liveTask(segmentId, definition.indexId), this.limits);
  }

  /** Drops the matching indexes, their build tasks and their files. */
  dropIndex(collection: CollectionInfo, name?: string): Promise<void> {
    return this.mutex.run(async () => {
      const matches = this.describe(collection, name);
      if (this.options.isLoaded(collection.id)) {
        throw invalidArgument(`index of collection "${collection.name}" cannot be dropped while it is loaded; release it first`);
      }
      for (const definition of matches) {
        // The definition goes first: a drop cut short leaves tasks without a definition, which open() removes.
        await this.options.metaStore.delete(definitionKey(collection.id, definition.indexId));
        this.definitions.delete(definition.indexId);
        await this.removeTasks((task) => task.indexId === definition.indexId);
      }
    });
  }

  /** Forgets every index of a dropped collection, with its build tasks and files. */
  forgetCollection(collectionId: bigint): Promise<void> {
    return this.mutex.run(async () => {
      await this.options.metaStore.deletePrefix(`index/${collectionId}/`);
      for (const [id, definition] of this.definitions) if (definition.collectionId === collectionId) this.definitions.delete(id);
      await this.removeTasks((task) => task.collectionId === collectionId);
    });
  }

  // ---- what the query side asks ----

  segmentIndex(segmentId: bigint, fieldId: number): SegmentIndexInfo | undefined {
    for (const definition of this.definitions.values()) {
      if (definition.fieldId !== fieldId || definition.indexType !== "HNSW") continue;
      const buildId = this.taskOfPair.get(pairKey(segmentId, definition.indexId));
      const task = buildId === undefined ? undefined : this.tasks.get(buildId);
      if (task?.state === "Finished") return this.segmentIndexInfo(task, definition);
    }
    return undefined;
  }

  onIndexBuilt(listener: (index: SegmentIndexInfo) => void): () => void {
    this.builtListeners.add(listener);
    return () => this.builtListeners.delete(listener);
  }

  /** Every build task record (a copy), optionally of one index: for inspection and tests. */
  buildTasks(indexId?: bigint): SegmentIndexTask[] {
    return [...this.tasks.values()].filter((task) => indexId === undefined || task.indexId === indexId).map((task) => ({ ...task }));
  }

  // ---- scheduling ----

  /** Starts a round soon (or another one after the running round); never waits. */
  requestRound(): void {
    if (this.closed) return;
    if (this.roundRunning !== undefined) {
      this.roundAgain = true;
      return;
    }
    const onError = this.options.onBackgroundError ?? (() => undefined);
    this.roundRunning = (async () => {
      do {
        this.roundAgain = false;
        await this.scheduleNow().catch(onError);
      } while (this.roundAgain && !this.closed);
    })().finally(() => {
      this.roundRunning = undefined;
    });
  }

  /**
   * One scheduling round: reconcile with the data coordinator, collect the outcome of builds in
   * progress (and re-issue those of dead nodes), issue waiting builds, collect garbage. Resolves when
   * done; announces builds that finished in it.
   */
  async scheduleNow(): Promise<void> {
    const built = await this.mutex.run(async () => {
      if (this.closed) return [];
      await this.reconcile();
      const nodes = await this.liveNodes();
      const finished = await this.collectOutcomes(nodes);
      await this.issueWaiting(nodes);
      await this.collectGarbage();
      return finished;
    });
    for (const info of built) {
      for (const listener of this.builtListeners) {
        try {
          listener(info);
        } catch (error) {
          (this.options.onBackgroundError ?? (() => undefined))(error);
        }
      }
    }
  }

  private onSegmentEvent(event: SegmentEvent): void {
    if (this.closed) return;
    const onError = this.options.onBackgroundError ?? (() => undefined);
    const handled = this.mutex.run(async () => {
      if (this.closed) return;
      if (event.kind === "dropped") await this.markSegmentDropped(event.segment.id);
      else await this.ensureTasks(event.segment);
    }).then(() => this.requestRound(), onError);
    this.pendingEvents.add(handled);
    void handled.finally(() => this.pendingEvents.delete(handled));
  }

  /** Tasks for every flushed segment of an HNSW index that lacks one; drop marks for segments that are gone. */
  private async reconcile(): Promise<void> {
    const collections = new Set<bigint>();
    for (const definition of this.definitions.values()) if (definition.indexType === "HNSW") collections.add(definition.collectionId);
    for (const collectionId of collections) {
      const segments = this.options.dataCoord.listSegments(collectionId);
      const present = new Set<bigint>();
      for (const segment of segments) {
        if (segment.state === "dropped") continue;
        present.add(segment.id);
        await this.ensureTasks(segment);
      }
      for (const task of [...this.tasks.values()]) {
        if (task.collectionId === collectionId && task.segmentDroppedAtMs === undefined && !present.has(task.segmentId)) await this.markSegmentDropped(task.segmentId);
      }
    }
  }

  private async ensureTasks(segment: SegmentInfo): Promise<void> {
    if (segment.state !== "flushed" || segment.numRows === 0) return;
    for (const definition of this.definitions.values()) {
      if (definition.collectionId !== segment.collectionId || definition.indexType !== "HNSW") continue;
      if (this.taskOfPair.has(pairKey(segment.id, definition.indexId))) continue;
      const task: SegmentIndexTask = {
        buildId: await this.options.allocId(),
        indexId: definition.indexId,
        collectionId: segment.collectionId,
        partitionId: segment.partitionId,
        segmentId: segment.id,
        fieldId: definition.fieldId,
        rowCount: segment.numRows,
        state: "Unissued",
        attempts: 0,
        files: [],
        createdMs: this.options.clock.nowMs(),
      };
      await this.save(task);
    }
  }

  private async markSegmentDropped(segmentId: bigint): Promise<void> {
    for (const task of [...this.tasks.values()]) {
      if (task.segmentId !== segmentId || task.segmentDroppedAtMs !== undefined) continue;
      if (task.state === "InProgress" && task.nodeId !== undefined) await this.dropJobQuietly(task.nodeId, task.buildId);
      await this.apply(task, { kind: "segmentDropped" });
    }
  }

  /** Index nodes with a live session that can be reached, by node id. */
  private async liveNodes(): Promise<Map<string, IndexNodeApi>> {
    const nodes = new Map<string, IndexNodeApi>();
    const prefix = `session/${INDEX_NODE_ROLE}/`;
    for (const kv of await rangeAll(this.options.metaStore, prefix, { keysOnly: true })) {
      const nodeId = kv.key.slice(prefix.length);
      const node = this.options.connectNode(nodeId);
      if (node !== undefined) nodes.set(nodeId, node);
    }
    return nodes;
  }

  private async sessionExists(nodeId: string): Promise<boolean> {
    return (await this.options.metaStore.get(`session/${INDEX_NODE_ROLE}/${nodeId}`)) !== undefined;
  }

  /** Polls nodes for the builds they hold; re-issues builds of nodes that are gone. Returns the builds that finished. */
  private async collectOutcomes(nodes: Map<string, IndexNodeApi>): Promise<SegmentIndexInfo[]> {
    const byNode = new Map<string, SegmentIndexTask[]>();
    for (const task of this.tasks.values()) {
      if (task.state !== "InProgress" || task.segmentDroppedAtMs !== undefined || task.nodeId === undefined) continue;
      byNode.set(task.nodeId, [...(byNode.get(task.nodeId) ?? []), task]);
    }
    const finished: SegmentIndexInfo[] = [];
    for (const [nodeId, held] of byNode) {
      const node = nodes.get(nodeId);
      if (node === undefined) {
        // A live session whose node cannot be reached (a previous life of this process) expires in time.
        if (await this.sessionExists(nodeId)) continue;
        for (const task of held) await this.apply(task, { kind: "lost", error: `index node ${nodeId} is gone (its session ended)` });
        continue;
      }
      let reports;
      try {
        reports = await node.queryJobs(held.map((task) => task.buildId));
      } catch (error) {
        // Whether the node is gone is for its session to say; ask again next round, and let the other nodes' builds go on.
        if (!(isVelaError(error) && NOT_NOW.has(error.code))) (this.options.onBackgroundError ?? (() => undefined))(error);
        continue;
      }
      const settled: bigint[] = [];
      for (const [index, task] of held.entries()) {
        const report = reports[index];
        if (report === undefined || report.buildId !== task.buildId) throw new VelaError(ErrorCode.Internal, `index node ${nodeId} answered queryJobs out of order`);
        if (report.state === "None") {
          await this.apply(task, { kind: "lost", error: `index node ${nodeId} does not hold the build` });
        } else if (report.attempt !== task.attempts || report.state === "InProgress") {
          continue; // still running, or a report of an earlier attempt: wait for this one
        } else if (report.state === "Finished") {
          const files = report.files ?? [];
          const next = await this.apply(task, { kind: "finished", files, rowCount: report.rowCount ?? task.rowCount });
          const definition = this.definitions.get(next.indexId);
          if (definition !== undefined) finished.push(this.segmentIndexInfo(next, definition));
          settled.push(task.buildId);
        } else {
          await this.apply(task, { kind: "failed", error: report.error ?? "unknown error" });
          settled.push(task.buildId);
        }
      }
      if (settled.length > 0) await this.dropJobQuietly(nodeId, ...settled);
    }
    return finished;
  }

  /** Issues waiting builds, oldest first, to the nodes with the most free slots. */
  private async issueWaiting(nodes: Map<string, IndexNodeApi>): Promise<void> {
    const nowMs = this.options.clock.nowMs();
    const busy = new Map<string, number>();
    for (const task of this.tasks.values()) {
      if (task.state === "InProgress" && task.segmentDroppedAtMs === undefined && task.nodeId !== undefined) busy.set(task.nodeId, (busy.get(task.nodeId) ?? 0) + 1);
    }
    const waiting = [...this.tasks.values()]
      .filter((task) => task.state === "Unissued" && task.segmentDroppedAtMs === undefined && (task.retryAfterMs ?? 0) <= nowMs)
      .sort((a, b) => a.createdMs - b.createdMs || (a.buildId < b.buildId ? -1 : 1));
    let issued = 0;
    for (const task of waiting) {
      if (issued >= this.limits.indexTasksIssuedPerRoundMax) return;
      let chosen: [string, IndexNodeApi] | undefined;
      let mostFree = 0;
      for (const [nodeId, node] of nodes) {
        const free = node.buildSlots - (busy.get(nodeId) ?? 0);
        if (free > mostFree) {
          mostFree = free;
          chosen = [nodeId, node];
        }
      }
      if (chosen === undefined) return; // every node is full (or there is none): the task waits
      const segment = this.options.dataCoord.segment(task.segmentId);
      if (segment === undefined || segment.state === "dropped") {
        await this.markSegmentDropped(task.segmentId);
        continue;
      }
      const definition = this.definitions.get(task.indexId);
      if (definition?.build === undefined) continue; // cannot happen: tasks exist only for HNSW definitions
      const [nodeId, node] = chosen;
      const inProgress = await this.apply(task, { kind: "issue", nodeId });
      busy.set(nodeId, (busy.get(nodeId) ?? 0) + 1);
      issued += 1;
      const buildTask: IndexBuildTask = {
        buildId: task.buildId, attempt: inProgress.attempts, indexId: task.indexId,
        collectionId: task.collectionId, partitionId: task.partitionId, segmentId: task.segmentId, fieldId: task.fieldId,
        indexType: "HNSW", metricType: definition.metricType, dim: definition.dim, M: definition.build.M, efConstruction: definition.build.efConstruction,
        insertLogs: segment.insertLogs.filter((log) => log.fieldId === task.fieldId).map(({ path, sizeBytes, rowCount, crc32 }) => ({ path, sizeBytes, rowCount, crc32 })),
        rowCount: task.rowCount,
      };
      try {
        await node.createJob(buildTask);
      } catch (error) {
        if (isVelaError(error) && NOT_NOW.has(error.code)) {
          await this.apply(inProgress, { kind: "refused" });
          busy.set(nodeId, Number.POSITIVE_INFINITY); // not this node again in this round
        } else {
          await this.apply(inProgress, { kind: "failed", error: `index node refused the build: ${errorMessage(error)}` });
        }
      }
    }
  }

  /** Removes builds of segments dropped longer ago than the retention, and files no build record names. */
  private async collectGarbage(): Promise<void> {
    const nowMs = this.options.clock.nowMs();
    await this.removeTasks((task) => task.segmentDroppedAtMs !== undefined && nowMs - task.segmentDroppedAtMs >= this.limits.droppedSegmentIndexRetentionMs);
    if (nowMs - this.lastOrphanSweepMs < this.limits.indexOrphanSweepIntervalMs) return;
    this.lastOrphanSweepMs = nowMs;
    await this.sweepOrphans();
  }

  /**
   * Deletes the files under `<root>/index_files/` of builds with no task record (written by an attempt
   * that was given up on after its index or segment was dropped, or left by a drop cut short). Runs in
   * scheduling rounds every indexOrphanSweepIntervalMs; returns how many builds' files were deleted.
   */
  sweepOrphanFiles(): Promise<number> {
    return this.mutex.run(() => this.sweepOrphans());
  }

  private async sweepOrphans(): Promise<number> {
    const orphans = new Set<bigint>();
    for await (const object of listAll(this.options.objectStore, indexFilesRoot(this.root))) {
      const buildId = buildIdOfIndexKey(this.root, object.key);
      if (buildId !== undefined && !this.tasks.has(buildId)) orphans.add(buildId);
    }
    for (const buildId of orphans) await this.options.objectStore.deletePrefix(indexFilesPrefix(this.root, buildId));
    return orphans.size;
  }

  // ---- records ----

  private liveTask(segmentId: bigint, indexId: bigint): SegmentIndexTask | undefined {
    const buildId = this.taskOfPair.get(pairKey(segmentId, indexId));
    const task = buildId === undefined ? undefined : this.tasks.get(buildId);
    return task?.segmentDroppedAtMs === undefined ? task : undefined;
  }

  private remember(task: SegmentIndexTask): void {
    this.tasks.set(task.buildId, task);
    this.taskOfPair.set(pairKey(task.segmentId, task.indexId), task.buildId);
  }

  private async save(task: SegmentIndexTask): Promise<void> {
    await this.options.metaStore.put(segmentIndexKey(task.segmentId, task.buildId), encodeRecord(task));
    this.remember(task);
  }

  private async apply(task: SegmentIndexTask, event: TaskEvent): Promise<SegmentIndexTask> {
    const next = transition(task, event, this.options.clock.nowMs(), this.limits);
    await this.save(next);
    return next;
  }

  /** Deletes matching tasks: tells their node, deletes their files, then their record. */
  private async removeTasks(matches: (task: SegmentIndexTask) => boolean): Promise<void> {
    for (const task of [...this.tasks.values()]) {
      if (!matches(task)) continue;
      if (task.state === "InProgress" && task.segmentDroppedAtMs === undefined && task.nodeId !== undefined) await this.dropJobQuietly(task.nodeId, task.buildId);
      await this.options.objectStore.deletePrefix(indexFilesPrefix(this.root, task.buildId));
      await this.options.metaStore.delete(segmentIndexKey(task.segmentId, task.buildId));
      this.tasks.delete(task.buildId);
      if (this.taskOfPair.get(pairKey(task.segmentId, task.indexId)) === task.buildId) this.taskOfPair.delete(pairKey(task.segmentId, task.indexId));
    }
  }

  /** Best effort: a node that is gone or unreachable forgets its builds anyway. */
  private async dropJobQuietly(nodeId: string, ...buildIds: bigint[]): Promise<void> {
    const node = this.options.connectNode(nodeId);
    if (node === undefined) return;
    try {
      await node.dropJobs(buildIds);
    } catch {
      // The node's builds die with it; a live node that missed this reports a dropped build once more and is asked again.
    }
  }

  private segmentIndexInfo(task: SegmentIndexTask, definition: IndexDefinition): SegmentIndexInfo {
    const indexFile = task.files[0];
    if (indexFile === undefined || definition.build === undefined) throw new VelaError(ErrorCode.Internal, `invariant broken: build ${task.buildId} is Finished without files or parameters`);
    return {
      buildId: task.buildId, indexId: task.indexId, collectionId: task.collectionId, partitionId: task.partitionId,
      segmentId: task.segmentId, fieldId: task.fieldId, indexType: "HNSW", metricType: definition.metricType,
      indexFilePath: indexFile.path, indexFileBytes: indexFile.sizeBytes, rowCount: task.rowCount,
      params: { dim: definition.dim, M: definition.build.M, efConstruction: definition.build.efConstruction },
    };
  }
}
