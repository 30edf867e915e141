// The embedded meta store's files: write-ahead logs, snapshots, and the directory lock.
//
// Layout of the store's directory:
//   wal-<generation>.log        frames: a header, then one frame per group commit holding its records
//   snapshot-<generation>.snap  frames: a header, the leases, the keys (several frames), an end marker
//   LOCK                        the pid of the process that has the directory open
// A frame is [u32 LE payload length][u32 LE CRC-32 of the payload][payload: UTF-8 JSON, values in base64].
//
// Invariants:
//  - snapshot G is the state after every record of wal-1 .. wal-(G-1); wal-G holds the records after it.
//    Recovery loads the newest snapshot S (or the empty state) and replays wal-S, wal-(S+1), ... in order.
//  - a snapshot is written to a temporary file, fsync'd, and renamed into place: it is whole or absent.
//  - a group commit is one frame, fsync'd before the next frame is written: only the last frame of the
//    last WAL can be torn by a crash, and only its writes were never acknowledged. Recovery drops it.
//    A bad frame followed by a good one, or a torn WAL followed by a WAL with records, is damage rather
//    than a torn write, and recovery refuses to open (Corrupted) instead of dropping acknowledged writes.

import { constants as fsConstants } from "node:fs";
import { mkdir, open, readdir, readFile, rename, unlink, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { ErrorCode, VelaError, errorMessage } from "../../common/errors.ts";
import type { LeaseId, WatchEvent } from "./meta-store.ts";
import { crc32 } from "../../common/crc32.ts";
import { applyRecord, MetaState, type MetaRecord, type RecordOp, type StoredKv } from "./embedded-meta-state.ts";
import { META_STORE } from "./validate.ts";

const FRAME_HEADER_BYTES = 8;
const WAL_FORMAT = "vela-meta-wal";
const SNAPSHOT_FORMAT = "vela-meta-snapshot";
const FORMAT_VERSION = 1;
const WAL_NAME = /^wal-(\d{10})\.log$/;
const SNAPSHOT_NAME = /^snapshot-(\d{10})\.snap$/;
const LOCK_NAME = "LOCK";

function corrupted(message: string, cause?: unknown): VelaError {
  return new VelaError(ErrorCode.Corrupted, `${META_STORE}: ${message}`, cause === undefined ? undefined : { cause });
}

export function walFileName(generation: number): string {
  return `wal-${String(generation).padStart(10, "0")}.log`;
}

export function snapshotFileName(generation: number): string {
  return `snapshot-${String(generation).padStart(10, "0")}.snap`;
}

// ---------------------------------------------------------------------------------------------------
// Frames

export function encodeFrame(payload: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(payload), "utf8");
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32LE(body.length, 0);
  frame.writeUInt32LE(crc32(body), 4);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

export interface FrameScan {
  /** Decoded payloads of the valid frames, in order. */
  payloads: unknown[];
  /** Bytes covered by valid frames; a torn tail starts here. */
  validBytes: number;
  /** True when bytes follow the last valid frame (a torn or damaged tail). */
  torn: boolean;
  /** True when a valid frame follows an invalid one: damage, not a torn write. */
  damaged: boolean;
}

function frameAt(bytes: Buffer, offset: number): { payload: unknown; end: number } | undefined {
  if (bytes.length - offset < FRAME_HEADER_BYTES) return undefined;
  const length = bytes.readUInt32LE(offset);
  const end = offset + FRAME_HEADER_BYTES + length;
  // A zero length never comes from a writer (a payload is JSON); zero-filled space after a crash looks like it.
  if (length === 0 || end > bytes.length) return undefined;
  const body = bytes.subarray(offset + FRAME_HEADER_BYTES, end);
  if (crc32(body) !== bytes.readUInt32LE(offset + 4)) return undefined;
  try {
    return { payload: JSON.parse(body.toString("utf8")), end };
  } catch {
    return undefined;
  }
}

export function scanFrames(bytes: Buffer): FrameScan {
  const payloads: unknown[] = [];
  let offset = 0;
  for (;;) {
    if (offset === bytes.length) return { payloads, validBytes: offset, torn: false, damaged: false };
    const frame = frameAt(bytes, offset);
    if (frame === undefined) break;
    payloads.push(frame.payload);
    offset = frame.end;
  }
  // The frame at `offset` is bad. If its length field is plausible and a good frame starts right after
  // it, the bad frame was not the last one written: that is damage, not a torn write.
  let damaged = false;
  if (bytes.length - offset >= FRAME_HEADER_BYTES) {
    const next = offset + FRAME_HEADER_BYTES + bytes.readUInt32LE(offset);
    damaged = next < bytes.length && frameAt(bytes, next) !== undefined;
  }
  return { payloads, validBytes: offset, torn: true, damaged };
}

// ---------------------------------------------------------------------------------------------------
// Records

type WireOp = { put: string; value: string; lease?: LeaseId } | { delete: string };
type WireRecord =
  | { kind: "write"; revision: number; ops: WireOp[] }
  | { kind: "grant"; leaseId: LeaseId; ttlSeconds: number }
  | { kind: "revoke"; leaseId: LeaseId; revision: number; deletes: string[] };

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function fromBase64(text: unknown, where: string): Uint8Array {
  if (typeof text !== "string") throw corrupted(`${where}: value is not base64 text`);
  return new Uint8Array(Buffer.from(text, "base64"));
}

export function encodeRecord(record: MetaRecord): WireRecord {
  switch (record.kind) {
    case "write":
      return {
        kind: "write",
        revision: record.revision,
        ops: record.ops.map((op): WireOp =>
          op.type === "put"
            ? { put: op.key, value: toBase64(op.value), ...(op.lease === undefined ? {} : { lease: op.lease }) }
            : { delete: op.key },
        ),
      };
    case "grant":
      return { kind: "grant", leaseId: record.leaseId, ttlSeconds: record.ttlSeconds };
    case "revoke":
      return { kind: "revoke", leaseId: record.leaseId, revision: record.revision, deletes: record.deletes };
  }
}

function isInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}

function decodeRecord(wire: unknown, where: string): MetaRecord {
  const w = wire as Record<string, unknown>;
  if (typeof w !== "object" || w === null) throw corrupted(`${where}: record is not an object`);
  if (w.kind === "write" && isInteger(w.revision) && Array.isArray(w.ops)) {
    const ops = w.ops.map((op: Record<string, unknown>): RecordOp => {
      if (typeof op?.put === "string") {
        if (op.lease !== undefined && typeof op.lease !== "string") throw corrupted(`${where}: lease is not text`);
        return { type: "put", key: op.put, value: fromBase64(op.value, where), lease: op.lease as LeaseId | undefined };
      }
      if (typeof op?.delete === "string") return { type: "delete", key: op.delete };
      throw corrupted(`${where}: unknown write operation`);
    });
    return { kind: "write", revision: w.revision, ops };
  }
  if (w.kind === "grant" && typeof w.leaseId === "string" && isInteger(w.ttlSeconds)) {
    return { kind: "grant", leaseId: w.leaseId, ttlSeconds: w.ttlSeconds };
  }
  if (w.kind === "revoke" && typeof w.leaseId === "string" && isInteger(w.revision) && Array.isArray(w.deletes)) {
    if (!w.deletes.every((key) => typeof key === "string")) throw corrupted(`${where}: revoke deletes a non-text key`);
    return { kind: "revoke", leaseId: w.leaseId, revision: w.revision, deletes: w.deletes as string[] };
  }
  throw corrupted(`${where}: unknown record ${JSON.stringify(wire).slice(0, 80)}`);
}

/** The frame of one group commit. */
export function encodeBatchFrame(records: readonly MetaRecord[]): Buffer {
  return encodeFrame({ records: records.map(encodeRecord) });
}

// ---------------------------------------------------------------------------------------------------
// Durability helpers

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeFully(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
}

/** An open write-ahead file, appended to one group commit at a time. */
export class WalWriter {
  private constructor(
    private readonly handle: FileHandle,
    readonly generation: number,
    private offset: number,
    private readonly fsync: boolean,
  ) {}

  /** Creates (or recreates, when a crash left it empty or torn) wal-<generation> with its header. */
  static async create(dir: string, generation: number, fsync: boolean): Promise<WalWriter> {
    const handle = await open(join(dir, walFileName(generation)), "w");
    const writer = new WalWriter(handle, generation, 0, fsync);
    try {
      await writer.append(encodeFrame({ header: { format: WAL_FORMAT, version: FORMAT_VERSION, generation } }));
      if (fsync) await fsyncDirectory(dir);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return writer;
  }

  /** Opens an existing WAL for appending after its last valid frame, cutting off a torn tail. */
  static async reopen(dir: string, generation: number, validBytes: number, fsync: boolean): Promise<WalWriter> {
    const handle = await open(join(dir, walFileName(generation)), "r+");
    try {
      const { size } = await handle.stat();
      if (size !== validBytes) {
        await handle.truncate(validBytes);
        if (fsync) await handle.datasync();
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    return new WalWriter(handle, generation, validBytes, fsync);
  }

  get bytes(): number {
    return this.offset;
  }

  /** Appends one frame and makes it durable before resolving. */
  async append(frame: Buffer): Promise<void> {
    await writeFully(this.handle, frame, this.offset);
    if (this.fsync) await this.handle.datasync();
    this.offset += frame.length;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Snapshots

export interface SnapshotContent {
  generation: number;
  revision: number;
  nextLeaseNumber: number;
  leases: Array<{ id: LeaseId; ttlSeconds: number }>;
  kvs: StoredKv[];
}

type WireKv = { key: string; value: string; createRevision: number; modRevision: number; version: number; lease?: LeaseId };

/** Captures the state synchronously; the objects captured are never mutated, so the capture stays consistent. */
export function captureSnapshot(state: MetaState, generation: number): SnapshotContent {
  return {
    generation,
    revision: state.revision,
    nextLeaseNumber: state.nextLeaseNumber,
    leases: [...state.leases.values()].map((lease) => ({ id: lease.id, ttlSeconds: lease.ttlSeconds })),
    kvs: [...state.kvs.values()],
  };
}

/** Writes a snapshot next to its final name, makes it durable, and renames it into place. */
export async function writeSnapshot(dir: string, content: SnapshotContent, frameBytesMax: number, fsync: boolean): Promise<void> {
  const finalPath = join(dir, snapshotFileName(content.generation));
  const temporaryPath = `${finalPath}.tmp`;
  const handle = await open(temporaryPath, "w");
  let offset = 0;
  const write = async (payload: unknown): Promise<void> => {
    const frame = encodeFrame(payload);
    await writeFully(handle, frame, offset);
    offset += frame.length;
  };
  try {
    const { generation, revision, nextLeaseNumber } = content;
    await write({ header: { format: SNAPSHOT_FORMAT, version: FORMAT_VERSION, generation, revision, nextLeaseNumber } });
    await write({ leases: content.leases });
    let chunk: WireKv[] = [];
    let chunkBytes = 0;
    for (const kv of content.kvs) {
      chunk.push({
        key: kv.key,
        value: toBase64(kv.value),
        createRevision: kv.createRevision,
        modRevision: kv.modRevision,
        version: kv.version,
        ...(kv.lease === undefined ? {} : { lease: kv.lease }),
      });
      chunkBytes += kv.key.length + kv.value.byteLength;
      if (chunkBytes >= frameBytesMax) {
        await write({ kvs: chunk });
        chunk = [];
        chunkBytes = 0;
      }
    }
    if (chunk.length > 0) await write({ kvs: chunk });
    await write({ end: { kvCount: content.kvs.length, leaseCount: content.leases.length } });
    if (fsync) await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temporaryPath, finalPath);
  if (fsync) await fsyncDirectory(dir);
}

async function readSnapshot(dir: string, generation: number): Promise<SnapshotContent> {
  const name = snapshotFileName(generation);
  const scan = scanFrames(await readFile(join(dir, name)));
  if (scan.torn) throw corrupted(`${name} has a bad frame at byte ${scan.validBytes} (snapshots are written whole)`);
  const [first, ...rest] = scan.payloads as Array<Record<string, any>>;
  const header = first?.header;
  if (header?.format !== SNAPSHOT_FORMAT || header.version !== FORMAT_VERSION || header.generation !== generation) {
    throw corrupted(`${name} does not start with a version ${FORMAT_VERSION} snapshot header of generation ${generation}`);
  }
  const content: SnapshotContent = { generation, revision: header.revision, nextLeaseNumber: header.nextLeaseNumber, leases: [], kvs: [] };
  let ended = false;
  for (const frame of rest) {
    if (ended) throw corrupted(`${name} has frames after its end marker`);
    if (Array.isArray(frame.leases)) content.leases.push(...frame.leases);
    else if (Array.isArray(frame.kvs)) {
      for (const wire of frame.kvs as WireKv[]) {
        content.kvs.push({
          key: wire.key,
          value: fromBase64(wire.value, name),
          createRevision: wire.createRevision,
          modRevision: wire.modRevision,
          version: wire.version,
          lease: wire.lease,
        });
      }
    } else if (frame.end !== undefined) {
      if (frame.end.kvCount !== content.kvs.length || frame.end.leaseCount !== content.leases.length) {
        throw corrupted(`${name} holds ${content.kvs.length} keys and ${content.leases.length} leases, its end marker says otherwise`);
      }
      ended = true;
    } else throw corrupted(`${name} has an unknown frame`);
  }
  if (!ended) throw corrupted(`${name} has no end marker`);
  return content;
}

function stateFromSnapshot(content: SnapshotContent): MetaState {
  const state = new MetaState();
  state.setRevision(content.revision);
  state.setNextLeaseNumber(content.nextLeaseNumber);
  for (const lease of content.leases) state.setLease(lease.id, lease.ttlSeconds);
  for (const kv of content.kvs) state.setKv(kv);
  return state;
}

// ---------------------------------------------------------------------------------------------------
// Recovery

export interface RecoveredStore {
  state: MetaState;
  /** Watch events replayed from the WALs, one entry per revision, oldest first. */
  history: Array<{ revision: number; events: WatchEvent[] }>;
  /** The oldest revision whose events `history` holds in full (the revision after the snapshot). */
  historyFromRevision: number;
  /** The newest WAL, open for appending. */
  wal: WalWriter;
}

interface WalReplay {
  generation: number;
  validBytes: number;
  hasHeader: boolean;
  torn: boolean;
  recordFrames: number;
}

function listGenerations(names: string[], pattern: RegExp): number[] {
  return names
    .map((name) => pattern.exec(name)?.[1])
    .filter((digits): digits is string => digits !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

function replayWal(bytes: Buffer, generation: number, state: MetaState, history: RecoveredStore["history"]): WalReplay {
  const name = walFileName(generation);
  const scan = scanFrames(bytes);
  if (scan.damaged) throw corrupted(`${name} has a damaged frame at byte ${scan.validBytes} followed by valid frames`);
  const [first, ...frames] = scan.payloads as Array<Record<string, any>>;
  if (first === undefined) return { generation, validBytes: 0, hasHeader: false, torn: scan.torn, recordFrames: 0 };
  const header = first.header;
  if (header?.format !== WAL_FORMAT || header.version !== FORMAT_VERSION || header.generation !== generation) {
    throw corrupted(`${name} does not start with a version ${FORMAT_VERSION} WAL header of generation ${generation}`);
  }
  for (const [index, frame] of frames.entries()) {
    if (!Array.isArray(frame.records)) throw corrupted(`${name} frame #${index + 1} holds no records`);
    for (const wire of frame.records) {
      const record = decodeRecord(wire, `${name} frame #${index + 1}`);
      const events: WatchEvent[] = [];
      try {
        applyRecord(state, record, events);
      } catch (error) {
        throw corrupted(`${name} frame #${index + 1} holds a record that does not apply: ${errorMessage(error)}`, error);
      }
      if (events.length > 0) history.push({ revision: state.revision, events });
    }
  }
  return { generation, validBytes: scan.validBytes, hasHeader: true, torn: scan.torn, recordFrames: frames.length };
}

/** Loads the newest snapshot, replays the WALs after it, drops files nothing needs, and opens the WAL to append to. */
export async function recoverStore(dir: string, fsync: boolean): Promise<RecoveredStore> {
  const names = await readdir(dir);
  for (const name of names) if (name.endsWith(".tmp")) await unlink(join(dir, name));
  const snapshots = listGenerations(names, SNAPSHOT_NAME);
  const wals = listGenerations(names, WAL_NAME);
  const snapshotGeneration = snapshots[snapshots.length - 1];
  const state = snapshotGeneration === undefined ? new MetaState() : stateFromSnapshot(await readSnapshot(dir, snapshotGeneration));
  const snapshotRevision = state.revision;
  const firstGeneration = snapshotGeneration ?? 1;
  const live = wals.filter((generation) => generation >= firstGeneration);
  for (const [index, generation] of live.entries()) {
    if (generation !== firstGeneration + index) {
      throw corrupted(`${walFileName(firstGeneration + index)} is missing (found ${live.map(walFileName).join(", ")})`);
    }
  }

  const history: RecoveredStore["history"] = [];
  const replays: WalReplay[] = [];
  for (const generation of live) {
    replays.push(replayWal(await readFile(join(dir, walFileName(generation))), generation, state, history));
  }
  for (const [index, replay] of replays.entries()) {
    const later = replays.slice(index + 1);
    if (replay.torn && later.some((next) => next.recordFrames > 0)) {
      throw corrupted(`${walFileName(replay.generation)} ends in a bad frame but later WALs hold records`);
    }
  }

  let removed = false;
  for (const generation of wals) {
    if (generation < firstGeneration) {
      await unlink(join(dir, walFileName(generation)));
      removed = true;
    }
  }
  for (const generation of snapshots) {
    if (generation < firstGeneration) {
      await unlink(join(dir, snapshotFileName(generation)));
      removed = true;
    }
  }
  if (removed && fsync) await fsyncDirectory(dir);

  const last = replays[replays.length - 1];
  const wal =
    last !== undefined && last.hasHeader
      ? await WalWriter.reopen(dir, last.generation, last.validBytes, fsync)
      : await WalWriter.create(dir, last?.generation ?? firstGeneration, fsync);
  return { state, history, historyFromRevision: snapshotGeneration === undefined ? 1 : snapshotRevision + 1, wal };
}

/** Deletes what snapshot `generation` made unnecessary: older snapshots and WALs. */
export async function removeBefore(dir: string, generation: number, fsync: boolean): Promise<void> {
  const names = await readdir(dir);
  let removed = false;
  for (const name of names) {
    const wal = WAL_NAME.exec(name)?.[1];
    const snapshot = SNAPSHOT_NAME.exec(name)?.[1];
    const old = (wal !== undefined && Number(wal) < generation) || (snapshot !== undefined && Number(snapshot) < generation);
    if (old) {
      await unlink(join(dir, name));
      removed = true;
    }
  }
  if (removed && fsync) await fsyncDirectory(dir);
}

// ---------------------------------------------------------------------------------------------------
// Directory lock

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Claims the directory for this process: two stores writing one directory would interleave their WALs.
 * A lock left by a process that no longer runs (a crash) is taken over.
 */
export async function lockDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, String(process.pid), { flag: "wx" });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isSafeInteger(holder) && holder > 0 && processAlive(holder)) {
      const who = holder === process.pid ? "this process" : `process ${holder}`;
      throw new VelaError(ErrorCode.Unavailable, `${META_STORE}: directory ${dir} is already open in ${who}`);
    }
    await unlink(path).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    });
  }
  throw new VelaError(ErrorCode.Unavailable, `${META_STORE}: could not lock directory ${dir}`);
}

export async function unlockDirectory(dir: string): Promise<void> {
  await unlink(join(dir, LOCK_NAME)).catch(() => undefined);
}
