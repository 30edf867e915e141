// The data coordinator's lifecycle rules on a manual clock: grants and their expiry, the seal policy
// (full, idle, old, Flush), flush states, restarts, fenced commits, and bad input.

import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../common/clock.ts";
import { ErrorCode } from "../common/errors.ts";
import { DataType, type CollectionSchema } from "../common/schema.ts";
import { composeTimestamp, physicalMsOf } from "../common/timestamp.ts";
import { EmbeddedMetaStore } from "../storage/meta/embedded-meta-store.ts";
import type { MetaStore } from "../storage/meta/meta-store.ts";
import { LocalObjectStore } from "../storage/object/local-object-store.ts";
import { MemoryLog } from "../test/sim/memory-log.ts";
import { scratchDir } from "../test/servers/ports.ts";
import { DataCoord, type DataCoordOptions, type DataNodeHandle } from "./data-coord.ts";

const schema: CollectionSchema = {
  name: "c", enableDynamicField: false,
  fields: [{ fieldId: 100, name: "id", dataType: DataType.Int64, isPrimaryKey: true }, { fieldId: 101, name: "v", dataType: DataType.FloatVector, dim: 4 }],
} as unknown as CollectionSchema;

let nextId = 1000n;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function open(clock: ManualClock, store?: MetaStore, limits: DataCoordOptions["limits"] = {}): Promise<{ coord: DataCoord; store: MetaStore }> {
  const metaStore = store ?? await EmbeddedMetaStore.open({ dir: scratchDir("datacoord"), clock, fsync: false });
  if (store === undefined) closers.push(() => metaStore.close());
  const objectStore = await LocalObjectStore.open({ dir: scratchDir("datacoord-objects") });
  const coord = await DataCoord.open({
    metaStore, clock, log: new MemoryLog(), objectStore,
    allocateId: async () => nextId++,
    allocTimestamp: async () => composeTimestamp(clock.nowMs(), 0),
    collectionExists: async () => true,
    limits: { segmentRowCountMax: 100, segmentIdleSealMs: 5_000, segmentLifetimeMsMax: 60_000, segmentAllocationExpiryMs: 2_000, ...limits },
  });
  return { coord, store: metaStore };
}

const request = { collectionId: 1n, partitionId: 2n, vchannel: "ch_1v0", pchannel: "ch_1", schema };

describe("data coordinator", () => {
  it("grants quotas up to a segment's capacity, each with an expiry two seconds ahead, then opens a new segment", async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const { coord } = await open(clock);
    const first = await coord.assignSegments({ ...request, rowCount: 60 });
    const second = await coord.assignSegments({ ...request, rowCount: 60 });
    expect(first).toHaveLength(1);
    expect(second.map((grant) => grant.rowCount)).toEqual([40, 20]);
    expect(second[0]?.segmentId).toBe(first[0]?.segmentId);
    expect(second[1]?.segmentId).not.toBe(first[0]?.segmentId);
    expect(physicalMsOf(first[0]?.expireTs ?? 0n)).toBe(clock.nowMs() + 2_000);
    // The full segment is sealed by the next pass; the other stays growing.
    await coord.sealPass();
    expect(coord.segment(first[0]?.segmentId ?? 0n)?.state).toBe("sealed");
    expect(coord.segment(second[1]?.segmentId ?? 0n)?.state).toBe("growing");
    // A sealed segment is flushable only once a tick passes its last expiry.
    const sealed = coord.segment(first[0]?.segmentId ?? 0n);
    expect(coord.flushableSegments(request.vchannel, (sealed?.lastExpireTs ?? 0n) - 1n)).toEqual([]);
    expect(coord.flushableSegments(request.vchannel, sealed?.lastExpireTs ?? 0n).map((segment) => segment.id)).toEqual([sealed?.id]);
  });

  it("seals idle and old segments, and Flush seals the rest; GetFlushState waits for all of them", async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const { coord } = await open(clock);
    const idle = (await coord.assignSegments({ ...request, rowCount: 1 }))[0]?.segmentId ?? 0n;
    clock.advance(5_000);
    await coord.sealPass();
    expect(coord.segment(idle)?.state).toBe("sealed");

    const busy = (await coord.assignSegments({ ...request, rowCount: 1 }))[0]?.segmentId ?? 0n;
    for (let i = 0; i < 14; i++) {
      clock.advance(4_500);
      await coord.assignSegments({ ...request, rowCount: 1 }); // never idle...
      await coord.sealPass();
    }
    expect(coord.segment(busy)?.state).toBe("sealed"); // ...but older than a minute

    const other = (await coord.assignSegments({ ...request, partitionId: 3n, rowCount: 5 }))[0]?.segmentId ?? 0n;
    const flush = await coord.flush(1n);
    expect(new Set(flush.segmentIds)).toEqual(new Set([idle, busy, other, ...coord.listSegments(1n).filter((segment) => segment.state === "sealed").map((segment) => segment.id)]));
    expect(coord.flushState(flush.segmentIds)).toBe(false);
    expect(coord.flushStateAt(1n, flush.flushTs)).toBe(false);
    // Unknown segment ids are refused, too many at once as well.
    await expect(async () => coord.flushState([999_999n])).rejects.toMatchObject({ code: ErrorCode.NotFound });
    const { coord: limited } = await open(clock, undefined, { flushStateSegmentsMax: 2 });
    await expect(async () => limited.flushState([1n, 2n, 3n])).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });

  it("after a restart, growing segments take no new quota and keep an expiry at least as late as any grant", async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const first = await open(clock);
    const grant = (await first.coord.assignSegments({ ...request, rowCount: 10 }))[0];
    const restarted = (await open(clock, first.store)).coord;
    const segment = restarted.segment(grant?.segmentId ?? 0n);
    expect(segment?.state).toBe("growing");
    expect((segment?.lastExpireTs ?? 0n) >= (grant?.expireTs ?? 0n)).toBe(true);
    const next = await restarted.assignSegments({ ...request, rowCount: 10 });
    expect(next[0]?.segmentId).not.toBe(grant?.segmentId);
  });

  it("refuses commits from a node that does not watch the vchannel, and bad row counts", async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const { coord, store } = await open(clock);
    const node: DataNodeHandle = { nodeId: "n1", sessionKey: "session/datanode/n1", watch: async () => undefined, unwatch: async () => undefined, bufferedRows: () => 0, compact: () => undefined };
    await store.put(node.sessionKey, "alive");
    await coord.registerDataNode(node);
    const grant = (await coord.assignSegments({ ...request, rowCount: 3 }))[0];
    expect(coord.channelWatch(request.vchannel)?.nodeId).toBe("n1");
    const sync = { segmentId: grant?.segmentId ?? 0n, insertLogs: [], statsLogs: [], deltaLogs: [], rowsAdded: 0, syncedOffset: 5, flushed: false };
    const checkpoint = { vchannel: request.vchannel, pchannel: request.pchannel, offset: 5, ts: 1n };
    await expect(coord.commitSync({ nodeId: "n2", vchannel: request.vchannel, segments: [sync], checkpoint }, 10)).rejects.toMatchObject({ code: ErrorCode.Unavailable });
    expect(coord.checkpoint(request.vchannel)).toBeUndefined();
    await coord.commitSync({ nodeId: "n1", vchannel: request.vchannel, segments: [sync], checkpoint }, 10);
    expect(coord.checkpoint(request.vchannel)?.offset).toBe(5);
    expect(coord.segment(grant?.segmentId ?? 0n)?.syncedOffset).toBe(5);
    await expect(async () => coord.assignSegments({ ...request, rowCount: 0 })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    await expect(async () => coord.assignSegments({ ...request, rowCount: 1.5 })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });
});
