// The MetaWatch both stores hand out: a bounded queue of watch events between a producer (the store's
// commit path, or an etcd watch stream) and one consumer iterating with for-await.
//
// Invariants:
//  - events leave in the order they were pushed: revision order, the events of one revision together;
//  - a revision is queued whole or not at all, so `lastRevision + 1` is always a safe place to resume
//    (no event of a half-delivered revision is skipped);
//  - at most `eventsMax` events wait in the queue. A revision pushed into a full queue stops the watch:
//    the consumer still receives every event queued before, then LimitExceeded. The single exception is
//    one revision larger than the whole bound arriving at an empty queue: it is accepted, because a
//    revision cannot be split and refusing it would make the watch unable to ever pass it.

import { assert, ErrorCode, VelaError, closedError } from "../../common/errors.ts";
import type { MetaWatch, WatchEvent } from "./meta-store.ts";
import { META_STORE } from "./validate.ts";

export interface WatchQueueOptions {
  /** Bound on queued events (watchQueueEventsMax). */
  eventsMax: number;
  /** The watched prefix, for messages. */
  prefix: string;
  /** Called once when the watch stops for any reason (close, failure, overflow): the producer detaches. */
  onStop: () => void | Promise<void>;
}

type Waiter = { resolve: (result: IteratorResult<WatchEvent>) => void; reject: (error: unknown) => void };

export class WatchEventQueue implements MetaWatch {
  private events: WatchEvent[] = [];
  private head = 0;
  /** Set when the watch has stopped taking events; thrown to the consumer once the queue is drained. */
  private failure: (() => VelaError) | undefined;
  private stopped = false;
  private closed = false;
  private waiter: Waiter | undefined;
  private stopPromise: Promise<void> | undefined;
  private lastDelivered = 0;

  constructor(private readonly options: WatchQueueOptions) {}

  get lastRevision(): number {
    return this.lastDelivered;
  }

  /** True once the watch takes no more events; the producer should stop feeding it. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Queues the events of one revision. Returns false when the watch has stopped taking events. */
  pushRevision(events: readonly WatchEvent[]): boolean {
    if (this.stopped) return false;
    if (events.length === 0) return true;
    const revision = events[0]?.kv.modRevision;
    assert(events.every((event) => event.kv.modRevision === revision), "a pushed batch holds exactly one revision");
    const queued = this.events.length - this.head;
    if (queued > 0 && queued + events.length > this.options.eventsMax) {
      this.stop(
        () =>
          new VelaError(
            ErrorCode.LimitExceeded,
            `${META_STORE}: watch on prefix ${JSON.stringify(this.options.prefix)} fell more than watchQueueEventsMax ` +
              `(${this.options.eventsMax}) events behind its consumer; resume from revision ${this.lastDelivered + 1}`,
          ),
      );
      return false;
    }
    for (const event of events) this.events.push(event);
    this.wake();
    return true;
  }

  /** Resolves once the producer has been detached (after a stop for any reason). */
  async whenStopped(): Promise<void> {
    await this.stopPromise;
  }

  /** Stops the watch with an error the consumer receives after the events already queued. */
  fail(error: VelaError): void {
    this.stop(() => error);
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.events = [];
      this.head = 0;
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter?.resolve({ done: true, value: undefined });
    }
    this.stop(() => closedError("watch"));
    await this.stopPromise;
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  private next(): Promise<IteratorResult<WatchEvent>> {
    assert(this.waiter === undefined, "one consumer iterates a watch, one next() at a time");
    if (this.closed) return Promise.resolve({ done: true, value: undefined });
    const event = this.take();
    if (event !== undefined) return Promise.resolve({ done: false, value: event });
    if (this.failure !== undefined) return Promise.reject(this.finish());
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private take(): WatchEvent | undefined {
    if (this.head >= this.events.length) return undefined;
    const event = this.events[this.head] as WatchEvent;
    this.head += 1;
    if (this.head >= 1024 && this.head * 2 >= this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
    this.lastDelivered = event.kv.modRevision;
    return event;
  }

  /** Hands the terminal error to the consumer once; later next() calls report the end. */
  private finish(): VelaError {
    const failure = this.failure as () => VelaError;
    this.closed = true;
    return failure();
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    const event = this.take();
    if (event !== undefined) {
      this.waiter = undefined;
      waiter.resolve({ done: false, value: event });
    } else if (this.failure !== undefined) {
      this.waiter = undefined;
      waiter.reject(this.finish());
    }
  }

  private stop(failure: () => VelaError): void {
    if (this.stopped) return;
    this.stopped = true;
    this.failure = failure;
    this.stopPromise = Promise.resolve()
      .then(() => this.options.onStop())
      .catch(() => undefined);
    this.wake();
  }
}
