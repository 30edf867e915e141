// Starts a real single-member etcd (Debian `etcd-server`) for tests: free loopback client and peer
// ports, a scratch data directory, and a wait until it answers. A missing binary is an error, never a
// skip: a test that needs etcd must fail where etcd is not installed.
//
// Tuned for tests: a short heartbeat and election timeout so the member elects itself fast and leases
// as short as 1 s are kept as asked (etcd's minimum TTL is 1.5 election timeouts).

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, scratchDir } from "./ports.ts";

const ETCD_BINARY = process.env.VELA_ETCD_BIN ?? "/usr/bin/etcd";
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_TAIL_CHARS = 4_000;

export interface EtcdServer {
  /** Client URLs to pass to EtcdMetaStore.connect. */
  endpoints: string[];
  dataDir: string;
  /** Stops etcd gracefully and waits until it has exited. */
  stop(): Promise<void>;
  /** Kills etcd at once (SIGKILL) and waits until it has exited. */
  kill(): Promise<void>;
  /** Starts etcd again on the same ports and data (after stop or kill) and waits until it answers. */
  restart(): Promise<void>;
  /** Freezes etcd (SIGSTOP) and waits until every thread has stopped: connections stay open, nothing is answered. */
  pause(): Promise<void>;
  /** Thaws etcd after pause() (SIGCONT). */
  resume(): void;
}

export async function startEtcd(label = "etcd"): Promise<EtcdServer> {
  if (!existsSync(ETCD_BINARY)) {
    throw new Error(
      `etcd is not installed at ${ETCD_BINARY}: install Debian's etcd-server (apt-get install etcd-server) ` +
        `or point VELA_ETCD_BIN at an etcd 3.4+ binary`,
    );
  }
  const clientPort = await freePort();
  const peerPort = await freePort();
  const dataDir = scratchDir(label);
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    "--name=vela-test",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=vela-test=${peerUrl}`,
    "--initial-cluster-state=new",
    "--heartbeat-interval=50",
    "--election-timeout=500",
    "--log-level=warn",
  ];

  let child: ChildProcess | undefined;
  let output = "";
  const killOnExit = (): void => {
    child?.kill("SIGKILL");
  };
  process.on("exit", killOnExit);

  const launch = async (): Promise<void> => {
    output = "";
    const started = spawn(ETCD_BINARY, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = started;
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS);
    };
    started.stdout?.on("data", collect);
    started.stderr?.on("data", collect);
    let exited = false;
    let spawnFailure: Error | undefined;
    started.on("exit", () => {
      exited = true;
    });
    started.on("error", (error) => {
      spawnFailure = error;
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (spawnFailure !== undefined) throw new Error(`etcd could not start (${ETCD_BINARY}): ${spawnFailure.message}`);
      if (exited) throw new Error(`etcd exited during startup (code ${String(started.exitCode)}):\n${output}`);
      if (await healthy(clientUrl)) return;
      if (Date.now() > deadline) {
        started.kill("SIGKILL");
        throw new Error(`etcd did not become healthy at ${clientUrl} within ${READY_TIMEOUT_MS} ms:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    running.kill("SIGCONT"); // a paused etcd would not act on SIGTERM
    running.kill(signal);
    const timer = setTimeout(() => running.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    endpoints: [clientUrl],
    dataDir,
    stop: async () => {
      await halt("SIGTERM");
      process.off("exit", killOnExit);
    },
    kill: () => halt("SIGKILL"),
    restart: async () => {
      await halt("SIGTERM");
      // Restarting on an empty directory would start a new cluster at revision 1 and make resume tests
      // wait for revisions that never come; say so instead (test/.tmp is wiped at the start of a run).
      if (!existsSync(join(dataDir, "member"))) throw new Error(`etcd's data directory ${dataDir} vanished before the restart`);
      await launch();
    },
    pause: async () => {
      const running = child;
      if (running?.pid === undefined) throw new Error("etcd is not running");
      running.kill("SIGSTOP");
      // The signal is asynchronous: a thread still running could answer one more request.
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (!allThreadsStopped(running.pid)) {
        if (Date.now() > deadline) throw new Error(`etcd (pid ${running.pid}) did not stop within ${STOP_TIMEOUT_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    resume: () => {
      child?.kill("SIGCONT");
    },
  };
}

/** Linux: whether every thread of the process is in the stopped state (T). */
function allThreadsStopped(pid: number): boolean {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.every((task) => {
    const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "T" || state === "t";
  });
}

async function healthy(clientUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
    const body = (await response.json()) as { health?: string };
    return body.health === "true";
  } catch {
    return false;
  }
}
