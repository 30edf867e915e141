// EtcdMetaStore against a real etcd (one server for this file, each test under its own key prefix): the
// MetaStore contract, then the faults only a real server has — restarts under a watch, an unreachable
// server, and a lease holder that dies.

import { spawn } from "node:child_process";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../common/clock.ts";
import { ErrorCode } from "../../common/errors.ts";
import { eventually, expectVelaError, metaStoreContract, takeEvents, withTimeout } from "../../test/contract/meta-store.contract.ts";
import { startEtcd, type EtcdServer } from "../../test/servers/etcd.ts";
import { freePort } from "../../test/servers/ports.ts";
import { EtcdMetaStore } from "./etcd-meta-store.ts";
import { decodeValue, type WatchEvent } from "./meta-store.ts";

let server: EtcdServer | undefined;
let prefixCounter = 0;

function etcd(): EtcdServer {
  if (server === undefined) throw new Error("etcd did not start (see beforeAll)");
  return server;
}

function nextPrefix(label: string): string {
  prefixCounter += 1;
  return `${label}-${prefixCounter}/`;
}

beforeAll(async () => {
  server = await startEtcd("etcd-meta");
});

afterAll(async () => {
  await server?.stop();
});

metaStoreContract("EtcdMetaStore", async (limits) => {
  const store = await EtcdMetaStore.connect({ endpoints: etcd().endpoints, keyPrefix: nextPrefix("contract"), limits });
  return {
    store,
    clock: systemClock,
    passTime: (durationMs) => new Promise((resolve) => setTimeout(resolve, durationMs)),
    compactHistory: async (revision) => {
      const client = new Etcd3({ hosts: etcd().endpoints });
      try {
        await client.kv.compact({ revision, physical: true });
      } finally {
        client.close();
      }
    },
  };
});

function summary(event: WatchEvent): string {
  return `${event.type} ${event.kv.key} @${event.kv.modRevision}`;
}

/** Retries a write until etcd answers again (after a restart), failing after the usual bound. */
async function putWhenBack(store: EtcdMetaStore, key: string, value: string): Promise<number> {
  return eventually(`etcd to accept the write of ${key}`, async () => (await store.put(key, value)).revision);
}

describe("EtcdMetaStore faults", () => {
  it("keeps prefixes apart: a store sees only the keys under its own", async () => {
    const one = await EtcdMetaStore.connect({ endpoints: etcd().endpoints, keyPrefix: nextPrefix("iso") });
    const two = await EtcdMetaStore.connect({ endpoints: etcd().endpoints, keyPrefix: nextPrefix("iso") });
    await one.put("k", "one");
    await two.put("k", "two");
    expect((await one.rangePrefix("")).kvs.map((kv) => decodeValue(kv.value))).toEqual(["one"]);
    await two.deletePrefix("");
    expect(decodeValue((await one.get("k"))?.value ?? new Uint8Array())).toBe("one");
    await one.close();
    await two.close();
  });

  it("resumes a watch across an etcd crash and restart without gaps or repeats", async () => {
    const store = await EtcdMetaStore.connect({ endpoints: etcd().endpoints, keyPrefix: nextPrefix("resume"), limits: { requestTimeoutMs: 1_000 } });
    const watch = await store.watchPrefix("r/");
    const expected: string[] = [];
    for (let i = 1; i <= 5; i++) expected.push(`put r/${i} @${(await store.put(`r/${i}`, String(i))).revision}`);
    const early = await takeEvents(watch, 2);
    await etcd().kill();
    await etcd().restart();
    for (let i = 6; i <= 10; i++) expected.push(`put r/${i} @${await putWhenBack(store, `r/${i}`, String(i))}`);
    const { revision } = await store.delete("r/1");
    expected.push(`delete r/1 @${revision}`);
    const late = await takeEvents(watch, expected.length - 2);
    expect([...early, ...late].map(summary)).toEqual(expected);
    await watch.close();
    await store.close();
  });

  it("resumes a watch started from a past revision after a crash, repeating none of its history", async () => {
    const store = await EtcdMetaStore.connect({ endpoints: etcd().endpoints, keyPrefix: nextPrefix("catchup"), limits: { requestTimeoutMs: 1_000 } });
    const expected: string[] = [];
    for (let i = 0; i < 30; i++) expected.push(`put c/${i % 4} @${(await store.put(`c/${i % 4}`, String(i))).revision}`);
    const first = Number(expected[0]?.split("@")[1]);
    const watch = await store.watchPrefix("c/", { startRevision: first });
    const early = await takeEvents(watch, 1);
    await etcd().kill();
    await etcd().restart();
    expected.push(`put c/new @${await putWhenBack(store, "c/new", "x")}`);
    const late = await takeEvents(watch, expected.length - 1);
    expect([...early, ...late].map(summary)).toEqual(expected);
    await watch.close();
    await store.close();
  });

  it("fails calls with Unavailable while etcd is down, and serves them again once it is back", async () => {
    const store = await EtcdMetaStore.connect({ endpoints: etcd().endpoints, keyPrefix: nextPrefix("down"), limits: { requestTimeoutMs: 1_000 } });
    await store.put("k", "1");
    await etcd().kill();
    await expectVelaError(withTimeout("a get while etcd is down", store.get("k")), ErrorCode.Unavailable, /etcd/);
    await expectVelaError(withTimeout("a put while etcd is down", store.put("k", "2")), ErrorCode.Unavailable, /etcd/);
    await etcd().restart();
    const value = await eventually("etcd to answer again", async () => (await store.get("k"))?.value);
    expect(decodeValue(value)).toBe("1");
    await store.close();
  });

  it("fails a request etcd does not answer within requestTimeoutMs with Unavailable", async () => {
    const store = await EtcdMetaStore.connect({ endpoints: etcd().endpoints, keyPrefix: nextPrefix("frozen"), limits: { requestTimeoutMs: 500 } });
    await store.put("k", "1");
    await etcd().pause();
    try {
      await expectVelaError(withTimeout("a get while etcd is frozen", store.get("k")), ErrorCode.Unavailable, /did not answer in time/);
      await expectVelaError(withTimeout("a watch while etcd is frozen", store.watchPrefix("k")), ErrorCode.Unavailable, /within requestTimeoutMs \(500 ms\)/);
    } finally {
      etcd().resume();
    }
    const value = await eventually("etcd to answer again", async () => (await store.get("k"))?.value);
    expect(decodeValue(value)).toBe("1");
    await store.close();
  });

  it("refuses to connect to an address where no etcd answers", async () => {
    const port = await freePort();
    await expectVelaError(
      withTimeout("connect", EtcdMetaStore.connect({ endpoints: [`http://127.0.0.1:${port}`], limits: { requestTimeoutMs: 1_000 } })),
      ErrorCode.Unavailable,
      /etcd/,
    );
  });

  it("deletes a session key when its holder process is killed and its lease expires", async () => {
    const keyPrefix = nextPrefix("session");
    const observer = await EtcdMetaStore.connect({ endpoints: etcd().endpoints, keyPrefix });
    const script = join(import.meta.dirname, "fixtures", "etcd-session-holder.ts");
    const holder = spawn(process.execPath, ["--import", "tsx", script, etcd().endpoints[0] as string, keyPrefix, "session/querynode/7", "2"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    holder.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    holder.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const exited = new Promise<void>((resolve) => holder.on("exit", () => resolve()));
    try {
      await eventually("the holder to register its session", async () => {
        if (holder.exitCode !== null) throw new Error(`holder exited: ${stderr}`);
        return stdout.includes("ready ");
      });
      const session = await observer.get("session/querynode/7");
      expect(session?.lease).toBe(stdout.split(" ")[1]?.trim());
      const watch = await observer.watchPrefix("session/", { startRevision: (session?.modRevision ?? 0) + 1 });
      holder.kill("SIGKILL");
      await exited;
      const [gone] = await takeEvents(watch, 1);
      expect(gone?.type).toBe("delete");
      expect(gone?.kv.key).toBe("session/querynode/7");
      expect(await observer.get("session/querynode/7")).toBeUndefined();
      await watch.close();
    } finally {
      holder.kill("SIGKILL");
      await observer.close();
    }
  });
});
