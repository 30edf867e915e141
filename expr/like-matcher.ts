// Compiles a LIKE pattern into a matcher that never backtracks: `%` matches any run of characters,
// `_` exactly one character (a Unicode code point), `\` makes the next character literal. Patterns
// without `_` and with `%` only at the ends become one string test (equal, startsWith, endsWith,
// includes); the rest are split at `%` into segments matched greedily left to right, which is exact
// for `%` (matching a segment at its leftmost place leaves the most room for the rest) and costs
// O(text × pattern) at worst — no pattern can make it exponential.

export type LikeMatcher =
  | { kind: "all" }
  | { kind: "equal"; text: string }
  | { kind: "prefix"; text: string }
  | { kind: "suffix"; text: string }
  | { kind: "infix"; text: string }
  | { kind: "segments"; segments: Segment[]; anchoredStart: boolean; anchoredEnd: boolean };

/** Literal text and `_` placeholders (undefined) in order; each placeholder is one code point. */
type Segment = Array<string | undefined>;

export function compileLike(pattern: string): LikeMatcher {
  // Tokens: a literal unit run or a wildcard.
  const segments: Segment[] = [[]];
  let hasUnderscore = false;
  let leadingPercent = false;
  let trailingPercent = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    const current = segments[segments.length - 1] as Segment;
    if (char === "\\" && i + 1 < pattern.length) {
      i += 1;
      appendLiteral(current, pattern[i] as string);
      trailingPercent = false;
    } else if (char === "%") {
      if (i === 0) leadingPercent = true;
      trailingPercent = true;
      if (current.length > 0) segments.push([]);
    } else if (char === "_") {
      hasUnderscore = true;
      current.push(undefined);
      trailingPercent = false;
    } else {
      appendLiteral(current, char);
      trailingPercent = false;
    }
  }
  const nonEmpty = segments.filter((segment) => segment.length > 0);
  if (nonEmpty.length === 0) return leadingPercent ? { kind: "all" } : { kind: "equal", text: "" };
  if (!hasUnderscore && nonEmpty.length === 1) {
    const text = (nonEmpty[0] as Segment).join("");
    if (leadingPercent && trailingPercent) return { kind: "infix", text };
    if (leadingPercent) return { kind: "suffix", text };
    if (trailingPercent) return { kind: "prefix", text };
    return { kind: "equal", text };
  }
  return { kind: "segments", segments: nonEmpty, anchoredStart: !leadingPercent, anchoredEnd: !trailingPercent };
}

function appendLiteral(segment: Segment, char: string): void {
  const last = segment[segment.length - 1];
  if (typeof last === "string") segment[segment.length - 1] = last + char;
  else segment.push(char);
}

export function likeMatches(matcher: LikeMatcher, text: string): boolean {
  switch (matcher.kind) {
    case "all":
      return true;
    case "equal":
      return text === matcher.text;
    case "prefix":
      return text.startsWith(matcher.text);
    case "suffix":
      return text.endsWith(matcher.text);
    case "infix":
      return text.includes(matcher.text);
    case "segments":
      return matchSegments(matcher, text);
  }
}

function matchSegments(matcher: Extract<LikeMatcher, { kind: "segments" }>, text: string): boolean {
  const { segments, anchoredStart, anchoredEnd } = matcher;
  let position = 0;
  let first = 0;
  let last = segments.length - 1;
  if (anchoredStart) {
    const end = matchAt(segments[0] as Segment, text, 0);
    if (end < 0) return false;
    if (segments.length === 1 && anchoredEnd) return end === text.length;
    position = end;
    first = 1;
  }
  let endLimit = text.length;
  if (anchoredEnd) {
    const segment = segments[last] as Segment;
    const start = startForSuffix(segment, text);
    if (start < position || matchAt(segment, text, start) !== text.length) return false;
    endLimit = start;
    last -= 1;
  }
  for (let index = first; index <= last; index++) {
    const segment = segments[index] as Segment;
    let found = -1;
    for (let start = position; start <= endLimit; start = nextCodePoint(text, start)) {
      const end = matchAt(segment, text, start);
      if (end >= 0 && end <= endLimit) {
        found = end;
        break;
      }
      if (start >= endLimit) break;
    }
    if (found < 0) return false;
    position = found;
  }
  return true;
}

/** Where the segment ends when matched at `start`, or -1. */
function matchAt(segment: Segment, text: string, start: number): number {
  let position = start;
  for (const piece of segment) {
    if (piece === undefined) {
      if (position >= text.length) return -1;
      position = nextCodePoint(text, position);
    } else {
      if (!text.startsWith(piece, position)) return -1;
      position += piece.length;
    }
  }
  return position;
}

/** Where a segment must start to end exactly at the end of `text` (-1 if the text is too short). */
function startForSuffix(segment: Segment, text: string): number {
  let position = text.length;
  for (let index = segment.length - 1; index >= 0; index--) {
    const piece = segment[index];
    if (piece === undefined) {
      if (position <= 0) return -1;
      position = previousCodePoint(text, position);
    } else {
      position -= piece.length;
      if (position < 0) return -1;
    }
  }
  return position;
}

function nextCodePoint(text: string, position: number): number {
  const unit = text.charCodeAt(position);
  if (unit >= 0xd800 && unit <= 0xdbff) {
    const next = text.charCodeAt(position + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return position + 2;
  }
  return position + 1;
}

function previousCodePoint(text: string, position: number): number {
  const unit = text.charCodeAt(position - 1);
  if (unit >= 0xdc00 && unit <= 0xdfff && position >= 2) {
    const before = text.charCodeAt(position - 2);
    if (before >= 0xd800 && before <= 0xdbff) return position - 2;
  }
  return position - 1;
}
