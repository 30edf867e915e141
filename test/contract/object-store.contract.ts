// The ObjectStore contract (DESIGN §2, §13.2): one vitest suite that every implementation passes
// unchanged — LocalObjectStore in storage/object/local-object-store.test.ts, S3ObjectStore (against
// s3rver) in storage/object/s3-object-store.test.ts. It states what callers may rely on: whole-object
// round trips, clipped ranges, ascending paginated listings, prefix isolation, delete counts, typed
// errors for bad input that change nothing, Closed after close, and agreement with a plain in-memory
// model under seeded random operations.
//
// Keys here use letters and digits only where order matters: s3rver (the S3 test server) orders some
// punctuation differently from S3 (see docs/objectstore.md); the local store's own tests cover that.
import { afterEach, describe, expect, it } from "vitest";
import type { ObjectStoreLimits } from "../../common/config.ts";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { listAll, type ObjectInfo, type ObjectStore } from "../../storage/object/object-store.ts";

/** Where a store keeps its objects: every open() over one location sees the same objects. */
export interface ObjectStoreLocation {
  open(limits?: Partial<ObjectStoreLimits>): Promise<ObjectStore>;
}

/** Makes a new, empty location (a fresh directory, a fresh root prefix, …). */
export type ObjectStoreLocationFactory = () => Promise<ObjectStoreLocation>;

const mebibyte = 1024 * 1024;

async function expectVelaError(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<VelaError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a VelaError ${code} matching ${String(message)}`).toBeInstanceOf(VelaError);
  const error = caught as VelaError;
  expect({ code: error.code, message: error.message }).toEqual({ code, message: expect.stringMatching(message) });
  return error;
}

function bytes(values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** Pseudo-random bytes, four at a time (fast enough for tens of MiB). */
function randomBytes(random: SeededRandom, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  let i = 0;
  for (; i + 4 <= length; i += 4) view.setUint32(i, random.nextUint32());
  for (; i < length; i++) out[i] = random.nextUint32() & 0xff;
  return out;
}

function keysOf(objects: ObjectInfo[]): string[] {
  return objects.map((info) => info.key);
}

/** UTF-8 byte order, as S3 lists. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function allKeys(store: ObjectStore, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of listAll(store, prefix)) keys.push(info.key);
  return keys;
}

/** Every page of a listing with a small limit; checks that only the last page lacks a token. */
async function pages(store: ObjectStore, prefix: string, limit: number): Promise<string[][]> {
  const result: string[][] = [];
  let continuationToken: string | undefined;
  do {
    const page = await store.list(prefix, continuationToken === undefined ? { limit } : { limit, continuationToken });
    expect(page.objects.length).toBeLessThanOrEqual(limit);
    if (page.nextToken !== undefined) expect(page.objects.length).toBe(limit);
    result.push(keysOf(page.objects));
    continuationToken = page.nextToken;
    expect(result.length, "listing does not end").toBeLessThan(1000);
  } while (continuationToken !== undefined);
  return result;
}

export function objectStoreContract(name: string, newLocation: ObjectStoreLocationFactory): void {
  describe(`ObjectStore contract: ${name}`, () => {
    const opened: ObjectStore[] = [];

    /** A store over a fresh location, plus that location to reopen it. */
    async function fresh(limits?: Partial<ObjectStoreLimits>): Promise<{ store: ObjectStore; location: ObjectStoreLocation }> {
      const location = await newLocation();
      const tracked: ObjectStoreLocation = {
        open: async (reopenLimits) => {
          const store = await location.open(reopenLimits);
          opened.push(store);
          return store;
        },
      };
      return { store: await tracked.open(limits), location: tracked };
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    describe("round trips", () => {
      it("puts and gets an empty object and one holding every byte value", async () => {
        const { store } = await fresh();
        const everyByte = bytes(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
        await store.put("empty", new Uint8Array(0));
        await store.put("dir/every-byte", everyByte);
        expect(await store.get("empty")).toEqual(new Uint8Array(0));
        expect(await store.get("dir/every-byte")).toEqual(everyByte);
        expect((await store.head("empty"))?.sizeBytes).toBe(0);
        expect((await store.head("dir/every-byte"))?.sizeBytes).toBe(512);
        expect(await allKeys(store)).toEqual(["dir/every-byte", "empty"]);
      });

      it("keeps keys with spaces, URL syntax and non-ASCII characters exact", async () => {
        const { store } = await fresh();
        const key = "text/na\u00efve caf\u00e9 \u6f22\u5b57 +%25&=?#~!$'()*,;@[]";
        await store.put(key, bytes([1, 2, 3]));
        expect(await store.get(key)).toEqual(bytes([1, 2, 3]));
        expect((await store.head(key))?.key).toBe(key);
        expect(await allKeys(store, "text/")).toEqual([key]);
        await store.delete(key);
        expect(await store.head(key)).toBeUndefined();
      });

      it("round-trips a multi-MB object, uploaded in parts where the store uses parts", async () => {
        const seed = testSeed();
        console.log(`multi-MB round trip seed=${seed} (replay with VELA_SEED=${seed})`);
        const { store } = await fresh({ multipartThresholdBytes: 6 * mebibyte, multipartPartBytes: 5 * mebibyte });
        const body = randomBytes(new SeededRandom(seed), 12 * mebibyte + 1234);
        await store.put("big/object", body);
        const back = await store.get("big/object");
        expect(back.length).toBe(body.length);
        expect(Buffer.compare(back, body), `seed ${seed}`).toBe(0);
        const boundary = 5 * mebibyte;
        expect(await store.getRange("big/object", boundary - 10, boundary + 10)).toEqual(body.subarray(boundary - 10, boundary + 10));
        expect(await store.getRange("big/object", body.length - 5, body.length + 5)).toEqual(body.subarray(body.length - 5));
        expect((await store.head("big/object"))?.sizeBytes).toBe(body.length);
        // A small object through the same store takes the single-request path.
        await store.put("big/small", bytes([9]));
        expect(await store.get("big/small")).toEqual(bytes([9]));
      });

      it("an overwrite replaces the whole object", async () => {
        const { store } = await fresh();
        await store.put("k", new Uint8Array(1000).fill(1));
        await store.put("k", bytes([2, 2, 2]));
        expect(await store.get("k")).toEqual(bytes([2, 2, 2]));
        expect((await store.head("k"))?.sizeBytes).toBe(3);
        await store.put("k", new Uint8Array(0));
        expect(await store.get("k")).toEqual(new Uint8Array(0));
        expect(await allKeys(store)).toEqual(["k"]);
      });
    });

    describe("ranges", () => {
      it("returns the bytes asked for, clipped to the object", async () => {
        const { store } = await fresh();
        const body = bytes(Array.from({ length: 100 }, (_, i) => i));
        await store.put("r", body);
        expect(await store.getRange("r", 0, 10)).toEqual(body.subarray(0, 10));
        expect(await store.getRange("r", 0, 1)).toEqual(bytes([0]));
        expect(await store.getRange("r", 0, 100)).toEqual(body);
        expect(await store.getRange("r", 37, 42)).toEqual(body.subarray(37, 42));
        expect(await store.getRange("r", 90, 200)).toEqual(body.subarray(90));
        expect(await store.getRange("r", 99, 100)).toEqual(bytes([99]));
        expect(await store.getRange("r", 0, Number.MAX_SAFE_INTEGER)).toEqual(body);
      });

      it("answers an empty range, or a range past the end, with no bytes", async () => {
        const { store } = await fresh();
        await store.put("r", new Uint8Array(100).fill(7));
        await store.put("zero", new Uint8Array(0));
        expect(await store.getRange("r", 100, 110)).toEqual(new Uint8Array(0));
        expect(await store.getRange("r", 150, 160)).toEqual(new Uint8Array(0));
        expect(await store.getRange("r", 50, 50)).toEqual(new Uint8Array(0));
        expect(await store.getRange("r", 0, 0)).toEqual(new Uint8Array(0));
        expect(await store.getRange("zero", 0, 10)).toEqual(new Uint8Array(0));
        expect(await store.getRange("zero", 0, 0)).toEqual(new Uint8Array(0));
      });

      it("fails with NotFound for a missing object, even for an empty range", async () => {
        const { store } = await fresh();
        await expectVelaError(store.getRange("missing", 0, 10), ErrorCode.NotFound, /"missing".*does not exist/);
        await expectVelaError(store.getRange("missing", 0, 0), ErrorCode.NotFound, /does not exist/);
        await expectVelaError(store.get("missing"), ErrorCode.NotFound, /does not exist/);
        await expectVelaError(store.get("dir/missing"), ErrorCode.NotFound, /does not exist/);
      });
    });

    describe("head", () => {
      it("reports size and modification time, and undefined for a missing object", async () => {
        const { store } = await fresh();
        expect(await store.head("h")).toBeUndefined();
        await store.put("h", new Uint8Array(42));
        const info = await store.head("h");
        expect(info?.key).toBe("h");
        expect(info?.sizeBytes).toBe(42);
        expect(info?.modifiedMs).toBeGreaterThan(Date.UTC(2020, 0, 1));
        expect(Number.isInteger(info?.modifiedMs)).toBe(true);
        expect(await store.head("h/below")).toBeUndefined();
        expect(await store.head("other")).toBeUndefined();
      });
    });

    describe("list", () => {
      const keys = ["m", "a0", "a", "b/c/d", "b/c0", "ab", "zz/top", "b/c/e", "b9", "c", "ca/x", "cb", "y"];

      it("lists in ascending key order with sizes", async () => {
        const seed = testSeed();
        const random = new SeededRandom(seed);
        const { store } = await fresh();
        const shuffled = [...keys].sort(() => random.next() - 0.5);
        for (const [i, key] of shuffled.entries()) await store.put(key, new Uint8Array(i));
        const page = await store.list("");
        expect(page.nextToken).toBeUndefined();
        expect(keysOf(page.objects), `seed ${seed}`).toEqual([...keys].sort(byteOrder));
        for (const info of page.objects) expect(info.sizeBytes).toBe(shuffled.indexOf(info.key));
      });

      it("pages through a listing with the continuation token, missing and repeating nothing", async () => {
        const { store } = await fresh();
        for (const key of keys) await store.put(key, bytes([1]));
        const sorted = [...keys].sort(byteOrder);
        const byFour = await pages(store, "", 4);
        expect(byFour.map((page) => page.length)).toEqual([4, 4, 4, 1]);
        expect(byFour.flat()).toEqual(sorted);
        expect((await pages(store, "", 1)).flat()).toEqual(sorted);
        // A page that ends exactly at the last key carries no token.
        expect(await pages(store, "", 13)).toEqual([sorted]);
        expect((await pages(store, "b", 2)).flat()).toEqual(["b/c/d", "b/c/e", "b/c0", "b9"]);
      });

      it("keeps paging correctly when keys change between pages", async () => {
        const { store } = await fresh();
        for (const key of ["p/1", "p/2", "p/3", "p/4", "p/5"]) await store.put(key, bytes([1]));
        const first = await store.list("p/", { limit: 2 });
        expect(keysOf(first.objects)).toEqual(["p/1", "p/2"]);
        await store.delete("p/2"); // the token's own key disappears
        await store.put("p/0", bytes([1])); // a key before the token appears
        await store.put("p/35", bytes([1])); // a key after it appears
        const rest = await store.list("p/", { limit: 10, continuationToken: first.nextToken as string });
        expect(keysOf(rest.objects)).toEqual(["p/3", "p/35", "p/4", "p/5"]);
        expect(rest.nextToken).toBeUndefined();
      });

      it("a prefix lists exactly the keys that start with it", async () => {
        const { store } = await fresh();
        for (const key of ["a/b/x", "a/b/y", "a/bc/x", "a/bd", "ab/x", "b/x"]) await store.put(key, bytes([1]));
        expect(await allKeys(store, "a/b/")).toEqual(["a/b/x", "a/b/y"]);
        expect(await allKeys(store, "a/b")).toEqual(["a/b/x", "a/b/y", "a/bc/x", "a/bd"]);
        expect(await allKeys(store, "a/bc")).toEqual(["a/bc/x"]);
        expect(await allKeys(store, "a/bd")).toEqual(["a/bd"]);
        expect(await allKeys(store, "a/")).toEqual(["a/b/x", "a/b/y", "a/bc/x", "a/bd"]);
        expect(await allKeys(store, "a")).toEqual(["a/b/x", "a/b/y", "a/bc/x", "a/bd", "ab/x"]);
        expect(await allKeys(store, "a/b/x")).toEqual(["a/b/x"]);
        expect(await allKeys(store, "c")).toEqual([]);
        expect(await allKeys(store, "a/b/x/")).toEqual([]);
        expect(await store.list("nothing/", { limit: 3 })).toEqual({ objects: [] });
      });
    });

    describe("delete", () => {
      it("deletes one object; deleting a missing one is not an error", async () => {
        const { store } = await fresh();
        await store.put("d/1", bytes([1]));
        await store.put("d/2", bytes([2]));
        await store.delete("d/1");
        expect(await store.head("d/1")).toBeUndefined();
        await expectVelaError(store.get("d/1"), ErrorCode.NotFound, /does not exist/);
        expect(await allKeys(store)).toEqual(["d/2"]);
        await store.delete("d/1");
        await store.delete("never/was");
        await store.delete("d");
        expect(await store.get("d/2")).toEqual(bytes([2]));
        // The key can be written again after its delete.
        await store.put("d/1", bytes([3]));
        expect(await store.get("d/1")).toEqual(bytes([3]));
      });

      it("deletePrefix deletes exactly the objects under the prefix, across pages, and counts them", async () => {
        const { store } = await fresh({ listPageKeysMax: 3 });
        const under = Array.from({ length: 8 }, (_, i) => `p/b/${i}`);
        for (const key of [...under, "p/bc/x", "p/a", "q"]) await store.put(key, bytes([1]));
        expect(await store.deletePrefix("p/b/")).toBe(8);
        expect(await allKeys(store)).toEqual(["p/a", "p/bc/x", "q"]);
        expect(await store.deletePrefix("p/b/")).toBe(0);
        expect(await store.deletePrefix("nothing/")).toBe(0);
        expect(await store.deletePrefix("p/")).toBe(2);
        expect(await allKeys(store)).toEqual(["q"]);
        expect(await store.deletePrefix("")).toBe(1);
        expect(await allKeys(store)).toEqual([]);
      });
    });

    describe("bad input changes nothing and says why", () => {
      const limits = { keyBytesMax: 64, keySegmentBytesMax: 16, objectBytesMax: 1024, listPageKeysMax: 10 };
      const badKeys: [string, ErrorCode, RegExp][] = [
        ["", ErrorCode.InvalidArgument, /must not be empty/],
        ["/abs", ErrorCode.InvalidArgument, /must not start with '\/'/],
        ["a/", ErrorCode.InvalidArgument, /empty segment/],
        ["a//b", ErrorCode.InvalidArgument, /empty segment/],
        [".", ErrorCode.InvalidArgument, /has a '\.' segment/],
        ["a/./b", ErrorCode.InvalidArgument, /has a '\.' segment/],
        ["..", ErrorCode.InvalidArgument, /has a '\.\.' segment/],
        ["../escape", ErrorCode.InvalidArgument, /has a '\.\.' segment/],
        ["a/../../escape", ErrorCode.InvalidArgument, /has a '\.\.' segment/],
        ["a\\..\\b", ErrorCode.InvalidArgument, /forbidden character U\+005c/],
        ["nul\u0000byte", ErrorCode.InvalidArgument, /forbidden character U\+0000/],
        ["new\nline", ErrorCode.InvalidArgument, /forbidden character U\+000a/],
        ["lone\ud800", ErrorCode.InvalidArgument, /lone surrogate/],
        ["k".repeat(65), ErrorCode.LimitExceeded, /65 bytes long; keyBytesMax is 64/],
        ["\u00e9".repeat(33), ErrorCode.LimitExceeded, /66 bytes long; keyBytesMax is 64/],
        [`ok/${"s".repeat(17)}`, ErrorCode.LimitExceeded, /segment longer than keySegmentBytesMax \(16 bytes\)/],
      ];

      it("refuses bad keys in every call", async () => {
        const { store } = await fresh(limits);
        await store.put("ok", bytes([1]));
        for (const [key, code, message] of badKeys) {
          await expectVelaError(store.put(key, bytes([2])), code, message);
          await expectVelaError(store.get(key), code, message);
          await expectVelaError(store.getRange(key, 0, 1), code, message);
          await expectVelaError(store.head(key), code, message);
          await expectVelaError(store.delete(key), code, message);
        }
        await expectVelaError(store.put(42 as unknown as string, bytes([1])), ErrorCode.InvalidArgument, /key must be a string/);
        expect(await allKeys(store)).toEqual(["ok"]);
        expect(await store.get("ok")).toEqual(bytes([1]));
      });

      it("refuses an object over objectBytesMax and a body that is not bytes, keeping the old object", async () => {
        const { store } = await fresh(limits);
        await store.put("o", bytes([1, 2]));
        await store.put("exact", new Uint8Array(1024));
        await expectVelaError(
          store.put("o", new Uint8Array(1025)),
          ErrorCode.LimitExceeded,
          /object "o" is 1025 bytes; objectBytesMax is 1024/,
        );
        await expectVelaError(store.put("new", new Uint8Array(1025)), ErrorCode.LimitExceeded, /objectBytesMax/);
        await expectVelaError(store.put("o", "text" as unknown as Uint8Array), ErrorCode.InvalidArgument, /must be a Uint8Array/);
        expect(await store.get("o")).toEqual(bytes([1, 2]));
        expect(await allKeys(store)).toEqual(["exact", "o"]);
      });

      it("refuses invalid ranges", async () => {
        const { store } = await fresh(limits);
        await store.put("r", new Uint8Array(10));
        const cases: [number, number, RegExp][] = [
          [-1, 5, /start must be a non-negative integer, got -1/],
          [5, 3, /endExclusive \(3\) must not be before start \(5\)/],
          [1.5, 3, /start must be a non-negative integer, got 1\.5/],
          [0, Number.NaN, /endExclusive must be a non-negative integer, got NaN/],
          [0, Number.POSITIVE_INFINITY, /endExclusive must be a non-negative integer, got Infinity/],
        ];
        for (const [start, end, message] of cases) {
          await expectVelaError(store.getRange("r", start, end), ErrorCode.InvalidArgument, message);
        }
        // Range checks come before existence: a bad range on a missing object is still InvalidArgument.
        await expectVelaError(store.getRange("missing", 5, 3), ErrorCode.InvalidArgument, /must not be before start/);
      });

      it("refuses bad list arguments and bad prefixes to delete", async () => {
        const { store } = await fresh(limits);
        await store.put("a/1", bytes([1]));
        await store.put("a/2", bytes([1]));
        for (const limit of [0, -1, 2.5]) {
          await expectVelaError(store.list("", { limit }), ErrorCode.InvalidArgument, /list limit must be a positive integer/);
        }
        await expectVelaError(store.list("", { limit: 11 }), ErrorCode.LimitExceeded, /list limit 11 exceeds listPageKeysMax \(10\)/);
        for (const prefix of ["/a", "../", "a/../", "a//", "a\\b"]) {
          await expectVelaError(store.list(prefix), ErrorCode.InvalidArgument, /list prefix/);
          await expectVelaError(store.deletePrefix(prefix), ErrorCode.InvalidArgument, /list prefix/);
        }
        await expectVelaError(
          store.list("a/", { continuationToken: "b/1" }),
          ErrorCode.InvalidArgument,
          /continuation token "b\/1" does not belong to a listing of prefix "a\/"/,
        );
        await expectVelaError(store.list("", { continuationToken: "" }), ErrorCode.InvalidArgument, /continuation token/);
        await expectVelaError(
          store.list("", { continuationToken: "a//x" }),
          ErrorCode.InvalidArgument,
          /continuation token "a\/\/x" is not a token this store issued/,
        );
        expect(await allKeys(store)).toEqual(["a/1", "a/2"]);
      });
    });

    describe("after close", () => {
      it("every call fails with Closed and nothing changes", async () => {
        const { store, location } = await fresh();
        await store.put("kept", bytes([1]));
        await store.close();
        const calls: [string, () => Promise<unknown>][] = [
          ["put", () => store.put("kept", bytes([2]))],
          ["put new", () => store.put("new", bytes([2]))],
          ["get", () => store.get("kept")],
          ["getRange", () => store.getRange("kept", 0, 1)],
          ["head", () => store.head("kept")],
          ["list", () => store.list("")],
          ["delete", () => store.delete("kept")],
          ["deletePrefix", () => store.deletePrefix("")],
          ["bad input", () => store.put("", bytes([2]))],
        ];
        for (const [, call] of calls) await expectVelaError(call(), ErrorCode.Closed, /is closed/);
        await store.close(); // closing twice is harmless
        const reopened = await location.open();
        expect(await allKeys(reopened)).toEqual(["kept"]);
        expect(await reopened.get("kept")).toEqual(bytes([1]));
      });
    });

    describe("model", () => {
      it("agrees with an in-memory map under seeded random operations", async () => {
        const seed = testSeed();
        console.log(`object store model test seed=${seed} (replay with VELA_SEED=${seed})`);
        const random = new SeededRandom(seed);
        const { store } = await fresh({ listPageKeysMax: 5 });
        const model = new Map<string, Uint8Array>();
        const segments = ["a", "b", "ab", "b0", "ba"];
        const randomKey = (): string => [random.pick(segments), random.pick(segments), random.pick(segments)].join("/");
        const randomPrefix = (): string => {
          const key = randomKey();
          return key.slice(0, random.int(0, key.length));
        };
        const modelKeys = (prefix: string): string[] => [...model.keys()].filter((key) => key.startsWith(prefix)).sort(byteOrder);

        for (let step = 0; step < 250; step++) {
          const where = `seed ${seed} step ${step}`;
          const choice = random.next();
          if (choice < 0.35) {
            const key = randomKey();
            const body = randomBytes(random, random.int(0, 48));
            await store.put(key, body);
            model.set(key, body);
          } else if (choice < 0.5) {
            const key = randomKey();
            const expected = model.get(key);
            if (expected === undefined) await expectVelaError(store.get(key), ErrorCode.NotFound, /does not exist/);
            else expect(await store.get(key), where).toEqual(expected);
          } else if (choice < 0.6) {
            const key = randomKey();
            const start = random.int(0, 50);
            const end = start + random.int(0, 20);
            const expected = model.get(key);
            if (expected === undefined) await expectVelaError(store.getRange(key, start, end), ErrorCode.NotFound, /does not exist/);
            else expect(await store.getRange(key, start, end), where).toEqual(expected.subarray(start, end));
          } else if (choice < 0.7) {
            const key = randomKey();
            expect((await store.head(key))?.sizeBytes, where).toBe(model.get(key)?.length);
          } else if (choice < 0.8) {
            const prefix = randomPrefix();
            const listed = (await pages(store, prefix, random.int(1, 5))).flat();
            expect(listed, `${where} list ${JSON.stringify(prefix)}`).toEqual(modelKeys(prefix));
          } else if (choice < 0.9) {
            const key = randomKey();
            await store.delete(key);
            model.delete(key);
          } else {
            const prefix = randomPrefix();
            const doomed = modelKeys(prefix);
            expect(await store.deletePrefix(prefix), `${where} deletePrefix ${JSON.stringify(prefix)}`).toBe(doomed.length);
            for (const key of doomed) model.delete(key);
          }
        }
        expect(await allKeys(store), `seed ${seed} final`).toEqual(modelKeys(""));
      });
    });
  });
}
