// The stored form of an HNSW index: what is encoded decodes to the same fields and payload, and every
// kind of damage (any flipped byte, truncation, padding, foreign file, unknown version) is Corrupted.

import { describe, expect, it } from "vitest";
import { ErrorCode, VelaError } from "../../common/errors.ts";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { crc32 } from "../../common/crc32.ts";
import { decodeHnswHeader, encodeHnswIndex, hnswFormatVersion, hnswHeaderBytes, verifyHnswIndex } from "./hnsw-format.ts";

const seed = testSeed();
console.log(`hnsw format tests seed ${seed} (replay with VELA_SEED=${seed})`);

const fields = { metric: "COSINE" as const, dim: 96, M: 24, efConstruction: 300, rows: 12_345 };

function expectCorrupted(action: () => unknown, fragment: string): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(VelaError);
  expect((caught as VelaError).code).toBe(ErrorCode.Corrupted);
  expect((caught as VelaError).message).toContain(fragment);
}

describe("HNSW index format", () => {
  const random = new SeededRandom(seed);
  const payload = random.bytes(777);
  const encoded = encodeHnswIndex(fields, payload);

  it("round-trips the header fields and the payload", () => {
    expect(encoded.length).toBe(hnswHeaderBytes + payload.length);
    const { header, payload: decoded } = verifyHnswIndex(encoded);
    expect(header).toEqual({ ...fields, formatVersion: hnswFormatVersion, payloadBytes: payload.length, payloadCrc32: crc32(payload) });
    expect(Array.from(decoded)).toEqual(Array.from(payload));
    for (const metric of ["L2", "IP", "COSINE"] as const) expect(decodeHnswHeader(encodeHnswIndex({ ...fields, metric }, payload)).metric).toBe(metric);
  });

  it("refuses any single flipped byte, header or payload", () => {
    for (let trial = 0; trial < 200; trial++) {
      const damaged = encoded.slice();
      const position = trial < hnswHeaderBytes ? trial : random.int(hnswHeaderBytes, damaged.length - 1);
      damaged[position] = (damaged[position] as number) ^ (1 << random.int(0, 7));
      expect(() => verifyHnswIndex(damaged), `flip at ${position}`).toThrow(VelaError);
      try {
        verifyHnswIndex(damaged);
      } catch (error) {
        expect((error as VelaError).code, `flip at ${position}`).toBe(ErrorCode.Corrupted);
      }
    }
  });

  it("names the problem: payload CRC, truncation, padding, foreign bytes, version", () => {
    const flipped = encoded.slice();
    flipped[hnswHeaderBytes + 5] = (flipped[hnswHeaderBytes + 5] as number) ^ 0x10;
    expectCorrupted(() => verifyHnswIndex(flipped), "payload CRC-32 mismatch");
    expectCorrupted(() => verifyHnswIndex(encoded.subarray(0, encoded.length - 1)), "truncated or padded");
    const padded = new Uint8Array(encoded.length + 1);
    padded.set(encoded);
    expectCorrupted(() => verifyHnswIndex(padded), "truncated or padded");
    expectCorrupted(() => decodeHnswHeader(encoded.subarray(0, 10)), "shorter than the 40-byte header");
    expectCorrupted(() => decodeHnswHeader(new TextEncoder().encode("this is not an index at all, just some plain text")), "magic");
    // A future version with a valid header CRC: refused for its version, not its checksum.
    const future = encoded.slice();
    const view = new DataView(future.buffer);
    view.setUint16(4, hnswFormatVersion + 1, true);
    view.setUint32(36, crc32(future.subarray(0, 36)), true);
    expectCorrupted(() => decodeHnswHeader(future), `format version ${hnswFormatVersion + 1} is not supported`);
    const headerFlip = encoded.slice();
    headerFlip[9] = (headerFlip[9] as number) ^ 1;
    expectCorrupted(() => decodeHnswHeader(headerFlip), "header CRC-32 mismatch");
  });
});
