// Consistency levels, load/release and duplicate keys, end to end on a standalone Vela.

import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../common/clock.ts";
import { ErrorCode } from "../../common/errors.ts";
import { DataType } from "../../common/schema.ts";
import { Standalone, type StandaloneOptions } from "../../cluster/standalone.ts";
import { scratchDir } from "../servers/ports.ts";

const running: Standalone[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()?.close();
});

async function startVela(label: string, options: Partial<StandaloneOptions> = {}): Promise<Standalone> {
  const node = await Standalone.start({ dataDir: scratchDir(label), fsync: false, rootCoordLimits: { pchannelCount: 2 }, computePoolLimits: { workerCount: 1 }, ...options });
  running.push(node);
  await node.rootCoord.createCollection({
    schema: { name: "c", fields: [{ name: "id", dataType: DataType.Int64, isPrimaryKey: true }, { name: "v", dataType: DataType.FloatVector, dim: 2 }, { name: "n", dataType: DataType.Int32 }] },
  });
  await node.rootCoord.createPartition("default", "c", "p1");
  return node;
}

describe("consistency levels", () => {
  it("Eventually does not wait, Bounded lags by its window, Strong and Session see the write", async () => {
    const clock = new ManualClock();
    const vela = await startVela("levels", { clock, timeSyncLimits: { tickIntervalMs: 200 } });
    await vela.queryCoord.loadCollection("default", "c");
    await vela.timeSync.tickNow(); // a first tsafe
    const write = await vela.proxy.insert({ collectionName: "c", columns: { id: [1], v: [[1, 1]], n: [7] } });

    // No tick since the write: Eventually answers at once from what is applied, without the row.
    const eventually = await vela.reader.count({ collectionName: "c", consistencyLevel: "Eventually" });
    expect(eventually.snapshotTs < write.timestamp).toBe(true);
    expect(eventually.count).toBe(0);
    // Bounded: the guarantee is 5 s in the past, already reached: no wait, no row yet.
    const bounded = await vela.reader.count({ collectionName: "c", consistencyLevel: "Bounded" });
    expect(bounded.count).toBe(0);

    // Session with the write's timestamp must see it (it waits for the tick the writer's report allows).
    const sessionRead = vela.reader.count({ collectionName: "c", consistencyLevel: "Session", sessionTs: write.timestamp });
    await vela.timeSync.tickNow();
    expect((await sessionRead).count).toBe(1);

    const second = await vela.proxy.insert({ collectionName: "c", columns: { id: [2], v: [[2, 2]], n: [8] } });
    // Strong asks for an immediate tick: sees the write without any clock movement.
    const strong = await vela.reader.count({ collectionName: "c", consistencyLevel: "Strong" });
    expect(strong.count).toBe(2);
    expect(strong.snapshotTs >= second.timestamp).toBe(true);
    // After the staleness window passes (periodic ticks run as the clock moves), Bounded sees it too.
    clock.advance(6000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await vela.reader.count({ collectionName: "c", consistencyLevel: "Bounded" })).count).toBe(2);
  });

  it("fails clearly when the guarantee timestamp cannot be reached in time", async () => {
    const vela = await startVela("timeout", { readLimits: { tsafeWaitMsMax: 300 }, timeSyncLimits: { tickIntervalMs: 20, reportTimeoutMs: 200 } });
    await vela.queryCoord.loadCollection("default", "c");
    const future = (await vela.rootCoord.allocTimestamp()) + (60_000n << 18n);
    await expect(vela.reader.search({ collectionName: "c", vectors: [[1, 1]], topk: 1, consistencyLevel: "Session", sessionTs: future }))
      .rejects.toMatchObject({ code: ErrorCode.Timeout, message: expect.stringMatching(/waited 300 ms for .* to reach guarantee timestamp/) });

    // A writer that stops reporting stops the ticks: Strong fails with a clear error instead of hanging.
    await vela.metaStore.put("session/proxy/stuck", "stuck");
    await vela.timeSync.register({ sourceId: "stuck-proxy", report: () => new Promise(() => undefined) }, "session/proxy/stuck");
    await expect(vela.reader.count({ collectionName: "c", consistencyLevel: "Strong" }))
      .rejects.toMatchObject({ message: expect.stringMatching(/stuck-proxy did not report within .* no tick this round/) });
  });
});

describe("load and release", () => {
  it("serves only loaded collections and partitions, and reports load state", async () => {
    const vela = await startVela("load", { timeSyncLimits: { tickIntervalMs: 20 } });
    await vela.proxy.insert({ collectionName: "c", columns: { id: [1, 2], v: [[1, 1], [2, 2]], n: [1, 2] } });
    await vela.proxy.insert({ collectionName: "c", partitionName: "p1", columns: { id: [3], v: [[3, 3]], n: [3] } });
    const info = vela.rootCoord.describeCollection("default", "c").info;
    expect(vela.queryCoord.loadState(info.id)).toBe("NotLoad");
    await expect(vela.reader.search({ collectionName: "c", vectors: [[1, 1]], topk: 3 }))
      .rejects.toMatchObject({ code: ErrorCode.CollectionNotLoaded, message: expect.stringMatching(/collection "c" is not loaded/) });

    await vela.queryCoord.loadCollection("default", "c", ["p1"]);
    await expect.poll(() => vela.queryCoord.loadState(info.id), { timeout: 10_000 }).toBe("Loaded");
    expect(vela.queryCoord.progress(info.id)).toBe(100);
    expect((await vela.reader.count({ collectionName: "c", consistencyLevel: "Strong" })).count).toBe(1);
    await expect(vela.reader.count({ collectionName: "c", partitionNames: ["_default"], consistencyLevel: "Strong" }))
      .rejects.toMatchObject({ code: ErrorCode.CollectionNotLoaded });

    await vela.queryCoord.loadCollection("default", "c");
    expect((await vela.reader.count({ collectionName: "c", consistencyLevel: "Strong" })).count).toBe(3);
    expect((await vela.reader.count({ collectionName: "c", partitionNames: ["p1"], consistencyLevel: "Strong" })).count).toBe(1);

    await vela.queryCoord.releaseCollection("default", "c");
    expect(vela.queryCoord.loadState(info.id)).toBe("NotLoad");
    await expect(vela.reader.query({ collectionName: "c", filterKeys: [1] })).rejects.toMatchObject({ code: ErrorCode.CollectionNotLoaded });
  });

  it("reloads what was loaded after a restart", async () => {
    const dataDir = scratchDir("reload");
    const first = await Standalone.start({ dataDir, fsync: false, rootCoordLimits: { pchannelCount: 2 }, computePoolLimits: { workerCount: 1 } });
    running.push(first);
    await first.rootCoord.createCollection({ schema: { name: "r", fields: [{ name: "id", dataType: DataType.Int64, isPrimaryKey: true }, { name: "v", dataType: DataType.FloatVector, dim: 2 }] } });
    await first.queryCoord.loadCollection("default", "r");
    await first.proxy.insert({ collectionName: "r", columns: { id: [1, 2, 3], v: [[1, 0], [0, 1], [1, 1]] } });
    await first.proxy.delete({ collectionName: "r", primaryKeys: [2] });
    await running.pop()?.close();
    const second = await Standalone.start({ dataDir, fsync: false, rootCoordLimits: { pchannelCount: 2 }, computePoolLimits: { workerCount: 1 } });
    running.push(second);
    const result = await second.reader.query({ collectionName: "r", limit: 10, consistencyLevel: "Strong" });
    expect(result.rows.map((row) => row.id).sort()).toEqual([1n, 3n]);
  });
});

describe("duplicate primary keys", () => {
  it("search returns one hit per key (its best version), query the newest version, count every version", async () => {
    const vela = await startVela("dups", { timeSyncLimits: { tickIntervalMs: 20 } });
    await vela.queryCoord.loadCollection("default", "c");
    await vela.proxy.insert({ collectionName: "c", columns: { id: [1], v: [[0, 0]], n: [1] } });
    await vela.proxy.insert({ collectionName: "c", columns: { id: [1], v: [[5, 5]], n: [2] } });
    const search = await vela.reader.search({ collectionName: "c", vectors: [[0, 0]], topk: 5, outputFields: ["n"], consistencyLevel: "Strong" });
    expect(search.results[0]?.map((hit) => [hit.primaryKey, hit.fields.n])).toEqual([[1n, 1]]);
    const query = await vela.reader.query({ collectionName: "c", filterKeys: [1], outputFields: ["n"], consistencyLevel: "Strong" });
    expect(query.rows).toEqual([{ id: 1n, n: 2 }]);
    expect((await vela.reader.count({ collectionName: "c", consistencyLevel: "Strong" })).count).toBe(2);
    // An upsert replaces both versions with one.
    await vela.proxy.upsert({ collectionName: "c", columns: { id: [1], v: [[9, 9]], n: [3] } });
    expect((await vela.reader.count({ collectionName: "c", consistencyLevel: "Strong" })).count).toBe(1);
  });
});
