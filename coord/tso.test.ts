import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../common/clock.ts";
import { ErrorCode, VelaError } from "../common/errors.ts";
import { SeededRandom, testSeed } from "../common/random.ts";
import { LOGICAL_COUNT, logicalOf, physicalMsOf } from "../common/timestamp.ts";
import { EmbeddedMetaStore } from "../storage/meta/embedded-meta-store.ts";
import { decodeValue } from "../storage/meta/meta-store.ts";
import { scratchDir } from "../test/servers/ports.ts";
import { IdAllocator } from "./id-allocator.ts";
import { TimestampOracle } from "./tso.ts";

const stores: EmbeddedMetaStore[] = [];
afterEach(async () => {
  while (stores.length > 0) await stores.pop()?.close();
});

async function openStore(dir: string, clock = new ManualClock()): Promise<EmbeddedMetaStore> {
  const store = await EmbeddedMetaStore.open({ dir, clock });
  stores.push(store);
  return store;
}

describe("timestamp oracle", () => {
  it("composes physical milliseconds and an 18-bit logical counter", async () => {
    const clock = new ManualClock(1_700_000_000_123);
    const tso = await TimestampOracle.open({ metaStore: await openStore(scratchDir("tso")), clock, windowMs: 3000 });
    const first = await tso.allocate(5);
    expect(physicalMsOf(first)).toBe(1_700_000_000_123);
    expect(logicalOf(first)).toBe(0);
    const second = await tso.allocate(1);
    expect(second).toBe(first + 5n);
  });

  it("stays strictly increasing across restarts, with the clock set backwards too", async () => {
    const dir = scratchDir("tso-restart");
    const clock = new ManualClock(1_700_000_000_000);
    let store = await openStore(dir, clock);
    let tso = await TimestampOracle.open({ metaStore: store, clock, windowMs: 3000 });
    let last = 0n;
    for (let i = 0; i < 50; i++) {
      const ts = await tso.allocate(1);
      expect(ts > last).toBe(true);
      last = ts;
      clock.advance(7);
    }
    // The saved bound is ahead of everything issued.
    expect(Number(decodeValue((await store.get("tso"))!.value))).toBeGreaterThan(physicalMsOf(last));

    for (const skewMs of [0, -3_600_000, -10]) {
      await store.close();
      stores.pop();
      clock.set(clock.nowMs() + skewMs);
      store = await openStore(dir, clock);
      tso = await TimestampOracle.open({ metaStore: store, clock, windowMs: 3000 });
      const ts = await tso.allocate(1);
      expect(ts > last, `after a restart with the clock moved ${skewMs} ms`).toBe(true);
      last = ts;
    }
    // The clock going backwards while running changes nothing either.
    clock.set(clock.nowMs() - 60_000);
    for (let i = 0; i < 20; i++) {
      const ts = await tso.allocate(3);
      expect(ts > last).toBe(true);
      last = ts + 2n;
    }
  });

  it("hands out disjoint, increasing batches under concurrent requests", async () => {
    const seed = testSeed();
    console.log(`tso concurrency seed ${seed}`);
    const random = new SeededRandom(seed);
    const clock = new ManualClock();
    const tso = await TimestampOracle.open({ metaStore: await openStore(scratchDir("tso-conc")), clock, windowMs: 50 });
    const requests: Array<Promise<{ first: bigint; count: number; order: number }>> = [];
    for (let i = 0; i < 2000; i++) {
      const count = random.int(1, 5000);
      requests.push(tso.allocate(count).then((first) => ({ first, count, order: i })));
      if (random.bool(0.05)) clock.advance(random.int(1, 100));
    }
    const batches = await Promise.all(requests);
    const sorted = [...batches].sort((a, b) => (a.first < b.first ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) {
      const previous = sorted[i - 1]!;
      expect(sorted[i]!.first >= previous.first + BigInt(previous.count), "batches overlap").toBe(true);
    }
    for (const batch of batches) expect(logicalOf(batch.first) + batch.count).toBeLessThanOrEqual(LOGICAL_COUNT);
  });

  it("rejects bad counts without issuing anything", async () => {
    const tso = await TimestampOracle.open({ metaStore: await openStore(scratchDir("tso-bad")), clock: new ManualClock(), windowMs: 3000 });
    const before = await tso.allocate(1);
    for (const count of [0, -1, 1.5, LOGICAL_COUNT + 1]) {
      await expect(tso.allocate(count)).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    }
    expect(await tso.allocate(1)).toBe(before + 1n);
  });

  it("fences an oracle whose window another oracle took over", async () => {
    const clock = new ManualClock();
    const store = await openStore(scratchDir("tso-fence"), clock);
    const old = await TimestampOracle.open({ metaStore: store, clock, windowMs: 100 });
    await old.allocate(1);
    const successor = await TimestampOracle.open({ metaStore: store, clock, windowMs: 100 });
    const fromSuccessor = await successor.allocate(1);
    clock.advance(1000); // the old oracle must extend its window now, and loses the compare
    const error = await old.allocate(1).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VelaError);
    expect((error as VelaError).code).toBe(ErrorCode.Conflict);
    expect((await successor.allocate(1)) > fromSuccessor).toBe(true);
  });
});

describe("id allocator", () => {
  it("never repeats an id across restarts and concurrent calls", async () => {
    const dir = scratchDir("ids");
    let store = await openStore(dir);
    let ids = await IdAllocator.open({ metaStore: store, windowSize: 10, countMax: 1000 });
    const seen = new Set<bigint>();
    const take = async (allocator: IdAllocator, count: number): Promise<void> => {
      const first = await allocator.allocate(count);
      for (let i = 0n; i < BigInt(count); i++) {
        expect(seen.has(first + i)).toBe(false);
        seen.add(first + i);
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, i) => take(ids, (i % 7) + 1)));
    await store.close();
    stores.pop();
    store = await openStore(dir);
    ids = await IdAllocator.open({ metaStore: store, windowSize: 10, countMax: 1000 });
    await Promise.all(Array.from({ length: 50 }, (_, i) => take(ids, (i % 5) + 1)));
    await expect(ids.allocate(1001)).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });
});
