// The `vela` command's configuration: command-line flags over environment variables over a JSON
// config file over defaults. Every option is documented in README.md ("Configuration"). Invalid values
// are refused at start with a message naming the option and where it came from.

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { invalidArgument } from "../common/errors.ts";
import {
  apiDefaults, dataCoordDefaults, dataNodeDefaults, logDefaults, proxyDefaults, queryNodeLoadDefaults, queryNodeReadDefaults, rootCoordDefaults, timeSyncDefaults,
} from "../common/config.ts";

/** Groups of named bounds a config file may override (`"limits": {"dataCoord": {"segmentRowCountMax": 100000}}`). */
export const LIMIT_GROUPS = {
  rootCoord: rootCoordDefaults,
  timeSync: timeSyncDefaults,
  dataCoord: dataCoordDefaults,
  dataNode: dataNodeDefaults,
  proxy: proxyDefaults,
  queryNode: queryNodeReadDefaults,
  queryNodeLoad: queryNodeLoadDefaults,
  api: apiDefaults,
  log: logDefaults,
} as const;
export type LimitOverrides = { -readonly [G in keyof typeof LIMIT_GROUPS]?: Record<string, number> };

export interface VelaConfig {
  dataDir: string;
  port: number;
  host: string;
  metricsPort: number;
  logLevel: string;
  etcd?: { endpoints: string[]; keyPrefix: string };
  kafka?: { brokers: string[]; topicPrefix: string };
  s3?: { endpoint?: string; region: string; bucket: string; rootPrefix: string; accessKeyId?: string; secretAccessKey?: string; forcePathStyle?: boolean };
  /** Overrides of named bounds (config file only; see common/config.ts for every name). */
  limits?: LimitOverrides;
}

export const DEFAULT_CONFIG: VelaConfig = { dataDir: "./data", port: 19530, host: "0.0.0.0", metricsPort: 9091, logLevel: "info" };

/** The environment variables read, with the config key each one sets. */
export const ENVIRONMENT_VARIABLES = {
  VELA_DATA_DIR: "dataDir",
  VELA_PORT: "port",
  VELA_HOST: "host",
  VELA_METRICS_PORT: "metricsPort",
  VELA_LOG_LEVEL: "logLevel",
  VELA_ETCD_ENDPOINTS: "etcd.endpoints",
  VELA_ETCD_KEY_PREFIX: "etcd.keyPrefix",
  VELA_KAFKA_BROKERS: "kafka.brokers",
  VELA_KAFKA_TOPIC_PREFIX: "kafka.topicPrefix",
  VELA_S3_ENDPOINT: "s3.endpoint",
  VELA_S3_REGION: "s3.region",
  VELA_S3_BUCKET: "s3.bucket",
  VELA_S3_ROOT_PREFIX: "s3.rootPrefix",
  VELA_S3_ACCESS_KEY_ID: "s3.accessKeyId",
  VELA_S3_SECRET_ACCESS_KEY: "s3.secretAccessKey",
  VELA_S3_FORCE_PATH_STYLE: "s3.forcePathStyle",
} as const;

type Flat = Record<string, string | undefined>;

/** Resolves the configuration from flags (already parsed, by config key), the environment and a file. */
export function resolveConfig(flags: Flat, env: NodeJS.ProcessEnv, configFile: string | undefined): VelaConfig {
  const layers: Array<{ source: string; values: Flat }> = [];
  let limits: LimitOverrides | undefined;
  if (configFile !== undefined) {
    const file = readConfigFile(configFile);
    limits = file.limits;
    layers.push({ source: `config file ${configFile}`, values: file.values });
  }
  const fromEnv: Flat = {};
  for (const [variable, key] of Object.entries(ENVIRONMENT_VARIABLES)) if (env[variable] !== undefined && env[variable] !== "") fromEnv[key] = env[variable];
  layers.push({ source: "the environment", values: fromEnv });
  layers.push({ source: "the command line", values: flags });

  const value = (key: string): { text: string; source: string } | undefined => {
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i] as { source: string; values: Flat };
      const text = layer.values[key];
      if (text !== undefined) return { text, source: layer.source };
    }
    return undefined;
  };
  const port = (key: string, fallback: number): number => {
    const found = value(key);
    if (found === undefined) return fallback;
    const parsed = Number(found.text);
    if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw invalidArgument(`${key} from ${found.source} must be a port number, got "${found.text}"`);
    return parsed;
  };
  const list = (key: string): string[] | undefined => value(key)?.text.split(",").map((item) => item.trim()).filter((item) => item !== "");
  const text = (key: string): string | undefined => value(key)?.text;

  const config: VelaConfig = {
    dataDir: resolve(text("dataDir") ?? DEFAULT_CONFIG.dataDir),
    port: port("port", DEFAULT_CONFIG.port),
    host: text("host") ?? DEFAULT_CONFIG.host,
    metricsPort: port("metricsPort", DEFAULT_CONFIG.metricsPort),
    logLevel: text("logLevel") ?? DEFAULT_CONFIG.logLevel,
    ...(limits === undefined ? {} : { limits }),
  };
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(config.logLevel)) {
    throw invalidArgument(`logLevel must be one of fatal, error, warn, info, debug, trace, silent; got "${config.logLevel}"`);
  }
  const endpoints = list("etcd.endpoints");
  if (endpoints !== undefined && endpoints.length > 0) config.etcd = { endpoints, keyPrefix: text("etcd.keyPrefix") ?? "" };
  const brokers = list("kafka.brokers");
  if (brokers !== undefined && brokers.length > 0) config.kafka = { brokers, topicPrefix: text("kafka.topicPrefix") ?? "" };
  const bucket = text("s3.bucket");
  if (bucket !== undefined && bucket !== "") {
    const forcePathStyle = text("s3.forcePathStyle");
    if (forcePathStyle !== undefined && forcePathStyle !== "true" && forcePathStyle !== "false") throw invalidArgument(`s3.forcePathStyle must be true or false, got "${forcePathStyle}"`);
    const endpoint = text("s3.endpoint");
    const accessKeyId = text("s3.accessKeyId");
    const secretAccessKey = text("s3.secretAccessKey");
    config.s3 = {
      bucket, region: text("s3.region") ?? "us-east-1", rootPrefix: text("s3.rootPrefix") ?? "",
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(accessKeyId === undefined ? {} : { accessKeyId }),
      ...(secretAccessKey === undefined ? {} : { secretAccessKey }),
      ...(forcePathStyle === undefined ? {} : { forcePathStyle: forcePathStyle === "true" }),
    };
  }
  return config;
}

/**
 * A JSON config file: options flattened to dotted keys ("etcd.endpoints"; lists become comma-joined
 * text), and the "limits" section, checked against the named bounds.
 */
function readConfigFile(path: string): { values: Flat; limits?: LimitOverrides } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw invalidArgument(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw invalidArgument(`config file ${path} must hold a JSON object`);
  const { limits: limitSection, ...options } = parsed as Record<string, unknown>;
  const known = new Set<string>(Object.values(ENVIRONMENT_VARIABLES));
  const out: Flat = {};
  const walk = (object: Record<string, unknown>, prefix: string): void => {
    for (const [key, inner] of Object.entries(object)) {
      const dotted = prefix === "" ? key : `${prefix}.${key}`;
      if (typeof inner === "object" && inner !== null && !Array.isArray(inner)) walk(inner as Record<string, unknown>, dotted);
      else if (!known.has(dotted)) throw invalidArgument(`config file ${path}: unknown option "${dotted}"`);
      else out[dotted] = Array.isArray(inner) ? inner.map(String).join(",") : String(inner);
    }
  };
  walk(options, "");
  if (limitSection === undefined) return { values: out };
  return { values: out, limits: parseLimits(path, limitSection) };
}

function parseLimits(path: string, section: unknown): LimitOverrides {
  if (typeof section !== "object" || section === null || Array.isArray(section)) throw invalidArgument(`config file ${path}: "limits" must be an object of groups`);
  const limits: LimitOverrides = {};
  for (const [group, values] of Object.entries(section)) {
    const defaults = (LIMIT_GROUPS as Record<string, Record<string, number>>)[group];
    if (defaults === undefined) throw invalidArgument(`config file ${path}: unknown limits group "${group}"; known: ${Object.keys(LIMIT_GROUPS).join(", ")}`);
    if (typeof values !== "object" || values === null || Array.isArray(values)) throw invalidArgument(`config file ${path}: limits.${group} must be an object`);
    const out: Record<string, number> = {};
    for (const [name, value] of Object.entries(values)) {
      if (!(name in defaults)) throw invalidArgument(`config file ${path}: unknown limit "limits.${group}.${name}"`);
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw invalidArgument(`config file ${path}: limits.${group}.${name} must be a non-negative number, got ${JSON.stringify(value)}`);
      out[name] = value;
    }
    limits[group as keyof LimitOverrides] = out;
  }
  return limits;
}
