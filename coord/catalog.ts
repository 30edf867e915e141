// The metadata records the root coordinator keeps in the MetaStore (DESIGN §9), their keys, and their
// JSON encoding (64-bit ids and timestamps as decimal strings). Everything a restarted coordinator
// needs is in these records.

import { ErrorCode, VelaError } from "../common/errors.ts";
import type { CollectionSchema, ConsistencyLevel } from "../common/schema.ts";

export interface DatabaseInfo {
  id: bigint;
  name: string;
  createdTs: bigint;
  properties: Record<string, string>;
}

export interface CollectionInfo {
  id: bigint;
  dbName: string;
  name: string;
  schema: CollectionSchema;
  shardsNum: number;
  /** One virtual channel per shard, in shard order. */
  vchannels: string[];
  /** The physical channel each vchannel is mapped onto (same order). */
  pchannels: string[];
  consistencyLevel: ConsistencyLevel;
  properties: Record<string, string>;
  createdTs: bigint;
}

export interface PartitionInfo {
  id: bigint;
  collectionId: bigint;
  name: string;
  createdTs: bigint;
}

export interface AliasInfo {
  dbName: string;
  alias: string;
  collectionId: bigint;
  createdTs: bigint;
}

export const DEFAULT_DATABASE = "default";
export const DEFAULT_PARTITION = "_default";

export const keys = {
  database: (name: string) => `database/${name}`,
  databasePrefix: () => "database/",
  collection: (dbName: string, id: bigint) => `collection/${dbName}/${id}`,
  collectionPrefix: (dbName?: string) => (dbName === undefined ? "collection/" : `collection/${dbName}/`),
  collectionName: (dbName: string, name: string) => `collection-name/${dbName}/${name}`,
  partition: (collectionId: bigint, id: bigint) => `partition/${collectionId}/${id}`,
  partitionPrefix: (collectionId?: bigint) => (collectionId === undefined ? "partition/" : `partition/${collectionId}/`),
  alias: (dbName: string, alias: string) => `alias/${dbName}/${alias}`,
  aliasPrefix: (dbName?: string) => (dbName === undefined ? "alias/" : `alias/${dbName}/`),
};

/** JSON with bigints written as {"$bigint": "123"} so they come back as bigints. */
export function encodeRecord(record: unknown): string {
  return JSON.stringify(record, (_key, value: unknown) => (typeof value === "bigint" ? { $bigint: value.toString() } : value));
}

export function decodeRecord<T>(text: string, key: string): T {
  try {
    return JSON.parse(text, (_key, value: unknown) => {
      if (typeof value === "object" && value !== null && "$bigint" in value && Object.keys(value).length === 1) {
        return BigInt((value as { $bigint: string }).$bigint);
      }
      return value;
    }) as T;
  } catch (error) {
    throw new VelaError(ErrorCode.Corrupted, `metadata key ${key} does not hold valid JSON`, { cause: error });
  }
}
