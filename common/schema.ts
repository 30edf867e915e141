// Collection schemas: field types (numbered as Milvus numbers them, so the public protocol maps 1:1),
// field and collection descriptions, and the validation every DDL call goes through. A schema that
// passes validateCollectionSchema has exactly one primary key (Int64 or VarChar), at least one
// FloatVector field with a dim in range, unique field names, and every VarChar with a max_length.

import { invalidArgument } from "./errors.ts";
import { schemaLimits } from "./config.ts";

export const DataType = {
  Bool: 1,
  Int8: 2,
  Int16: 3,
  Int32: 4,
  Int64: 5,
  Float: 10,
  Double: 11,
  VarChar: 21,
  JSON: 23,
  FloatVector: 101,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

const dataTypeNames = new Map<number, string>(Object.entries(DataType).map(([name, value]) => [value, name]));

export function dataTypeName(type: number): string {
  return dataTypeNames.get(type) ?? `DataType(${type})`;
}

export function isDataType(type: number): type is DataType {
  return dataTypeNames.has(type);
}

export const ConsistencyLevel = {
  Strong: "Strong",
  Session: "Session",
  Bounded: "Bounded",
  Eventually: "Eventually",
} as const;
export type ConsistencyLevel = (typeof ConsistencyLevel)[keyof typeof ConsistencyLevel];

export function isConsistencyLevel(value: string): value is ConsistencyLevel {
  return value in ConsistencyLevel;
}

/** The name of the hidden JSON field that holds a dynamic schema's extra keys. */
export const DYNAMIC_FIELD_NAME = "$meta";

export interface FieldSchema {
  /** Assigned by the root coordinator: 100, 101, ... in declaration order (as Milvus does). */
  fieldId: number;
  name: string;
  description: string;
  dataType: DataType;
  isPrimaryKey: boolean;
  /** Only on the primary key: the system assigns values. */
  autoId: boolean;
  /** FloatVector only. */
  dim?: number;
  /** VarChar only: most UTF-8 bytes per value. */
  maxLength?: number;
  /** The field may hold null. */
  nullable: boolean;
  /** True for the hidden `$meta` field of a dynamic schema. */
  isDynamic: boolean;
}

export interface CollectionSchema {
  name: string;
  description: string;
  fields: FieldSchema[];
  enableDynamicField: boolean;
}

/** What a caller provides for one field; ids and defaults are filled in by normalizeSchema. */
export interface FieldSchemaInput {
  name: string;
  description?: string;
  dataType: number;
  isPrimaryKey?: boolean;
  autoId?: boolean;
  dim?: number;
  maxLength?: number;
  nullable?: boolean;
}

export interface CollectionSchemaInput {
  name: string;
  description?: string;
  fields: FieldSchemaInput[];
  enableDynamicField?: boolean;
  /** Collection-level autoID (the SDKs send it here or on the primary key field). */
  autoId?: boolean;
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Validates a collection, field, partition, alias or database name as Milvus does. */
export function validateName(kind: string, name: unknown, lengthMax = schemaLimits.nameLengthMax): string {
  if (typeof name !== "string" || name.length === 0) throw invalidArgument(`${kind} name must be a non-empty string`);
  if (name.length > lengthMax) throw invalidArgument(`${kind} name "${name.slice(0, 40)}..." is longer than ${lengthMax} characters`);
  if (!NAME_PATTERN.test(name)) {
    throw invalidArgument(`${kind} name "${name}" is invalid: the first character must be a letter or an underscore, the rest letters, digits or underscores`);
  }
  return name;
}

/** Checks a schema and fills in field ids and defaults. Throws InvalidArgument; never partially applies. */
export function normalizeSchema(input: CollectionSchemaInput): CollectionSchema {
  if (typeof input !== "object" || input === null) throw invalidArgument("schema must be an object");
  const name = validateName("collection", input.name);
  if (!Array.isArray(input.fields) || input.fields.length === 0) throw invalidArgument(`collection "${name}": schema has no fields`);
  if (input.fields.length > schemaLimits.fieldsPerCollectionMax) {
    throw invalidArgument(`collection "${name}": ${input.fields.length} fields exceed the limit of ${schemaLimits.fieldsPerCollectionMax}`);
  }
  const seen = new Set<string>();
  const fields: FieldSchema[] = [];
  let primaryKeys = 0;
  let vectorFields = 0;
  input.fields.forEach((field, index) => {
    const fieldName = validateName("field", field.name);
    if (fieldName === DYNAMIC_FIELD_NAME) throw invalidArgument(`field name "${fieldName}" is reserved`);
    if (seen.has(fieldName)) throw invalidArgument(`collection "${name}": duplicate field name "${fieldName}"`);
    seen.add(fieldName);
    if (typeof field.dataType !== "number" || !isDataType(field.dataType)) {
      throw invalidArgument(`field "${fieldName}": unsupported data type ${String(field.dataType)}; supported: ${[...dataTypeNames.values()].join(", ")}`);
    }
    const dataType = field.dataType;
    const isPrimaryKey = field.isPrimaryKey === true;
    const normalized: FieldSchema = {
      fieldId: schemaLimits.firstFieldId + index,
      name: fieldName,
      description: field.description ?? "",
      dataType,
      isPrimaryKey,
      autoId: false,
      nullable: field.nullable === true,
      isDynamic: false,
    };
    if (isPrimaryKey) {
      primaryKeys += 1;
      if (dataType !== DataType.Int64 && dataType !== DataType.VarChar) {
        throw invalidArgument(`primary key "${fieldName}" must be Int64 or VarChar, not ${dataTypeName(dataType)}`);
      }
      if (normalized.nullable) throw invalidArgument(`primary key "${fieldName}" cannot be nullable`);
      normalized.autoId = field.autoId === true || input.autoId === true;
      if (normalized.autoId && dataType === DataType.VarChar) {
        throw invalidArgument(`primary key "${fieldName}": autoID is supported for Int64 primary keys only`);
      }
    } else if (field.autoId === true) {
      throw invalidArgument(`field "${fieldName}": autoID is allowed on the primary key only`);
    }
    if (dataType === DataType.FloatVector) {
      vectorFields += 1;
      const dim = field.dim;
      if (typeof dim !== "number" || !Number.isInteger(dim) || dim < schemaLimits.vectorDimMin || dim > schemaLimits.vectorDimMax) {
        throw invalidArgument(`vector field "${fieldName}": dim must be an integer in [${schemaLimits.vectorDimMin}, ${schemaLimits.vectorDimMax}], got ${String(dim)}`);
      }
      if (normalized.nullable) throw invalidArgument(`vector field "${fieldName}" cannot be nullable`);
      normalized.dim = dim;
    } else if (field.dim !== undefined) {
      throw invalidArgument(`field "${fieldName}": dim is only valid on vector fields`);
    }
    if (dataType === DataType.VarChar) {
      const maxLength = field.maxLength;
      if (typeof maxLength !== "number" || !Number.isInteger(maxLength) || maxLength < 1 || maxLength > schemaLimits.varcharLengthMax) {
        throw invalidArgument(`VarChar field "${fieldName}": max_length must be an integer in [1, ${schemaLimits.varcharLengthMax}], got ${String(maxLength)}`);
      }
      normalized.maxLength = maxLength;
    }
    fields.push(normalized);
  });
  if (primaryKeys !== 1) throw invalidArgument(`collection "${name}": schema must have exactly one primary key field, found ${primaryKeys}`);
  if (vectorFields === 0) throw invalidArgument(`collection "${name}": schema must have at least one FloatVector field`);
  if (vectorFields > schemaLimits.vectorFieldsPerCollectionMax) {
    throw invalidArgument(`collection "${name}": ${vectorFields} vector fields exceed the limit of ${schemaLimits.vectorFieldsPerCollectionMax}`);
  }
  const enableDynamicField = input.enableDynamicField === true;
  if (enableDynamicField) {
    fields.push({
      fieldId: schemaLimits.firstFieldId + fields.length,
      name: DYNAMIC_FIELD_NAME,
      description: "dynamic field",
      dataType: DataType.JSON,
      isPrimaryKey: false,
      autoId: false,
      nullable: false,
      isDynamic: true,
    });
  }
  return { name, description: input.description ?? "", fields, enableDynamicField };
}

export function primaryKeyField(schema: CollectionSchema): FieldSchema {
  const field = schema.fields.find((candidate) => candidate.isPrimaryKey);
  if (field === undefined) throw invalidArgument(`collection "${schema.name}" has no primary key`);
  return field;
}

export function fieldByName(schema: CollectionSchema, name: string): FieldSchema | undefined {
  return schema.fields.find((field) => field.name === name);
}
