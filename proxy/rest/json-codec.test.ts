// The REST JSON codec keeps what JSON.parse/JSON.stringify lose: 64-bit integers both ways, float32
// values as their shortest decimals; the exact parser agrees with JSON.parse everywhere else.

import { describe, expect, it } from "vitest";
import { parseJsonBody, parseJsonExact } from "./json-parse.ts";
import { RawJson, float32ArrayJson, float32Text, serializeJson } from "./json-serialize.ts";
import { RestRequestError } from "./rest-errors.ts";

describe("parseJsonBody", () => {
  it("keeps integers beyond 2^53 exact as bigints and leaves safe numbers as numbers", () => {
    const parsed = parseJsonBody('{"ids": [9007199254740993, -9223372036854775808, 12, 1.5, 9007199254740991], "s": "12345678901234567890"}') as { ids: unknown[]; s: string };
    expect(parsed.ids).toEqual([9007199254740993n, -9223372036854775808n, 12, 1.5, 9007199254740991]);
    expect(parsed.s).toBe("12345678901234567890");
  });

  it("parses long fractions and exponents as numbers, not bigints", () => {
    const text = "[0.12345678901234568, 1.2345678901234567e-5, 12345678901234567.5, 1e400]";
    const parsed = parseJsonExact(text) as unknown[];
    expect(parsed).toEqual(JSON.parse(text));
    for (const value of parsed) expect(typeof value).toBe("number");
  });

  it("agrees with JSON.parse on every other value", () => {
    const documents = [
      '{"a": [1, -2, 3.25, 1e3, -0.5E-2, true, false, null], "b": {"c": "x\\"y\\\\z\\n\\t\\u00e9\\ud83d\\ude00", "d": []}, "e": {}}',
      '  [ {"k": [ [ ], { } ]} , "\\/", 0 ]  ',
      '"just a string"', "42", "null", '{"__proto__": {"polluted": true}, "x": 1}',
    ];
    for (const text of documents) expect(parseJsonExact(text)).toEqual(JSON.parse(text));
    const withProto = parseJsonExact('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(withProto)).toBe(Object.prototype);
    expect(Object.keys(withProto)).toEqual(["__proto__"]);
  });

  it("parses any nesting depth without overflowing the stack", () => {
    const depth = 200_000;
    const text = `${"[".repeat(depth)}9007199254740993${"]".repeat(depth)}`;
    let value = parseJsonBody(text);
    for (let level = 0; level < depth; level++) value = (value as unknown[])[0];
    expect(value).toBe(9007199254740993n);
  });

  it("refuses malformed bodies with error 1801 naming the problem", () => {
    for (const text of ['{"a": 1,}', '{"a" 1}', "[1 2]", '{"a": 12345678901234567890', '"unterminated', "[01]", "tru", '{"a": 1} x', '["\u0001"]']) {
      for (const parse of [parseJsonBody, parseJsonExact]) {
        let caught: unknown;
        try {
          parse(text);
        } catch (error) {
          caught = error;
        }
        expect(caught, text).toBeInstanceOf(RestRequestError);
        expect((caught as RestRequestError).restCode).toBe(1801);
        expect((caught as Error).message).toMatch(/^can only accept json format request, error: /);
      }
    }
  });
});

describe("serializeJson", () => {
  it("writes bigints as exact integer literals and raw JSON verbatim", () => {
    expect(serializeJson({ code: 0, data: { ids: [9007199254740993n, "7"], raw: new RawJson('{"x":[1]}'), gone: undefined, n: null } }))
      .toBe('{"code":0,"data":{"ids":[9007199254740993,"7"],"raw":{"x":[1]},"n":null}}');
  });

  it("escapes strings and keys as JSON.stringify does", () => {
    const value = { 'k"\n': 'v\u2028"\\', list: [1.5, -0, true] };
    expect(serializeJson(value)).toBe(JSON.stringify(value));
  });

  it("writes float32 values as their shortest round-tripping decimals", () => {
    expect(float32Text(Math.fround(0.1))).toBe("0.1");
    expect(float32Text(1 / 3)).toBe("0.33333334");
    expect(float32Text(16_777_217)).toBe("16777216");
    expect(float32Text(Math.fround(-2.5e-7))).toBe("-2.5e-7");
    expect(float32Text(1e-45)).toBe("1e-45");
    expect(float32ArrayJson(new Float32Array([0.1, 0.2, 3])).text).toBe("[0.1,0.2,3]");
    for (let i = 0; i < 1000; i++) {
      const value = Math.fround(Math.sin(i) * 10 ** ((i % 20) - 10));
      expect(Math.fround(Number(float32Text(value)))).toBe(value);
    }
  });
});
