// The `vela standalone` command as a user runs it: a separate process on free ports, reachable by the
// SDK, reporting metrics, stopping cleanly on SIGTERM, and keeping its data across a restart.

import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DataType, MilvusClient } from "@zilliz/milvus2-sdk-node";
import { freePort, scratchDir } from "../servers/ports.ts";

const root = join(import.meta.dirname, "..", "..");
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

async function startVela(dataDir: string, port: number, metricsPort: number): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [join(root, "bin", "vela.mjs"), "standalone", "--data-dir", dataDir, "--port", String(port), "--metrics-port", String(metricsPort), "--host", "127.0.0.1", "--log-level", "warn"], {
    cwd: root, stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (!output.includes("vela standalone:")) {
    if (child.exitCode !== null) throw new Error(`vela exited early: ${output}`);
    if (Date.now() > deadline) throw new Error(`vela did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, output: () => output };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("vela standalone", () => {
  it("serves the SDK, health and metrics, stops on SIGTERM and keeps data across a restart", async () => {
    const dataDir = scratchDir("cli");
    const port = await freePort();
    const metricsPort = await freePort();
    const first = await startVela(dataDir, port, metricsPort);
    expect(first.output()).toMatch(new RegExp(`Milvus gRPC and REST on 127\\.0\\.0\\.1:${port}`));

    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "serving" });

    const client = new MilvusClient({ address: `127.0.0.1:${port}`, logLevel: "error" });
    await client.connectPromise;
    await client.createCollection({ collection_name: "kept", fields: [{ name: "id", data_type: DataType.Int64, is_primary_key: true }, { name: "v", data_type: DataType.FloatVector, dim: 2 }] });
    await client.insert({ collection_name: "kept", data: [{ id: 1, v: [1, 2] }, { id: 2, v: [3, 4] }] });
    await client.loadCollectionSync({ collection_name: "kept" });
    expect((await client.count({ collection_name: "kept" })).data).toBe(2);

    // REST v2 on the same port as gRPC.
    const listed = await fetch(`http://127.0.0.1:${port}/v2/vectordb/collections/list`, { method: "POST", headers: { "content-type": "application/json", connection: "close" }, body: "{}" });
    expect(await listed.json()).toEqual({ code: 0, data: ["kept"] });

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/vela_requests_total\{method="REST \/v2\/vectordb\/collections\/list",outcome="ok"\} 1/);
    expect(metrics).toMatch(/vela_requests_total\{method="Insert",outcome="ok"\} 1/);
    expect(metrics).toMatch(/vela_request_duration_seconds_count\{method="CreateCollection"\} 1/);
    expect(metrics).toMatch(/vela_querynode_rows 2/);
    expect(metrics).toMatch(/vela_tsafe_lag_seconds\{collection="kept",vchannel="[^"]+"\} [0-9.e-]+/);
    await client.closeConnection();

    const exited = exitOf(first.child);
    first.child.kill("SIGTERM");
    expect(await exited).toBe(0);

    const second = await startVela(dataDir, port, metricsPort);
    // grpc-js shares one subchannel per address across a process, and the one to the stopped server
    // is in reconnect backoff: a fresh client with its own subchannel pool connects at once.
    const again = new MilvusClient({ address: `127.0.0.1:${port}`, logLevel: "error", channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
    await again.connectPromise;
    const query = await again.query({ collection_name: "kept", filter: "id in [1, 2]", output_fields: ["v"], consistency_level: "Strong" as never });
    expect(query.data.map((row) => row.id)).toEqual(["1", "2"]);
    await again.closeConnection();
    const secondExit = exitOf(second.child);
    second.child.kill("SIGINT");
    expect(await secondExit).toBe(0);
  }, 120_000); // two full process starts, each loading TypeScript and a worker pool

  it("refuses a bad option with a clear message and a non-zero exit", async () => {
    const child = spawn(process.execPath, [join(root, "bin", "vela.mjs"), "standalone", "--port", "not-a-port"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let output = "";
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    expect(await exitOf(child)).toBe(1);
    expect(output).toMatch(/port from the command line must be a port number, got "not-a-port"/);
  });
});
