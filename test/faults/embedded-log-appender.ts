// Child process for the embedded log's kill -9 test (run as `node --import tsx <this file> <dir> [seed]`):
// opens the log in <dir> and appends on channel "ch" from several concurrent lanes until it is killed.
// After each append resolves (and only then) it prints one line per record:
//
//   ack <offset> <payload as hex> <beginTs>
//
// so every line the parent reads names a record the log acknowledged as durable.
import { MsgType } from "../../common/msg-type.ts";
import { SeededRandom } from "../../common/random.ts";
import { EmbeddedLog } from "../../storage/log/embedded-log.ts";
import type { LogMessage } from "../../storage/log/log.ts";

const directory = process.argv[2];
const seed = Number(process.argv[3] ?? "1");
if (directory === undefined) throw new Error("usage: embedded-log-appender.ts <dir> [seed]");

const log = await EmbeddedLog.open({ dir: directory, limits: { embeddedSegmentBytesMax: 64 * 1024 } });
const random = new SeededRandom(seed);
let sequence = 0;

function nextMessage(): LogMessage {
  sequence += 1;
  return {
    header: { type: MsgType.Insert, collectionId: 7n, vchannel: "v0", beginTs: BigInt(sequence), endTs: BigInt(sequence) },
    payload: random.bytes(random.int(1, 2000)),
  };
}

async function lane(): Promise<void> {
  for (;;) {
    const batch = Array.from({ length: random.int(1, 3) }, nextMessage);
    const offsets = await log.append("ch", batch);
    const lines = offsets.map((offset, i) => {
      const message = batch[i] as LogMessage;
      return `ack ${offset} ${Buffer.from(message.payload).toString("hex")} ${message.header.beginTs}\n`;
    });
    process.stdout.write(lines.join(""));
  }
}

process.stdout.write("ready\n");
await Promise.all([lane(), lane(), lane(), lane()]);
