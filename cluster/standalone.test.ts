// The write path end to end on the real embedded seams: DDL and DML reach the log in timestamp order
// behind time ticks, Strong's immediate tick covers a fresh timestamp, and a restart keeps the catalog
// and moves the TSO forward.

import { afterEach, describe, expect, it } from "vitest";
import { MsgType } from "../common/msg-type.ts";
import { DataType } from "../common/schema.ts";
import { decodeDeleteMsg, decodeInsertMsg } from "../proto/codec.ts";
import type { LogRecord } from "../storage/log/log.ts";
import { scratchDir } from "../test/servers/ports.ts";
import { Standalone } from "./standalone.ts";

const running: Standalone[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()?.close();
});

async function start(dataDir: string): Promise<Standalone> {
  const node = await Standalone.start({ dataDir, fsync: false, rootCoordLimits: { pchannelCount: 2 }, timeSyncLimits: { tickIntervalMs: 20 } });
  running.push(node);
  return node;
}

async function readAll(node: Standalone, channel: string): Promise<LogRecord[]> {
  const end = await node.log.latestOffset(channel);
  const reader = await node.log.read(channel, { kind: "earliest" }, { endOffsetExclusive: end });
  const records: LogRecord[] = [];
  for await (const record of reader) records.push(record);
  await reader.close();
  return records;
}

describe("standalone write path", () => {
  it("publishes DDL and rows behind time ticks and keeps everything across a restart", async () => {
    const dataDir = scratchDir("standalone");
    const node = await start(dataDir);
    const info = await node.rootCoord.createCollection({
      schema: { name: "notes", fields: [{ name: "id", dataType: DataType.Int64, isPrimaryKey: true }, { name: "v", dataType: DataType.FloatVector, dim: 2 }] },
      shardsNum: 2,
    });
    const inserted = await node.proxy.insert({ collectionName: "notes", columns: { id: [1, 2, 3, 4], v: [[1, 0], [0, 1], [1, 1], [2, 2]] } });
    const deleted = await node.proxy.delete({ collectionName: "notes", primaryKeys: [2] });
    expect(deleted.timestamp > inserted.timestamp).toBe(true);

    // Strong: one immediate round covers a fresh timestamp on every pchannel.
    const guarantee = await node.rootCoord.allocTimestamp();
    await node.timeSync.tickNow();
    for (const channel of info.pchannels) expect(node.timeSync.lastTickOf(channel) >= guarantee).toBe(true);

    const keys: bigint[] = [];
    const deletedKeys: bigint[] = [];
    for (const channel of info.pchannels) {
      let lastTick = 0n;
      let ticks = 0;
      for (const record of await readAll(node, channel)) {
        if (record.header.type === MsgType.TimeTick) {
          expect(record.header.endTs > lastTick).toBe(true);
          lastTick = record.header.endTs;
          ticks += 1;
          continue;
        }
        expect(record.header.beginTs > lastTick, "no message at or below an earlier tick").toBe(true);
        if (record.header.type === MsgType.Insert) {
          expect(record.header.beginTs).toBe(inserted.timestamp);
          keys.push(...(decodeInsertMsg(record.payload).columns[0]!.values as BigInt64Array));
        }
        if (record.header.type === MsgType.Delete) deletedKeys.push(...(decodeDeleteMsg(record.payload).primaryKeys.values as BigInt64Array));
      }
      expect(ticks).toBeGreaterThan(0);
    }
    expect(keys.sort()).toEqual([1n, 2n, 3n, 4n]);
    expect(deletedKeys).toEqual([2n]);

    await running.pop()?.close();
    const restarted = await start(dataDir);
    expect(restarted.rootCoord.describeCollection("default", "notes").info).toEqual(info);
    expect((await restarted.rootCoord.allocTimestamp()) > deleted.timestamp).toBe(true);
    const again = await restarted.proxy.insert({ collectionName: "notes", columns: { id: [5], v: [[5, 5]] } });
    expect(again.timestamp > deleted.timestamp).toBe(true);
  });
});
