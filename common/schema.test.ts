import { describe, expect, it } from "vitest";
import { ErrorCode, VelaError } from "./errors.ts";
import { DataType, normalizeSchema, validateName, type CollectionSchemaInput } from "./schema.ts";

const base = (): CollectionSchemaInput => ({
  name: "books",
  fields: [
    { name: "id", dataType: DataType.Int64, isPrimaryKey: true },
    { name: "vector", dataType: DataType.FloatVector, dim: 8 },
    { name: "title", dataType: DataType.VarChar, maxLength: 64 },
  ],
});

function expectInvalid(run: () => unknown, message: RegExp): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(VelaError);
    expect((error as VelaError).code).toBe(ErrorCode.InvalidArgument);
    expect((error as VelaError).message).toMatch(message);
    return;
  }
  throw new Error("expected an InvalidArgument error");
}

describe("collection schema validation", () => {
  it("assigns field ids from 100 and adds $meta for a dynamic schema", () => {
    const schema = normalizeSchema({ ...base(), enableDynamicField: true, autoId: true });
    expect(schema.fields.map((field) => [field.name, field.fieldId])).toEqual([["id", 100], ["vector", 101], ["title", 102], ["$meta", 103]]);
    expect(schema.fields[0]?.autoId).toBe(true);
    expect(schema.fields[3]?.isDynamic).toBe(true);
  });

  it("rejects invalid names", () => {
    expectInvalid(() => validateName("collection", "1abc"), /first character/);
    expectInvalid(() => validateName("collection", "a-b"), /invalid/);
    expectInvalid(() => validateName("collection", ""), /non-empty/);
    expectInvalid(() => validateName("collection", "a".repeat(256)), /longer than 255/);
    expectInvalid(() => normalizeSchema({ ...base(), name: "bad name" }), /collection name "bad name" is invalid/);
  });

  it("rejects duplicate fields, missing primary key or vector, and two primary keys", () => {
    const duplicate = base();
    duplicate.fields.push({ name: "title", dataType: DataType.Int32 });
    expectInvalid(() => normalizeSchema(duplicate), /duplicate field name "title"/);
    expectInvalid(() => normalizeSchema({ ...base(), fields: base().fields.filter((field) => !field.isPrimaryKey) }), /exactly one primary key/);
    expectInvalid(() => normalizeSchema({ ...base(), fields: base().fields.filter((field) => field.dataType !== DataType.FloatVector) }), /at least one FloatVector/);
    const twoKeys = base();
    twoKeys.fields.push({ name: "id2", dataType: DataType.Int64, isPrimaryKey: true });
    expectInvalid(() => normalizeSchema(twoKeys), /exactly one primary key field, found 2/);
  });

  it("rejects wrong dims, types and lengths", () => {
    for (const dim of [1, 32769, 3.5, undefined]) {
      const schema = base();
      (schema.fields[1] as { dim?: number }).dim = dim;
      expectInvalid(() => normalizeSchema(schema), /dim must be an integer in \[2, 32768\]/);
    }
    const floatKey = base();
    floatKey.fields[0] = { name: "id", dataType: DataType.Float, isPrimaryKey: true };
    expectInvalid(() => normalizeSchema(floatKey), /must be Int64 or VarChar/);
    const noLength = base();
    noLength.fields[2] = { name: "title", dataType: DataType.VarChar };
    expectInvalid(() => normalizeSchema(noLength), /max_length/);
    const unknownType = base();
    unknownType.fields.push({ name: "x", dataType: 999 });
    expectInvalid(() => normalizeSchema(unknownType), /unsupported data type 999/);
    const reserved = base();
    reserved.fields.push({ name: "$meta", dataType: DataType.JSON });
    expectInvalid(() => normalizeSchema(reserved), /invalid|reserved/);
    const autoVarchar = base();
    autoVarchar.fields[0] = { name: "id", dataType: DataType.VarChar, maxLength: 10, isPrimaryKey: true, autoId: true };
    expectInvalid(() => normalizeSchema(autoVarchar), /autoID is supported for Int64/);
  });
});
