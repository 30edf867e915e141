// The aliases/* endpoints in Milvus REST v2 shapes: create, alter, drop, describe, list.

import { EMPTY, type RouteTable } from "./route.ts";

export const aliasRoutes: RouteTable = {
  "aliases/create": async ({ service, body, call }) => {
    const collectionName = body.requiredString("collectionName");
    await service.createAlias(call, body.requiredString("aliasName"), collectionName);
    return EMPTY;
  },

  "aliases/alter": async ({ service, body, call }) => {
    const collectionName = body.requiredString("collectionName");
    await service.alterAlias(call, body.requiredString("aliasName"), collectionName);
    return EMPTY;
  },

  "aliases/drop": async ({ service, body, call }) => {
    await service.dropAlias(call, body.requiredString("aliasName"));
    return EMPTY;
  },

  "aliases/describe": ({ service, body, call }) => {
    const alias = service.describeAlias(call, body.requiredString("aliasName"));
    return { data: { dbName: alias.dbName, collectionName: alias.collectionName, aliasName: alias.alias } };
  },

  "aliases/list": ({ service, body, call }) => ({ data: service.listAliases(call, body.optionalString("collectionName")) }),
};
