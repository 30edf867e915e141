// Parses REST request bodies without losing 64-bit integers. JSON.parse turns 9007199254740993 into
// 9007199254740992; Milvus's Go server keeps it exact, so Vela must too. Integer literals beyond
// Number.MAX_SAFE_INTEGER come back as bigints; every other value is what JSON.parse returns.
//
// Bodies without any integer literal of 16 or more digits (the common case, vectors included) take
// JSON.parse's native path; the others go through an iterative parser here, which also cannot
// overflow the stack however deeply the body nests. Errors are thrown as RestRequestError 1801.

import { badFormat } from "./rest-errors.ts";

/** An integer literal of at least 16 digits that is not part of a fraction or an exponent. */
const LONG_INTEGER = /(?:^|[^\d.eE+-])-?\d{16,}(?![\d.eE])/;

export function parseJsonBody(text: string): unknown {
  if (!LONG_INTEGER.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw badFormat((error as Error).message);
    }
  }
  return parseJsonExact(text);
}

/** The exact parser alone (what bodies with long integer literals go through). */
export function parseJsonExact(text: string): unknown {
  return new ExactJsonParser(text).parse();
}

type Container = unknown[] | Record<string, unknown>;

interface Frame {
  container: Container;
  /** The key whose value is being parsed (objects only). */
  key: string;
}

class ExactJsonParser {
  private position = 0;

  constructor(private readonly text: string) {}

  parse(): unknown {
    const stack: Frame[] = [];
    let value: unknown;
    for (;;) {
      this.skipWhitespace();
      const char = this.text[this.position];
      // Open a container, or read a scalar into `value`.
      if (char === "{") {
        this.position += 1;
        this.skipWhitespace();
        if (this.text[this.position] === "}") {
          this.position += 1;
          value = {};
        } else {
          stack.push({ container: {}, key: this.readKey() });
          continue;
        }
      } else if (char === "[") {
        this.position += 1;
        this.skipWhitespace();
        if (this.text[this.position] === "]") {
          this.position += 1;
          value = [];
        } else {
          stack.push({ container: [], key: "" });
          continue;
        }
      } else {
        value = this.readScalar();
      }
      // Attach the value to its container; close every container that ends here.
      for (;;) {
        const frame = stack[stack.length - 1];
        if (frame === undefined) {
          this.skipWhitespace();
          if (this.position !== this.text.length) this.fail("unexpected data after the JSON value");
          return value;
        }
        if (Array.isArray(frame.container)) frame.container.push(value);
        else setOwn(frame.container, frame.key, value);
        this.skipWhitespace();
        const next = this.text[this.position];
        if (next === ",") {
          this.position += 1;
          if (!Array.isArray(frame.container)) {
            this.skipWhitespace();
            frame.key = this.readKey();
          }
          break;
        }
        if (next === (Array.isArray(frame.container) ? "]" : "}")) {
          this.position += 1;
          stack.pop();
          value = frame.container;
          continue;
        }
        this.fail(Array.isArray(frame.container) ? "expected ',' or ']' in an array" : "expected ',' or '}' in an object");
      }
    }
  }

  private readKey(): string {
    if (this.text[this.position] !== '"') this.fail("expected a string key");
    const key = this.readString();
    this.skipWhitespace();
    if (this.text[this.position] !== ":") this.fail("expected ':' after an object key");
    this.position += 1;
    return key;
  }

  private readScalar(): unknown {
    const char = this.text[this.position];
    if (char === '"') return this.readString();
    if (char === "-" || (char !== undefined && char >= "0" && char <= "9")) return this.readNumber();
    for (const [word, result] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.text.startsWith(word, this.position)) {
        this.position += word.length;
        return result;
      }
    }
    return this.fail(char === undefined ? "expected a value" : `unexpected character ${JSON.stringify(char)}`);
  }

  private readNumber(): number | bigint {
    const text = this.text;
    const start = this.position;
    let index = start;
    let integer = true;
    if (text[index] === "-") index += 1;
    if (text[index] === "0") index += 1;
    else if (isDigit(text[index])) while (isDigit(text[index])) index += 1;
    else return this.fail("invalid number");
    if (text[index] === ".") {
      index += 1;
      if (!isDigit(text[index])) return this.fail("invalid number");
      while (isDigit(text[index])) index += 1;
      integer = false;
    }
    if (text[index] === "e" || text[index] === "E") {
      index += 1;
      if (text[index] === "+" || text[index] === "-") index += 1;
      if (!isDigit(text[index])) return this.fail("invalid number");
      while (isDigit(text[index])) index += 1;
      integer = false;
    }
    this.position = index;
    const literal = text.slice(start, index);
    const number = Number(literal);
    return integer && !Number.isSafeInteger(number) ? BigInt(literal) : number;
  }

  private readString(): string {
    this.position += 1; // opening quote
    let out = "";
    let start = this.position;
    for (;;) {
      const code = this.text.charCodeAt(this.position);
      if (Number.isNaN(code)) return this.fail("unterminated string");
      if (code === 0x22) {
        out += this.text.slice(start, this.position);
        this.position += 1;
        return out;
      }
      if (code < 0x20) return this.fail("control character in a string");
      if (code !== 0x5c) {
        this.position += 1;
        continue;
      }
      out += this.text.slice(start, this.position);
      const escape = this.text[this.position + 1];
      this.position += 2;
      switch (escape) {
        case '"': out += '"'; break;
        case "\\": out += "\\"; break;
        case "/": out += "/"; break;
        case "b": out += "\b"; break;
        case "f": out += "\f"; break;
        case "n": out += "\n"; break;
        case "r": out += "\r"; break;
        case "t": out += "\t"; break;
        case "u": {
          const hex = this.text.slice(this.position, this.position + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) return this.fail("invalid \\u escape");
          out += String.fromCharCode(Number.parseInt(hex, 16));
          this.position += 4;
          break;
        }
        default: return this.fail("invalid escape in a string");
      }
      start = this.position;
    }
  }

  private skipWhitespace(): void {
    for (;;) {
      const char = this.text[this.position];
      if (char !== " " && char !== "\n" && char !== "\r" && char !== "\t") return;
      this.position += 1;
    }
  }

  private fail(problem: string): never {
    throw badFormat(`${problem} ${this.position >= this.text.length ? "at the end of the input" : `at position ${this.position}`}`);
  }
}

function isDigit(char: string | undefined): boolean {
  return char !== undefined && char >= "0" && char <= "9";
}

/** Assigns an own property, "__proto__" included (as JSON.parse does), never the prototype. */
function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else object[key] = value;
}
