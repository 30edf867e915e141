// The embedded ObjectStore (DESIGN §2): a directory on the local filesystem, for standalone Vela.
//
// Layout: `<dir>/objects/<key>` holds each object as a plain file whose path is its key; `<dir>/.tmp/`
// holds puts in progress. Keeping the two apart means no key can ever name a temp file, and a listing
// never sees one.
//
// Invariant: put is atomic and durable. The body goes to a temp file in `.tmp/` (same filesystem),
// which is fsynced, then renamed over the object's path, then the directory is fsynced. A reader sees
// the old object or the whole new one, never a part; after a crash, the object is the old or the new
// one, and whatever temp file the crash left behind is removed by the next open.
//
// One divergence from S3, shared with MinIO: a key cannot be both an object and a directory of other
// objects ("a" and "a/b"); such a put fails with Conflict. Vela's layout (DESIGN §7) never does this.
import { randomUUID } from "node:crypto";
import type { Dirent } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { performance } from "node:perf_hooks";
import type { ObjectStoreLimits } from "../../common/config.ts";
import { assert, closedError, ErrorCode, errorMessage, notFound, VelaError } from "../../common/errors.ts";
import type { ListOptions, ListPage, ObjectInfo, ObjectStore } from "./object-store.ts";
import {
  compareKeys,
  describeKey,
  resolveObjectStoreLimits,
  validateBody,
  validateKey,
  validateListOptions,
  validatePrefix,
  validateRange,
} from "./validate.ts";

export interface LocalObjectStoreOptions {
  /** The store's directory; created when missing. */
  dir: string;
  limits?: Partial<ObjectStoreLimits>;
}

/** Sub-directory of the store's directory that holds the objects. */
export const objectsFolderName = "objects";
/** Hidden sub-directory that holds temp files of puts in progress. */
export const tempFolderName = ".tmp";

// A temp file's name records the process that writes it (pid and the process's start time), so that an
// open can tell a crashed writer's leftovers from the files of a live one sharing the directory. The
// UUID only keeps names unique; it has no effect on behaviour.
const processStartMs = Math.floor(performance.timeOrigin);
const tempFilePattern = /^(\d+)-(\d+)-[0-9a-f-]+\.tmp$/;

function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Errors that mean "there is no object at this path". */
function isMissing(error: unknown): boolean {
  const code = errnoCode(error);
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return errnoCode(error) === "EPERM";
  }
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class LocalObjectStore implements ObjectStore {
  private readonly objectsRoot: string;
  private readonly tempRoot: string;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly limits: ObjectStoreLimits,
  ) {
    this.objectsRoot = join(dir, objectsFolderName);
    this.tempRoot = join(dir, tempFolderName);
  }

  /** Opens (creating when missing) the store in `dir` and removes temp files left by crashed writers. */
  static async open(options: LocalObjectStoreOptions): Promise<LocalObjectStore> {
    if (typeof options?.dir !== "string" || options.dir === "") {
      throw new VelaError(ErrorCode.InvalidArgument, "LocalObjectStore.open: dir must be a non-empty path");
    }
    const limits = resolveObjectStoreLimits(options.limits, "LocalObjectStore");
    const store = new LocalObjectStore(resolve(options.dir), limits);
    try {
      await mkdir(store.objectsRoot, { recursive: true });
      await mkdir(store.tempRoot, { recursive: true });
      await store.removeStaleTempFiles();
    } catch (error) {
      throw new VelaError(ErrorCode.Unavailable, `cannot open object store directory ${store.dir}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    return store;
  }

  put(key: string, body: Uint8Array): Promise<void> {
    return this.run(async () => {
      validateKey(key, this.limits);
      validateBody(key, body, this.limits);
      await this.putChecked(key, body);
    });
  }

  get(key: string): Promise<Uint8Array> {
    return this.run(async () => {
      validateKey(key, this.limits);
      try {
        return new Uint8Array(await readFile(this.pathOf(key)));
      } catch (error) {
        if (isMissing(error)) throw notFound(`object ${describeKey(key)} does not exist`);
        throw this.ioError(`get ${describeKey(key)}`, error);
      }
    });
  }

  getRange(key: string, start: number, endExclusive: number): Promise<Uint8Array> {
    return this.run(async () => {
      validateKey(key, this.limits);
      const range = validateRange(key, start, endExclusive);
      let handle;
      try {
        handle = await open(this.pathOf(key), "r");
      } catch (error) {
        if (isMissing(error)) throw notFound(`object ${describeKey(key)} does not exist`);
        throw this.ioError(`get range of ${describeKey(key)}`, error);
      }
      try {
        const info = await handle.stat();
        if (!info.isFile()) throw notFound(`object ${describeKey(key)} does not exist`);
        const from = Math.min(range.start, info.size);
        const to = Math.min(range.endExclusive, info.size);
        const out = new Uint8Array(to - from);
        let filled = 0;
        while (filled < out.length) {
          const { bytesRead } = await handle.read(out, filled, out.length - filled, from + filled);
          if (bytesRead === 0) break; // the file cannot shrink under us (puts replace it), but never spin
          filled += bytesRead;
        }
        return filled === out.length ? out : out.subarray(0, filled);
      } catch (error) {
        if (error instanceof VelaError) throw error;
        throw this.ioError(`get range of ${describeKey(key)}`, error);
      } finally {
        await handle.close();
      }
    });
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.run(async () => {
      validateKey(key, this.limits);
      try {
        const info = await stat(this.pathOf(key));
        if (!info.isFile()) return undefined;
        return { key, sizeBytes: info.size, modifiedMs: Math.floor(info.mtimeMs) };
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw this.ioError(`head ${describeKey(key)}`, error);
      }
    });
  }

  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    return this.run(async () => {
      const checked = validateListOptions(prefix, options, this.limits);
      const objects: ObjectInfo[] = [];
      let more = false;
      for await (const info of this.walk(checked.prefix, checked.startAfter)) {
        if (objects.length === checked.limit) {
          more = true;
          break;
        }
        objects.push(info);
      }
      const last = objects[objects.length - 1];
      return more && last !== undefined ? { objects, nextToken: last.key } : { objects };
    });
  }

  delete(key: string): Promise<void> {
    return this.run(async () => {
      validateKey(key, this.limits);
      await this.deleteChecked(key);
    });
  }

  deletePrefix(prefix: string): Promise<number> {
    return this.run(async () => {
      validatePrefix(prefix, this.limits);
      let deleted = 0;
      let startAfter: string | undefined;
      // Page by page, so that memory stays bounded however many objects the prefix holds.
      while (true) {
        const keys: string[] = [];
        for await (const info of this.walk(prefix, startAfter)) {
          keys.push(info.key);
          if (keys.length === this.limits.listPageKeysMax) break;
        }
        for (const key of keys) {
          if (await this.deleteChecked(key)) deleted++;
        }
        if (keys.length < this.limits.listPageKeysMax) return deleted;
        startAfter = keys[keys.length - 1];
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Runs one operation: refuses it once closed, and lets close wait for it. */
  private run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(closedError(`LocalObjectStore at ${this.dir}`));
    const promise = operation();
    this.inFlight.add(promise);
    const forget = (): void => {
      this.inFlight.delete(promise);
    };
    void promise.then(forget, forget);
    return promise;
  }

  private pathOf(key: string): string {
    const path = join(this.objectsRoot, ...key.split("/"));
    assert(path.startsWith(this.objectsRoot + sep), `key ${describeKey(key)} maps outside the store's directory`);
    return path;
  }

  private ioError(what: string, error: unknown): VelaError {
    return new VelaError(ErrorCode.Unavailable, `object store at ${this.dir}: ${what} failed: ${errorMessage(error)}`, {
      cause: error,
    });
  }

  private async putChecked(key: string, body: Uint8Array): Promise<void> {
    const finalPath = this.pathOf(key);
    const tempPath = join(this.tempRoot, `${process.pid}-${processStartMs}-${randomUUID()}.tmp`);
    let moved = false;
    try {
      const handle = await open(tempPath, "wx");
      try {
        let written = 0;
        while (written < body.byteLength) {
          const { bytesWritten } = await handle.write(body, written, body.byteLength - written);
          written += bytesWritten;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      const parent = dirname(finalPath);
      for (let attempt = 1; ; attempt++) {
        const firstCreated = await this.makeParents(key, parent);
        try {
          await rename(tempPath, finalPath);
        } catch (error) {
          const code = errnoCode(error);
          const retry = attempt < this.limits.localRenameAttemptsMax;
          if (code === "EISDIR" || code === "ENOTEMPTY" || code === "EEXIST") {
            // The key's path is a directory. An empty one (left by a delete racing a put) goes away.
            const removed = await rmdir(finalPath).then(
              () => true,
              () => false,
            );
            if (removed && retry) continue;
            throw new VelaError(
              ErrorCode.Conflict,
              `cannot put object ${describeKey(key)}: other objects exist under ${describeKey(`${key}/`)}, ` +
                "and in the local store a key cannot be both an object and a prefix directory",
            );
          }
          // A concurrent delete removed the (empty) parent between mkdir and rename: make it again.
          if (code === "ENOENT" && retry) continue;
          throw error;
        }
        moved = true;
        await this.syncNewEntries(parent, firstCreated);
        return;
      }
    } catch (error) {
      if (error instanceof VelaError) throw error;
      throw this.ioError(`put ${describeKey(key)}`, error);
    } finally {
      if (!moved) await unlink(tempPath).catch(() => undefined);
    }
  }

  /** Creates the key's parent directories; returns the first one it created, if any. */
  private async makeParents(key: string, parent: string): Promise<string | undefined> {
    try {
      return await mkdir(parent, { recursive: true });
    } catch (error) {
      const code = errnoCode(error);
      if (code === "ENOTDIR" || code === "EEXIST") {
        throw new VelaError(
          ErrorCode.Conflict,
          `cannot put object ${describeKey(key)}: one of its parent prefixes is itself an object, ` +
            "and in the local store a key cannot be both an object and a prefix directory",
        );
      }
      throw error;
    }
  }

  /**
   * Makes a finished rename durable: syncs the object's directory, and when the put created
   * directories, the parents that hold their entries, up to the first existing one.
   */
  private async syncNewEntries(parent: string, firstCreated: string | undefined): Promise<void> {
    await syncDirectory(parent);
    if (firstCreated === undefined) return;
    const top = dirname(firstCreated);
    for (let dir = dirname(parent); ; dir = dirname(dir)) {
      await syncDirectory(dir);
      if (dir === top || dir === dirname(dir)) return;
    }
  }

  /** Deletes one object and the directories it leaves empty; true when there was an object. */
  private async deleteChecked(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (error) {
      if (isMissing(error)) return false;
      // Some systems answer EPERM rather than EISDIR when the path is a directory: no object either.
      const info = errnoCode(error) === "EPERM" ? await stat(path).catch(() => undefined) : undefined;
      if (info?.isDirectory() === true) return false;
      throw this.ioError(`delete ${describeKey(key)}`, error);
    }
    for (let dir = dirname(path); dir !== this.objectsRoot && dir.startsWith(this.objectsRoot + sep); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty (or gone already): the directories above are not empty either
      }
    }
    return true;
  }

  /**
   * Objects whose key starts with `prefix` and sorts after `startAfter`, in ascending key order. A
   * depth-first walk visits keys in order when each directory's entries are sorted by their key as a
   * prefix: a directory "a" sorts as "a/", so that "a-c" < "a/b" < "a0" as S3 orders them.
   */
  private async *walk(prefix: string, startAfter: string | undefined): AsyncGenerator<ObjectInfo> {
    // Start at the deepest directory the prefix names completely.
    const lastSlash = prefix.lastIndexOf("/");
    const baseKey = lastSlash < 0 ? "" : prefix.slice(0, lastSlash + 1);
    const baseDir = baseKey === "" ? this.objectsRoot : this.pathOf(baseKey.slice(0, -1));
    yield* this.walkDirectory(baseDir, baseKey, prefix, startAfter);
  }

  private async *walkDirectory(
    dir: string,
    dirKey: string,
    prefix: string,
    startAfter: string | undefined,
  ): AsyncGenerator<ObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw this.ioError(`list ${dir}`, error);
    }
    const children = entries
      .filter((entry) => entry.isFile() || entry.isDirectory())
      .map((entry) => ({
        name: entry.name,
        isDirectory: entry.isDirectory(),
        sortKey: dirKey + entry.name + (entry.isDirectory() ? "/" : ""),
      }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const child of children) {
      if (child.isDirectory) {
        const under = child.sortKey;
        if (!under.startsWith(prefix) && !prefix.startsWith(under)) continue;
        // Every key below sorts after `under`; all of them are at or before startAfter when `under`
        // sorts before it and is not a prefix of it.
        if (startAfter !== undefined && compareKeys(under, startAfter) <= 0 && !startAfter.startsWith(under)) continue;
        yield* this.walkDirectory(join(dir, child.name), under, prefix, startAfter);
        continue;
      }
      const key = child.sortKey;
      if (!key.startsWith(prefix)) continue;
      if (startAfter !== undefined && compareKeys(key, startAfter) <= 0) continue;
      try {
        validateKey(key, this.limits);
      } catch {
        continue; // a stray file no put could have written
      }
      let info;
      try {
        info = await stat(join(dir, child.name));
      } catch (error) {
        if (isMissing(error)) continue; // deleted since readdir
        throw this.ioError(`list ${describeKey(prefix)}`, error);
      }
      if (!info.isFile()) continue;
      yield { key, sizeBytes: info.size, modifiedMs: Math.floor(info.mtimeMs) };
    }
  }

  /**
   * Removes temp files whose writer is gone: a dead pid, or this pid with another start time (a
   * previous process that had the same pid). Files of live writers are left alone.
   */
  private async removeStaleTempFiles(): Promise<void> {
    for (const name of await readdir(this.tempRoot)) {
      const match = tempFilePattern.exec(name);
      if (match !== null) {
        const pid = Number(match[1]);
        const startMs = Number(match[2]);
        const ours = pid === process.pid;
        if (ours ? startMs === processStartMs : isProcessAlive(pid)) continue;
      }
      await rm(join(this.tempRoot, name), { recursive: true, force: true });
    }
  }
}
