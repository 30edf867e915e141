// Decoding of Insert and Upsert requests for the gRPC server, without a JavaScript number per vector
// component. The generic path (@grpc/proto-loader: protobufjs decode, then toObject) reads a packed
// float vector one float at a time into an array, copies that array again in toObject, and the
// handler then copies it into a Float32Array: for a 1,000 × 128 insert, 128,000 numbers three times,
// about half of the event loop's time per insert. Here the FloatArray message becomes one
// Float32Array copied from the packed bytes, and LongArray values become bigints (exact, and what
// validation wants) instead of decimal strings. Every other field decodes exactly as the generic
// path decodes it, with the same options, from the same descriptor.

import { endianness } from "node:os";
import protobuf from "protobufjs";

/** The toObject options of the server's loader (milvus-grpc-service.ts), minus the parse-only keepCase. */
const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

const littleEndian = endianness() === "LE";

/** `bytes` bytes of little-endian float32s at `offset`, as a Float32Array of their own. */
function floatsAt(buffer: Uint8Array, offset: number, bytes: number): Float32Array {
  const out = new Float32Array(bytes >>> 2);
  if (littleEndian) {
    new Uint8Array(out.buffer).set(buffer.subarray(offset, offset + bytes));
  } else {
    const view = new DataView(buffer.buffer, buffer.byteOffset + offset, bytes);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

/** FloatArray (field 1: repeated float data), packed or not, as { data: Float32Array }. */
function decodeFloatArray(reader: protobuf.Reader | Uint8Array, length?: number): { data: Float32Array } {
  const r = reader instanceof protobuf.Reader ? reader : protobuf.Reader.create(reader);
  const end = length === undefined ? r.len : r.pos + length;
  if (end > r.len) throw RangeError("index out of range");
  const parts: Float32Array[] = [];
  let total = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 !== 1) {
      r.skipType(tag & 7);
      continue;
    }
    if ((tag & 7) === 2) {
      const bytes = r.uint32();
      if (r.pos + bytes > end || bytes % 4 !== 0) throw RangeError("index out of range");
      parts.push(floatsAt(r.buf, r.pos, bytes));
      r.pos += bytes;
    } else {
      parts.push(Float32Array.of(r.float()));
    }
    total += (parts[parts.length - 1] as Float32Array).length;
  }
  if (r.pos !== end) throw RangeError("index out of range");
  if (parts.length === 1) return { data: parts[0] as Float32Array };
  const data = new Float32Array(total);
  let offset = 0;
  for (const part of parts) {
    data.set(part, offset);
    offset += part.length;
  }
  return { data };
}

interface LongLike {
  low: number;
  high: number;
}

/** An int64 as protobufjs decodes it (a Long, or a number without long.js) as an exact bigint. */
function bigintOf(value: LongLike | number): bigint {
  if (typeof value === "number") return BigInt(value);
  return BigInt.asIntN(64, (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0));
}

/**
 * A deserializer for the request type `typeName` (milvus.proto.milvus.InsertRequest or UpsertRequest)
 * from the Milvus JSON descriptor: the shape proto-loader gives, except that vectors'
 * `float_vector.data` is a Float32Array and `long_data.data` holds bigints.
 */
export function createInsertDeserializer(descriptor: protobuf.INamespace, typeName: string): (buffer: Buffer) => Record<string, unknown> {
  const root = protobuf.Root.fromJSON(descriptor);
  const requestType = root.lookupType(typeName);
  const floatArray = root.lookupType("milvus.proto.schema.FloatArray");
  const longArray = root.lookupType("milvus.proto.schema.LongArray");
  // setup() generates a type's codecs once; overriding after it keeps the replacements (types only
  // ever call setup lazily, through methods these own properties now shadow).
  floatArray.setup();
  longArray.setup();
  Object.assign(floatArray, {
    decode: decodeFloatArray,
    toObject: (message: { data?: Float32Array }) => ({ data: message.data ?? new Float32Array(0) }),
  });
  Object.assign(longArray, {
    toObject: (message: { data?: Array<LongLike | number> }) => ({ data: (message.data ?? []).map(bigintOf) }),
  });
  return (buffer) => requestType.toObject(requestType.decode(buffer), TO_OBJECT_OPTIONS);
}
