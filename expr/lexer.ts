// The lexer of Vela's filter language (the Milvus boolean expression language): turns the expression
// text into tokens, each with the character offset where it starts. Keywords match in any letter case.
// Invariant: it either returns the complete token list ending with one `eof` token, or throws a
// VelaError InvalidArgument naming the offset and what was wrong; it reads each character a bounded
// number of times (the text length is checked by the caller), so it cannot hang.

import { invalidArgument } from "../common/errors.ts";

export type Keyword =
  | "and"
  | "or"
  | "not"
  | "in"
  | "like"
  | "is"
  | "null"
  | "json_contains"
  | "json_contains_all"
  | "json_contains_any"
  | "array_contains"
  | "array_contains_all"
  | "array_contains_any";

export type Punctuation =
  | "("
  | ")"
  | "["
  | "]"
  | "{"
  | "}"
  | ","
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "**"
  | "!"
  | "&&"
  | "||";

export type Token =
  | { kind: "identifier"; pos: number; name: string }
  | { kind: "keyword"; pos: number; keyword: Keyword; text: string }
  | { kind: "integer"; pos: number; value: bigint; text: string }
  | { kind: "float"; pos: number; value: number; text: string }
  | { kind: "string"; pos: number; value: string; text: string }
  | { kind: "boolean"; pos: number; value: boolean; text: string }
  | { kind: "punctuation"; pos: number; punctuation: Punctuation }
  | { kind: "eof"; pos: number };

const KEYWORDS = new Set<string>([
  "and",
  "or",
  "not",
  "in",
  "like",
  "is",
  "null",
  "json_contains",
  "json_contains_all",
  "json_contains_any",
  "array_contains",
  "array_contains_all",
  "array_contains_any",
]);

const TWO_CHARACTER_PUNCTUATION = new Set<string>(["==", "!=", "<=", ">=", "**", "&&", "||"]);
const ONE_CHARACTER_PUNCTUATION = new Set<string>(["(", ")", "[", "]", "{", "}", ",", "<", ">", "+", "-", "*", "/", "%", "!"]);

/** How a token reads in an error message. */
export function describeToken(token: Token): string {
  switch (token.kind) {
    case "eof":
      return "the end of the expression";
    case "identifier":
      return `"${clip(token.name)}"`;
    case "punctuation":
      return `"${token.punctuation}"`;
    default:
      return `"${clip(token.text)}"`;
  }
}

/** Shortens user text quoted in an error message. */
export function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

function isIdentifierStart(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isIdentifierPart(code: number): boolean {
  return isIdentifierStart(code) || isDigit(code);
}

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function describeCharacter(text: string, pos: number): string {
  const code = text.codePointAt(pos) as number;
  if (code < 0x20 || code === 0x7f) return `control character U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  return `"${String.fromCodePoint(code)}"`;
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < text.length) {
    const code = text.charCodeAt(pos);
    if (isWhitespace(code)) {
      pos += 1;
      continue;
    }
    const start = pos;
    // Raw strings (r"..." / R'...'): the backslash is kept as written.
    if ((code === 0x72 || code === 0x52) && (text[pos + 1] === '"' || text[pos + 1] === "'")) {
      const { value, end } = readRawString(text, pos + 1);
      tokens.push({ kind: "string", pos: start, value, text: text.slice(start, end) });
      pos = end;
      continue;
    }
    if (isIdentifierStart(code) || (code === 0x24 && text.startsWith("$meta", pos))) {
      pos += code === 0x24 ? 5 : 1;
      while (pos < text.length && isIdentifierPart(text.charCodeAt(pos))) pos += 1;
      const word = text.slice(start, pos);
      const lower = word.toLowerCase();
      if (lower === "true" || lower === "false") tokens.push({ kind: "boolean", pos: start, value: lower === "true", text: word });
      else if (KEYWORDS.has(lower)) tokens.push({ kind: "keyword", pos: start, keyword: lower as Keyword, text: word });
      else tokens.push({ kind: "identifier", pos: start, name: word });
      continue;
    }
    if (isDigit(code) || (code === 0x2e && isDigit(text.charCodeAt(pos + 1)))) {
      const token = readNumber(text, pos);
      tokens.push(token);
      pos = start + token.text.length;
      continue;
    }
    if (code === 0x22 || code === 0x27) {
      const { value, end } = readString(text, pos);
      tokens.push({ kind: "string", pos: start, value, text: text.slice(start, end) });
      pos = end;
      continue;
    }
    const two = text.slice(pos, pos + 2);
    if (TWO_CHARACTER_PUNCTUATION.has(two)) {
      tokens.push({ kind: "punctuation", pos: start, punctuation: two as Punctuation });
      pos += 2;
      continue;
    }
    const one = text[pos] as string;
    if (ONE_CHARACTER_PUNCTUATION.has(one)) {
      tokens.push({ kind: "punctuation", pos: start, punctuation: one as Punctuation });
      pos += 1;
      continue;
    }
    throw invalidArgument(`at ${pos}: unexpected ${describeCharacter(text, pos)}${hintFor(text, pos)}`);
  }
  tokens.push({ kind: "eof", pos: text.length });
  return tokens;
}

function hintFor(text: string, pos: number): string {
  const one = text[pos];
  const two = text.slice(pos, pos + 2);
  if (one === "=") return `; did you mean "=="?`;
  if (one === "&") return `; did you mean "&&" (bitwise operators are not supported)?`;
  if (one === "|") return `; did you mean "||" (bitwise operators are not supported)?`;
  if (one === "^" || one === "~" || two === "<<" || two === ">>") return "; bitwise operators are not supported";
  if (one === "$") return `; only "$meta" may start with "$"`;
  return "";
}

function readNumber(text: string, start: number): Extract<Token, { kind: "integer" | "float" }> {
  let pos = start;
  const radixPrefix = text.slice(pos, pos + 2).toLowerCase();
  if (radixPrefix === "0x" || radixPrefix === "0b") {
    pos += 2;
    const digitPattern = radixPrefix === "0x" ? /[0-9a-fA-F]/ : /[01]/;
    while (pos < text.length && digitPattern.test(text[pos] as string)) pos += 1;
    const raw = text.slice(start, pos);
    if (pos === start + 2 || (pos < text.length && (isIdentifierPart(text.charCodeAt(pos)) || text[pos] === "."))) {
      throw invalidArgument(`at ${start}: invalid number "${clip(readWord(text, start))}"`);
    }
    return { kind: "integer", pos: start, value: BigInt(raw), text: raw };
  }
  while (pos < text.length && isDigit(text.charCodeAt(pos))) pos += 1;
  let isFloat = false;
  if (text[pos] === ".") {
    isFloat = true;
    pos += 1;
    while (pos < text.length && isDigit(text.charCodeAt(pos))) pos += 1;
  }
  if (text[pos] === "e" || text[pos] === "E") {
    let exponent = pos + 1;
    if (text[exponent] === "+" || text[exponent] === "-") exponent += 1;
    if (isDigit(text.charCodeAt(exponent))) {
      isFloat = true;
      pos = exponent;
      while (pos < text.length && isDigit(text.charCodeAt(pos))) pos += 1;
    }
  }
  if (pos < text.length && (isIdentifierPart(text.charCodeAt(pos)) || text[pos] === ".")) {
    throw invalidArgument(`at ${start}: invalid number "${clip(readWord(text, start))}"`);
  }
  const raw = text.slice(start, pos);
  if (isFloat) return { kind: "float", pos: start, value: Number(raw), text: raw };
  // A leading zero means octal, as in Milvus (and C): 010 is 8.
  if (raw.length > 1 && raw[0] === "0") {
    if (!/^[0-7]+$/.test(raw)) throw invalidArgument(`at ${start}: invalid number "${raw}" (a leading 0 makes an octal number; digits 8 and 9 are not octal)`);
    return { kind: "integer", pos: start, value: BigInt(`0o${raw.slice(1)}`), text: raw };
  }
  return { kind: "integer", pos: start, value: BigInt(raw), text: raw };
}

function readWord(text: string, start: number): string {
  let end = start;
  while (end < text.length && (isIdentifierPart(text.charCodeAt(end)) || text[end] === ".")) end += 1;
  return text.slice(start, end);
}

function readRawString(text: string, quotePos: number): { value: string; end: number } {
  const quote = text[quotePos] as string;
  let pos = quotePos + 1;
  while (pos < text.length) {
    const char = text[pos] as string;
    if (char === quote) return { value: text.slice(quotePos + 1, pos), end: pos + 1 };
    if (char === "\n" || char === "\r") break;
    // A backslash only keeps the next character from ending the string; both stay.
    pos += char === "\\" && pos + 1 < text.length && text[pos + 1] !== "\n" && text[pos + 1] !== "\r" ? 2 : 1;
  }
  throw invalidArgument(`at ${quotePos - 1}: unterminated string: expected a closing ${quote}`);
}

const SIMPLE_ESCAPES: Record<string, string> = {
  "\\": "\\",
  '"': '"',
  "'": "'",
  n: "\n",
  t: "\t",
  r: "\r",
  b: "\b",
  f: "\f",
  v: "\v",
  a: "\x07",
  "0": "\0",
  "?": "?",
};

function readString(text: string, quotePos: number): { value: string; end: number } {
  const quote = text[quotePos] as string;
  let pos = quotePos + 1;
  let value = "";
  while (pos < text.length) {
    const char = text[pos] as string;
    if (char === quote) return { value, end: pos + 1 };
    if (char === "\n" || char === "\r") break;
    if (char !== "\\") {
      value += char;
      pos += 1;
      continue;
    }
    const next = text[pos + 1];
    if (next === undefined) break;
    if (next === "%" || next === "_") {
      // Kept with its backslash, so that a like pattern sees an escaped wildcard: "50\%".
      value += `\\${next}`;
      pos += 2;
      continue;
    }
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined && !(next === "0" && isDigit(text.charCodeAt(pos + 2)))) {
      value += simple;
      pos += 2;
      continue;
    }
    if (next === "x") {
      const hex = text.slice(pos + 2, pos + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw invalidArgument(`at ${pos}: invalid escape: expected two hex digits after "\\x"`);
      value += String.fromCharCode(parseInt(hex, 16));
      pos += 4;
      continue;
    }
    if (next === "u" || next === "U") {
      const digits = next === "u" ? 4 : 8;
      const hex = text.slice(pos + 2, pos + 2 + digits);
      if (hex.length !== digits || !/^[0-9a-fA-F]+$/.test(hex)) {
        throw invalidArgument(`at ${pos}: invalid escape: expected ${digits} hex digits after "\\${next}"`);
      }
      const codePoint = parseInt(hex, 16);
      if (codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
        throw invalidArgument(`at ${pos}: invalid escape: "\\${next}${hex}" is not a Unicode scalar value`);
      }
      value += String.fromCodePoint(codePoint);
      pos += 2 + digits;
      continue;
    }
    throw invalidArgument(`at ${pos}: unknown escape "\\${next}" in a string`);
  }
  throw invalidArgument(`at ${quotePos}: unterminated string: expected a closing ${quote}`);
}
