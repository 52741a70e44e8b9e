/** float16 storage of weights: bit patterns, rounding, subnormals, and the error bound. */
import { describe, expect, it } from 'vitest';
import { decodeFloat16, encodeFloat16, fromFloat16Bits, roundToFloat16, toFloat16Bits } from '../../server/engine/weights/float16.js';
import { seededValues } from '../helpers/backend.js';

describe('float16', () => {
  it('gives the IEEE 754 half bit patterns', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [0.1, 0x2e66],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal
      [1e-9, 0x0000], // underflows to zero
      [70000, 0x7c00], // overflows to infinity
      [Number.NEGATIVE_INFINITY, 0xfc00],
    ];
    for (const [value, bits] of cases) {
      expect(toFloat16Bits(value), String(value)).toBe(bits);
      if (Number.isFinite(fromFloat16Bits(bits)) && value !== 1e-9 && value !== 0.1) expect(fromFloat16Bits(bits)).toBe(value);
    }
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN)))).toBe(true);
  });

  it('rounds to nearest, ties to even, also into the next exponent and across the subnormal edge', () => {
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even (down)
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(toFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above the tie
    expect(toFloat16Bits(2 - 2 ** -12)).toBe(0x4000); // carries into the exponent
    expect(toFloat16Bits(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal → 0
    expect(toFloat16Bits(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 subnormal units → 2
    expect(toFloat16Bits(2 ** -14 - 2 ** -26)).toBe(0x0400); // rounds up out of the subnormals
    expect(toFloat16Bits(65520)).toBe(0x7c00); // the tie above the largest finite → infinity
  });

  it('keeps every normal value within half a unit (2⁻¹¹ relative) and round-trips through bytes', () => {
    const values = seededValues(10_000, 7).map((v, i) => v * 10 ** ((i % 9) - 4));
    const rounded = roundToFloat16(values);
    let worst = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      // Normal: half a unit in the last place; subnormal: half of 2⁻²⁴.
      const bound = Math.abs(v) >= 2 ** -14 ? Math.abs(v) * 2 ** -11 : 2 ** -25;
      worst = Math.max(worst, Math.abs(rounded[i]! - v) / bound);
    }
    expect(worst).toBeGreaterThan(0.5);
    expect(worst).toBeLessThanOrEqual(1);
    expect(roundToFloat16(rounded)).toEqual(rounded);
    const bytes = encodeFloat16(rounded);
    expect(bytes.length).toBe(values.length * 2);
    expect(decodeFloat16(bytes)).toEqual(rounded);
  });
});
