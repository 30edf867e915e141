// Three-valued results of one chunk of rows, packed one bit per row, and the logic on them. For a
// chunk of n rows: bit i of `truth` set means row (chunk start + i) is TRUE, bit i of `unknown` means
// UNKNOWN (a null took part), neither means FALSE. Invariants: the two never overlap, and no bit at or
// beyond n is set (so whole bytes can be copied into a Bitset). `unknown` is undefined when no row of
// the chunk is unknown, which keeps the common non-nullable case to one bitmap.

export interface TriBits {
  truth: Uint8Array;
  unknown: Uint8Array | undefined;
}

export function chunkBytes(rowCount: number): number {
  return (rowCount + 7) >>> 3;
}

/** Clears the bits at and beyond `rowCount` in the last byte. */
export function clearTail(bits: Uint8Array, rowCount: number): void {
  const tail = rowCount & 7;
  if (tail !== 0 && bits.length > 0) bits[bits.length - 1] = (bits[bits.length - 1] as number) & ((1 << tail) - 1);
}

export function constantBits(rowCount: number, value: boolean): TriBits {
  const truth = new Uint8Array(chunkBytes(rowCount));
  if (value) {
    truth.fill(0xff);
    clearTail(truth, rowCount);
  }
  return { truth, unknown: undefined };
}

/**
 * Packs a one-byte-per-row validity mask (0 = null) over [start, end) into unknown bits; undefined when
 * every row is valid.
 */
export function packNulls(valid: Uint8Array | undefined, start: number, end: number): Uint8Array | undefined {
  if (valid === undefined) return undefined;
  const count = end - start;
  const bits = new Uint8Array(chunkBytes(count));
  let any = 0;
  for (let byte = 0; byte < bits.length; byte++) {
    const base = start + (byte << 3);
    const limit = Math.min(8, end - base);
    let packed = 0;
    for (let bit = 0; bit < limit; bit++) if (valid[base + bit] === 0) packed |= 1 << bit;
    bits[byte] = packed;
    any |= packed;
  }
  return any === 0 ? undefined : bits;
}

/** Makes a comparison's bits three-valued: null rows become UNKNOWN and never TRUE. */
export function withNulls(truth: Uint8Array, nulls: Uint8Array | undefined): TriBits {
  if (nulls !== undefined) for (let i = 0; i < truth.length; i++) truth[i] = (truth[i] as number) & ~(nulls[i] as number);
  return { truth, unknown: nulls };
}

/** NOT: TRUE and FALSE swap, UNKNOWN stays. */
export function notBits(input: TriBits, rowCount: number): TriBits {
  const truth = new Uint8Array(input.truth.length);
  const unknown = input.unknown;
  if (unknown === undefined) for (let i = 0; i < truth.length; i++) truth[i] = ~(input.truth[i] as number);
  else for (let i = 0; i < truth.length; i++) truth[i] = ~((input.truth[i] as number) | (unknown[i] as number));
  clearTail(truth, rowCount);
  return { truth, unknown };
}

/** Kleene AND: FALSE if any is FALSE, else UNKNOWN if any is UNKNOWN, else TRUE. */
export function andBits(into: TriBits, other: TriBits): TriBits {
  const truth = into.truth;
  if (into.unknown === undefined && other.unknown === undefined) {
    for (let i = 0; i < truth.length; i++) truth[i] = (truth[i] as number) & (other.truth[i] as number);
    return into;
  }
  const unknown = new Uint8Array(truth.length);
  let any = 0;
  for (let i = 0; i < truth.length; i++) {
    const t1 = truth[i] as number;
    const t2 = other.truth[i] as number;
    const u1 = into.unknown?.[i] ?? 0;
    const u2 = other.unknown?.[i] ?? 0;
    // Not false on either side, and not true on both.
    const u = (t1 | u1) & (t2 | u2) & ~(t1 & t2);
    truth[i] = t1 & t2;
    unknown[i] = u;
    any |= u;
  }
  return { truth, unknown: any === 0 ? undefined : unknown };
}

/** Kleene OR: TRUE if any is TRUE, else UNKNOWN if any is UNKNOWN, else FALSE. */
export function orBits(into: TriBits, other: TriBits): TriBits {
  const truth = into.truth;
  if (into.unknown === undefined && other.unknown === undefined) {
    for (let i = 0; i < truth.length; i++) truth[i] = (truth[i] as number) | (other.truth[i] as number);
    return into;
  }
  const unknown = new Uint8Array(truth.length);
  let any = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = (truth[i] as number) | (other.truth[i] as number);
    const u = ((into.unknown?.[i] ?? 0) | (other.unknown?.[i] ?? 0)) & ~t;
    truth[i] = t;
    unknown[i] = u;
    any |= u;
  }
  return { truth, unknown: any === 0 ? undefined : unknown };
}
