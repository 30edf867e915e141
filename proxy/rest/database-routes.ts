// The databases/* endpoints in Milvus REST v2 shapes: create, drop, list, describe. Here `dbName` is
// the database operated on, not the request's context.

import { ErrorCode, VelaError } from "../../common/errors.ts";
import { paramText } from "./index-params.ts";
import { EMPTY, type RouteTable } from "./route.ts";

export const databaseRoutes: RouteTable = {
  "databases/create": async ({ service, body }) => {
    const name = body.requiredString("dbName");
    const properties: Record<string, string> = {};
    const given = body.optionalObject("properties");
    for (const [key, value] of given?.entries() ?? []) properties[key] = paramText(given?.nameOf(key) ?? key, value);
    await service.createDatabase(name, properties);
    return EMPTY;
  },

  "databases/drop": async ({ service, body }) => {
    await service.dropDatabase(body.requiredString("dbName"));
    return EMPTY;
  },

  "databases/list": ({ service }) => ({ data: service.listDatabases().map((db) => db.name) }),

  /** The facade exposes a database's name and id; its properties are not reachable through it yet. */
  "databases/describe": ({ service, body }) => {
    const name = body.requiredString("dbName");
    const found = service.listDatabases().find((db) => db.name === name);
    if (found === undefined) throw new VelaError(ErrorCode.DatabaseNotFound, `database "${name}" not found`);
    return { data: { dbName: found.name, dbID: found.id } };
  },
};
