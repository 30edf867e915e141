// The subscribers' checkpoints of one embedded channel, kept in one small JSON file beside its segments and
// replaced atomically on every commit. Invariant: commit() resolves only once a file holding that value
// (or a later one) is durable; concurrent commits share one write instead of queueing one each.

import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { VelaError, ErrorCode, errorMessage } from "../../common/errors.ts";
import { writeFileAtomically } from "./durable-fs.ts";

const FILE_NAME = "checkpoints.json";
const FORMAT_VERSION = 1;

interface CheckpointFile {
  version: number;
  subscribers: Record<string, number>;
}

export class EmbeddedCheckpoints {
  private readonly path: string;
  private readonly positions = new Map<string, number>();
  /** Bumped on every change; a write persists the version it started from. */
  private version = 0;
  private persistedVersion = 0;
  private writing: Promise<void> | undefined;

  private constructor(
    channelDirectory: string,
    private readonly durable: boolean,
  ) {
    this.path = join(channelDirectory, FILE_NAME);
  }

  static async load(channelDirectory: string, durable: boolean): Promise<EmbeddedCheckpoints> {
    const checkpoints = new EmbeddedCheckpoints(channelDirectory, durable);
    // A temp file left by a crash mid-write never replaced the real one: drop it.
    await rm(`${checkpoints.path}.tmp`, { force: true });
    let text: string;
    try {
      text = await readFile(checkpoints.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return checkpoints;
      throw error;
    }
    let parsed: CheckpointFile;
    try {
      parsed = JSON.parse(text) as CheckpointFile;
    } catch (error) {
      throw new VelaError(ErrorCode.Corrupted, `${checkpoints.path}: unreadable checkpoint file: ${errorMessage(error)}`);
    }
    if (parsed.version !== FORMAT_VERSION || typeof parsed.subscribers !== "object" || parsed.subscribers === null) {
      throw new VelaError(ErrorCode.Corrupted, `${checkpoints.path}: unknown checkpoint file format`);
    }
    for (const [subscriber, offset] of Object.entries(parsed.subscribers)) {
      if (!Number.isSafeInteger(offset) || offset < 0) {
        throw new VelaError(ErrorCode.Corrupted, `${checkpoints.path}: bad checkpoint ${String(offset)} for ${subscriber}`);
      }
      checkpoints.positions.set(subscriber, offset);
    }
    return checkpoints;
  }

  get(subscriber: string): number | undefined {
    return this.positions.get(subscriber);
  }

  /** The smallest checkpoint of any subscriber, or undefined when nobody committed. */
  minimum(): number | undefined {
    let minimum: number | undefined;
    for (const offset of this.positions.values()) if (minimum === undefined || offset < minimum) minimum = offset;
    return minimum;
  }

  async commit(subscriber: string, nextOffset: number): Promise<void> {
    this.positions.set(subscriber, nextOffset);
    this.version += 1;
    const wanted = this.version;
    while (this.persistedVersion < wanted) {
      if (this.writing !== undefined) {
        await this.writing.catch(() => {});
        continue;
      }
      const writingVersion = this.version;
      const file: CheckpointFile = { version: FORMAT_VERSION, subscribers: Object.fromEntries(this.positions) };
      this.writing = writeFileAtomically(this.path, JSON.stringify(file), this.durable);
      try {
        await this.writing;
        this.persistedVersion = Math.max(this.persistedVersion, writingVersion);
      } catch (error) {
        throw new VelaError(ErrorCode.Unavailable, `${this.path}: checkpoint write failed: ${errorMessage(error)}`, {
          cause: error,
        });
      } finally {
        this.writing = undefined;
      }
    }
  }

  /** Waits for a write in progress (close). */
  async settle(): Promise<void> {
    await this.writing?.catch(() => {});
  }
}
