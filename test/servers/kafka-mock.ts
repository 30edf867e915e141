// Starts a Kafka-protocol test broker: librdkafka's mock cluster wrapped by kafka-mock.c, compiled on first
// use into test/servers/bin/. Invariants: a missing compiler or library is an error that fails the test
// (never a skip); the broker process exits when its stdin closes, so it never outlives the test process;
// commands are sent one at a time and each waits for the broker's answer.
import { spawn, execFile, type ChildProcessByStdio } from "node:child_process";
import { mkdir, rename, stat, access } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";

const source = join(import.meta.dirname, "kafka-mock.c");
const binDirectory = join(import.meta.dirname, "bin");
const binary = join(binDirectory, "kafka-mock");
const mockHeader = "/usr/include/librdkafka/rdkafka_mock.h";
const startTimeoutMs = 20_000;
const commandTimeoutMs = 20_000;

export interface KafkaMock {
  /** Bootstrap addresses, "host:port". */
  brokers: string[];
  /** Creates a topic (the mock has no CreateTopics API). */
  createTopic(name: string, partitions?: number): Promise<void>;
  /** Drops the broker's connections and refuses new ones (-1: every broker). */
  setBrokerDown(brokerId?: number): Promise<void>;
  setBrokerUp(brokerId?: number): Promise<void>;
  /** The next `count` requests of Kafka API `apiKey` fail with protocol error `errorCode`. */
  pushRequestErrors(apiKey: number, errorCode: number, count: number): Promise<void>;
  stop(): Promise<void>;
}

function run(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

async function modifiedMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Compiles kafka-mock.c when the binary is missing or older than the source. */
export async function buildKafkaMock(): Promise<string> {
  const built = await modifiedMs(binary);
  const written = await modifiedMs(source);
  if (built !== undefined && written !== undefined && built >= written) return binary;
  try {
    await run("gcc", ["--version"]);
  } catch {
    throw new Error("the Kafka mock broker needs gcc to build test/servers/kafka-mock.c (Debian: apt-get install gcc libc6-dev)");
  }
  try {
    await access(mockHeader);
  } catch {
    throw new Error(`the Kafka mock broker needs librdkafka's mock API (${mockHeader}; Debian: apt-get install librdkafka-dev)`);
  }
  await mkdir(binDirectory, { recursive: true });
  // Parallel test files may build at once: each writes its own file, the rename is atomic.
  const temporary = `${binary}.${process.pid}.tmp`;
  try {
    await run("gcc", ["-O1", "-Wall", "-o", temporary, source, "-lrdkafka"]);
  } catch (error) {
    throw new Error(`building the Kafka mock broker failed: ${(error as { stderr?: string }).stderr ?? String(error)}`);
  }
  await rename(temporary, binary);
  return binary;
}

export async function startKafkaMock(options: { brokerCount?: number } = {}): Promise<KafkaMock> {
  const path = await buildKafkaMock();
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(path, [String(options.brokerCount ?? 1)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
  });
  child.once("error", () => {});

  const nextLine = async (what: string, timeoutMs: number): Promise<string> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Kafka mock broker: no answer to ${what} within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    });
    try {
      const line = await Promise.race([lines.next(), timeout]);
      if (line.done === true) throw new Error(`Kafka mock broker exited during ${what}; stderr: ${stderr}`);
      return line.value;
    } finally {
      clearTimeout(timer);
    }
  };

  let bootstrap: string;
  try {
    bootstrap = await nextLine("start", startTimeoutMs);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const brokers = bootstrap.trim().split(",").filter((address) => address !== "");
  if (brokers.length === 0) {
    child.kill("SIGKILL");
    throw new Error(`Kafka mock broker printed no bootstrap address: ${JSON.stringify(bootstrap)}`);
  }

  let queue: Promise<unknown> = Promise.resolve();
  const command = (text: string): Promise<void> => {
    const result = queue.then(async () => {
      if (exited) throw new Error(`Kafka mock broker has exited; cannot run "${text}"`);
      child.stdin.write(`${text}\n`);
      const answer = await nextLine(`"${text}"`, commandTimeoutMs);
      if (answer.trim() !== "ok") throw new Error(`Kafka mock broker: "${text}" failed: ${answer}`);
    });
    queue = result.catch(() => {});
    return result;
  };

  return {
    brokers,
    createTopic: (name, partitions = 1) => command(`create ${name} ${partitions}`),
    setBrokerDown: (brokerId = -1) => command(`down ${brokerId}`),
    setBrokerUp: (brokerId = -1) => command(`up ${brokerId}`),
    pushRequestErrors: (apiKey, errorCode, count) => command(`error ${apiKey} ${errorCode} ${count}`),
    stop: async () => {
      if (exited) return;
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
