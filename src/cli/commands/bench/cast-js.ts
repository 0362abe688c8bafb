// The plain JavaScript loops `joule bench cast` compares the native casts with: what a script would
// write without joule (straightforward per-element loops on typed arrays, same rounding rules).
import type { CastArray } from '../../../precision/cast';

function f32ToBf16(input: Float32Array, output: Uint16Array): void {
  const bits = new Uint32Array(input.buffer, input.byteOffset, input.length);
  for (let i = 0; i < bits.length; ++i) {
    const b = bits[i];
    if ((b & 0x7fffffff) > 0x7f800000) output[i] = (b >>> 16) | 0x40;
    else output[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
}

function f32ToF16(input: Float32Array, output: Uint16Array): void {
  const bits = new Uint32Array(input.buffer, input.byteOffset, input.length);
  for (let i = 0; i < bits.length; ++i) {
    const b = bits[i];
    const sign = (b >>> 16) & 0x8000;
    const magnitude = b & 0x7fffffff;
    if (magnitude > 0x7f800000) output[i] = sign | 0x7e00 | ((magnitude >>> 13) & 0x3ff);
    else if (magnitude >= 0x477ff000) output[i] = sign | 0x7c00;
    else if (magnitude >= 0x38800000) output[i] = sign | ((magnitude - 0x38000000 + 0xfff + ((magnitude >>> 13) & 1)) >>> 13);
    else if (magnitude <= 0x33000000) output[i] = sign;
    else {
      const shift = 126 - (magnitude >>> 23);
      const mantissa = (magnitude & 0x7fffff) | 0x800000;
      let result = mantissa >>> shift;
      const remainder = mantissa & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      if (remainder > halfway || (remainder === halfway && result & 1)) result++;
      output[i] = sign | result;
    }
  }
}

function bf16ToF32(input: Uint16Array, output: Float32Array): void {
  const bits = new Uint32Array(output.buffer, output.byteOffset, output.length);
  for (let i = 0; i < input.length; ++i) bits[i] = input[i] << 16;
}

function f16ToF32(input: Uint16Array, output: Float32Array): void {
  for (let i = 0; i < input.length; ++i) {
    const h = input[i];
    const exponent = (h >>> 10) & 0x1f;
    const fraction = h & 0x3ff;
    const magnitude = exponent === 0 ? fraction * 2 ** -24 : exponent === 0x1f ? (fraction ? NaN : Infinity) : (fraction + 1024) * 2 ** (exponent - 25);
    output[i] = h & 0x8000 ? -magnitude : magnitude;
  }
}

function copyLoop(input: Float32Array | Float64Array, output: Float32Array | Float64Array): void {
  for (let i = 0; i < input.length; ++i) output[i] = input[i];
}

/** The JavaScript loop for one benchmark direction (the direction names `joule bench cast` uses). */
export function jsCast(direction: string): (input: CastArray, output: CastArray) => void {
  switch (direction) {
    case 'f32-bf16': return (i, o) => f32ToBf16(i as Float32Array, o as Uint16Array);
    case 'f32-f16': return (i, o) => f32ToF16(i as Float32Array, o as Uint16Array);
    case 'bf16-f32': return (i, o) => bf16ToF32(i as Uint16Array, o as Float32Array);
    case 'f16-f32': return (i, o) => f16ToF32(i as Uint16Array, o as Float32Array);
    default: return (i, o) => copyLoop(i as Float64Array, o as Float32Array);
  }
}
