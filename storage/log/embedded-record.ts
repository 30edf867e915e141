// The on-disk frame of one EmbeddedLog record. Little-endian throughout:
//
//   frame  := bodyLength u32 | crc32(body) u32 | body
//   body   := formatVersion u8 (=1) | offset u64 | type u16 | collectionId u64 | beginTs u64 | endTs u64
//             | vchannelLength u16 | vchannel (UTF-8) | payload
//
// Invariant: a frame is accepted only when its length fits the bytes present, its checksum matches and its
// offset is the one expected at that place — so a torn or zero-filled tail, a flipped bit and a misplaced
// frame are all recognised as the end of valid data (recovery) or as corruption (reading).

import { crc32 } from "../../common/crc32.ts";
import type { MsgType } from "../../common/msg-type.ts";
import type { LogMessage, LogMessageHeader } from "./log.ts";

export const FRAME_PREFIX_BYTES = 8;
const FORMAT_VERSION = 1;
/** Body bytes before the vchannel name. */
const BODY_FIXED_BYTES = 1 + 8 + 2 + 8 + 8 + 8 + 2;
const OFFSET_FIELD = FRAME_PREFIX_BYTES + 1;

/**
 * Encodes a message into a complete frame except for its offset and checksum, which are only known at
 * write time (see sealFrame). The payload is copied, so the caller may reuse its buffer at once.
 */
export function encodeFrame(message: LogMessage): Buffer {
  const { header, payload } = message;
  const vchannelBytes = Buffer.byteLength(header.vchannel, "utf8");
  const bodyBytes = BODY_FIXED_BYTES + vchannelBytes + payload.byteLength;
  const frame = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + bodyBytes);
  frame.writeUInt32LE(bodyBytes, 0);
  frame.writeUInt32LE(0, 4);
  let at = FRAME_PREFIX_BYTES;
  at = frame.writeUInt8(FORMAT_VERSION, at);
  at = frame.writeBigUInt64LE(0n, at);
  at = frame.writeUInt16LE(header.type, at);
  at = frame.writeBigUInt64LE(header.collectionId, at);
  at = frame.writeBigUInt64LE(header.beginTs, at);
  at = frame.writeBigUInt64LE(header.endTs, at);
  at = frame.writeUInt16LE(vchannelBytes, at);
  at += frame.write(header.vchannel, at, "utf8");
  frame.set(payload, at);
  return frame;
}

/** Stamps the frame with its offset and checksum, right before it is written. */
export function sealFrame(frame: Buffer, offset: number): void {
  frame.writeBigUInt64LE(BigInt(offset), OFFSET_FIELD);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_PREFIX_BYTES)), 4);
}

export type FrameCheck =
  /** A whole valid frame of `frameBytes` bytes starts here. */
  | { kind: "ok"; frameBytes: number }
  /** Not enough bytes are present to judge the frame; `frameBytes` is its claimed length when known. */
  | { kind: "incomplete"; frameBytes: number | undefined }
  /** The bytes present are not a valid frame for `expectedOffset`. */
  | { kind: "invalid"; reason: string };

/**
 * Checks the frame starting at `at` in `bytes`. With `verifyChecksum` false only the framing and the
 * offset are checked (for skipping over records during a seek).
 */
export function checkFrame(bytes: Buffer, at: number, expectedOffset: number, verifyChecksum: boolean): FrameCheck {
  if (bytes.length - at < FRAME_PREFIX_BYTES) return { kind: "incomplete", frameBytes: undefined };
  const bodyBytes = bytes.readUInt32LE(at);
  if (bodyBytes < BODY_FIXED_BYTES) return { kind: "invalid", reason: `frame length ${bodyBytes} is too short` };
  const frameBytes = FRAME_PREFIX_BYTES + bodyBytes;
  if (bytes.length - at < frameBytes) return { kind: "incomplete", frameBytes };
  const version = bytes.readUInt8(at + FRAME_PREFIX_BYTES);
  if (version !== FORMAT_VERSION) return { kind: "invalid", reason: `unknown format version ${version}` };
  if (verifyChecksum) {
    const expected = bytes.readUInt32LE(at + 4);
    const actual = crc32(bytes.subarray(at + FRAME_PREFIX_BYTES, at + frameBytes));
    if (expected !== actual) return { kind: "invalid", reason: "checksum mismatch" };
  }
  const offset = bytes.readBigUInt64LE(at + OFFSET_FIELD);
  if (offset !== BigInt(expectedOffset)) {
    return { kind: "invalid", reason: `frame holds offset ${offset} where ${expectedOffset} was expected` };
  }
  const vchannelBytes = bytes.readUInt16LE(at + FRAME_PREFIX_BYTES + BODY_FIXED_BYTES - 2);
  if (BODY_FIXED_BYTES + vchannelBytes > bodyBytes) return { kind: "invalid", reason: "vchannel overruns the frame" };
  return { kind: "ok", frameBytes };
}

/** Payload bytes of a frame that checkFrame accepted, without decoding it. */
export function framePayloadBytes(bytes: Buffer, at: number): number {
  const bodyBytes = bytes.readUInt32LE(at);
  const vchannelBytes = bytes.readUInt16LE(at + FRAME_PREFIX_BYTES + BODY_FIXED_BYTES - 2);
  return bodyBytes - BODY_FIXED_BYTES - vchannelBytes;
}

/** Decodes a frame that checkFrame accepted. The payload is copied out of `bytes`. */
export function decodeFrame(bytes: Buffer, at: number): { header: LogMessageHeader; payload: Uint8Array; frameBytes: number } {
  const bodyBytes = bytes.readUInt32LE(at);
  let cursor = at + OFFSET_FIELD + 8;
  const type = bytes.readUInt16LE(cursor) as MsgType;
  cursor += 2;
  const collectionId = bytes.readBigUInt64LE(cursor);
  cursor += 8;
  const beginTs = bytes.readBigUInt64LE(cursor);
  cursor += 8;
  const endTs = bytes.readBigUInt64LE(cursor);
  cursor += 8;
  const vchannelBytes = bytes.readUInt16LE(cursor);
  cursor += 2;
  const vchannel = bytes.toString("utf8", cursor, cursor + vchannelBytes);
  cursor += vchannelBytes;
  const end = at + FRAME_PREFIX_BYTES + bodyBytes;
  const payload = new Uint8Array(end - cursor);
  payload.set(bytes.subarray(cursor, end));
  return { header: { type, collectionId, vchannel, beginTs, endTs }, payload, frameBytes: end - at };
}
