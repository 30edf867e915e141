// Seeded simulation of the write path's ordering guarantees (DESIGN §3). Several writers (proxies
// and a root coordinator alike) stamp and append concurrently through ChannelWriters while time sync
// runs periodic and on-demand rounds under a manual clock; writers join and die mid-run; appends land
// after seeded random delays. A checker then reads every channel and verifies:
//   - after TimeTick(T), no message with ts <= T follows (the tick invariant);
//   - ticks on a channel strictly increase;
//   - each writer's messages on a channel appear in increasing timestamp order;
//   - every acknowledged write is in the log at the offsets it was told, with its timestamp;
//   - a Strong read's guarantee timestamp is reached by one immediate round.
// Replay a failure with VELA_SEED=<seed>.

import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../common/clock.ts";
import { ErrorCode, isVelaError } from "../../common/errors.ts";
import { MsgType } from "../../common/msg-type.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import type { Timestamp } from "../../common/timestamp.ts";
import { pchannelNames } from "../../coord/root-coord.ts";
import { TimestampOracle } from "../../coord/tso.ts";
import { EmbeddedMetaStore } from "../../storage/meta/embedded-meta-store.ts";
import type { MetaStore } from "../../storage/meta/meta-store.ts";
import { ChannelWriter } from "../../timesync/channel-writer.ts";
import { TimeSync } from "../../timesync/time-sync.ts";
import { scratchDir } from "../servers/ports.ts";
import { MemoryLog } from "./memory-log.ts";

interface Ack {
  source: string;
  channel: string;
  offset: number;
  ts: Timestamp;
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function simulate(seed: number, steps: number): Promise<void> {
  const random = new SeededRandom(seed);
  const clock = new ManualClock();
  const metaStore: MetaStore = await EmbeddedMetaStore.open({ dir: scratchDir("sim-meta"), clock });
  closers.push(() => metaStore.close());
  const log = new MemoryLog(random);
  const tso = await TimestampOracle.open({ metaStore, clock, windowMs: 3000 });
  const pchannels = pchannelNames("sim", 4);
  const roundErrors: unknown[] = [];
  const timeSync = new TimeSync({
    log, metaStore, tso, clock, pchannels, tickIntervalMs: 200, reportTimeoutMs: 2000,
    onRoundError: (error) => roundErrors.push(error),
  });
  closers.push(() => timeSync.close());

  const writers: ChannelWriter[] = [];
  const acks: Ack[] = [];
  const inflight: Array<Promise<unknown>> = [];
  let nextWriterId = 0;
  const addWriter = async (): Promise<void> => {
    const id = `proxy-${nextWriterId++}`;
    const writer = new ChannelWriter({ sourceId: id, log, tso, pchannels, pendingWritesMax: 10_000, appendBatchMessagesMax: 8, appendBatchBytesMax: 1 << 20 });
    await metaStore.put(`session/proxy/${id}`, id);
    await timeSync.register(writer, `session/proxy/${id}`);
    writers.push(writer);
  };
  for (let i = 0; i < 3; i++) await addWriter();
  timeSync.start();

  const write = async (writer: ChannelWriter): Promise<void> => {
    try {
      await writeOnce(writer);
    } catch (error) {
      // A write racing with its writer's death is refused and never acknowledged.
      if (!isVelaError(error, ErrorCode.Closed)) throw error;
    }
  };
  const writeOnce = async (writer: ChannelWriter): Promise<void> => {
    const channels = pchannels.filter(() => random.bool(0.4));
    if (channels.length === 0) channels.push(random.pick(pchannels));
    const reservation = await writer.reserve(channels);
    if (random.bool(0.1)) {
      reservation.cancel();
      return;
    }
    const messages = new Map(channels.map((channel) => [channel, Array.from({ length: random.int(1, 3) }, () => ({
      header: { type: MsgType.Insert, collectionId: 1n, vchannel: `${channel}_1v0`, beginTs: reservation.ts, endTs: reservation.ts },
      payload: new Uint8Array([1, 2, 3]),
    }))]));
    const offsets = await reservation.append(messages);
    for (const [channel, list] of offsets) for (const offset of list) acks.push({ source: writer.sourceId, channel, offset, ts: reservation.ts });
  };

  for (let step = 0; step < steps; step++) {
    const action = random.next();
    if (action < 0.45 && writers.length > 0) {
      inflight.push(write(random.pick(writers)));
    } else if (action < 0.65) {
      clock.advance(random.int(1, 250));
    } else if (action < 0.72) {
      inflight.push(timeSync.tickNow().catch((error: unknown) => roundErrors.push(error)));
    } else if (action < 0.74) {
      await addWriter();
    } else if (action < 0.75 && writers.length > 1) {
      // A writer dies: it stops writing before its session disappears (it fences itself before its
      // lease can expire), and its in-flight appends finish first.
      const victim = writers.splice(random.int(0, writers.length - 1), 1)[0] as ChannelWriter;
      await victim.close();
      await metaStore.delete(`session/proxy/${victim.sourceId}`);
    } else {
      for (let turn = random.int(1, 5); turn > 0; turn--) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  await Promise.all(inflight);

  // Strong: a fresh guarantee timestamp is covered by one immediate round on every channel.
  const guarantee = await tso.allocate(1);
  await timeSync.tickNow();
  for (const channel of pchannels) expect(timeSync.lastTickOf(channel) >= guarantee, `channel ${channel} ticked past G`).toBe(true);

  checkLog(log, pchannels, acks);
  expect(acks.length).toBeGreaterThan(steps / 10);
}

function checkLog(log: MemoryLog, pchannels: string[], acks: Ack[]): void {
  const sourceOf = new Map<string, Ack>();
  for (const ack of acks) sourceOf.set(`${ack.channel}/${ack.offset}`, ack);
  for (const channel of pchannels) {
    let lastTick = 0n;
    let ticks = 0;
    const lastTsBySource = new Map<string, Timestamp>();
    for (const record of log.records(channel)) {
      if (record.header.type === MsgType.TimeTick) {
        expect(record.header.endTs > lastTick, `ticks increase on ${channel}`).toBe(true);
        lastTick = record.header.endTs;
        ticks += 1;
        continue;
      }
      expect(record.header.beginTs > lastTick, `message at ${channel}/${record.offset} (ts ${record.header.beginTs}) follows TimeTick(${lastTick})`).toBe(true);
      const ack = sourceOf.get(`${channel}/${record.offset}`);
      if (ack !== undefined) {
        expect(ack.ts).toBe(record.header.beginTs);
        const previous = lastTsBySource.get(ack.source) ?? 0n;
        expect(record.header.beginTs >= previous, `${ack.source} wrote out of order on ${channel}`).toBe(true);
        lastTsBySource.set(ack.source, record.header.beginTs);
      }
    }
    expect(ticks).toBeGreaterThan(0);
  }
  for (const ack of acks) {
    const record = log.records(ack.channel)[ack.offset];
    expect(record?.header.beginTs).toBe(ack.ts);
  }
}

describe("time tick simulation", () => {
  it("keeps the tick invariant and per-writer order under a seeded random schedule", async () => {
    const seed = testSeed();
    console.log(`time tick simulation seed ${seed} (replay with VELA_SEED=${seed})`);
    for (let round = 0; round < 4; round++) await simulate((seed + round) >>> 0, 600);
  });

  it("catches a writer that breaks the invariant (the checker can fail)", async () => {
    const log = new MemoryLog();
    await log.append("c", [{ header: { type: MsgType.TimeTick, collectionId: 0n, vchannel: "", beginTs: 10n, endTs: 10n }, payload: new Uint8Array() }]);
    await log.append("c", [{ header: { type: MsgType.Insert, collectionId: 1n, vchannel: "v", beginTs: 9n, endTs: 9n }, payload: new Uint8Array() }]);
    expect(() => checkLog(log, ["c"], [])).toThrow(/follows TimeTick\(10\)/);
  });
});
