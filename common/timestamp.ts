// Hybrid timestamps (DESIGN §3): a uint64 as bigint, physical milliseconds << 18 | an 18-bit logical
// counter. Every write and every snapshot in Vela is named by one.

export const LOGICAL_BITS = 18n;
export const LOGICAL_COUNT = 1 << 18;
const LOGICAL_MASK = (1n << LOGICAL_BITS) - 1n;

export type Timestamp = bigint;

export function composeTimestamp(physicalMs: number, logical: number): Timestamp {
  return (BigInt(physicalMs) << LOGICAL_BITS) | BigInt(logical);
}

export function physicalMsOf(ts: Timestamp): number {
  return Number(ts >> LOGICAL_BITS);
}

export function logicalOf(ts: Timestamp): number {
  return Number(ts & LOGICAL_MASK);
}

export function minTimestamp(a: Timestamp, b: Timestamp): Timestamp {
  return a < b ? a : b;
}
