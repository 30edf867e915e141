import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../common/errors.ts";
import { scratchDir } from "../test/servers/ports.ts";
import { resolveConfig } from "./config.ts";

describe("vela configuration", () => {
  it("takes flags over the environment over the config file over defaults", () => {
    const file = join(scratchDir("config"), "vela.json");
    writeFileSync(file, JSON.stringify({ port: 1000, metricsPort: 1001, logLevel: "warn", etcd: { endpoints: ["http://a:2379", "http://b:2379"], keyPrefix: "prod/" } }));
    const config = resolveConfig({ port: "3000" }, { VELA_PORT: "2000", VELA_METRICS_PORT: "2001", VELA_KAFKA_BROKERS: "k1:9092, k2:9092" }, file);
    expect(config.port).toBe(3000);
    expect(config.metricsPort).toBe(2001);
    expect(config.logLevel).toBe("warn");
    expect(config.etcd).toEqual({ endpoints: ["http://a:2379", "http://b:2379"], keyPrefix: "prod/" });
    expect(config.kafka).toEqual({ brokers: ["k1:9092", "k2:9092"], topicPrefix: "" });
    expect(config.s3).toBeUndefined();
  });

  it("defaults to the embedded seams on 19530 and 9091", () => {
    const config = resolveConfig({}, {}, undefined);
    expect(config).toMatchObject({ port: 19530, metricsPort: 9091, host: "0.0.0.0", logLevel: "info" });
    expect(config.dataDir.endsWith("/data")).toBe(true);
    expect(config.etcd ?? config.kafka ?? config.s3).toBeUndefined();
  });

  it("configures S3 from the environment", () => {
    const config = resolveConfig({}, { VELA_S3_BUCKET: "vela", VELA_S3_ENDPOINT: "http://minio:9000", VELA_S3_FORCE_PATH_STYLE: "true", VELA_S3_ACCESS_KEY_ID: "k", VELA_S3_SECRET_ACCESS_KEY: "s" }, undefined);
    expect(config.s3).toEqual({ bucket: "vela", region: "us-east-1", rootPrefix: "", endpoint: "http://minio:9000", forcePathStyle: true, accessKeyId: "k", secretAccessKey: "s" });
  });

  it("refuses bad values, naming the option and its source", () => {
    expect(() => resolveConfig({ port: "99999" }, {}, undefined)).toThrow(/port from the command line must be a port number, got "99999"/);
    expect(() => resolveConfig({}, { VELA_METRICS_PORT: "x" }, undefined)).toThrow(/metricsPort from the environment must be a port number/);
    expect(() => resolveConfig({ logLevel: "loud" }, {}, undefined)).toThrow(/logLevel must be one of/);
    expect(() => resolveConfig({}, { VELA_S3_BUCKET: "b", VELA_S3_FORCE_PATH_STYLE: "yes" }, undefined)).toThrow(/forcePathStyle must be true or false/);
    const dir = scratchDir("config-bad");
    const unknown = join(dir, "unknown.json");
    writeFileSync(unknown, JSON.stringify({ prot: 1 }));
    expect(() => resolveConfig({}, {}, unknown)).toThrow(/unknown option "prot"/);
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{ not json");
    try {
      resolveConfig({}, {}, broken);
      throw new Error("expected an error");
    } catch (error) {
      expect((error as { code: string }).code).toBe(ErrorCode.InvalidArgument);
      expect((error as Error).message).toMatch(/cannot read config file/);
    }
  });

  it("reads named bounds from the config file's limits section, and refuses unknown groups, names and bad values", () => {
    const dir = scratchDir("config-limits");
    const good = join(dir, "good.json");
    writeFileSync(good, JSON.stringify({ port: 1234, limits: { dataCoord: { segmentRowCountMax: 5000 }, log: { embeddedSegmentBytesMax: 1048576 } } }));
    const config = resolveConfig({}, {}, good);
    expect(config.port).toBe(1234);
    expect(config.limits).toEqual({ dataCoord: { segmentRowCountMax: 5000 }, log: { embeddedSegmentBytesMax: 1048576 } });
    const cases: Array<[unknown, RegExp]> = [
      [{ nope: {} }, /unknown limits group "nope"/],
      [{ dataCoord: { segmentRowsMax: 1 } }, /unknown limit "limits\.dataCoord\.segmentRowsMax"/],
      [{ dataNode: { bufferBytesMax: -1 } }, /limits\.dataNode\.bufferBytesMax must be a non-negative number/],
      [{ dataNode: { bufferBytesMax: "big" } }, /must be a non-negative number/],
      [[1], /"limits" must be an object/],
    ];
    for (const [limits, message] of cases) {
      const file = join(dir, "bad.json");
      writeFileSync(file, JSON.stringify({ limits }));
      expect(() => resolveConfig({}, {}, file)).toThrow(message);
    }
  });
});
