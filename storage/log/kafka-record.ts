// How a Vela log message maps onto a Kafka record: the payload is the record value (no key), and the
// header fields travel as five Kafka record headers holding decimal text, readable by any Kafka tool:
//
//   vela.type         MsgType number          vela.collection   collectionId (uint64)
//   vela.vchannel     vchannel name ("" too)  vela.begin-ts     beginTs (uint64)    vela.end-ts   endTs
//
// Invariant: decode(encode(m)) equals m exactly (bigints included); a record without valid Vela headers is
// reported as Corrupted rather than guessed at.

import type { IHeaders, Message } from "kafkajs";
import { VelaError, ErrorCode } from "../../common/errors.ts";
import { isMsgType } from "../../common/msg-type.ts";
import type { LogMessage, LogMessageHeader } from "./log.ts";

const TYPE = "vela.type";
const COLLECTION = "vela.collection";
const VCHANNEL = "vela.vchannel";
const BEGIN_TS = "vela.begin-ts";
const END_TS = "vela.end-ts";
const UINT64_TEXT = /^(0|[1-9][0-9]{0,19})$/;

export function encodeKafkaMessage(message: LogMessage): Message {
  const { header, payload } = message;
  return {
    partition: 0,
    key: null,
    // A copy: the caller may reuse its buffer as soon as append() returns.
    value: Buffer.from(payload),
    headers: {
      [TYPE]: String(header.type),
      [COLLECTION]: header.collectionId.toString(),
      [VCHANNEL]: header.vchannel,
      [BEGIN_TS]: header.beginTs.toString(),
      [END_TS]: header.endTs.toString(),
    },
  };
}

function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return undefined; // a Vela header is never repeated
  return Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
}

/** Decodes the Vela header of the record at `offset` of `channel`; throws Corrupted if it is not one. */
export function decodeKafkaHeader(headers: IHeaders | undefined, channel: string, offset: number): LogMessageHeader {
  const bad = (what: string): VelaError =>
    new VelaError(ErrorCode.Corrupted, `channel ${channel} offset ${offset}: not a Vela record (${what})`);
  const uint64 = (name: string): bigint => {
    const text = headerText(headers, name);
    if (text === undefined || !UINT64_TEXT.test(text)) throw bad(`header ${name} is ${text === undefined ? "missing" : "malformed"}`);
    const value = BigInt(text);
    if (value >= 1n << 64n) throw bad(`header ${name} is out of range`);
    return value;
  };
  const typeText = headerText(headers, TYPE);
  const type = typeText === undefined ? Number.NaN : Number(typeText);
  if (!isMsgType(type)) throw bad(`header ${TYPE} is ${typeText === undefined ? "missing" : "unknown"}`);
  const vchannel = headerText(headers, VCHANNEL);
  if (vchannel === undefined) throw bad(`header ${VCHANNEL} is missing`);
  return { type, collectionId: uint64(COLLECTION), vchannel, beginTs: uint64(BEGIN_TS), endTs: uint64(END_TS) };
}
