// LocalObjectStore: the ObjectStore contract, plus what only a directory can show — temp files kept out
// of sight and cleaned after a crash, a put killed midway, the file-versus-directory conflict, S3's byte
// order for keys with punctuation, and empty directories removed by delete.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync, watch, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { scratchDir } from "../../test/servers/ports.ts";
import { objectStoreContract } from "../../test/contract/object-store.contract.ts";
import { LocalObjectStore, objectsFolderName, tempFolderName } from "./local-object-store.ts";
import { listAll } from "./object-store.ts";

objectStoreContract("LocalObjectStore", async () => {
  const dir = scratchDir("local-object-store");
  return { open: (limits) => LocalObjectStore.open(limits === undefined ? { dir } : { dir, limits }) };
});

const repoRoot = join(import.meta.dirname, "..", "..");

async function keys(store: LocalObjectStore, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const info of listAll(store, prefix)) out.push(info.key);
  return out;
}

async function expectVelaError(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(VelaError);
  expect({ code: (error as VelaError).code, message: (error as VelaError).message }).toEqual({
    code,
    message: expect.stringMatching(message),
  });
}

/** A pid that belonged to a process which has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  const pid = child.pid;
  if (pid === undefined) throw new Error("child process had no pid");
  return pid;
}

describe("LocalObjectStore on disk", () => {
  const stores: LocalObjectStore[] = [];
  const open = async (dir: string): Promise<LocalObjectStore> => {
    const store = await LocalObjectStore.open({ dir });
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  it("keeps objects under objects/ and leaves no temp file behind a put", async () => {
    const dir = scratchDir("local-layout");
    const store = await open(dir);
    await store.put("a/b/c", Uint8Array.from([1, 2, 3]));
    expect(statSync(join(dir, objectsFolderName, "a", "b", "c")).size).toBe(3);
    expect(readdirSync(join(dir, tempFolderName))).toEqual([]);
  });

  it("never lists what lies in the temp folder", async () => {
    const dir = scratchDir("local-temp-hidden");
    const store = await open(dir);
    await store.put("x", Uint8Array.from([1]));
    writeFileSync(join(dir, tempFolderName, `${process.pid}-0-feed.tmp`), "partial");
    expect(await keys(store)).toEqual(["x"]);
  });

  it("removes temp files of dead writers on open, and keeps those of live ones", async () => {
    const dir = scratchDir("local-temp-clean");
    await open(dir);
    const tempDir = join(dir, tempFolderName);
    const dead = `${await deadPid()}-1700000000000-0a1b.tmp`;
    const previousIncarnation = `${process.pid}-1-0a1b.tmp`; // this pid, but another process start time
    const stray = "not-a-temp-file";
    const live = `${process.ppid}-1700000000000-0a1b.tmp`; // the parent of this test process is alive
    for (const name of [dead, previousIncarnation, stray, live]) writeFileSync(join(tempDir, name), "partial");
    const store = await open(dir);
    expect(readdirSync(tempDir)).toEqual([live]);
    expect(await keys(store)).toEqual([]);
  });

  it("a put killed midway leaves the old object whole and its temp file is cleaned on the next open", async () => {
    const dir = scratchDir("local-kill");
    const store = await open(dir);
    const old = Uint8Array.from([7, 7, 7]);
    await store.put("seg/1", old);
    const tempDir = join(dir, tempFolderName);
    // The child writes 128 MiB: the test freezes it (SIGSTOP) as soon as its temp file appears, and
    // kills it only if the temp file is still there while it is frozen — that is, mid-put. If the put
    // had already finished by then (a very fast disk), it tries again; the outcome never depends on
    // timing, only the number of tries does.
    let killedMidway = false;
    for (let attempt = 0; attempt < 5 && !killedMidway; attempt++) {
      const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "test", "faults", "local-object-put.ts"), dir, "seg/1", String(128 * 1024 * 1024)], {
        cwd: repoRoot,
        stdio: ["ignore", "ignore", "inherit"],
      });
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      const watcher = watch(tempDir);
      await new Promise<void>((resolve) => {
        watcher.once("change", () => {
          child.kill("SIGSTOP");
          resolve();
        });
        child.once("exit", () => resolve());
      });
      watcher.close();
      killedMidway = child.exitCode === null && readdirSync(tempDir).length > 0;
      child.kill("SIGKILL");
      await exited;
      if (!killedMidway) await store.put("seg/1", old); // the child's put completed: restore and retry
    }
    expect(killedMidway, "the child was never caught mid-put").toBe(true);
    // Before any reopen: the object is still the old one, whole, and the temp file is invisible.
    expect(await store.get("seg/1")).toEqual(old);
    expect(readdirSync(tempDir).length).toBe(1);
    expect(await keys(store)).toEqual(["seg/1"]);
    const reopened = await open(dir);
    expect(readdirSync(tempDir)).toEqual([]);
    expect(await reopened.get("seg/1")).toEqual(old);
    expect(await keys(reopened)).toEqual(["seg/1"]);
  });

  it("refuses a key that is both an object and a prefix directory, changing nothing", async () => {
    const dir = scratchDir("local-conflict");
    const store = await open(dir);
    await store.put("a/b", Uint8Array.from([1]));
    await store.put("c", Uint8Array.from([2]));
    await expectVelaError(store.put("a", Uint8Array.from([9])), ErrorCode.Conflict, /cannot put object "a": other objects exist under "a\/"/);
    await expectVelaError(store.put("c/d", Uint8Array.from([9])), ErrorCode.Conflict, /cannot put object "c\/d": one of its parent prefixes is itself an object/);
    await expectVelaError(store.put("c/d/e", Uint8Array.from([9])), ErrorCode.Conflict, /parent prefixes is itself an object/);
    expect(await keys(store)).toEqual(["a/b", "c"]);
    expect(await store.head("a")).toBeUndefined();
    await expectVelaError(store.get("a"), ErrorCode.NotFound, /does not exist/);
    await expectVelaError(store.getRange("a", 0, 1), ErrorCode.NotFound, /does not exist/);
    await expectVelaError(store.get("c/d"), ErrorCode.NotFound, /does not exist/);
    await store.delete("a"); // a directory, not an object: nothing to delete
    await store.delete("c/d");
    expect(await store.get("a/b")).toEqual(Uint8Array.from([1]));
    expect(readdirSync(join(dir, tempFolderName))).toEqual([]);
    // Once the prefix is empty again, the key can be an object.
    await store.delete("a/b");
    await store.put("a", Uint8Array.from([3]));
    expect(await keys(store)).toEqual(["a", "c"]);
  });

  it("lists in S3's order, the UTF-8 byte order, also around '/' and beyond the BMP", async () => {
    const store = await open(scratchDir("local-order"));
    // '-' and '.' sort before '/', which sorts before '0'; U+1D11E (4 UTF-8 bytes, a surrogate pair
    // in UTF-16) sorts after U+FF21 in UTF-8 though before it in UTF-16.
    const expected = ["a-c", "a.d", "a/b-x/1", "a/b/1", "a/b0", "a0", "\uff21", "\ud834\udd1e"];
    for (const key of [...expected].reverse()) await store.put(key, Uint8Array.from([1]));
    expect(await keys(store)).toEqual(expected);
    const firstPage = await store.list("", { limit: 3 });
    expect(firstPage.objects.map((info) => info.key)).toEqual(["a-c", "a.d", "a/b-x/1"]);
    const secondPage = await store.list("", { limit: 3, continuationToken: firstPage.nextToken as string });
    expect(secondPage.objects.map((info) => info.key)).toEqual(["a/b/1", "a/b0", "a0"]);
    expect(await keys(store, "a/b")).toEqual(["a/b-x/1", "a/b/1", "a/b0"]);
  });

  it("delete removes the directories it leaves empty, and only those", async () => {
    const dir = scratchDir("local-prune");
    const store = await open(dir);
    await store.put("x/y/z/1", Uint8Array.from([1]));
    await store.put("x/keep", Uint8Array.from([1]));
    await store.delete("x/y/z/1");
    const objects = join(dir, objectsFolderName);
    expect(existsSync(join(objects, "x", "y"))).toBe(false);
    expect(readdirSync(join(objects, "x"))).toEqual(["keep"]);
    await store.deletePrefix("x/");
    expect(readdirSync(objects)).toEqual([]);
  });

  it("never touches a path outside its directory", async () => {
    const parent = scratchDir("local-escape");
    const dir = join(parent, "store");
    const store = await open(dir);
    await expectVelaError(store.put("../outside", Uint8Array.from([1])), ErrorCode.InvalidArgument, /'\.\.' segment/);
    await expectVelaError(store.put("/etc/outside", Uint8Array.from([1])), ErrorCode.InvalidArgument, /must not start with '\/'/);
    await expectVelaError(store.list("../"), ErrorCode.InvalidArgument, /'\.\.' segment/);
    await expectVelaError(store.deletePrefix("../"), ErrorCode.InvalidArgument, /'\.\.' segment/);
    expect(readdirSync(parent)).toEqual(["store"]);
    expect(readdirSync(join(dir, objectsFolderName))).toEqual([]);
  });

  it("open refuses a directory it cannot use", async () => {
    const parent = scratchDir("local-bad-dir");
    const file = join(parent, "a-file");
    writeFileSync(file, "x");
    await expectVelaError(LocalObjectStore.open({ dir: file }), ErrorCode.Unavailable, /cannot open object store directory/);
    await expectVelaError(LocalObjectStore.open({ dir: "" }), ErrorCode.InvalidArgument, /dir must be a non-empty path/);
    await expectVelaError(
      LocalObjectStore.open({ dir: join(parent, "s"), limits: { listPageKeysMax: 0 } }),
      ErrorCode.InvalidArgument,
      /limit listPageKeysMax must be a positive integer/,
    );
  });
});
