// The fast Insert/Upsert decoding against the generic one (proto-loader's, as the server used it for
// every request): the same object for random requests, except vectors as Float32Arrays and int64
// keys as bigints; packed, split and unpacked float encodings; damaged bytes refused.

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import Long from "long";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { SeededRandom, testSeed } from "../../common/random.ts";
import { createInsertDeserializer } from "./insert-decoding.ts";
import { MILVUS_LOADER_OPTIONS, milvusDescriptor, milvusType } from "./milvus-protocol.ts";

const seed = testSeed();
console.log(`insert decoding seed ${seed} (replay: VELA_SEED=${seed})`);

const generic = (grpc.loadPackageDefinition(protoLoader.fromJSON(milvusDescriptor, MILVUS_LOADER_OPTIONS)) as any)
  .milvus.proto.milvus.MilvusService.service as grpc.ServiceDefinition;

/** The generic decoding with vectors and int64 columns turned into what the fast one gives. */
function expectedOf(decoded: any): any {
  for (const field of decoded.fields_data ?? []) {
    const vector = field.vectors?.float_vector;
    if (vector !== undefined && vector !== null) vector.data = Float32Array.from(vector.data);
    const longs = field.scalars?.long_data;
    if (longs !== undefined && longs !== null) longs.data = longs.data.map((value: string) => BigInt(value));
  }
  return decoded;
}

function randomRequest(random: SeededRandom): Record<string, unknown> {
  const rows = random.int(0, 40);
  const dim = random.int(2, 16);
  const valid = Array.from({ length: rows }, () => random.bool(0.8));
  return {
    db_name: random.bool() ? "default" : "", collection_name: "c", partition_name: random.bool() ? "_default" : "", num_rows: rows,
    hash_keys: Array.from({ length: random.int(0, 3) }, () => random.int(0, 1000)), schema_timestamp: "449210382827388930",
    fields_data: [
      {
        type: 5, field_name: "id", field_id: 100,
        scalars: { long_data: { data: Array.from({ length: rows }, () => (random.bool(0.2) ? Long.fromString(String(BigInt.asIntN(64, BigInt(random.int(0, 2 ** 31)) << 33n)), false) : random.int(-1e9, 1e9))) } },
      },
      { type: 101, field_name: "vector", field_id: 101, vectors: { dim, float_vector: { data: Array.from({ length: rows * dim }, () => Math.fround(random.gaussian())) } } },
      { type: 4, field_name: "n", field_id: 102, valid_data: valid, scalars: { int_data: { data: Array.from({ length: rows }, () => random.int(-5, 5)) } } },
      { type: 21, field_name: "s", field_id: 103, scalars: { string_data: { data: Array.from({ length: rows }, (_, i) => `row ${i}`) } } },
      { type: 23, field_name: "$meta", field_id: 104, is_dynamic: true, scalars: { json_data: { data: Array.from({ length: rows }, (_, i) => Buffer.from(JSON.stringify({ i }))) } } },
    ],
  };
}

describe("Insert and Upsert decoding", () => {
  for (const [method, typeName] of [["Insert", "milvus.proto.milvus.InsertRequest"], ["Upsert", "milvus.proto.milvus.UpsertRequest"]] as const) {
    it(`${method}: decodes random requests as the generic path does, vectors as Float32Array, int64 as bigint`, () => {
      const random = new SeededRandom(seed);
      const type = milvusType(typeName);
      const fast = createInsertDeserializer(milvusDescriptor, typeName);
      const slow = generic[method]?.requestDeserialize as (buffer: Buffer) => unknown;
      for (let trial = 0; trial < 30; trial++) {
        const bytes = Buffer.from(type.encode(type.fromObject(randomRequest(random))).finish());
        expect(fast(bytes)).toEqual(expectedOf(slow(bytes)));
      }
    });
  }

  it("joins floats sent in several packed runs or one at a time, in order", () => {
    const fast = createInsertDeserializer(milvusDescriptor, "milvus.proto.milvus.InsertRequest");
    const floatArray = new protobuf.Writer();
    floatArray.uint32((1 << 3) | 2).fork().float(1.5).float(-2).ldelim(); // a packed run
    floatArray.uint32((1 << 3) | 5).float(3.25); // one unpacked float
    floatArray.uint32((1 << 3) | 2).fork().float(4).ldelim();
    floatArray.uint32((9 << 3) | 0).uint32(7); // an unknown field, skipped
    const vectorField = new protobuf.Writer();
    vectorField.uint32((1 << 3) | 0).int64(2).uint32((2 << 3) | 2).bytes(floatArray.finish());
    const fieldData = new protobuf.Writer();
    fieldData.uint32((1 << 3) | 0).int32(101).uint32((2 << 3) | 2).string("v").uint32((4 << 3) | 2).bytes(vectorField.finish());
    const request = new protobuf.Writer();
    request.uint32((3 << 3) | 2).string("c").uint32((5 << 3) | 2).bytes(fieldData.finish());
    const decoded = fast(Buffer.from(request.finish())) as any;
    expect(decoded.collection_name).toBe("c");
    expect(decoded.fields_data[0].vectors.float_vector.data).toEqual(Float32Array.of(1.5, -2, 3.25, 4));
    expect(decoded.fields_data[0].vectors.data).toBe("float_vector");
  });

  it("refuses damaged bytes", () => {
    const fast = createInsertDeserializer(milvusDescriptor, "milvus.proto.milvus.InsertRequest");
    const type = milvusType("milvus.proto.milvus.InsertRequest");
    // The floats are the last bytes of this request: every cut below lands inside them.
    const bytes = Buffer.from(type.encode(type.fromObject({ fields_data: [{ type: 101, field_name: "v", vectors: { dim: 2, float_vector: { data: [1, 2, 3, 4] } } }] })).finish());
    for (const cut of [1, 3, 4, 9]) expect(() => fast(bytes.subarray(0, bytes.length - cut))).toThrow(RangeError);
    // A packed float run whose length is not a multiple of 4.
    const floatArray = new protobuf.Writer();
    floatArray.uint32((1 << 3) | 2).bytes(new Uint8Array(6));
    const vectorField = new protobuf.Writer().uint32((2 << 3) | 2).bytes(floatArray.finish());
    const fieldData = new protobuf.Writer().uint32((4 << 3) | 2).bytes(vectorField.finish());
    const request = new protobuf.Writer().uint32((5 << 3) | 2).bytes(fieldData.finish());
    expect(() => fast(Buffer.from(request.finish()))).toThrow(RangeError);
  });
});
