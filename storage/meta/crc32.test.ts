// CRC-32 against the standard check value and against node:zlib where this Node has it, so a wrong table
// cannot make the embedded meta store accept damaged frames (or refuse good ones).
import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { crc32 } from "./crc32.ts";

describe("crc32", () => {
  it("gives the standard check value and agrees with zlib", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const zlibCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
    if (zlibCrc32 === undefined) return;
    const seed = testSeed();
    console.log(`crc32 test seed=${seed}`);
    const random = new SeededRandom(seed);
    for (let i = 0; i < 50; i++) {
      const bytes = random.bytes(random.int(1, 2000));
      expect(crc32(bytes), `seed ${seed} sample ${i}`).toBe(zlibCrc32(bytes));
    }
  });
});
