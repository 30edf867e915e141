// The `vela` command line. `vela standalone` runs every role in one process on the embedded seams.

import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { errorMessage } from "../common/errors.ts";
import { HealthServer } from "../cluster/health-server.ts";
import { Standalone } from "../cluster/standalone.ts";

const usage = `usage: vela standalone [--data-dir DIR] [--health-port PORT]

  standalone   run every role in one process on the embedded seams
    --data-dir DIR      where data lives (default ./data)
    --health-port PORT  HTTP port of GET /healthz (default 9091)
`;

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  if (command === undefined || command === "--help" || command === "-h") {
    process.stdout.write(usage);
    return command === undefined ? 2 : 0;
  }
  if (command !== "standalone") {
    process.stderr.write(`vela: unknown command "${command}"\n${usage}`);
    return 2;
  }
  const { values } = parseArgs({
    args: argv.slice(1),
    options: { "data-dir": { type: "string", default: "./data" }, "health-port": { type: "string", default: "9091" } },
    strict: true,
  });
  const dataDir = resolve(values["data-dir"]);
  const healthPort = Number(values["health-port"]);
  if (!Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65535) throw new Error(`--health-port must be a port number, got "${values["health-port"]}"`);

  const health = await HealthServer.start(healthPort);
  const node = await Standalone.start({ dataDir, onBackgroundError: (error) => process.stderr.write(`vela: background task failed: ${errorMessage(error)}\n`) });
  health.state = "serving";
  process.stdout.write(`vela standalone: data in ${dataDir}; health on http://127.0.0.1:${health.port}/healthz\n`);

  await new Promise<void>((resolveSignal) => {
    process.once("SIGTERM", () => resolveSignal());
    process.once("SIGINT", () => resolveSignal());
  });
  health.state = "stopping";
  process.stdout.write("vela standalone: shutting down\n");
  await node.close();
  await health.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`vela: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);
