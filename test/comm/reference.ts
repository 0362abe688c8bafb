// Independent reference arithmetic for communicator tests: IEEE half formats decoded and encoded with
// integer arithmetic and DataView (never through the code under test), and the reductions per dtype.
import type { DType, ReduceOp } from '../../src/comm/types';

const view = new DataView(new ArrayBuffer(4));

export function bf16ToNumber(bits: number): number {
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}

export function f16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Exact encodings only (the test uses values every format represents exactly). */
export function numberToBf16(value: number): number {
  view.setFloat32(0, value);
  const bits = view.getUint32(0);
  if ((bits & 0xffff) !== 0) throw new Error(`${value} is not exact in bf16`);
  return bits >>> 16;
}

export function numberToF16(value: number): number {
  if (Object.is(value, -0)) return 0x8000;
  if (value === 0) return 0;
  const sign = value < 0 ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  const exponent = Math.floor(Math.log2(magnitude));
  if (exponent < -14) {
    const mantissa = magnitude / 2 ** -24;
    if (!Number.isInteger(mantissa)) throw new Error(`${value} is not exact in f16`);
    return sign | mantissa;
  }
  const mantissa = (magnitude / 2 ** exponent - 1) * 1024;
  if (!Number.isInteger(mantissa) || exponent > 15) throw new Error(`${value} is not exact in f16`);
  return sign | ((exponent + 15) << 10) | mantissa;
}

/** Rounds a finite float32 value to bf16 or f16 (normal range), to nearest, ties to even, by scaling. */
export function roundToHalf(dtype: 'bf16' | 'f16', value: number): number {
  if (value === 0) return value;
  const ulp = 2 ** (Math.floor(Math.log2(Math.abs(value))) - (dtype === 'bf16' ? 7 : 10));
  const q = value / ulp;
  const floor = Math.floor(q);
  const rest = q - floor;
  const rounded = rest > 0.5 || (rest === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
  return rounded * ulp;
}

export function decode(dtype: DType, raw: number | bigint): number | bigint {
  if (dtype === 'bf16') return bf16ToNumber(raw as number);
  if (dtype === 'f16') return f16ToNumber(raw as number);
  return raw;
}

export function encode(dtype: DType, value: number | bigint): number | bigint {
  if (dtype === 'bf16') return numberToBf16(value as number);
  if (dtype === 'f16') return numberToF16(value as number);
  if (dtype === 'f32') return Math.fround(value as number);
  return value;
}

/** Reduces per-rank values (decoded numbers, or bigint for i64) the way the dtype's arithmetic does. */
export function reduceValues(dtype: DType, op: ReduceOp, values: (number | bigint)[]): number | bigint {
  if (dtype === 'i64') {
    const v = values as bigint[];
    let acc = v[0];
    for (let i = 1; i < v.length; ++i) {
      if (op === 'sum' || op === 'avg') acc = BigInt.asIntN(64, acc + v[i]);
      else if (op === 'prod') acc = BigInt.asIntN(64, acc * v[i]);
      else if (op === 'max') acc = v[i] > acc ? v[i] : acc;
      else acc = v[i] < acc ? v[i] : acc;
    }
    return op === 'avg' ? acc / BigInt(v.length) : acc;
  }
  const v = values as number[];
  let acc = v[0];
  for (let i = 1; i < v.length; ++i) {
    if (dtype === 'i32' && (op === 'sum' || op === 'avg')) acc = (acc + v[i]) | 0;
    else if (dtype === 'i32' && op === 'prod') acc = Math.imul(acc, v[i]);
    else if (op === 'sum' || op === 'avg') acc += v[i];
    else if (op === 'prod') acc *= v[i];
    else if (op === 'max') acc = Math.max(acc, v[i]);
    else acc = Math.min(acc, v[i]);
  }
  if (op === 'avg') return dtype === 'i32' ? Math.trunc(acc / v.length) : acc / v.length;
  return acc;
}
