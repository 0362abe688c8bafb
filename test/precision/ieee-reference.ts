// An independent reference for the cast tests: IEEE 754 conversions from the definitions, with integer
// arithmetic on the bit fields and DataView, sharing nothing with the code under test.
const view = new DataView(new ArrayBuffer(8));

export function f32Bits(value: number): number {
  view.setFloat32(0, value);
  return view.getUint32(0);
}

export function bitsF32(bits: number): number {
  view.setUint32(0, bits >>> 0);
  return view.getFloat32(0);
}

/** Rounds the non-negative integer `n / 2^shift` to the nearest integer, ties to even. */
function roundShift(n: number, shift: number): number {
  if (shift <= 0) return n * 2 ** -shift;
  const unit = 2 ** shift;
  const quotient = Math.floor(n / unit);
  const remainder = n - quotient * unit;
  const half = unit / 2;
  if (remainder > half || (remainder === half && quotient % 2 === 1)) return quotient + 1;
  return quotient;
}

/** A finite f32 as an integer significand and a power of two: value = significand * 2^exponent. */
function decodeF32(bits: number): { sign: number; significand: number; exponent: number } {
  const sign = bits >>> 31;
  const field = (bits >>> 23) & 0xff;
  const fraction = bits & 0x7fffff;
  if (field === 0) return { sign, significand: fraction, exponent: -149 };
  return { sign, significand: fraction + 0x800000, exponent: field - 150 };
}

function isNanBits(bits: number): boolean {
  return ((bits >>> 23) & 0xff) === 0xff && (bits & 0x7fffff) !== 0;
}

/**
 * A finite f32 rounded to a binary format with `mantissaBits` stored bits and exponent range
 * [minExponent, maxExponent] (unbiased, of normal numbers): returns the target's bit pattern.
 */
function roundToFormat(bits: number, mantissaBits: number, exponentBits: number): number {
  const bias = 2 ** (exponentBits - 1) - 1;
  const minNormal = 1 - bias;
  const infinity = (2 ** exponentBits - 1) * 2 ** mantissaBits;
  const { sign, significand, exponent } = decodeF32(bits);
  const signBit = sign * 2 ** (exponentBits + mantissaBits);
  if (significand === 0) return signBit;
  // Position of the leading one: value in [2^lead, 2^(lead+1)).
  const lead = Math.floor(Math.log2(significand)) + exponent;
  // The target's quantum (value of its last mantissa bit) at that magnitude; subnormals share the minimum.
  const quantumExponent = Math.max(lead, minNormal) - mantissaBits;
  let units = roundShift(significand, quantumExponent - exponent);
  let q = quantumExponent;
  if (units === 2 ** (mantissaBits + 1)) {
    units /= 2;
    q += 1;
  }
  if (units < 2 ** mantissaBits) return signBit + units; // subnormal (or zero)
  const unbiased = q + mantissaBits;
  const field = unbiased + bias;
  if (field >= 2 ** exponentBits - 1) return signBit + infinity;
  return signBit + field * 2 ** mantissaBits + (units - 2 ** mantissaBits);
}

export function refF32ToBf16(bits: number): number {
  bits >>>= 0;
  if (isNanBits(bits)) return ((bits >>> 16) | 0x0040) & 0xffff;
  if (((bits >>> 23) & 0xff) === 0xff) return bits >>> 16; // ±Inf
  return roundToFormat(bits, 7, 8);
}

export function refF32ToF16(bits: number): number {
  bits >>>= 0;
  const sign = (bits >>> 31) << 15;
  if (isNanBits(bits)) return sign | 0x7e00 | ((bits & 0x7fffff) >>> 13);
  if (((bits >>> 23) & 0xff) === 0xff) return sign | 0x7c00;
  return roundToFormat(bits, 10, 5);
}

export function refBf16ToF32Bits(half: number): number {
  return (half << 16) >>> 0;
}

export function refF16ToF32Bits(half: number): number {
  const sign = half >>> 15;
  const field = (half >>> 10) & 0x1f;
  const fraction = half & 0x3ff;
  if (field === 0x1f) {
    if (fraction === 0) return ((sign << 31) | 0x7f800000) >>> 0;
    return ((sign << 31) | 0x7fc00000 | (fraction << 13)) >>> 0; // quieted, payload kept
  }
  const magnitude = field === 0 ? fraction * 2 ** -24 : (fraction + 1024) * 2 ** (field - 25);
  return f32Bits(sign ? -magnitude : magnitude);
}

/** f64 -> f32: Math.fround is IEEE round-to-nearest-even; NaNs keep sign and top payload bits, quieted. */
export function refF64ToF32Bits(value: number, f64View: DataView, offset: number): number {
  if (Number.isNaN(value)) {
    const high = f64View.getUint32(offset + 4, true);
    const low = f64View.getUint32(offset, true);
    const fraction = ((high & 0xfffff) << 3) | (low >>> 29); // the top 23 of the 52 fraction bits
    return ((high & 0x80000000) | 0x7fc00000 | (fraction & 0x7fffff)) >>> 0;
  }
  return f32Bits(Math.fround(value));
}

/** f32 -> f64 bits as [low, high] words (little-endian order of a Float64Array). */
export function refF32ToF64Words(bits: number): [number, number] {
  bits >>>= 0;
  if (isNanBits(bits)) {
    const fraction = bits & 0x3fffff;
    const high = (bits & 0x80000000) | 0x7ff80000 | (fraction >>> 3);
    const low = (fraction & 0x7) << 29;
    return [low >>> 0, high >>> 0];
  }
  view.setFloat64(0, bitsF32(bits), true);
  return [view.getUint32(0, true), view.getUint32(4, true)];
}

/** Value of a bf16/f16 pattern as a JS number (NaN for NaNs). */
export function halfValue(half: number, format: 'bf16' | 'f16'): number {
  return bitsF32(format === 'bf16' ? refBf16ToF32Bits(half) : refF16ToF32Bits(half));
}
