// Request-Timeout: a request still running when its timeout passes on the injected clock is answered
// HTTP 408 with Milvus's timeout code, whether the timeout came from the header or the default.

import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../common/clock.ts";
import { apiDefaults } from "../../common/config.ts";
import type { VelaService } from "../api/vela-service.ts";
import { createRestHandler } from "./rest-handler.ts";

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A manual clock that records the delay of every timer set on it. */
class RecordingClock extends ManualClock {
  readonly delaysMs: number[] = [];

  override setTimer(delayMs: number, callback: () => void): () => void {
    this.delaysMs.push(delayMs);
    return super.setTimer(delayMs, callback);
  }
}

/** A facade whose load never finishes; `started` resolves once the handler has called it. */
function stalledService(): { service: VelaService; started: Promise<void> } {
  let signal = (): void => undefined;
  const started = new Promise<void>((resolve) => {
    signal = resolve;
  });
  const service = {
    limits: { ...apiDefaults },
    loadCollection: () => {
      signal();
      return new Promise<void>(() => undefined);
    },
  };
  return { service: service as unknown as VelaService, started };
}

async function serve(service: VelaService, clock: RecordingClock): Promise<string> {
  const server = createServer(createRestHandler(service, { clock }));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/v2/vectordb/collections/load`;
}

describe("REST Request-Timeout", () => {
  it("answers 408 with code 10001 once the header's seconds pass", async () => {
    const clock = new RecordingClock();
    const { service, started } = stalledService();
    const url = await serve(service, clock);
    const reply = fetch(url, { method: "POST", headers: { "Request-Timeout": "3", connection: "close" }, body: '{"collectionName": "slow"}' });
    await started;
    expect(clock.delaysMs).toEqual([3_000]);
    clock.advance(3_000);
    const response = await reply;
    expect(response.status).toBe(408);
    expect(JSON.parse(await response.text())).toEqual({ code: 10001, message: "request timeout" });
  });

  it("uses restRequestTimeoutMs when the header is absent", async () => {
    const clock = new RecordingClock();
    const { service, started } = stalledService();
    const url = await serve(service, clock);
    const reply = fetch(url, { method: "POST", headers: { connection: "close" }, body: '{"collectionName": "slow"}' });
    await started;
    expect(clock.delaysMs).toEqual([apiDefaults.restRequestTimeoutMs]);
    clock.advance(apiDefaults.restRequestTimeoutMs);
    const response = await reply;
    expect(response.status).toBe(408);
    expect(JSON.parse(await response.text()).code).toBe(10001);
  });
});
