// The partitions/* endpoints in Milvus REST v2 shapes: create, drop, has, list, get_stats, load,
// release. Partition names are checked by the facade (and refused there with nothing changed).

import { EMPTY, type RouteTable } from "./route.ts";

export const partitionRoutes: RouteTable = {
  "partitions/create": async ({ service, body, call }) => {
    await service.createPartition(call, body.requiredString("collectionName"), body.requiredString("partitionName"));
    return EMPTY;
  },

  "partitions/drop": async ({ service, body, call }) => {
    await service.dropPartition(call, body.requiredString("collectionName"), body.requiredString("partitionName"));
    return EMPTY;
  },

  "partitions/has": ({ service, body, call }) => ({
    data: { has: service.hasPartition(call, body.requiredString("collectionName"), body.requiredString("partitionName")) },
  }),

  "partitions/list": ({ service, body, call }) => ({ data: service.listPartitions(call, body.requiredString("collectionName")).map((partition) => partition.name) }),

  "partitions/get_stats": async ({ service, body, call }) => ({
    data: { rowCount: await service.rowCount(call, body.requiredString("collectionName"), body.requiredString("partitionName")) },
  }),

  "partitions/load": async ({ service, body, call }) => {
    await service.loadCollection(call, body.requiredString("collectionName"), body.requiredStringArray("partitionNames"));
    return EMPTY;
  },

  "partitions/release": async ({ service, body, call }) => {
    await service.releaseCollection(call, body.requiredString("collectionName"), body.requiredStringArray("partitionNames"));
    return EMPTY;
  },
};
