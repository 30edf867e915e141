// Opens the three seams a deployment asks for: etcd, Kafka and S3 when configured, the embedded ones
// (under the data directory) otherwise. Each may be chosen on its own.

import { join } from "node:path";
import type { Clock } from "../common/clock.ts";
import { EmbeddedLog } from "../storage/log/embedded-log.ts";
import { KafkaLog } from "../storage/log/kafka-log.ts";
import type { Log } from "../storage/log/log.ts";
import { EmbeddedMetaStore } from "../storage/meta/embedded-meta-store.ts";
import { EtcdMetaStore } from "../storage/meta/etcd-meta-store.ts";
import type { MetaStore } from "../storage/meta/meta-store.ts";
import { LocalObjectStore } from "../storage/object/local-object-store.ts";
import type { ObjectStore } from "../storage/object/object-store.ts";
import { S3ObjectStore } from "../storage/object/s3-object-store.ts";
import type { VelaConfig } from "../cli/config.ts";

export interface OpenedSeams {
  metaStore: MetaStore;
  log: Log;
  objectStore: ObjectStore;
  /** Which implementation each seam uses, for the start-up line and /healthz. */
  kinds: { meta: "embedded" | "etcd"; log: "embedded" | "kafka"; objects: "local" | "s3" };
  close(): Promise<void>;
}

export async function openSeams(config: VelaConfig, clock: Clock): Promise<OpenedSeams> {
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const metaStore = config.etcd === undefined
      ? await EmbeddedMetaStore.open({ dir: join(config.dataDir, "meta"), clock })
      : await EtcdMetaStore.connect({ endpoints: config.etcd.endpoints, keyPrefix: config.etcd.keyPrefix, clock });
    opened.push(metaStore);
    const log = config.kafka === undefined
      ? await EmbeddedLog.open({ dir: join(config.dataDir, "log"), ...(config.limits?.log === undefined ? {} : { limits: config.limits.log }) })
      : await KafkaLog.connect({ brokers: config.kafka.brokers, topicPrefix: config.kafka.topicPrefix });
    opened.push(log);
    const objectStore = config.s3 === undefined
      ? await LocalObjectStore.open({ dir: join(config.dataDir, "objects") })
      : await S3ObjectStore.connect({ ...config.s3 });
    opened.push(objectStore);
    return {
      metaStore, log, objectStore,
      kinds: { meta: config.etcd === undefined ? "embedded" : "etcd", log: config.kafka === undefined ? "embedded" : "kafka", objects: config.s3 === undefined ? "local" : "s3" },
      async close() {
        for (const seam of opened.reverse()) await seam.close();
      },
    };
  } catch (error) {
    for (const seam of opened.reverse()) await seam.close().catch(() => undefined);
    throw error;
  }
}
