// The primary-key bloom filter and the stats log that carries it: never a false negative (seeded random
// keys, before and after a round trip through the file), a measured false-positive rate within the
// configured bound (a statistical check with a generous margin), min/max of the keys, and damaged
// files refused as Corrupted naming the path.
import { describe, expect, it } from "vitest";
import { binlogDefaults } from "../../common/config.ts";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { DataType } from "../../common/schema.ts";
import { murmur3 } from "../../common/murmur3.ts";
import { BloomFilter, bloomSizing } from "./bloom-filter.ts";
import { buildPrimaryKeyStats, decodeStatsLog, encodeStatsLog } from "./stats-log.ts";

const seed = testSeed();
console.log(`bloom-filter.test seed=${seed} (replay with VELA_SEED=${seed})`);

const statsPath = "r/stats_log/1/2/3/100/77";
const statsHeader = { collectionId: 1n, partitionId: 2n, segmentId: 3n, fieldId: 100, logId: 77n };

function randomInt64Keys(random: SeededRandom, count: number): BigInt64Array {
  const keys = new BigInt64Array(count);
  for (let i = 0; i < count; i++) keys[i] = BigInt.asIntN(64, (BigInt(random.nextUint32()) << 32n) | BigInt(random.nextUint32()));
  return keys;
}

describe("murmur3", () => {
  it("matches the reference MurmurHash3 x86_32 vectors", () => {
    const encoder = new TextEncoder();
    const hash = (text: string, seedValue: number): number => {
      const bytes = encoder.encode(text);
      return murmur3(bytes, bytes.length, seedValue);
    };
    expect(hash("", 0)).toBe(0);
    expect(hash("", 1)).toBe(0x514e28b7);
    expect(hash("hello", 0)).toBe(0x248bfa47);
    expect(hash("Hello, world!", 0x9747b28c)).toBe(0x24884cba);
    expect(hash("The quick brown fox jumps over the lazy dog", 0x9747b28c)).toBe(0x2fa826cd);
  });
});

describe("bloom filter", () => {
  it("sizes m and k from the row count and the false-positive bound", () => {
    const sizing = bloomSizing(1_000_000, 0.001, binlogDefaults);
    // -n ln p / ln²2 = 14.38 bits per key, k = 10.
    expect(sizing.bitCount).toBeGreaterThanOrEqual(14_377_000);
    expect(sizing.bitCount).toBeLessThan(14_378_600);
    expect(sizing.hashCount).toBe(10);
    expect(() => bloomSizing(1_000_000, 0.001, { ...binlogDefaults, bloomFilterBytesMax: 1024 })).toThrow(/bloomFilterBytesMax/);
    expect(() => bloomSizing(10, 1.5, binlogDefaults)).toThrow(/false-positive rate/);
  });

  it("has no false negatives for Int64 and VarChar keys, also after a round trip through the stats log", () => {
    const random = new SeededRandom(seed);
    const ints = randomInt64Keys(random, 20_000);
    ints[0] = -(1n << 63n);
    ints[1] = (1n << 63n) - 1n;
    const strings = Array.from({ length: 5_000 }, (_, i) => (i === 0 ? "" : `${random.nextUint32().toString(36)}-ü-${i}`));
    for (const keys of [ints, strings]) {
      const stats = buildPrimaryKeyStats(keys);
      const decoded = decodeStatsLog(statsPath, encodeStatsLog(statsHeader, stats));
      for (const key of keys) {
        expect(stats.bloom.mightContain(key)).toBe(true);
        expect(decoded.bloom.mightContain(key)).toBe(true);
      }
    }
  });

  it("measures a false-positive rate within the configured bound", () => {
    const random = new SeededRandom(seed ^ 0xb100);
    const rate = binlogDefaults.bloomFalsePositiveRate;
    const inserted = 20_000;
    const keys = randomInt64Keys(random, inserted);
    const members = new Set(keys);
    const stats = buildPrimaryKeyStats(keys);
    const probes = 200_000;
    let falsePositives = 0;
    let probed = 0;
    while (probed < probes) {
      const key = BigInt.asIntN(64, (BigInt(random.nextUint32()) << 32n) | BigInt(random.nextUint32()));
      if (members.has(key)) continue;
      probed += 1;
      if (stats.bloom.mightContain(key)) falsePositives += 1;
    }
    const measured = falsePositives / probes;
    console.log(`bloom filter: ${falsePositives} false positives in ${probes} probes (${measured}), bound ${rate}`);
    // Expected ~200 at p = 0.001; a binomial's standard deviation is ~14, so 2× the bound is far outside chance.
    expect(measured).toBeLessThan(rate * 2);
    // A filter that answers "maybe" to everything would pass the line above only if it were empty; check it is not trivial.
    expect(falsePositives).toBeLessThan(probes);
  });

  it("a filter that is too small for its keys exceeds the bound (the check can fail)", () => {
    const random = new SeededRandom(seed ^ 0xbad);
    const keys = randomInt64Keys(random, 20_000);
    const tiny = new BloomFilter({ bitCount: 64 * 1024, hashCount: 3 });
    for (const key of keys) tiny.add(key);
    let falsePositives = 0;
    for (let i = 0; i < 10_000; i++) if (tiny.mightContain(BigInt(i) * 7919n + 1n)) falsePositives += 1;
    expect(falsePositives / 10_000).toBeGreaterThan(binlogDefaults.bloomFalsePositiveRate * 2);
  });
});

describe("stats log", () => {
  it("records min and max primary keys and round-trips them", () => {
    const ints = new BigInt64Array([5n, -(1n << 63n), 42n, (1n << 63n) - 1n, 0n]);
    const decoded = decodeStatsLog(statsPath, encodeStatsLog(statsHeader, buildPrimaryKeyStats(ints)));
    expect(decoded).toMatchObject({ pkType: DataType.Int64, rowCount: 5, minPk: -(1n << 63n), maxPk: (1n << 63n) - 1n, header: statsHeader });
    const strings = ["m", "", "zz", "ü", "a"];
    const decodedStrings = decodeStatsLog(statsPath, encodeStatsLog(statsHeader, buildPrimaryKeyStats(strings)));
    expect(decodedStrings).toMatchObject({ pkType: DataType.VarChar, rowCount: 5, minPk: "", maxPk: "ü" });
    const empty = decodeStatsLog(statsPath, encodeStatsLog(statsHeader, buildPrimaryKeyStats(new BigInt64Array(0))));
    expect(empty.minPk).toBeUndefined();
    expect(empty.rowCount).toBe(0);
    expect(empty.bloom.mightContain(1n)).toBe(false);
  });

  it("a damaged, truncated or misplaced stats log is Corrupted naming the path", () => {
    const random = new SeededRandom(seed ^ 0x57a7);
    const bytes = encodeStatsLog(statsHeader, buildPrimaryKeyStats(randomInt64Keys(random, 500)));
    const attempts: Uint8Array[] = [bytes.subarray(0, 10), bytes.subarray(0, bytes.length - 1), new Uint8Array(0)];
    for (let trial = 0; trial < 20; trial++) {
      const damaged = bytes.slice();
      const at = random.int(0, damaged.length - 1);
      damaged[at] = (damaged[at] as number) ^ (1 << random.int(0, 7));
      attempts.push(damaged);
    }
    for (const attempt of attempts) {
      let caught: unknown;
      try {
        decodeStatsLog(statsPath, attempt);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(VelaError);
      expect((caught as VelaError).code).toBe(ErrorCode.Corrupted);
      expect((caught as VelaError).message).toContain(statsPath);
    }
    expect(() => decodeStatsLog("r/stats_log/1/2/4/100/77", bytes)).toThrow(/segment id 3 does not match the path/);
  });

  it("refuses keys of mixed or unknown type", () => {
    expect(() => buildPrimaryKeyStats([1, 2] as unknown as string[])).toThrow(VelaError);
    expect(() => buildPrimaryKeyStats(new Int32Array(2) as unknown as BigInt64Array)).toThrow(/BigInt64Array/);
  });
});
