// The Milvus public protocol as the pinned @zilliz/milvus2-sdk-node ships it (protobufjs JSON
// descriptors), loaded in one place: Vela's gRPC service, its decoders and the benchmark tools all read
// the same descriptor with the same loader options, so both ends always agree on shapes.

import { createRequire } from "node:module";
import type * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);

export const milvusDescriptor = (require("@zilliz/milvus2-sdk-node/dist/milvus/proto-json/milvus.js") as { default: protobuf.INamespace }).default;

/** The loader options the Milvus SDKs use: snake_case fields, 64-bit integers as decimal strings, enums by name. */
export const MILVUS_LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

let root: protobuf.Root | undefined;

/** A message type of the protocol by its full name (e.g. "milvus.proto.milvus.SearchRequest"), from one shared root. */
export function milvusType(name: string): protobuf.Type {
  root ??= protobuf.Root.fromJSON(milvusDescriptor);
  return root.lookupType(name);
}

/** The MilvusService definition, from the shared root. */
export function milvusService(): protobuf.Service {
  root ??= protobuf.Root.fromJSON(milvusDescriptor);
  return root.lookupService("milvus.proto.milvus.MilvusService");
}
