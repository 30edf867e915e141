// The indexes/* endpoints in Milvus REST v2 shapes: create, drop, describe, list. An index is named
// after its field unless indexName says otherwise; Vela builds HNSW (AUTOINDEX is HNSW) and FLAT
// (docs/indexes.md). describe reports build progress as Milvus does: indexState, indexedRows,
// totalRows, pendingRows and failReason over the collection's flushed segments.
//
// Every entry of indexes/create is checked for shape before the first index is created; an entry the
// facade then refuses leaves the earlier entries' indexes in place, as Milvus does.

import { ErrorCode, isVelaError } from "../../common/errors.ts";
import { indexRequestOf } from "./index-params.ts";
import { EMPTY, type RouteTable } from "./route.ts";

export const indexRoutes: RouteTable = {
  "indexes/create": async ({ service, body, call }) => {
    const collectionName = body.requiredString("collectionName");
    const requests = body.objectsOf("indexParams", body.requiredArray("indexParams")).map(indexRequestOf);
    for (const request of requests) await service.createIndex(call, collectionName, request.fieldName, request.indexName, request.params);
    return EMPTY;
  },

  "indexes/drop": async ({ service, body, call }) => {
    await service.dropIndex(call, body.requiredString("collectionName"), body.requiredString("indexName"));
    return EMPTY;
  },

  "indexes/describe": ({ service, body, call }) => ({
    data: service.describeIndex(call, body.requiredString("collectionName"), body.requiredString("indexName")).map(({ definition, progress }) => ({
      indexName: definition.indexName, fieldName: definition.fieldName, indexType: definition.requestedType, metricType: definition.metricType,
      totalRows: progress.totalRows, pendingRows: progress.pendingRows, indexedRows: progress.indexedRows, indexState: progress.state, failReason: progress.failReason,
    })),
  }),

  "indexes/list": ({ service, body, call }) => {
    try {
      return { data: service.describeIndex(call, body.requiredString("collectionName")).map(({ definition }) => definition.indexName) };
    } catch (error) {
      if (isVelaError(error, ErrorCode.IndexNotFound)) return { data: [] };
      throw error;
    }
  },
};
