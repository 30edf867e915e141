// One resumable etcd watch on a key range, feeding a WatchEventQueue (the MetaWatch the store returns).
//
// Why not etcd3's Watcher: it resumes from the revision in the header of the last response. A watch
// created from a past revision gets a creation response whose header is the *current* revision, and
// catch-up batches (etcd sends history at most 1000 revisions per response) also carry the current
// revision; a reconnect at either moment skips the events in between. It also drops the compaction
// revision of a cancelled watch, so Compacted could not be told from other cancellations.
//
// Invariants kept here instead:
//  - `nextRevision` is one past the last revision handed to the queue (or the start revision); every
//    (re)connection asks etcd for events from exactly there, so a reconnect leaves no gap;
//  - events below `nextRevision` are dropped, so a replay after reconnecting repeats nothing;
//  - a cancellation with a compaction revision ends the watch with Compacted, any other cancellation
//    with an error; a broken stream reconnects with backoff (reconnectDelayMsMin..Max) until closed.

import type { IDuplexStream, IEvent, IWatchRequest, IWatchResponse, WatchClient } from "etcd3";
import type { Clock } from "../../common/clock.ts";
import type { MetaStoreLimits } from "../../common/config.ts";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import type { KeyValue, WatchEvent } from "./meta-store.ts";
import { mapEtcdError } from "./etcd-errors.ts";
import { META_STORE } from "./validate.ts";
import { WatchEventQueue } from "./watch-queue.ts";

export interface EtcdWatchOptions {
  watchClient: WatchClient;
  clock: Clock;
  limits: MetaStoreLimits;
  /** Range in etcd's key space (store prefix applied). */
  key: Buffer;
  rangeEnd: Buffer;
  /** The prefix as the caller gave it, for messages. */
  prefix: string;
  /** Undefined: from the revision after the one current when etcd creates the watch. */
  startRevision: number | undefined;
  decodeKv: (kv: IEvent["kv"]) => KeyValue;
  /** Called when the watch has stopped, so the store forgets it. */
  onStop: () => void;
}

type Stream = IDuplexStream<IWatchRequest, IWatchResponse>;

export class EtcdPrefixWatch {
  readonly queue: WatchEventQueue;
  private nextRevision: number | undefined;
  private stream: Stream | undefined;
  private failures = 0;
  private cancelReconnect: (() => void) | undefined;
  private created: { resolve: () => void; reject: (error: VelaError) => void } | undefined;

  constructor(private readonly options: EtcdWatchOptions) {
    this.nextRevision = options.startRevision;
    this.queue = new WatchEventQueue({
      eventsMax: options.limits.watchQueueEventsMax,
      prefix: options.prefix,
      onStop: () => this.stop(),
    });
  }

  /**
   * Opens the stream; resolves once etcd has created the watch, so later writes are seen. Rejects with
   * Unavailable when etcd does not create it within requestTimeoutMs, with Closed when closed first.
   */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cancelTimeout = this.options.clock.setTimer(this.options.limits.requestTimeoutMs, () => {
        if (this.created === undefined) return;
        const error = new VelaError(
          ErrorCode.Unavailable,
          `${META_STORE}: etcd did not create the watch on prefix ${JSON.stringify(this.options.prefix)} within requestTimeoutMs (${this.options.limits.requestTimeoutMs} ms)`,
        );
        this.created.reject(error);
        this.created = undefined;
        this.queue.fail(error);
      });
      this.created = {
        resolve: () => {
          cancelTimeout();
          resolve();
        },
        reject: (error) => {
          cancelTimeout();
          reject(error);
        },
      };
      void this.connect();
    });
  }

  private async connect(): Promise<void> {
    this.cancelReconnect = undefined;
    if (this.queue.isStopped) return;
    let stream: Stream;
    try {
      stream = await this.options.watchClient.watch();
    } catch (error) {
      this.onBroken(undefined, error);
      return;
    }
    if (this.queue.isStopped) {
      closeStream(stream);
      return;
    }
    this.stream = stream;
    stream
      .on("data", (response) => this.onResponse(stream, response))
      .on("error", (error) => this.onBroken(stream, error))
      .on("end", () => this.onBroken(stream, new Error("watch stream ended")));
    stream.write({
      create_request: {
        key: this.options.key,
        range_end: this.options.rangeEnd,
        start_revision: this.nextRevision ?? 0,
        progress_notify: false,
        prev_kv: false,
      },
    });
  }

  private onResponse(stream: Stream, response: IWatchResponse): void {
    if (stream !== this.stream || this.queue.isStopped) return;
    if (response.canceled) {
      this.onCancelled(response);
      return;
    }
    if (response.created) {
      this.failures = 0;
      this.nextRevision ??= Number(response.header.revision) + 1;
      const created = this.created;
      this.created = undefined;
      created?.resolve();
      return;
    }
    this.failures = 0;
    let group: WatchEvent[] = [];
    let groupRevision = 0;
    const flush = (): boolean => {
      if (group.length === 0) return true;
      const accepted = this.queue.pushRevision(group);
      this.nextRevision = groupRevision + 1;
      group = [];
      return accepted;
    };
    for (const event of response.events) {
      const revision = Number(event.kv.mod_revision);
      if (revision < (this.nextRevision ?? 0)) continue;
      if (revision !== groupRevision && !flush()) return;
      groupRevision = revision;
      const kv = this.options.decodeKv(event.kv);
      group.push(event.type === "Delete" ? { type: "delete", kv } : { type: "put", kv });
    }
    flush();
  }

  private onCancelled(response: IWatchResponse): void {
    const compactRevision = Number(response.compact_revision);
    const error =
      compactRevision > 0
        ? new VelaError(
            ErrorCode.Compacted,
            `${META_STORE}: revision ${this.nextRevision ?? "?"} is compacted; the oldest revision a watch can start from is ${compactRevision}`,
          )
        : new VelaError(ErrorCode.Unavailable, `${META_STORE}: etcd cancelled the watch on prefix ${JSON.stringify(this.options.prefix)}: ${response.cancel_reason || "no reason given"}`);
    const created = this.created;
    this.created = undefined;
    // Compaction is reported through iteration even when it comes with creation: the watch exists.
    if (created !== undefined && error.code !== ErrorCode.Compacted) created.reject(error);
    else created?.resolve();
    this.queue.fail(error);
  }

  private onBroken(stream: Stream | undefined, error: unknown): void {
    if (stream !== this.stream || this.queue.isStopped) return;
    this.stream = undefined;
    if (stream !== undefined) closeStream(stream);
    const created = this.created;
    if (created !== undefined) {
      // Never created: the caller gets the error and may retry; nothing to resume.
      this.created = undefined;
      const mapped = mapEtcdError(error, `watch on prefix ${JSON.stringify(this.options.prefix)}`);
      created.reject(mapped);
      this.queue.fail(mapped);
      return;
    }
    const { reconnectDelayMsMin, reconnectDelayMsMax } = this.options.limits;
    const delayMs = Math.min(reconnectDelayMsMax, reconnectDelayMsMin * 2 ** Math.min(this.failures, 20));
    this.failures += 1;
    this.cancelReconnect = this.options.clock.setTimer(delayMs, () => void this.connect());
  }

  private stop(): void {
    const created = this.created;
    this.created = undefined;
    created?.reject(new VelaError(ErrorCode.Closed, `${META_STORE} is closed`));
    this.cancelReconnect?.();
    this.cancelReconnect = undefined;
    const stream = this.stream;
    this.stream = undefined;
    if (stream !== undefined) closeStream(stream);
    this.options.onStop();
  }
}

/**
 * Half-closes, then cancels. The order matters: etcd3 marks the host failed (dropping every channel to
 * it) when a stream that is still writable errors, and cancelling makes the stream error.
 */
function closeStream(stream: Stream): void {
  stream.on("error", () => undefined);
  try {
    stream.end();
    stream.cancel();
  } catch {
    // Already closed.
  }
}
