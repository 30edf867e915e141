// Prometheus metrics of one Vela process (DESIGN §11), on a registry of its own (no global state):
// request counts and latencies per RPC, rows, segments and bytes held by the query node, and tsafe lag
// per vchannel (how far the newest readable snapshot trails the wall clock). Gauges are read at scrape
// time from the roles, so the hot paths only touch the two RPC instruments.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Clock } from "../common/clock.ts";
import { physicalMsOf } from "../common/timestamp.ts";
import type { DataNode } from "../datanode/data-node.ts";
import type { QueryNode } from "../querynode/query-node.ts";
import type { TimeSync } from "../timesync/time-sync.ts";

export class VelaMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"method" | "outcome">;
  private readonly latency: Histogram<"method">;

  constructor(sources: { queryNode: QueryNode; timeSync: TimeSync; clock: Clock; dataNode?: DataNode }) {
    collectDefaultMetrics({ register: this.registry, prefix: "vela_process_" });
    this.requests = new Counter({ name: "vela_requests_total", help: "Public API requests by method and outcome", labelNames: ["method", "outcome"], registers: [this.registry] });
    this.latency = new Histogram({
      name: "vela_request_duration_seconds", help: "Public API request latency by method", labelNames: ["method"], registers: [this.registry],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    new Gauge({
      name: "vela_querynode_rows", help: "Rows held in memory by the query node", registers: [this.registry],
      collect() { this.set(sources.queryNode.memoryUsage().rows); },
    });
    new Gauge({
      name: "vela_querynode_segments", help: "Segments held in memory by the query node", registers: [this.registry],
      collect() { this.set(sources.queryNode.memoryUsage().segments); },
    });
    new Gauge({
      name: "vela_querynode_memory_bytes", help: "Bytes of segment data held by the query node", registers: [this.registry],
      collect() { this.set(sources.queryNode.memoryUsage().bytes); },
    });
    new Gauge({
      name: "vela_tsafe_lag_seconds", help: "Wall clock minus the physical time of tsafe, per served vchannel", labelNames: ["collection", "vchannel"], registers: [this.registry],
      collect() {
        this.reset();
        const nowMs = sources.clock.nowMs();
        for (const entry of sources.queryNode.tsafes()) {
          const lagMs = entry.tsafe === 0n ? Number.NaN : nowMs - physicalMsOf(entry.tsafe);
          this.set({ collection: entry.collectionName, vchannel: entry.vchannel }, lagMs / 1000);
        }
      },
    });
    const dataNode = sources.dataNode;
    if (dataNode !== undefined) {
      const stat = (name: string, help: string, read: () => number): void => {
        new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
      };
      stat("vela_datanode_buffered_bytes", "Rows and tombstones buffered by the data node, not yet in binlogs", () => dataNode.bufferedBytes);
      stat("vela_datanode_syncs_total", "Syncs the data node committed (binlogs plus checkpoint)", () => dataNode.stats.syncs);
      stat("vela_datanode_binlog_bytes_total", "Bytes of binlogs the data node wrote", () => dataNode.stats.binlogBytes);
      stat("vela_datanode_binlog_rows_total", "Rows the data node wrote to insert binlogs", () => dataNode.stats.rows);
      stat("vela_datanode_binlog_write_seconds_total", "Time the data node spent encoding, writing and committing binlogs", () => dataNode.stats.writeMs / 1000);
    }
    new Gauge({
      name: "vela_timesync_rounds", help: "Time sync rounds completed", registers: [this.registry],
      collect() { this.set(sources.timeSync.completedRounds); },
    });
  }

  /** Records one public API call. */
  observe(method: string, ok: boolean, durationMs: number): void {
    this.requests.inc({ method, outcome: ok ? "ok" : "error" });
    this.latency.observe({ method }, durationMs / 1000);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
