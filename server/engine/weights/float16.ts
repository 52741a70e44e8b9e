/**
 * IEEE 754 half precision for weight storage (Node 20 has no Float16Array). Weights are kept as
 * float16 on disk only: they are widened to float32 when read, so every kernel still runs in
 * float32. Rounding is to nearest, ties to even, as hardware converters do.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bit pattern nearest to `value` (overflow → ±Infinity, NaN stays NaN). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: the value is m·2⁻²⁴ with m the full 24-bit significand shifted down.
    const shift = 14 - e;
    if (shift > 24) return sign;
    const significand = mantissa | 0x800000;
    return sign | roundShift(significand, shift);
  }
  // A carry out of the mantissa rounds up into the exponent, and from the largest finite
  // value into Infinity, which is what the bit layout gives for free.
  return sign | ((e << 10) + roundShift(mantissa, 13));
}

/** `value >> shift`, rounded to nearest, ties to even. */
function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa !== 0 ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** float32 values → little-endian float16 bytes. */
export function encodeFloat16(values: Float32Array): Buffer {
  const out = Buffer.alloc(values.length * 2);
  for (let i = 0; i < values.length; i++) out.writeUInt16LE(toFloat16Bits(values[i]!), i * 2);
  return out;
}

/** Every float16 value as float32, built on first use: loading a store is then one lookup per weight. */
let table: Float32Array | undefined;

/** Little-endian float16 bytes → float32 values. */
export function decodeFloat16(bytes: Uint8Array): Float32Array {
  if (!table) {
    table = new Float32Array(0x10000);
    for (let bits = 0; bits < 0x10000; bits++) table[bits] = fromFloat16Bits(bits);
  }
  const out = new Float32Array(bytes.length >>> 1);
  for (let i = 0; i < out.length; i++) out[i] = table[bytes[2 * i]! | (bytes[2 * i + 1]! << 8)]!;
  return out;
}

/** Each value rounded to the nearest float16 (what a float16 store gives back). */
export function roundToFloat16(values: Float32Array): Float32Array {
  return decodeFloat16(encodeFloat16(values));
}
