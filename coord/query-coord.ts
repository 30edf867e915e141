// The query coordinator (DESIGN §1, §6): which collections (and partitions) are loaded, and which
// query node serves each vchannel. Load state lives in the MetaStore (`load/<collectionId>`), so a
// restarted coordinator loads the same collections again.
//
// A load is "Loaded" once every vchannel's tsafe on its node has reached the timestamp taken when the
// load began: from then on a search sees everything written before the load call. Sealed segments
// and several query nodes per collection arrive with persistence and indexes (#7, #8); today every
// vchannel of a loaded collection is assigned to the least loaded node.

import { ErrorCode, VelaError, invalidArgument } from "../common/errors.ts";
import { Mutex } from "../common/mutex.ts";
import type { Timestamp } from "../common/timestamp.ts";
import type { QueryNode } from "../querynode/query-node.ts";
import { decodeValue, type MetaStore } from "../storage/meta/meta-store.ts";
import type { RootCoordApi } from "../types/root-coord.ts";
import type { DataCoordApi, SegmentEvent } from "../types/data-coord.ts";
import type { IndexCoordApi, SegmentIndexInfo } from "../types/index-coord.ts";
import { decodeRecord, encodeRecord, type CollectionInfo } from "./catalog.ts";
import { rangeAll } from "../storage/meta/range-all.ts";

export type LoadState = "NotLoad" | "Loading" | "Loaded";

interface LoadRecord {
  collectionId: bigint;
  /** undefined: the whole collection. */
  partitionIds: bigint[] | undefined;
  /** Timestamp the load must catch up to before it counts as loaded. */
  targetTs: Timestamp;
  /** vchannel → query node id. */
  assignment: Record<string, string>;
}

export interface QueryCoordOptions {
  metaStore: MetaStore;
  rootCoord: RootCoordApi;
  nodes: readonly QueryNode[];
  /** Segment events (flushed, compacted, dropped) to hand off to the node serving each vchannel. */
  dataCoord?: DataCoordApi;
  /** Finished index builds to hand to the nodes serving the collection. */
  indexCoord?: IndexCoordApi;
}

const loadKey = (collectionId: bigint): string => `load/${collectionId}`;

export class QueryCoord {
  private readonly loads = new Map<bigint, LoadRecord>();
  private readonly mutex = new Mutex();
  private readonly unsubscribe: Array<() => void> = [];

  private constructor(private readonly options: QueryCoordOptions) {
    if (options.nodes.length === 0) throw invalidArgument("the query coordinator needs at least one query node");
    // Handoff (DESIGN §6): the node serving a vchannel is told of each flushed, compacted or dropped
    // segment and of each finished index build; it loads the sealed segment with its index and only
    // then drops the growing copy.
    const forwardSegment = (event: SegmentEvent): void => {
      const nodeId = this.loads.get(event.segment.collectionId)?.assignment[event.segment.vchannel];
      if (nodeId !== undefined) this.options.nodes.find((node) => node.nodeId === nodeId)?.onSegmentEvent(event);
    };
    const forwardIndex = (info: SegmentIndexInfo): void => {
      const record = this.loads.get(info.collectionId);
      if (record === undefined) return;
      for (const nodeId of new Set(Object.values(record.assignment))) this.options.nodes.find((node) => node.nodeId === nodeId)?.onIndexBuilt(info);
    };
    if (options.dataCoord !== undefined) this.unsubscribe.push(options.dataCoord.onSegmentEvent(forwardSegment));
    if (options.indexCoord !== undefined) this.unsubscribe.push(options.indexCoord.onIndexBuilt(forwardIndex));
  }

  /** Stops forwarding events. */
  close(): void {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
  }

  /** Opens the coordinator and re-loads what was loaded before a restart. */
  static async open(options: QueryCoordOptions): Promise<QueryCoord> {
    const coord = new QueryCoord(options);
    for (const kv of await rangeAll(options.metaStore, "load/")) {
      const record = decodeRecord<LoadRecord>(decodeValue(kv.value), kv.key);
      let info: CollectionInfo;
      try {
        info = (await options.rootCoord.describeCollectionById(record.collectionId)).info;
      } catch {
        await options.metaStore.delete(kv.key); // the collection was dropped meanwhile
        continue;
      }
      // Vchannels whose node is gone (a restart gives nodes new ids) go to live nodes.
      const live = new Set(options.nodes.map((node) => node.nodeId));
      if (Object.values(record.assignment).some((nodeId) => !live.has(nodeId))) {
        record.assignment = coord.assign(info);
        await options.metaStore.put(kv.key, encodeRecord(record));
      }
      coord.loads.set(record.collectionId, record);
      await coord.startOnNodes(info, record);
    }
    return coord;
  }

  /** Loads a whole collection, or only `partitionNames`; returns once replay has started. */
  loadCollection(dbName: string, collectionName: string, partitionNames?: readonly string[]): Promise<void> {
    return this.mutex.run(async () => {
      const description = await this.options.rootCoord.describeCollection(dbName, collectionName);
      const info = description.info;
      let partitionIds: bigint[] | undefined;
      if (partitionNames !== undefined && partitionNames.length > 0) {
        partitionIds = partitionNames.map((name) => {
          const partition = description.partitions.find((candidate) => candidate.name === name);
          if (partition === undefined) throw new VelaError(ErrorCode.PartitionNotFound, `partition "${name}" not found in collection "${collectionName}"`);
          return partition.id;
        });
        const existing = this.loads.get(info.id);
        if (existing !== undefined) {
          if (existing.partitionIds === undefined) return; // the whole collection is loaded already
          partitionIds = [...new Set([...existing.partitionIds, ...partitionIds])];
        }
      }
      const existing = this.loads.get(info.id);
      if (existing !== undefined && samePartitions(existing.partitionIds, partitionIds)) return;
      const record: LoadRecord = {
        collectionId: info.id,
        partitionIds,
        targetTs: await this.options.rootCoord.allocTimestamp(),
        assignment: this.assign(info),
      };
      await this.options.metaStore.put(loadKey(info.id), encodeRecord(record));
      this.loads.set(info.id, record);
      try {
        await this.startOnNodes(info, record);
      } catch (error) {
        // A node refused (its memory budget) or failed: the load did not happen, to the letter.
        await Promise.all(this.options.nodes.map((node) => node.releaseCollection(info.id)));
        if (existing === undefined) {
          this.loads.delete(info.id);
          await this.options.metaStore.delete(loadKey(info.id));
        } else {
          this.loads.set(info.id, existing);
          await this.options.metaStore.put(loadKey(info.id), encodeRecord(existing));
          await this.startOnNodes(info, existing);
        }
        throw error;
      }
    });
  }

  /** Releases a whole collection, or only `partitionNames` of it. */
  releaseCollection(dbName: string, collectionName: string, partitionNames?: readonly string[]): Promise<void> {
    return this.mutex.run(async () => {
      const description = await this.options.rootCoord.describeCollection(dbName, collectionName);
      const info = description.info;
      const existing = this.loads.get(info.id);
      if (existing === undefined) return;
      if (partitionNames !== undefined && partitionNames.length > 0) {
        const releasing = new Set(partitionNames.map((name) => description.partitions.find((candidate) => candidate.name === name)?.id));
        const remaining = (existing.partitionIds ?? description.partitions.map((partition) => partition.id)).filter((id) => !releasing.has(id));
        if (remaining.length > 0) {
          const record: LoadRecord = { ...existing, partitionIds: remaining, targetTs: await this.options.rootCoord.allocTimestamp() };
          await this.options.metaStore.put(loadKey(info.id), encodeRecord(record));
          this.loads.set(info.id, record);
          await this.startOnNodes(info, record);
          return;
        }
      }
      await this.options.metaStore.delete(loadKey(info.id));
      this.loads.delete(info.id);
      await Promise.all(this.options.nodes.map((node) => node.releaseCollection(info.id)));
    });
  }

  /** Forgets a dropped collection (called after DropCollection). */
  async forget(collectionId: bigint): Promise<void> {
    await this.mutex.run(async () => {
      this.loads.delete(collectionId);
      await this.options.metaStore.delete(loadKey(collectionId));
      await Promise.all(this.options.nodes.map((node) => node.releaseCollection(collectionId)));
    });
  }

  loadState(collectionId: bigint): LoadState {
    const record = this.loads.get(collectionId);
    if (record === undefined) return "NotLoad";
    return this.progress(collectionId) >= 100 ? "Loaded" : "Loading";
  }

  /** Percentage of vchannels whose replay has reached the load's target timestamp. */
  progress(collectionId: bigint): number {
    const record = this.loads.get(collectionId);
    if (record === undefined) return 0;
    const vchannels = Object.entries(record.assignment);
    if (vchannels.length === 0) return 100;
    let caughtUp = 0;
    for (const [vchannel, nodeId] of vchannels) {
      if (this.node(nodeId).tsafe(collectionId, vchannel) >= record.targetTs) caughtUp += 1;
    }
    return Math.floor((100 * caughtUp) / vchannels.length);
  }

  /** The loaded partitions of a collection (undefined: all of them). */
  loadedPartitions(collectionId: bigint): bigint[] | undefined {
    return this.loads.get(collectionId)?.partitionIds;
  }

  /** Which node serves each vchannel of a loaded collection; CollectionNotLoaded otherwise. */
  shardLeaders(info: CollectionInfo): Map<QueryNode, string[]> {
    const record = this.loads.get(info.id);
    if (record === undefined) throw new VelaError(ErrorCode.CollectionNotLoaded, `collection "${info.name}" is not loaded; load it before searching or querying`);
    const leaders = new Map<QueryNode, string[]>();
    for (const [vchannel, nodeId] of Object.entries(record.assignment)) {
      const node = this.node(nodeId);
      const list = leaders.get(node) ?? [];
      list.push(vchannel);
      leaders.set(node, list);
    }
    return leaders;
  }

  private node(nodeId: string): QueryNode {
    const node = this.options.nodes.find((candidate) => candidate.nodeId === nodeId);
    if (node === undefined) throw new VelaError(ErrorCode.Unavailable, `query node ${nodeId} is not available`);
    return node;
  }

  private assign(info: CollectionInfo): Record<string, string> {
    const usage = new Map(this.options.nodes.map((node) => [node.nodeId, 0]));
    for (const record of this.loads.values()) {
      for (const nodeId of Object.values(record.assignment)) usage.set(nodeId, (usage.get(nodeId) ?? 0) + 1);
    }
    const assignment: Record<string, string> = {};
    for (const vchannel of info.vchannels) {
      const [nodeId] = [...usage].sort((a, b) => a[1] - b[1])[0] as [string, number];
      assignment[vchannel] = nodeId;
      usage.set(nodeId, (usage.get(nodeId) ?? 0) + 1);
    }
    return assignment;
  }

  private async startOnNodes(info: CollectionInfo, record: LoadRecord): Promise<void> {
    const perNode = new Map<string, string[]>();
    for (const [vchannel, nodeId] of Object.entries(record.assignment)) perNode.set(nodeId, [...(perNode.get(nodeId) ?? []), vchannel]);
    for (const [nodeId, vchannels] of perNode) await this.node(nodeId).loadCollection(info, record.partitionIds, vchannels);
  }
}

function samePartitions(a: bigint[] | undefined, b: bigint[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((id) => b.includes(id));
}
