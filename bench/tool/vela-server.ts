// A standalone Vela for a benchmark run, as a child process (`vela standalone` on free loopback ports, a
// fresh data directory, warn-level logs), so Vela's event loop and worker threads are never shared with
// the load generator's. Lifecycle: starting → serving (its banner was printed) → stopped (SIGTERM,
// then SIGKILL after serverStopSeconds). The data directory is removed afterwards unless kept.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchDefaults } from "../../common/config.ts";
import { sleep } from "./load.ts";

const repositoryRoot = join(import.meta.dirname, "..", "..");

export interface StartedVela {
  address: string;
  /** Where /healthz and /metrics are served. */
  metricsAddress: string;
  pid: number;
  dataDir: string;
  /** Resolves once the process has exited (after stop(), or on its own). */
  stop(): Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>;
  /** What the process printed (banner, warnings, a crash's last words), last 64 KiB. */
  output(): string;
  /** True while the process runs. */
  running(): boolean;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startStandaloneVela(options: { keepData?: boolean; dataDir?: string; startSeconds?: number; stopSeconds?: number } = {}): Promise<StartedVela> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "vela-bench-"));
  const port = await freeLoopbackPort();
  const metricsPort = await freeLoopbackPort();
  const child: ChildProcess = spawn(process.execPath, [
    join(repositoryRoot, "bin", "vela.mjs"), "standalone", "--data-dir", dataDir, "--port", String(port), "--metrics-port", String(metricsPort),
    "--host", "127.0.0.1", "--log-level", "warn",
  ], { cwd: repositoryRoot, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
    if (output.length > 65_536) output = output.slice(-65_536);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (exitCode, signal) => resolve({ exitCode, signal }));
  });
  const stopSeconds = options.stopSeconds ?? benchDefaults.serverStopSeconds;
  const stop = async (): Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), stopSeconds * 1000);
      const outcome = await exited;
      clearTimeout(timer);
      if (options.keepData !== true && options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
      return outcome;
    }
    const outcome = await exited;
    if (options.keepData !== true && options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    return outcome;
  };
  const deadline = performance.now() + (options.startSeconds ?? benchDefaults.serverStartSeconds) * 1000;
  while (!output.includes("vela standalone:")) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`the standalone Vela exited before serving:\n${output.trim()}`);
    }
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`the standalone Vela did not serve within ${options.startSeconds ?? benchDefaults.serverStartSeconds} s:\n${output.trim()}`);
    }
    await sleep(50);
  }
  return {
    address: `127.0.0.1:${port}`,
    metricsAddress: `127.0.0.1:${metricsPort}`,
    pid: child.pid ?? 0,
    dataDir,
    stop,
    output: () => output,
    running: () => child.exitCode === null && child.signalCode === null,
  };
}

/**
 * CPU seconds (user + system, all threads) a process has used, from /proc (Linux); undefined elsewhere
 * or when the process is gone. Clock ticks are taken as 100 per second (Linux's USER_HZ).
 */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const userTicks = Number(fields[11]);
    const systemTicks = Number(fields[12]);
    if (!Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) return undefined;
    return (userTicks + systemTicks) / 100;
  } catch {
    return undefined;
  }
}
