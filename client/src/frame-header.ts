/** The 8-byte frame header of docs/protocol.md, in the browser (no Buffer here). */
export const HEADER_BYTES = 8;

export function withHeader(seq: number, timestampMs: number, jpeg: ArrayBuffer): ArrayBuffer {
  const out = new Uint8Array(HEADER_BYTES + jpeg.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, seq >>> 0);
  view.setUint32(4, timestampMs >>> 0);
  out.set(new Uint8Array(jpeg), HEADER_BYTES);
  return out.buffer;
}

export function readHeader(data: ArrayBuffer): { seq: number; timestampMs: number; jpeg: Blob } {
  const view = new DataView(data);
  return {
    seq: view.getUint32(0),
    timestampMs: view.getUint32(4),
    jpeg: new Blob([data.slice(HEADER_BYTES)], { type: 'image/jpeg' }),
  };
}

/** Our clock for timestamps, mod 2³² like the header. */
export function nowMs(): number {
  return Math.round(performance.now()) >>> 0;
}
