// EmbeddedMetaStore: the MetaStore contract on a manual clock, then what only the embedded store has —
// its files. Durability under SIGKILL, torn and damaged WALs, snapshots, reopening with leases, group
// commit, the directory lock and the pending-write bound.

import { spawn } from "node:child_process";
import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../common/clock.ts";
import { ErrorCode } from "../../common/errors.ts";
import { eventually, expectVelaError, metaStoreContract, takeEvents } from "../../test/contract/meta-store.contract.ts";
import { scratchDir } from "../../test/servers/ports.ts";
import { EmbeddedMetaStore } from "./embedded-meta-store.ts";
import { decodeValue } from "./meta-store.ts";

/** Moves a manual clock forward in small steps, letting promises settle between steps as real time would. */
async function advance(clock: ManualClock, durationMs: number, stepMs = 50): Promise<void> {
  for (let elapsedMs = 0; elapsedMs < durationMs; elapsedMs += stepMs) {
    clock.advance(Math.min(stepMs, durationMs - elapsedMs));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

metaStoreContract("EmbeddedMetaStore", async (limits) => {
  const clock = new ManualClock();
  const store = await EmbeddedMetaStore.open({ dir: scratchDir("meta-contract"), clock, limits });
  return {
    store,
    clock,
    passTime: (durationMs) => advance(clock, durationMs),
    // The store was opened with the test's embeddedHistoryRevisionsMax: its history is already that short.
    compactHistory: async () => undefined,
  };
});

function walFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /^wal-\d+\.log$/.test(name))
    .sort();
}

function lastWal(dir: string): string {
  const wals = walFiles(dir);
  const last = wals[wals.length - 1];
  if (last === undefined) throw new Error(`no WAL in ${dir}`);
  return join(dir, last);
}

/** Offsets of the frames of a file ([u32 length][u32 crc][payload]). */
function frameOffsets(path: string): number[] {
  const bytes = readFileSync(path);
  const offsets: number[] = [];
  for (let offset = 0; offset + 8 <= bytes.length; offset += 8 + bytes.readUInt32LE(offset)) offsets.push(offset);
  return offsets;
}

async function allKeys(store: EmbeddedMetaStore): Promise<Array<[string, string, number, number, number]>> {
  const range = await store.rangePrefix("");
  return range.kvs.map((kv) => [kv.key, decodeValue(kv.value), kv.createRevision, kv.modRevision, kv.version]);
}

describe("EmbeddedMetaStore files", () => {
  it("starts at revision 1, and reopening keeps keys, revisions and versions", async () => {
    const dir = scratchDir("meta-reopen");
    const store = await EmbeddedMetaStore.open({ dir });
    expect(await store.revision()).toBe(1);
    expect(await store.put("a", "1")).toEqual({ revision: 2 });
    await store.put("a", "2");
    await store.put("b", "3");
    await store.delete("b");
    await store.txn({ compare: [], success: [{ type: "put", key: "c", value: "4" }, { type: "put", key: "d", value: "5" }] });
    const before = await allKeys(store);
    await store.close();
    const reopened = await EmbeddedMetaStore.open({ dir });
    expect(await reopened.revision()).toBe(6);
    expect(await allKeys(reopened)).toEqual(before);
    expect(await reopened.put("e", "6")).toEqual({ revision: 7 });
    await reopened.close();
  });

  it("keeps leases across a reopen with a fresh TTL, and never reuses a lease id", async () => {
    const dir = scratchDir("meta-leases");
    const clock = new ManualClock();
    const store = await EmbeddedMetaStore.open({ dir, clock });
    const lease = await store.grantLease(10);
    await store.put("session", "1", { lease: lease.id });
    await advance(clock, 9_000);
    await store.close();

    const laterClock = new ManualClock(clock.nowMs() + 60_000);
    const reopened = await EmbeddedMetaStore.open({ dir, clock: laterClock });
    expect((await reopened.get("session"))?.lease).toBe(lease.id);
    await advance(laterClock, 9_500);
    expect(await reopened.get("session")).toBeDefined();
    await reopened.keepAliveLease(lease.id);
    const other = await reopened.grantLease(10);
    expect(other.id).not.toBe(lease.id);
    await advance(laterClock, 10_500);
    await eventually("the session key to expire after the fresh TTL", async () => (await reopened.get("session")) === undefined);
    await reopened.close();
    const again = await EmbeddedMetaStore.open({ dir });
    expect(await again.get("session")).toBeUndefined();
    const third = await again.grantLease(10);
    expect([lease.id, other.id]).not.toContain(third.id);
    await again.close();
  });

  it("replays history from its WAL after a reopen, so watches can start before it", async () => {
    const dir = scratchDir("meta-history");
    const store = await EmbeddedMetaStore.open({ dir });
    const first = (await store.put("h/1", "a")).revision;
    await store.delete("h/1");
    await store.close();
    const reopened = await EmbeddedMetaStore.open({ dir });
    const watch = await reopened.watchPrefix("h/", { startRevision: first });
    const events = await takeEvents(watch, 2);
    expect(events.map((event) => `${event.type} ${event.kv.key} @${event.kv.modRevision}`)).toEqual([`put h/1 @${first}`, `delete h/1 @${first + 1}`]);
    await watch.close();
    await reopened.close();
  });

  it("compacts its WAL into a snapshot and reopens to the same state", async () => {
    const dir = scratchDir("meta-snapshot");
    const limits = { embeddedCompactAfterBytes: 4_096, embeddedSnapshotFrameBytesMax: 512 };
    const store = await EmbeddedMetaStore.open({ dir, limits });
    const lease = await store.grantLease(60);
    for (let i = 0; i < 400; i++) {
      if (i % 7 === 3) await store.delete(`s/${i - 2}`);
      else await store.put(`s/${i % 150}`, `value-${i}`, i % 11 === 0 ? { lease: lease.id } : undefined);
    }
    const before = await allKeys(store);
    const revision = await store.revision();
    await store.close();
    const names = readdirSync(dir);
    expect(names.filter((name) => name.endsWith(".snap"))).toHaveLength(1);
    expect(walFiles(dir).length).toBeLessThanOrEqual(2);
    expect(statSync(lastWal(dir)).size).toBeLessThan(4_096 + 1_024);

    const reopened = await EmbeddedMetaStore.open({ dir, limits });
    expect(await reopened.revision()).toBe(revision);
    expect(await allKeys(reopened)).toEqual(before);
    expect((await reopened.rangePrefix("s/")).kvs.some((kv) => kv.lease === lease.id)).toBe(true);
    // History before the snapshot is gone; a watch that asks for it learns so.
    const old = await reopened.watchPrefix("s/", { startRevision: 2 });
    await expectVelaError(takeEvents(old, 1), ErrorCode.Compacted, /compacted/);
    await reopened.revokeLease(lease.id);
    expect((await reopened.rangePrefix("s/")).kvs.some((kv) => kv.lease === lease.id)).toBe(false);
    await reopened.close();
  });

  it("drops a torn tail — a WAL cut mid-frame or ending in garbage — keeps every complete write, and stays writable", async () => {
    const dir = scratchDir("meta-torn");
    const store = await EmbeddedMetaStore.open({ dir });
    for (let i = 0; i < 10; i++) await store.put(`t/${i}`, `v${i}`);
    await store.close();
    const wal = lastWal(dir);

    truncateSync(wal, statSync(wal).size - 5);
    const cut = await EmbeddedMetaStore.open({ dir });
    expect((await cut.rangePrefix("t/")).kvs.map((kv) => kv.key)).toEqual(Array.from({ length: 9 }, (_, i) => `t/${i}`));
    expect(await cut.revision()).toBe(10);
    await cut.put("t/after-cut", "x");
    await cut.close();

    appendFileSync(wal, Buffer.from([0x13, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));
    const garbage = await EmbeddedMetaStore.open({ dir });
    expect(decodeValue((await garbage.get("t/after-cut"))?.value ?? new Uint8Array())).toBe("x");
    await garbage.put("t/after-garbage", "y");
    await garbage.close();

    appendFileSync(wal, Buffer.alloc(4096));
    const zeros = await EmbeddedMetaStore.open({ dir });
    expect((await zeros.rangePrefix("t/")).kvs).toHaveLength(11);
    expect(await zeros.revision()).toBe(12);
    await zeros.close();
  });

  it("refuses to open a WAL damaged before its tail, instead of dropping acknowledged writes", async () => {
    const dir = scratchDir("meta-damaged");
    const store = await EmbeddedMetaStore.open({ dir });
    for (let i = 0; i < 10; i++) await store.put(`d/${i}`, `v${i}`);
    await store.close();
    const wal = lastWal(dir);
    const offsets = frameOffsets(wal);
    expect(offsets.length).toBe(11);
    const bytes = readFileSync(wal);
    const target = (offsets[3] as number) + 12;
    bytes[target] = (bytes[target] as number) ^ 0xff;
    writeFileSync(wal, bytes);
    await expectVelaError(EmbeddedMetaStore.open({ dir }), ErrorCode.Corrupted, /damaged frame .* followed by valid frames/);
  });

  it("shares one fsync among concurrent writes, which take consecutive revisions", async () => {
    const dir = scratchDir("meta-group");
    const store = await EmbeddedMetaStore.open({ dir });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.put(`g/${i}`, String(i))));
    expect(results.map((result) => result.revision).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 2));
    await store.close();
    // One header frame plus far fewer frames than writes: the writes were committed together.
    expect(frameOffsets(lastWal(dir)).length).toBeLessThan(20);
  });

  it("refuses writes past embeddedPendingWritesMax at once, and a second open of its directory", async () => {
    const dir = scratchDir("meta-bounds");
    const store = await EmbeddedMetaStore.open({ dir, limits: { embeddedPendingWritesMax: 10 } });
    const writes = Array.from({ length: 11 }, (_, i) => store.put(`b/${i}`, String(i)).then(() => "ok", (error: unknown) => error));
    const outcomes = await Promise.all(writes);
    expect(outcomes.slice(0, 10)).toEqual(Array.from({ length: 10 }, () => "ok"));
    await expectVelaError(Promise.reject(outcomes[10]), ErrorCode.LimitExceeded, /at embeddedPendingWritesMax \(10\)/);
    await expectVelaError(EmbeddedMetaStore.open({ dir }), ErrorCode.Unavailable, /already open in this process/);
    await store.close();
    const reopened = await EmbeddedMetaStore.open({ dir });
    expect((await reopened.rangePrefix("b/")).kvs).toHaveLength(10);
    await reopened.close();
  });

  it("loses no acknowledged write when its process is killed with SIGKILL mid-way", async () => {
    const dir = scratchDir("meta-kill");
    const script = join(import.meta.dirname, "fixtures", "embedded-writer.ts");
    const child = spawn(process.execPath, ["--import", "tsx", script, dir, "16384"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    try {
      await eventually(
        "the writer to acknowledge 1500 writes",
        async () => {
          if (child.exitCode !== null) throw new Error(`writer exited early: ${stderr}`);
          return stdout.split("\n").length > 1_500;
        },
        60_000,
      );
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    // Only whole lines were acknowledged; a line cut by the kill is ignored.
    const lines = stdout.split("\n").slice(0, -1);
    expect(lines[0]).toBe("ready");
    const puts = new Map<string, string>();
    const deleted = new Set<string>();
    for (const line of lines.slice(1)) {
      const [kind, key, value] = line.split(" ");
      if (kind === "put" && key !== undefined && value !== undefined) puts.set(key, value);
      else if (kind === "deleted" && key !== undefined) deleted.add(key);
      else throw new Error(`unexpected writer output: ${line}`);
    }
    expect(puts.size).toBeGreaterThan(1_000);
    expect(readdirSync(dir).some((name) => name.endsWith(".snap"))).toBe(true);

    const store = await EmbeddedMetaStore.open({ dir });
    const missing: string[] = [];
    for (const [key, value] of puts) {
      const kv = await store.get(key);
      if (deleted.has(key)) continue;
      // A key whose delete was issued but not acknowledged may be either way; present, it holds its value.
      const deleteIssued = Number(key.slice(2)) % 10 === 4;
      if (kv === undefined) {
        if (!deleteIssued) missing.push(key);
      } else expect(decodeValue(kv.value), key).toBe(value);
    }
    expect(missing, "acknowledged puts missing after the crash").toEqual([]);
    for (const key of deleted) expect(await store.get(key), `acknowledged delete of ${key}`).toBeUndefined();
    expect(await store.revision()).toBeGreaterThan(puts.size + deleted.size);
    await store.close();
  });
});
