// The MetaStore contract (DESIGN §2, §13.2): one vitest suite that every MetaStore implementation passes
// unchanged — the embedded store (storage/meta/embedded-meta-store.test.ts) and etcd
// (storage/meta/etcd-meta-store.test.ts). It pins etcd's semantics (revisions, versions, compares,
// watch order, lease expiry) so that code written against the embedded store behaves the same on etcd,
// and it covers what is built on the interface once: leader election and lease keep-alive.
//
// Rules it keeps: no timing assertions (waits are "until X, or fail after a generous bound"), seeded
// randomness with the seed printed, every bad input answered with a typed VelaError and no change.

import { afterEach, describe, expect, it } from "vitest";
import type { Clock } from "../../common/clock.ts";
import type { MetaStoreLimits } from "../../common/config.ts";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { LeaderElection, type LeaderInfo } from "../../storage/meta/election.ts";
import { LeaseKeeper } from "../../storage/meta/lease-keeper.ts";
import {
  decodeValue,
  type Compare,
  type LeaseId,
  type MetaStore,
  type MetaWatch,
  type TxnOp,
  type WatchEvent,
} from "../../storage/meta/meta-store.ts";

export interface MetaStoreUnderTest {
  /** A fresh, isolated store: no key of another test is visible in it. */
  store: MetaStore;
  /** The clock the store's leases run on; LeaseKeepers in the tests use it too. */
  clock: Clock;
  /** Lets `durationMs` of lease time pass: advances a manual clock in small steps, or sleeps. */
  passTime(durationMs: number): Promise<void>;
  /** Makes history before `revision` unavailable to watches (etcd: compaction; embedded: its bound already does). */
  compactHistory(revision: number): Promise<void>;
}

/**
 * Opens a fresh store. `limits` are the store's limits; the suite relies on embeddedHistoryRevisionsMax
 * being honoured by the embedded store (it is how it loses history) and on the others being honoured by both.
 */
export type MetaStoreFactory = (limits?: Partial<MetaStoreLimits>) => Promise<MetaStoreUnderTest>;

const EVENTUALLY_TIMEOUT_MS = 20_000;
const EVENTUALLY_POLL_MS = 25;

export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = EVENTUALLY_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result !== undefined && result !== false) return result;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? "" : ` (last error: ${String(lastError)})`}`);
    }
    await new Promise((resolve) => setTimeout(resolve, EVENTUALLY_POLL_MS));
  }
}

export async function withTimeout<T>(what: string, promise: Promise<T>, timeoutMs = EVENTUALLY_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function expectVelaError(action: Promise<unknown> | (() => unknown), code: ErrorCode, message: RegExp): Promise<VelaError> {
  let error: unknown;
  try {
    await (typeof action === "function" ? action() : action);
  } catch (caught) {
    error = caught;
  }
  expect(error, `expected a VelaError ${code}`).toBeInstanceOf(VelaError);
  const velaError = error as VelaError;
  expect(velaError.code, velaError.message).toBe(code);
  expect(velaError.message).toMatch(message);
  return velaError;
}

/** Takes `count` events from a watch, failing after the usual bound. */
export async function takeEvents(watch: MetaWatch, count: number): Promise<WatchEvent[]> {
  const iterator = watch[Symbol.asyncIterator]();
  const events: WatchEvent[] = [];
  while (events.length < count) {
    const next = await withTimeout(`watch event ${events.length + 1} of ${count}`, iterator.next());
    if (next.done === true) throw new Error(`watch ended after ${events.length} of ${count} events`);
    events.push(next.value);
  }
  return events;
}

function summary(event: WatchEvent): string {
  return event.type === "put"
    ? `put ${event.kv.key}=${decodeValue(event.kv.value)} @${event.kv.modRevision}`
    : `delete ${event.kv.key} @${event.kv.modRevision}`;
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Grants leases through the store and remembers them, so that each test revokes what it leaves behind. */
function trackLeases(store: MetaStore, granted: LeaseId[]): MetaStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === "grantLease") {
        return async (ttlSeconds: number) => {
          const grant = await target.grantLease(ttlSeconds);
          granted.push(grant.id);
          return grant;
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export function metaStoreContract(name: string, factory: MetaStoreFactory): void {
  describe(`MetaStore contract: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];

    async function open(limits?: Partial<MetaStoreLimits>): Promise<MetaStoreUnderTest> {
      const underTest = await factory(limits);
      const granted: LeaseId[] = [];
      const store = trackLeases(underTest.store, granted);
      cleanups.push(async () => {
        // Leases left behind would expire during later tests and move the revision under them.
        for (const id of granted) await underTest.store.revokeLease(id).catch(() => undefined);
        await underTest.store.close();
      });
      return { ...underTest, store };
    }

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0)) await cleanup();
    });

    describe("keys and revisions", () => {
      it("put, get and revision follow etcd's rules", async () => {
        const { store } = await open();
        const start = await store.revision();
        expect(await store.put("a", "one")).toEqual({ revision: start + 1 });
        const created = await store.get("a");
        expect(created).toEqual({
          key: "a",
          value: new TextEncoder().encode("one"),
          createRevision: start + 1,
          modRevision: start + 1,
          version: 1,
          lease: undefined,
        });
        expect(await store.put("a", "two")).toEqual({ revision: start + 2 });
        const updated = await store.get("a");
        expect(updated?.createRevision).toBe(start + 1);
        expect(updated?.modRevision).toBe(start + 2);
        expect(updated?.version).toBe(2);
        expect(decodeValue(updated?.value ?? new Uint8Array())).toBe("two");
        expect(await store.put("b", "x")).toEqual({ revision: start + 3 });
        expect(await store.revision()).toBe(start + 3);
        expect(await store.get("missing")).toBeUndefined();
      });

      it("a delete that removes nothing does not move the revision", async () => {
        const { store } = await open();
        await store.put("a", "1");
        const before = await store.revision();
        expect(await store.delete("missing")).toEqual({ deleted: 0, revision: before });
        expect(await store.deletePrefix("nothing/")).toEqual({ deleted: 0, revision: before });
        expect(await store.revision()).toBe(before);
      });

      it("delete takes a new revision, and re-creating a key starts a new history", async () => {
        const { store } = await open();
        const { revision: first } = await store.put("k", "1");
        await store.put("k", "2");
        expect(await store.delete("k")).toEqual({ deleted: 1, revision: first + 2 });
        expect(await store.get("k")).toBeUndefined();
        const { revision: again } = await store.put("k", "3");
        expect(again).toBe(first + 3);
        const kv = await store.get("k");
        expect(kv?.createRevision).toBe(again);
        expect(kv?.version).toBe(1);
      });

      it("deletePrefix removes exactly the keys under the prefix, at one revision", async () => {
        const { store } = await open();
        for (const key of ["p/a", "p/b", "p/c/d", "pq", "q", "p"]) await store.put(key, key);
        const before = await store.revision();
        expect(await store.deletePrefix("p/")).toEqual({ deleted: 3, revision: before + 1 });
        const left = await store.rangePrefix("");
        expect(left.kvs.map((kv) => kv.key)).toEqual(["p", "pq", "q"]);
      });

      it("stores bytes exactly, strings as UTF-8, and hands out copies", async () => {
        const { store } = await open();
        const bytes = new Uint8Array([0, 1, 127, 128, 255, 0]);
        await store.put("bin", bytes);
        bytes[0] = 9;
        const read = await store.get("bin");
        expect([...(read?.value ?? [])]).toEqual([0, 1, 127, 128, 255, 0]);
        read?.value.fill(7);
        expect([...((await store.get("bin"))?.value ?? [])]).toEqual([0, 1, 127, 128, 255, 0]);
        await store.put("text", "ä€😀");
        expect(decodeValue((await store.get("text"))?.value ?? new Uint8Array())).toBe("ä€😀");
        await store.put("empty", "");
        expect((await store.get("empty"))?.value.byteLength).toBe(0);
      });
    });

    describe("rangePrefix", () => {
      it("returns the keys under the prefix in UTF-8 byte order", async () => {
        const { store } = await open();
        const keys = ["a/z", "a/10", "b", "a/2", "a", "a/1", "a/ä", "a/😀", "a/\uE000", "a/\u00FF", "a/"];
        for (const key of keys) await store.put(key, `v:${key}`);
        const range = await store.rangePrefix("a/");
        const expected = keys.filter((key) => key.startsWith("a/")).sort(compareUtf8);
        expect(range.kvs.map((kv) => kv.key)).toEqual(expected);
        expect(range.kvs.map((kv) => decodeValue(kv.value))).toEqual(expected.map((key) => `v:${key}`));
        expect(range.more).toBe(false);
        expect(range.revision).toBe(await store.revision());
        expect((await store.rangePrefix("")).kvs.map((kv) => kv.key)).toEqual([...keys].sort(compareUtf8));
      });

      it("honours limit, more and keysOnly", async () => {
        const { store } = await open();
        for (const key of ["r/1", "r/2", "r/3", "r/4"]) await store.put(key, "value");
        const limited = await store.rangePrefix("r/", { limit: 2 });
        expect(limited.kvs.map((kv) => kv.key)).toEqual(["r/1", "r/2"]);
        expect(limited.more).toBe(true);
        const exact = await store.rangePrefix("r/", { limit: 4 });
        expect(exact.kvs).toHaveLength(4);
        expect(exact.more).toBe(false);
        const unlimited = await store.rangePrefix("r/", { limit: 0 });
        expect(unlimited.kvs).toHaveLength(4);
        const keysOnly = await store.rangePrefix("r/", { keysOnly: true });
        expect(keysOnly.kvs.map((kv) => kv.value.byteLength)).toEqual([0, 0, 0, 0]);
        expect(keysOnly.kvs.map((kv) => kv.version)).toEqual([1, 1, 1, 1]);
        expect(keysOnly.kvs[0]?.createRevision).toBe(exact.kvs[0]?.createRevision);
        expect((await store.rangePrefix("none/")).kvs).toEqual([]);
      });

      it("pages through a prefix with startAfter, in byte order, without gaps or repeats", async () => {
        const { store } = await open();
        const keys = ["p/a", "p/b", "p/ä", "p/😀", "p/a/1", "p/c", "p/\uE000", "q/a", "p"];
        for (const key of keys) await store.put(key, key);
        const expected = keys.filter((key) => key.startsWith("p/")).sort(compareUtf8);
        const seen: string[] = [];
        let startAfter: string | undefined;
        for (;;) {
          const page = await store.rangePrefix("p/", { limit: 2, ...(startAfter === undefined ? {} : { startAfter }) });
          seen.push(...page.kvs.map((kv) => kv.key));
          if (!page.more) break;
          startAfter = page.kvs[page.kvs.length - 1]?.key;
        }
        expect(seen).toEqual(expected);
        // A startAfter before the prefix starts at the prefix; one past every key gives nothing.
        expect((await store.rangePrefix("p/", { startAfter: "a" })).kvs.map((kv) => kv.key)).toEqual(expected);
        expect((await store.rangePrefix("p/", { startAfter: "p/\uFFFF" })).kvs.map((kv) => kv.key)).toEqual(expected.filter((key) => compareUtf8(key, "p/\uFFFF") > 0));
        await expect(store.rangePrefix("p/", { startAfter: 5 as unknown as string })).rejects.toMatchObject({ code: "InvalidArgument" });
      });
    });

    describe("txn", () => {
      it("evaluates every compare kind, and runs the branch it selects", async () => {
        const { store } = await open();
        const { revision: created } = await store.put("k", "v1");
        const { revision: modified } = await store.put("k", "v2");
        const cases: Array<[string, Compare, boolean]> = [
          ["value equal", { key: "k", target: "value", operator: "equal", value: "v2" }, true],
          ["value equal (other)", { key: "k", target: "value", operator: "equal", value: "v1" }, false],
          ["value notEqual", { key: "k", target: "value", operator: "notEqual", value: "v1" }, true],
          ["value less", { key: "k", target: "value", operator: "less", value: "v3" }, true],
          ["value greater", { key: "k", target: "value", operator: "greater", value: "v2" }, false],
          ["value greater (bytes)", { key: "k", target: "value", operator: "greater", value: new Uint8Array([0x76, 0x31]) }, true],
          ["modRevision equal", { key: "k", target: "modRevision", operator: "equal", value: modified }, true],
          ["modRevision less", { key: "k", target: "modRevision", operator: "less", value: modified }, false],
          ["modRevision greater", { key: "k", target: "modRevision", operator: "greater", value: created }, true],
          ["createRevision equal", { key: "k", target: "createRevision", operator: "equal", value: created }, true],
          ["createRevision notEqual", { key: "k", target: "createRevision", operator: "notEqual", value: created }, false],
          ["version equal", { key: "k", target: "version", operator: "equal", value: 2 }, true],
          ["version less", { key: "k", target: "version", operator: "less", value: 2 }, false],
          ["version greater", { key: "k", target: "version", operator: "greater", value: 1 }, true],
          ["exists", { key: "k", target: "exists", exists: true }, true],
          ["not exists", { key: "k", target: "exists", exists: false }, false],
          ["missing exists", { key: "missing", target: "exists", exists: true }, false],
          ["missing not exists", { key: "missing", target: "exists", exists: false }, true],
          ["missing value equal", { key: "missing", target: "value", operator: "equal", value: "" }, false],
          ["missing value notEqual", { key: "missing", target: "value", operator: "notEqual", value: "x" }, false],
          ["missing modRevision equal 0", { key: "missing", target: "modRevision", operator: "equal", value: 0 }, true],
          ["missing version less 1", { key: "missing", target: "version", operator: "less", value: 1 }, true],
          ["missing createRevision greater 0", { key: "missing", target: "createRevision", operator: "greater", value: 0 }, false],
        ];
        for (const [label, compare, holds] of cases) {
          const before = await store.revision();
          const result = await store.txn({
            compare: [compare],
            success: [{ type: "put", key: "branch", value: `success:${label}` }],
            failure: [{ type: "put", key: "branch", value: `failure:${label}` }],
          });
          expect(result, label).toEqual({ succeeded: holds, revision: before + 1 });
          expect(decodeValue((await store.get("branch"))?.value ?? new Uint8Array()), label).toBe(`${holds ? "success" : "failure"}:${label}`);
        }
      });

      it("needs every compare to hold", async () => {
        const { store } = await open();
        await store.put("x", "1");
        const result = await store.txn({
          compare: [
            { key: "x", target: "value", operator: "equal", value: "1" },
            { key: "x", target: "version", operator: "equal", value: 5 },
          ],
          success: [{ type: "put", key: "y", value: "s" }],
          failure: [{ type: "put", key: "y", value: "f" }],
        });
        expect(result.succeeded).toBe(false);
        expect(decodeValue((await store.get("y"))?.value ?? new Uint8Array())).toBe("f");
        const empty = await store.txn({ compare: [], success: [{ type: "put", key: "z", value: "s" }] });
        expect(empty.succeeded).toBe(true);
        expect(await store.get("z")).toBeDefined();
      });

      it("applies all writes of a branch at one shared revision", async () => {
        const { store } = await open();
        await store.put("t/old/1", "1");
        await store.put("t/old/2", "2");
        await store.put("t/gone", "x");
        const before = await store.revision();
        const watch = await store.watchPrefix("t/");
        const result = await store.txn({
          compare: [],
          success: [
            { type: "put", key: "t/a", value: "A" },
            { type: "delete", key: "t/gone" },
            { type: "deletePrefix", prefix: "t/old/" },
            { type: "put", key: "t/b", value: "B" },
          ],
        });
        expect(result).toEqual({ succeeded: true, revision: before + 1 });
        expect((await store.get("t/a"))?.modRevision).toBe(before + 1);
        expect((await store.get("t/b"))?.modRevision).toBe(before + 1);
        expect((await store.rangePrefix("t/")).kvs.map((kv) => kv.key)).toEqual(["t/a", "t/b"]);
        const events = await takeEvents(watch, 5);
        expect(events.map(summary)).toEqual([
          `put t/a=A @${before + 1}`,
          `delete t/gone @${before + 1}`,
          `delete t/old/1 @${before + 1}`,
          `delete t/old/2 @${before + 1}`,
          `put t/b=B @${before + 1}`,
        ]);
        await watch.close();
      });

      it("keeps the revision when the chosen branch changes nothing", async () => {
        const { store } = await open();
        await store.put("x", "1");
        const before = await store.revision();
        const failed = await store.txn({ compare: [{ key: "x", target: "exists", exists: false }], success: [{ type: "put", key: "x", value: "2" }] });
        expect(failed).toEqual({ succeeded: false, revision: before });
        const noop = await store.txn({ compare: [], success: [{ type: "delete", key: "missing" }, { type: "deletePrefix", prefix: "none/" }] });
        expect(noop).toEqual({ succeeded: true, revision: before });
        expect(await store.revision()).toBe(before);
      });

      it("fails as a whole when a put names a lease that does not exist", async () => {
        const { store } = await open();
        const lease = await store.grantLease(60);
        await store.revokeLease(lease.id);
        const before = await store.revision();
        await expectVelaError(
          store.txn({ compare: [], success: [{ type: "put", key: "plain", value: "1" }, { type: "put", key: "leased", value: "1", lease: lease.id }] }),
          ErrorCode.LeaseNotFound,
          /lease .* not found/,
        );
        await expectVelaError(store.put("leased", "1", { lease: lease.id }), ErrorCode.LeaseNotFound, /lease .* not found/);
        expect(await store.get("plain")).toBeUndefined();
        expect(await store.revision()).toBe(before);
      });
    });

    describe("watch", () => {
      it("delivers puts and deletes under its prefix in revision order", async () => {
        const { store } = await open();
        await store.put("w/before", "0");
        const watch = await store.watchPrefix("w/");
        const r1 = (await store.put("w/a", "1")).revision;
        await store.put("other", "x");
        const r3 = (await store.put("w/b", "2")).revision;
        const r4 = (await store.txn({ compare: [], success: [{ type: "put", key: "w/c", value: "3" }, { type: "delete", key: "w/a" }] })).revision;
        const r5 = (await store.deletePrefix("w/")).revision;
        const events = await takeEvents(watch, 7);
        expect(events.map(summary)).toEqual([
          `put w/a=1 @${r1}`,
          `put w/b=2 @${r3}`,
          `put w/c=3 @${r4}`,
          `delete w/a @${r4}`,
          `delete w/b @${r5}`,
          `delete w/before @${r5}`,
          `delete w/c @${r5}`,
        ]);
        const put = events[0] as WatchEvent;
        expect(put.kv).toMatchObject({ createRevision: r1, modRevision: r1, version: 1 });
        const deleted = events[3] as WatchEvent;
        expect(deleted.kv).toMatchObject({ key: "w/a", createRevision: 0, modRevision: r4, version: 0 });
        expect(deleted.kv.value.byteLength).toBe(0);
        expect(watch.lastRevision).toBe(r5);
        await watch.close();
      });

      it("replays from a past revision, then continues live", async () => {
        const { store } = await open();
        const first = (await store.put("h/1", "a")).revision;
        await store.put("h/2", "b");
        await store.delete("h/1");
        const watch = await store.watchPrefix("h/", { startRevision: first });
        const live = (await store.put("h/3", "c")).revision;
        const events = await takeEvents(watch, 4);
        expect(events.map(summary)).toEqual([`put h/1=a @${first}`, `put h/2=b @${first + 1}`, `delete h/1 @${first + 2}`, `put h/3=c @${live}`]);
        await watch.close();
      });

      it("ends with Compacted when the start revision is no longer kept", async () => {
        const { store, compactHistory } = await open({ embeddedHistoryRevisionsMax: 4 });
        const revisions: number[] = [];
        for (let i = 1; i <= 10; i++) revisions.push((await store.put(`c/${i}`, String(i))).revision);
        const last = revisions[9] as number;
        await compactHistory(last - 3);
        const old = await store.watchPrefix("c/", { startRevision: revisions[0] as number });
        await expectVelaError(takeEvents(old, 1), ErrorCode.Compacted, /compacted/);
        expect(old.lastRevision).toBe(0);
        const recent = await store.watchPrefix("c/", { startRevision: last - 3 });
        const events = await takeEvents(recent, 4);
        expect(events.map((event) => event.kv.modRevision)).toEqual([last - 3, last - 2, last - 1, last]);
        await recent.close();
      });

      it("stops a consumer that falls behind with LimitExceeded; resuming from lastRevision + 1 loses and repeats nothing", async () => {
        const { store } = await open({ watchQueueEventsMax: 5 });
        const written: number[] = [];
        for (let i = 0; i < 23; i++) written.push((await store.put(`q/${i % 7}`, String(i))).revision);
        const seen: number[] = [];
        let overflows = 0;
        let from = written[0] as number;
        while (seen.length < written.length) {
          const watch = await store.watchPrefix("q/", { startRevision: from });
          try {
            for await (const event of watch) {
              seen.push(event.kv.modRevision);
              if (seen.length === written.length) break;
            }
          } catch (error) {
            expect(error).toBeInstanceOf(VelaError);
            expect((error as VelaError).code).toBe(ErrorCode.LimitExceeded);
            expect((error as VelaError).message).toMatch(/watchQueueEventsMax \(5\).*resume from revision/);
            overflows += 1;
          }
          from = watch.lastRevision + 1;
          await watch.close();
          expect(overflows).toBeLessThan(50);
        }
        expect(overflows).toBeGreaterThan(0);
        expect(seen).toEqual(written);
      });

      it("ends with Closed when its store closes", async () => {
        const { store } = await open();
        const watch = await store.watchPrefix("x/");
        const { revision } = await store.put("x/1", "1");
        const [event] = await takeEvents(watch, 1);
        expect(event?.kv.modRevision).toBe(revision);
        await store.close();
        await expectVelaError(takeEvents(watch, 1), ErrorCode.Closed, /^meta store is closed$/);
      });

      it("from a future revision delivers nothing before it", async () => {
        const { store } = await open();
        const start = (await store.revision()) + 3;
        const watch = await store.watchPrefix("f/", { startRevision: start });
        for (let i = 0; i < 4; i++) await store.put(`f/${i}`, String(i));
        const events = await takeEvents(watch, 2);
        expect(events.map((event) => event.kv.modRevision)).toEqual([start, start + 1]);
        await watch.close();
      });

      it("delivers one revision larger than the queue bound whole", async () => {
        const { store } = await open({ watchQueueEventsMax: 5 });
        const watch = await store.watchPrefix("big/");
        const ops: TxnOp[] = Array.from({ length: 8 }, (_, i) => ({ type: "put", key: `big/${i}`, value: String(i) }));
        const { revision } = await store.txn({ compare: [], success: ops });
        const events = await takeEvents(watch, 8);
        expect(events.map((event) => event.kv.modRevision)).toEqual(Array.from({ length: 8 }, () => revision));
        await watch.close();
      });

      it("without a start revision sees only later events, and ends when closed", async () => {
        const { store } = await open();
        await store.put("n/old", "1");
        const watch = await store.watchPrefix("n/");
        const { revision } = await store.put("n/new", "2");
        const [event] = await takeEvents(watch, 1);
        expect(event === undefined ? "" : summary(event)).toBe(`put n/new=2 @${revision}`);
        const iterator = watch[Symbol.asyncIterator]();
        const pending = iterator.next();
        await watch.close();
        expect(await withTimeout("the end of a closed watch", pending)).toEqual({ done: true, value: undefined });
        expect(await iterator.next()).toEqual({ done: true, value: undefined });
      });
    });

    describe("leases", () => {
      it("grant answers a string id and the TTL", async () => {
        const { store } = await open();
        const lease = await store.grantLease(30);
        expect(typeof lease.id).toBe("string");
        expect(lease.id).toMatch(/^[1-9][0-9]*$/);
        expect(lease.ttlSeconds).toBe(30);
        const other = await store.grantLease(30);
        expect(other.id).not.toBe(lease.id);
      });

      it("deletes a lease's keys when it expires, as one revision watchers see", async () => {
        const { store, passTime } = await open();
        const lease = await store.grantLease(1);
        await store.put("e/1", "a", { lease: lease.id });
        await store.put("e/2", "b", { lease: lease.id });
        expect((await store.get("e/1"))?.lease).toBe(lease.id);
        const before = await store.revision();
        const watch = await store.watchPrefix("e/");
        await passTime(1_500);
        await eventually("the leased keys to vanish", async () => (await store.rangePrefix("e/")).kvs.length === 0);
        const events = await takeEvents(watch, 2);
        expect(events.map(summary)).toEqual([`delete e/1 @${before + 1}`, `delete e/2 @${before + 1}`]);
        expect(await store.revision()).toBe(before + 1);
        await expectVelaError(store.keepAliveLease(lease.id), ErrorCode.LeaseNotFound, /not found/);
        await watch.close();
      });

      it("keeps keys while the lease is kept alive", async () => {
        const { store, passTime } = await open();
        const lease = await store.grantLease(2);
        await store.put("alive", "yes", { lease: lease.id });
        for (let i = 0; i < 8; i++) {
          await passTime(500);
          await store.keepAliveLease(lease.id);
        }
        expect((await store.get("alive"))?.lease).toBe(lease.id);
        await passTime(2_500);
        await eventually("the key to vanish once keep-alives stop", async () => (await store.get("alive")) === undefined);
      });

      it("revoke deletes the keys at once, in one revision; the lease is then unknown", async () => {
        const { store } = await open();
        const lease = await store.grantLease(60);
        await store.put("v/1", "a", { lease: lease.id });
        await store.put("v/2", "b", { lease: lease.id });
        const before = await store.revision();
        await store.revokeLease(lease.id);
        expect((await store.rangePrefix("v/")).kvs).toEqual([]);
        expect(await store.revision()).toBe(before + 1);
        await store.revokeLease(lease.id);
        await expectVelaError(store.keepAliveLease(lease.id), ErrorCode.LeaseNotFound, /not found/);
        await expectVelaError(store.put("v/3", "c", { lease: lease.id }), ErrorCode.LeaseNotFound, /not found/);
        await store.revokeLease("123456789");
      });

      it("revoking a lease without keys keeps the revision; a key put again without the lease leaves it", async () => {
        const { store } = await open();
        const empty = await store.grantLease(60);
        const before = await store.revision();
        await store.revokeLease(empty.id);
        expect(await store.revision()).toBe(before);
        const lease = await store.grantLease(60);
        await store.put("detached", "1", { lease: lease.id });
        await store.put("detached", "2");
        expect((await store.get("detached"))?.lease).toBeUndefined();
        await store.revokeLease(lease.id);
        expect(decodeValue((await store.get("detached"))?.value ?? new Uint8Array())).toBe("2");
      });

      it("a LeaseKeeper keeps a lease over several TTLs and reports its loss", async () => {
        const { store, clock, passTime } = await open();
        const keeper = await LeaseKeeper.grant(store, 1, { clock });
        await store.put("kept", "1", { lease: keeper.leaseId });
        await passTime(3_500);
        expect(keeper.state).toBe("keeping");
        expect(await store.get("kept")).toBeDefined();
        await store.revokeLease(keeper.leaseId);
        await passTime(1_000);
        const reason = await withTimeout("the keeper to report the loss", keeper.lost);
        expect(reason.code).toBe(ErrorCode.LeaseNotFound);
        expect(keeper.state).toBe("lost");
        await keeper.close();

        const revoking = await LeaseKeeper.grant(store, 5, { clock });
        await store.put("revoked-on-close", "1", { lease: revoking.leaseId });
        await revoking.close({ revoke: true });
        expect(revoking.state).toBe("closed");
        expect(await store.get("revoked-on-close")).toBeUndefined();
      });
    });

    describe("election", () => {
      it("elects one of two candidates; resign hands over to the other", async () => {
        const { store } = await open();
        const election = new LeaderElection(store, { keyPrefix: "el" });
        const leaseA = await store.grantLease(60);
        const leaseB = await store.grantLease(60);
        const a = await withTimeout("A to lead", election.campaign("svc", "A", leaseA.id));
        expect(a.key).toBe(`el/svc/${leaseA.id}`);
        let bLeads = false;
        const bCampaign = election.campaign("svc", "B", leaseB.id).then((leadership) => {
          bLeads = true;
          return leadership;
        });
        await eventually("B to stand", async () => (await store.rangePrefix("el/svc/")).kvs.length === 2);
        const leader = await election.leader("svc");
        expect(leader?.key).toBe(a.key);
        expect(decodeValue(leader?.value ?? new Uint8Array())).toBe("A");
        expect(bLeads).toBe(false);
        expect(await a.isLeader()).toBe(true);
        await a.resign();
        const b = await withTimeout("B to lead after A resigned", bCampaign);
        expect(await b.isLeader()).toBe(true);
        expect(await a.isLeader()).toBe(false);
        expect((await election.leader("svc"))?.key).toBe(b.key);
        await b.proclaim("B2");
        expect(decodeValue((await election.leader("svc"))?.value ?? new Uint8Array())).toBe("B2");
        await expectVelaError(a.proclaim("A2"), ErrorCode.Conflict, /no longer the leader/);
      });

      it("hands over when the leader's lease expires", async () => {
        const { store, passTime } = await open();
        const election = new LeaderElection(store);
        const leaseA = await store.grantLease(1);
        const leaseB = await store.grantLease(60);
        await withTimeout("A to lead", election.campaign("expiry", "A", leaseA.id));
        const bCampaign = election.campaign("expiry", "B", leaseB.id);
        await eventually("B to stand", async () => (await store.rangePrefix("election/expiry/")).kvs.length === 2);
        await passTime(1_500);
        const b = await withTimeout("B to lead after A's lease expired", bCampaign);
        expect((await election.leader("expiry"))?.key).toBe(b.key);
      });

      it("observers see the current leader, then each change", async () => {
        const { store } = await open();
        const election = new LeaderElection(store);
        const observer = election.observe("obs");
        const iterator = observer[Symbol.asyncIterator]();
        const next = async (): Promise<LeaderInfo | undefined> => {
          const result = await withTimeout("the next leader", iterator.next());
          expect(result.done).toBe(false);
          return result.value;
        };
        expect(await next()).toBeUndefined();
        const leaseA = await store.grantLease(60);
        const leaseB = await store.grantLease(60);
        const a = await election.campaign("obs", "A", leaseA.id);
        expect((await next())?.key).toBe(a.key);
        const bCampaign = election.campaign("obs", "B", leaseB.id);
        await eventually("B to stand", async () => (await store.rangePrefix("election/obs/")).kvs.length === 2);
        await a.resign();
        const observed = await next();
        expect(observed?.key).toBe(`election/obs/${leaseB.id}`);
        expect(decodeValue(observed?.value ?? new Uint8Array())).toBe("B");
        await withTimeout("B to lead", bCampaign);
        await observer.close();
        expect(await iterator.next()).toEqual({ done: true, value: undefined });
      });

      it("an aborted campaign withdraws; a campaign without a live lease fails", async () => {
        const { store } = await open();
        const election = new LeaderElection(store);
        const leaseA = await store.grantLease(60);
        const leaseB = await store.grantLease(60);
        await election.campaign("abort", "A", leaseA.id);
        const controller = new AbortController();
        const bCampaign = election.campaign("abort", "B", leaseB.id, { signal: controller.signal });
        await eventually("B to stand", async () => (await store.rangePrefix("election/abort/")).kvs.length === 2);
        controller.abort();
        await expectVelaError(withTimeout("the aborted campaign to end", bCampaign), ErrorCode.Closed, /aborted/);
        expect(await store.get(`election/abort/${leaseB.id}`)).toBeUndefined();
        const dead = await store.grantLease(60);
        await store.revokeLease(dead.id);
        await expectVelaError(election.campaign("abort", "C", dead.id), ErrorCode.LeaseNotFound, /not found/);
        await expectVelaError(() => election.observe("a/b"), ErrorCode.InvalidArgument, /without "\/"/);
      });
    });

    describe("bad input", () => {
      it("is refused with a typed error and a clear message, and changes nothing", async () => {
        const { store } = await open({ valueBytesMax: 64, keyBytesMax: 32, txnOpsMax: 3, rangeKeysMax: 10 });
        await store.put("keep", "1");
        const before = await store.revision();
        const many = (count: number): TxnOp[] => Array.from({ length: count }, (_, i) => ({ type: "put", key: `m/${i}`, value: "x" }));
        const cases: Array<[string, () => Promise<unknown>, ErrorCode, RegExp]> = [
          ["empty key", () => store.put("", "x"), ErrorCode.InvalidArgument, /key must not be empty/],
          ["long key", () => store.put("k".repeat(33), "x"), ErrorCode.LimitExceeded, /33 bytes of UTF-8, over keyBytesMax \(32\)/],
          ["long key in UTF-8", () => store.get("ä".repeat(17)), ErrorCode.LimitExceeded, /34 bytes of UTF-8, over keyBytesMax/],
          ["lone surrogate", () => store.put("bad\uD800", "x"), ErrorCode.InvalidArgument, /not well-formed Unicode/],
          ["key not a string", () => store.get(42 as unknown as string), ErrorCode.InvalidArgument, /key must be a string/],
          ["large value", () => store.put("k", "v".repeat(65)), ErrorCode.LimitExceeded, /65 bytes, over valueBytesMax \(64\)/],
          ["value of a wrong type", () => store.put("k", 7 as unknown as string), ErrorCode.InvalidArgument, /must be a string or a Uint8Array/],
          ["too many txn ops", () => store.txn({ compare: [], success: many(4) }), ErrorCode.LimitExceeded, /4 success operations, over txnOpsMax \(3\)/],
          [
            "too many compares",
            () => store.txn({ compare: Array.from({ length: 4 }, () => ({ key: "k", target: "exists" as const, exists: true })), success: [] }),
            ErrorCode.LimitExceeded,
            /4 compares, over txnOpsMax/,
          ],
          [
            "txn writes one key twice",
            () => store.txn({ compare: [], success: [{ type: "put", key: "d", value: "1" }, { type: "put", key: "d", value: "2" }] }),
            ErrorCode.InvalidArgument,
            /puts key "d" twice/,
          ],
          [
            "txn puts inside a deleted prefix",
            () => store.txn({ compare: [], success: [{ type: "deletePrefix", prefix: "p/" }, { type: "put", key: "p/x", value: "1" }] }),
            ErrorCode.InvalidArgument,
            /both puts and deletes key "p\/x"/,
          ],
          [
            "unknown compare operator",
            () => store.txn({ compare: [{ key: "k", target: "version", operator: "around" as "equal", value: 1 }], success: [] }),
            ErrorCode.InvalidArgument,
            /unknown operator around/,
          ],
          [
            "negative compare revision",
            () => store.txn({ compare: [{ key: "k", target: "modRevision", operator: "equal", value: -1 }], success: [] }),
            ErrorCode.InvalidArgument,
            /non-negative integer/,
          ],
          [
            "unknown op type",
            () => store.txn({ compare: [], success: [{ type: "upsert", key: "k" } as unknown as TxnOp] }),
            ErrorCode.InvalidArgument,
            /unknown type upsert/,
          ],
          ["TTL zero", () => store.grantLease(0), ErrorCode.InvalidArgument, /positive whole number of seconds, got 0/],
          ["TTL fractional", () => store.grantLease(1.5), ErrorCode.InvalidArgument, /positive whole number of seconds, got 1.5/],
          ["TTL too long", () => store.grantLease(3601), ErrorCode.LimitExceeded, /3601 s is outside .*leaseTtlSecondsMax \(3600\)/],
          ["lease id not a number", () => store.keepAliveLease("abc"), ErrorCode.InvalidArgument, /lease id must be the decimal string/],
          ["lease id out of range", () => store.revokeLease("9223372036854775808"), ErrorCode.InvalidArgument, /lease id must be/],
          ["put with a malformed lease", () => store.put("k", "v", { lease: "-1" }), ErrorCode.InvalidArgument, /lease id must be/],
          ["range limit too large", () => store.rangePrefix("", { limit: 11 }), ErrorCode.LimitExceeded, /range limit 11 is over rangeKeysMax \(10\)/],
          ["negative range limit", () => store.rangePrefix("", { limit: -1 }), ErrorCode.InvalidArgument, /non-negative integer/],
          ["watch from revision 0", () => store.watchPrefix("", { startRevision: 0 }), ErrorCode.InvalidArgument, /startRevision must be a positive integer/],
          ["long prefix", () => store.deletePrefix("p".repeat(40)), ErrorCode.LimitExceeded, /prefix .* over keyBytesMax/],
        ];
        for (const [label, call, code, message] of cases) {
          const error = await expectVelaError(withTimeout(label, call()), code, message);
          expect(error.message, label).toMatch(/^meta store: /);
        }
        expect(await store.revision()).toBe(before);
        expect((await store.rangePrefix("")).kvs.map((kv) => kv.key)).toEqual(["keep"]);
      });

      it("every call after close fails with Closed", async () => {
        const { store } = await open();
        const lease = await store.grantLease(60);
        await store.revokeLease(lease.id);
        await store.close();
        const calls: Array<[string, () => Promise<unknown>]> = [
          ["get", () => store.get("k")],
          ["put", () => store.put("k", "v")],
          ["delete", () => store.delete("k")],
          ["deletePrefix", () => store.deletePrefix("k")],
          ["rangePrefix", () => store.rangePrefix("")],
          ["txn", () => store.txn({ compare: [], success: [] })],
          ["watchPrefix", () => store.watchPrefix("")],
          ["revision", () => store.revision()],
          ["grantLease", () => store.grantLease(5)],
          ["keepAliveLease", () => store.keepAliveLease(lease.id)],
          ["revokeLease", () => store.revokeLease(lease.id)],
        ];
        for (const [label, call] of calls) await expectVelaError(withTimeout(label, call()), ErrorCode.Closed, /^meta store is closed$/);
        await store.close();
      });
    });

    describe("model", () => {
      it("agrees with an in-memory model under seeded random operations", async () => {
        const seed = testSeed();
        console.log(`MetaStore contract (${name}) model test seed=${seed} (replay with VELA_SEED=${seed})`);
        const random = new SeededRandom(seed);
        const { store } = await open();
        type ModelKv = { value: string; createRevision: number; modRevision: number; version: number };
        const model = new Map<string, ModelKv>();
        let revision = await store.revision();
        const watch = await store.watchPrefix("", { startRevision: revision + 1 });
        const expectedEvents: string[] = [];
        const keys = ["a", "a/b", "a/c", "a/b/c", "b", "b/a", "é", "😀", "\uE000", "z"];
        const prefixes = ["", "a", "a/", "a/b", "b", "c", "é", "\uE000", "😀"];
        const sortedKeys = (prefix: string): string[] => [...model.keys()].filter((key) => key.startsWith(prefix)).sort(compareUtf8);

        const applyPut = (key: string, value: string): void => {
          const previous = model.get(key);
          model.set(key, { value, createRevision: previous?.createRevision ?? revision, modRevision: revision, version: (previous?.version ?? 0) + 1 });
          expectedEvents.push(`put ${key}=${value} @${revision}`);
        };
        const applyDelete = (key: string): void => {
          model.delete(key);
          expectedEvents.push(`delete ${key} @${revision}`);
        };
        const holds = (compare: Compare): boolean => {
          const kv = model.get(compare.key);
          if (compare.target === "exists") return (kv !== undefined) === compare.exists;
          let order: number;
          if (compare.target === "value") {
            if (kv === undefined) return false;
            order = Math.sign(compareUtf8(kv.value, compare.value as string));
          } else order = Math.sign((kv?.[compare.target] ?? 0) - compare.value);
          return { equal: order === 0, notEqual: order !== 0, less: order < 0, greater: order > 0 }[compare.operator];
        };
        const randomCompare = (): Compare => {
          const key = random.pick(keys);
          const kv = model.get(key);
          const operator = random.pick(["equal", "notEqual", "less", "greater"] as const);
          switch (random.int(0, 4)) {
            case 0:
              return { key, target: "exists", exists: random.bool() };
            case 1:
              return { key, target: "value", operator, value: random.bool(0.6) && kv !== undefined ? kv.value : `v${random.int(0, 300)}` };
            case 2:
              return { key, target: "modRevision", operator, value: Math.max(0, (kv?.modRevision ?? 0) + random.int(-1, 1)) };
            case 3:
              return { key, target: "createRevision", operator, value: Math.max(0, (kv?.createRevision ?? 0) + random.int(-1, 1)) };
            default:
              return { key, target: "version", operator, value: Math.max(0, (kv?.version ?? 0) + random.int(-1, 1)) };
          }
        };
        const randomOps = (step: number): TxnOp[] => {
          const ops: TxnOp[] = [];
          for (let i = random.int(0, 3); i > 0; i--) {
            const kind = random.int(0, 2);
            const candidate: TxnOp =
              kind === 0
                ? { type: "put", key: random.pick(keys), value: `t${step}.${i}` }
                : kind === 1
                  ? { type: "delete", key: random.pick(keys) }
                  : { type: "deletePrefix", prefix: random.pick(prefixes.filter((prefix) => prefix !== "")) };
            const writes = (op: TxnOp, key: string): boolean =>
              op.type === "put" || op.type === "delete" ? op.key === key : key.startsWith(op.prefix);
            const clashes =
              candidate.type === "put"
                ? ops.some((op) => writes(op, candidate.key))
                : ops.some((op) => op.type === "put" && writes(candidate, op.key));
            if (!clashes) ops.push(candidate);
          }
          return ops;
        };
        const applyOps = (ops: TxnOp[]): void => {
          const changes = ops.some((op) =>
            op.type === "put" ? true : op.type === "delete" ? model.has(op.key) : sortedKeys(op.prefix).length > 0,
          );
          if (!changes) return;
          revision += 1;
          for (const op of ops) {
            if (op.type === "put") applyPut(op.key, op.value as string);
            else if (op.type === "delete") {
              if (model.has(op.key)) applyDelete(op.key);
            } else for (const key of sortedKeys(op.prefix)) applyDelete(key);
          }
        };

        for (let step = 0; step < 160; step++) {
          const action = random.int(0, 9);
          const where = `seed ${seed} step ${step}`;
          if (action <= 2) {
            const key = random.pick(keys);
            const value = `v${step}`;
            const result = await store.put(key, value);
            revision += 1;
            applyPut(key, value);
            expect(result.revision, where).toBe(revision);
          } else if (action === 3) {
            const key = random.pick(keys);
            const existed = model.has(key);
            if (existed) {
              revision += 1;
              applyDelete(key);
            }
            expect(await store.delete(key), where).toEqual({ deleted: existed ? 1 : 0, revision });
          } else if (action === 4) {
            const prefix = random.pick(prefixes.filter((candidate) => candidate !== ""));
            const doomed = sortedKeys(prefix);
            if (doomed.length > 0) {
              revision += 1;
              for (const key of doomed) applyDelete(key);
            }
            expect(await store.deletePrefix(prefix), where).toEqual({ deleted: doomed.length, revision });
          } else if (action <= 6) {
            const compare = Array.from({ length: random.int(0, 2) }, randomCompare);
            const success = randomOps(step);
            const failure = randomOps(step);
            const succeeded = compare.every(holds);
            applyOps(succeeded ? success : failure);
            expect(await store.txn({ compare, success, failure }), where).toEqual({ succeeded, revision });
          } else if (action === 7) {
            const key = random.pick(keys);
            const kv = await store.get(key);
            const expected = model.get(key);
            expect(kv === undefined ? undefined : { ...kv, value: decodeValue(kv.value), key: undefined, lease: undefined }, where).toEqual(
              expected === undefined ? undefined : { ...expected, key: undefined, lease: undefined },
            );
          } else {
            const prefix = random.pick(prefixes);
            const limit = random.int(0, 4);
            const keysOnly = random.bool(0.3);
            const range = await store.rangePrefix(prefix, { limit, keysOnly });
            const expectedKeys = sortedKeys(prefix);
            const returned = limit === 0 ? expectedKeys : expectedKeys.slice(0, limit);
            expect(range.kvs.map((kv) => kv.key), where).toEqual(returned);
            expect(range.more, where).toBe(returned.length < expectedKeys.length);
            expect(range.revision, where).toBe(revision);
            for (const kv of range.kvs) {
              const expected = model.get(kv.key) as ModelKv;
              expect(decodeValue(kv.value), where).toBe(keysOnly ? "" : expected.value);
              expect([kv.createRevision, kv.modRevision, kv.version], where).toEqual([expected.createRevision, expected.modRevision, expected.version]);
            }
          }
        }
        expect(await store.revision()).toBe(revision);
        const events = await takeEvents(watch, expectedEvents.length);
        expect(events.map(summary)).toEqual(expectedEvents);
        await watch.close();
      });
    });
  });
}
