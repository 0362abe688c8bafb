// Validation of collective arguments in TypeScript, before anything reaches native code.
import { JouleError } from '../errors';
import type { CommBuffer, DType } from './types';

export function badArgument(message: string): JouleError {
  return new JouleError('JOULE_BAD_ARGUMENT', message);
}

/** The dtype of a buffer; a Uint16Array needs `tag` ('bf16' | 'f16'), other arrays must not have one. */
export function dtypeOf(buffer: unknown, tag: unknown, what: string): DType {
  let dtype: DType | undefined;
  if (buffer instanceof Float32Array) dtype = 'f32';
  else if (buffer instanceof Float64Array) dtype = 'f64';
  else if (buffer instanceof Int32Array) dtype = 'i32';
  else if (buffer instanceof BigInt64Array) dtype = 'i64';
  else if (buffer instanceof Uint16Array) {
    if (tag !== 'bf16' && tag !== 'f16') {
      throw badArgument(`${what}: a Uint16Array holds bf16 or f16 bits; pass { dtype: 'bf16' } or { dtype: 'f16' }`);
    }
    return tag;
  } else {
    throw badArgument(`${what}: expected a Float32Array, Float64Array, Int32Array, BigInt64Array or Uint16Array (bf16/f16)`);
  }
  if (tag !== undefined) throw badArgument(`${what}: the dtype option is only for Uint16Array buffers (this one is ${dtype})`);
  return dtype;
}

export function checkSameKind(buffer: CommBuffer, other: unknown, what: string): void {
  if (!(other instanceof (buffer.constructor as new () => CommBuffer))) {
    throw badArgument(`${what}: must be a ${buffer.constructor.name} like the input`);
  }
}

export function checkLength(buffer: { length: number }, expected: number, what: string): void {
  if (buffer.length !== expected) throw badArgument(`${what}: has ${buffer.length} elements, expected ${expected}`);
}

export function checkRank(value: unknown, size: number, what: string): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) >= size) {
    throw badArgument(`${what}: must be an integer rank in [0, ${size}), got ${String(value)}`);
  }
  return value as number;
}

export function checkTimeout(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw badArgument(`${what}: timeoutS must be a positive number of seconds, got ${String(value)}`);
  }
  return value;
}

/** A zeroed buffer of `length` elements of `dtype` (bf16 and f16 live in a Uint16Array). */
export function newBuffer(dtype: DType, length: number): CommBuffer {
  switch (dtype) {
    case 'f32': return new Float32Array(length);
    case 'f64': return new Float64Array(length);
    case 'i32': return new Int32Array(length);
    case 'i64': return new BigInt64Array(length);
    default: return new Uint16Array(length);
  }
}
