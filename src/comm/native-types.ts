// The numeric codes shared with native/comm/types.h (kept in one place on each side).
import type { DType, ReduceOp, WirePrecision } from './types';

export const dtypeCode: Record<DType, number> = { f32: 0, f64: 1, i32: 2, i64: 3, bf16: 4, f16: 5 };
export const redopCode: Record<ReduceOp, number> = { sum: 0, avg: 1, max: 2, min: 3, prod: 4 };
export const wireCode: Record<WirePrecision, number> = { native: 0, bf16: 1, f16: 2 };
export const kindCode = {
  barrier: 0,
  allreduce: 1,
  broadcast: 2,
  allgather: 3,
  reduceScatter: 4,
  reduce: 5,
  send: 6,
  recv: 7,
} as const;
export type OpKind = keyof typeof kindCode;

export const dtypeBytes: Record<DType, number> = { f32: 4, f64: 8, i32: 4, i64: 8, bf16: 2, f16: 2 };
