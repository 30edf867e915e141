// Kinds of message carried on log channels. The numbers are stored in every log record header and
// must never be reused for another meaning.
export const MsgType = {
  Insert: 1,
  Delete: 2,
  TimeTick: 3,
  CreateCollection: 4,
  DropCollection: 5,
  CreatePartition: 6,
  DropPartition: 7,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

export function isMsgType(value: number): value is MsgType {
  return Number.isInteger(value) && value >= 1 && value <= 7;
}
