// What other roles may ask of the root coordinator. In standalone the RootCoord object itself serves
// this interface; in a cluster a gRPC client does. Every call either succeeds or throws a VelaError.

import type { CollectionInfo, DatabaseInfo, PartitionInfo } from "../coord/catalog.ts";
import type { CollectionDescription, CreateCollectionRequest } from "../coord/root-coord.ts";
import type { Timestamp } from "../common/timestamp.ts";

export interface RootCoordApi {
  /** `count` consecutive, strictly increasing timestamps; returns the first. */
  allocTimestamp(count?: number): Promise<Timestamp>;
  /** `count` consecutive unique ids; returns the first. */
  allocIds(count?: number): Promise<bigint>;

  createDatabase(name: string, properties?: Record<string, string>): Promise<DatabaseInfo>;
  dropDatabase(name: string): Promise<void>;
  listDatabases(): DatabaseInfo[] | Promise<DatabaseInfo[]>;

  createCollection(request: CreateCollectionRequest): Promise<CollectionInfo>;
  dropCollection(dbName: string, name: string): Promise<void>;
  hasCollection(dbName: string, name: string): boolean | Promise<boolean>;
  /** Resolves a name or an alias; CollectionNotFound when neither exists. */
  describeCollection(dbName: string, nameOrAlias: string): CollectionDescription | Promise<CollectionDescription>;
  describeCollectionById(collectionId: bigint): CollectionDescription | Promise<CollectionDescription>;
  listCollections(dbName: string): CollectionInfo[] | Promise<CollectionInfo[]>;
  renameCollection(dbName: string, oldName: string, newName: string, newDbName?: string): Promise<void>;

  createPartition(dbName: string, collectionName: string, partitionName: string): Promise<PartitionInfo>;
  dropPartition(dbName: string, collectionName: string, partitionName: string): Promise<void>;
  listPartitions(dbName: string, collectionName: string): PartitionInfo[] | Promise<PartitionInfo[]>;
  hasPartition(dbName: string, collectionName: string, partitionName: string): boolean | Promise<boolean>;

  createAlias(dbName: string, alias: string, collectionName: string): Promise<void>;
  alterAlias(dbName: string, alias: string, collectionName: string): Promise<void>;
  dropAlias(dbName: string, alias: string): Promise<void>;
  describeAlias(dbName: string, alias: string): { alias: string; dbName: string; collectionName: string } | Promise<{ alias: string; dbName: string; collectionName: string }>;
  listAliases(dbName: string, collectionName?: string): string[] | Promise<string[]>;
}
