// The error every rank throws when values overflowed to ±Inf in a bf16/f16 wire format.
import { JouleError } from '../errors';
import type { WirePrecision } from './types';

export function wireOverflowError(what: string, overflows: number, wire: WirePrecision | undefined, rank: number): JouleError {
  return new JouleError(
    'JOULE_WIRE_OVERFLOW',
    `${what}: ${overflows} element(s) overflowed to ±Inf in the ${wire} wire ` +
      `format (largest finite: ${wire === 'f16' ? '65504' : '3.39e38'}); the output holds them as Inf. Scale the values down ` +
      `(loss scaling) or use wire 'bf16' or 'native'.`,
    { rank, overflows, wire },
  );
}
