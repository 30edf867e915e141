// The `vela` command line. `vela standalone` runs every role in one process: the public API (Milvus
// gRPC and REST v2) on one port, health and Prometheus metrics on another, on the embedded seams unless
// etcd, Kafka or S3 are configured (see cli/config.ts and README.md "Configuration"). `vela bench` is
// the load generator (bench/tool/, docs/benchmarks.md), loaded only when asked for.

import { parseArgs } from "node:util";
import { pino } from "pino";
import { systemClock } from "../common/clock.ts";
import { errorMessage } from "../common/errors.ts";
import { HealthServer } from "../cluster/health-server.ts";
import { VelaMetrics } from "../cluster/metrics.ts";
import { openSeams } from "../cluster/seams.ts";
import { Standalone, type StandaloneOptions } from "../cluster/standalone.ts";
import { createPublicHttpHandler } from "../cluster/public-http.ts";
import { resolveConfig, type LimitOverrides } from "./config.ts";

const usage = `usage: vela standalone [options]
       vela bench [options]   (vela bench --help; docs/benchmarks.md)

  standalone          run every role in one process
    --data-dir DIR      where embedded data lives (default ./data)
    --port PORT         public API port: Milvus gRPC and REST v2 (default 19530)
    --host HOST         interface to listen on (default 0.0.0.0)
    --metrics-port PORT /healthz and /metrics (default 9091)
    --config FILE       JSON config file (see README.md, "Configuration")
    --log-level LEVEL   fatal, error, warn, info, debug, trace or silent (default info)
`;

/** The config file's limits, as the standalone's options. */
function standaloneLimits(limits: LimitOverrides | undefined): Partial<StandaloneOptions> {
  if (limits === undefined) return {};
  return {
    ...(limits.rootCoord === undefined ? {} : { rootCoordLimits: limits.rootCoord }),
    ...(limits.timeSync === undefined ? {} : { timeSyncLimits: limits.timeSync }),
    ...(limits.dataCoord === undefined ? {} : { dataCoordLimits: limits.dataCoord }),
    ...(limits.dataNode === undefined ? {} : { dataNodeLimits: limits.dataNode }),
    ...(limits.proxy === undefined ? {} : { proxyLimits: limits.proxy }),
    ...(limits.queryNode === undefined ? {} : { readLimits: limits.queryNode }),
    ...(limits.queryNodeLoad === undefined ? {} : { queryNodeLoadLimits: limits.queryNodeLoad }),
    ...(limits.api === undefined ? {} : { apiLimits: limits.api }),
  };
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(usage);
    return command === undefined ? 2 : 0;
  }
  if (command === "bench") {
    const { runBenchCommand } = await import("../bench/tool/command.ts");
    return runBenchCommand(argv.slice(1));
  }
  if (command !== "standalone") {
    process.stderr.write(`vela: unknown command "${command}"\n${usage}`);
    return 2;
  }
  const { values } = parseArgs({
    args: argv.slice(1),
    options: {
      "data-dir": { type: "string" }, port: { type: "string" }, host: { type: "string" }, "metrics-port": { type: "string" },
      config: { type: "string" }, "log-level": { type: "string" },
    },
    strict: true,
  });
  const config = resolveConfig({
    dataDir: values["data-dir"], port: values.port, host: values.host, metricsPort: values["metrics-port"], logLevel: values["log-level"],
  }, process.env, values.config);
  const logger = pino({ level: config.logLevel, base: { service: "vela" } });
  const clock = systemClock;

  const health = await HealthServer.start(config.metricsPort, config.host);
  const seams = await openSeams(config, clock);
  let node: Standalone;
  try {
    node = await Standalone.start({
      metaStore: seams.metaStore, log: seams.log, objectStore: seams.objectStore, clock,
      ...standaloneLimits(config.limits),
      onBackgroundError: (error) => logger.warn({ err: errorMessage(error) }, "background task failed"),
    });
  } catch (error) {
    await seams.close();
    await health.close();
    throw error;
  }
  const metrics = new VelaMetrics({ queryNode: node.queryNode, timeSync: node.timeSync, clock, dataNode: node.dataNode });
  health.metrics = () => metrics.render();
  const server = await node.listen({
    port: config.port, host: config.host, httpHandler: createPublicHttpHandler(node.service, (method, ok, durationMs) => metrics.observe(method, ok, durationMs)),
    onCall: (method, ok, durationMs) => metrics.observe(method, ok, durationMs),
  });
  health.state = "serving";
  process.stdout.write(`vela standalone: Milvus gRPC and REST on ${config.host}:${server.port}; health and metrics on http://${config.host}:${health.port}/healthz and /metrics; `
    + `metadata ${seams.kinds.meta}, log ${seams.kinds.log}, objects ${seams.kinds.objects}${seams.kinds.meta === "embedded" ? ` in ${config.dataDir}` : ""}\n`);
  logger.info({ port: server.port, metricsPort: health.port, seams: seams.kinds, dataDir: config.dataDir }, "vela standalone serving");

  await new Promise<void>((resolveSignal) => {
    process.once("SIGTERM", () => resolveSignal());
    process.once("SIGINT", () => resolveSignal());
  });
  health.state = "stopping";
  logger.info("shutting down");
  await node.close();
  await seams.close();
  await health.close();
  logger.info("stopped");
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`vela: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);
