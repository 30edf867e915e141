// Vela as the benchmark drives it: through the official Milvus Node SDK only, as any user would. One
// collection: `id` Int64 primary key (row r of the data set has key r), `vector` FloatVector, and `tag`
// Int32 (row mod 100, for filtered search). Every call's status is checked; a non-Success status
// becomes a thrown VelaCallError carrying Vela's reason, which the phases count as errors.

import { ConsistencyLevelEnum, DataType, MilvusClient } from "@zilliz/milvus2-sdk-node";
import type { MetricType } from "../../querynode/compute/metric.ts";
import { benchDefaults } from "../../common/config.ts";
import { tagOfRow } from "./dataset.ts";
import { sleep } from "./load.ts";

export type IndexKind = "HNSW" | "FLAT" | "AUTOINDEX";
export type ConsistencyName = "Strong" | "Bounded" | "Session" | "Eventually";

/** A call Vela answered with a non-Success status. */
export class VelaCallError extends Error {
  constructor(
    readonly call: string,
    readonly errorCode: string,
    readonly reason: string,
  ) {
    super(`${call}: ${errorCode}${reason === "" ? "" : `: ${reason}`}`);
    this.name = "VelaCallError";
  }
}

/** CreateIndex was refused (HNSW before Vela builds it, say): the run cannot go on with this index. */
export class IndexRefusedError extends Error {
  constructor(
    readonly indexType: IndexKind,
    readonly reason: string,
  ) {
    super(`Vela refused to create a ${indexType} index: ${reason}`);
    this.name = "IndexRefusedError";
  }
}

interface StatusLike {
  error_code?: string | number;
  reason?: string;
}

function check(call: string, status: StatusLike | undefined): void {
  if (status === undefined) throw new VelaCallError(call, "NoStatus", "the answer carried no status");
  if (status.error_code !== "Success" && status.error_code !== 0) throw new VelaCallError(call, String(status.error_code), status.reason ?? "");
}

/**
 * The consistency level as the SDK must be given it: by name. The SDK falls back to the collection's
 * default with `level || default`, so the numeric ConsistencyLevelEnum.Strong (0) would silently
 * become the default (Bounded); the protobuf encoder takes the enum's name as well.
 */
function consistencyLevel(name: ConsistencyName): ConsistencyLevelEnum {
  return name as unknown as ConsistencyLevelEnum;
}

export interface SearchCall {
  /** nq query vectors, each a plain array. */
  vectors: number[][];
  topk: number;
  consistency: ConsistencyName;
  /** HNSW's ef (sent as a search param; FLAT ignores it). */
  ef?: number;
  filter?: string;
}

/** Queries as the SDK takes them: one plain array per query of a queryCount × dim block. */
export function queryPointsOf(queries: Float32Array, dim: number): number[][] {
  return Array.from({ length: queries.length / dim }, (_, q) => Array.from(queries.subarray(q * dim, (q + 1) * dim)));
}

/** What every request of a search level asks for, apart from its queries. */
export interface SearchSettings {
  nq: number;
  k: number;
  ef?: number;
  filter?: string;
  consistency: ConsistencyName;
}

/**
 * Request `sequence` of a closed loop that cycles through `points`, nq at a time: sends it and hands
 * each query's answer (by query index) to `onAnswer`. Resolves to the queries answered (nq).
 */
export async function searchInSequence(driver: VelaDriver, points: readonly number[][], sequence: number, settings: SearchSettings, onAnswer: (query: number, ids: number[]) => void): Promise<number> {
  const first = (sequence * settings.nq) % points.length;
  const indexes = Array.from({ length: settings.nq }, (_, i) => (first + i) % points.length);
  const results = await driver.search({
    vectors: indexes.map((q) => points[q] as number[]), topk: settings.k, consistency: settings.consistency,
    ...(settings.ef === undefined ? {} : { ef: settings.ef }), ...(settings.filter === undefined ? {} : { filter: settings.filter }),
  });
  indexes.forEach((q, i) => onAnswer(q, results[i] ?? []));
  return settings.nq;
}

export class VelaDriver {
  private constructor(
    readonly client: MilvusClient,
    readonly collection: string,
  ) {}

  static async connect(address: string, collection: string): Promise<VelaDriver> {
    // A local subchannel pool: a client of an earlier, stopped server in this process must not be reused.
    const client = new MilvusClient({ address, logLevel: "error", channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
    await client.connectPromise;
    return new VelaDriver(client, collection);
  }

  async close(): Promise<void> {
    await this.client.closeConnection();
  }

  async collectionExists(): Promise<boolean> {
    const answer = await this.client.hasCollection({ collection_name: this.collection });
    check("HasCollection", answer.status);
    return answer.value === true;
  }

  /** Drops the collection if it exists, then creates it empty. */
  async recreateCollection(dim: number): Promise<void> {
    if (await this.collectionExists()) await this.dropCollection();
    const created = await this.client.createCollection({
      collection_name: this.collection,
      fields: [
        { name: "id", data_type: DataType.Int64, is_primary_key: true },
        { name: "vector", data_type: DataType.FloatVector, dim },
        { name: "tag", data_type: DataType.Int32 },
      ],
    });
    check("CreateCollection", created);
  }

  async dropCollection(): Promise<void> {
    const dropped = await this.client.dropCollection({ collection_name: this.collection });
    check("DropCollection", dropped);
  }

  /** Inserts rows [first, first + count) of `vectors` with keys `keyBase + row`; returns the rows acknowledged. */
  async insertRows(vectors: Float32Array, dim: number, first: number, count: number, keyBase = 0): Promise<number> {
    const rows = new Array<{ id: number; vector: number[]; tag: number }>(count);
    for (let i = 0; i < count; i++) {
      const row = first + i;
      rows[i] = { id: keyBase + row, vector: Array.from(vectors.subarray(row * dim, (row + 1) * dim)), tag: tagOfRow(row) };
    }
    return this.insertPrepared(rows);
  }

  /** Inserts rows already shaped for the SDK; returns the rows acknowledged. */
  async insertPrepared(rows: Array<{ id: number; vector: number[]; tag: number }>): Promise<number> {
    const answer = await this.client.insert({ collection_name: this.collection, data: rows });
    check("Insert", answer.status);
    const acknowledged = Number(answer.insert_cnt);
    if (acknowledged !== rows.length) throw new VelaCallError("Insert", "ShortInsert", `${acknowledged} of ${rows.length} rows acknowledged`);
    return acknowledged;
  }

  /** Flush and wait until the flush state says flushed (the SDK's flushSync). */
  async flush(): Promise<void> {
    const answer = await this.client.flushSync({ collection_names: [this.collection] });
    check("Flush", answer.status);
  }

  /**
   * CreateIndex on `vector`, then wait until the index reports every row indexed. Throws
   * IndexRefusedError when Vela refuses the index type.
   */
  async createIndex(indexType: IndexKind, metric: MetricType, hnsw: { M: number; efConstruction: number }, timeoutMs: number): Promise<void> {
    const answer = await this.client.createIndex({
      collection_name: this.collection, field_name: "vector", index_type: indexType, metric_type: metric,
      ...(indexType === "HNSW" ? { params: { M: hnsw.M, efConstruction: hnsw.efConstruction } } : {}),
    });
    if (answer.error_code !== "Success") throw new IndexRefusedError(indexType, answer.reason === "" ? String(answer.error_code) : answer.reason);
    const deadline = performance.now() + timeoutMs;
    while (true) {
      const described = await this.client.describeIndex({ collection_name: this.collection, field_name: "vector" });
      check("DescribeIndex", described.status);
      const index = described.index_descriptions[0];
      if (index === undefined) throw new VelaCallError("DescribeIndex", "IndexNotFound", "the index just created is not described");
      if (index.state === "Failed") throw new VelaCallError("DescribeIndex", "IndexFailed", index.index_state_fail_reason);
      const pending = Number(index.pending_index_rows ?? "0");
      if (index.state === "Finished" && pending === 0 && Number(index.indexed_rows) >= Number(index.total_rows)) return;
      if (performance.now() > deadline) throw new VelaCallError("DescribeIndex", "Timeout", `index not built within ${timeoutMs / 1000} s (state ${index.state}, ${index.indexed_rows}/${index.total_rows} rows)`);
      await sleep(benchDefaults.indexPollIntervalMs);
    }
  }

  /** LoadCollection and wait until loaded (the SDK's loadCollectionSync). */
  async load(): Promise<void> {
    const answer = await this.client.loadCollectionSync({ collection_name: this.collection });
    check("LoadCollection", answer);
  }

  /** Searches; returns the hit ids (primary keys as numbers) per query, best first. */
  async search(call: SearchCall): Promise<number[][]> {
    const single = call.vectors.length === 1;
    const answer = await this.client.search({
      collection_name: this.collection,
      data: single ? (call.vectors[0] as number[]) : call.vectors,
      limit: call.topk,
      output_fields: [],
      consistency_level: consistencyLevel(call.consistency),
      ...(call.ef === undefined ? {} : { params: { ef: call.ef } }),
      ...(call.filter === undefined ? {} : { filter: call.filter }),
    });
    check("Search", answer.status);
    const perQuery = (single ? [answer.results] : answer.results) as unknown as Array<Array<{ id: string | number }>>;
    return perQuery.map((hits) => hits.map((hit) => Number(hit.id)));
  }

  /** Rows Vela counts in the collection (Strong). */
  async count(): Promise<number> {
    const answer = await this.client.count({ collection_name: this.collection, consistency_level: consistencyLevel("Strong") } as never);
    check("Count", answer.status);
    return Number(answer.data);
  }
}
