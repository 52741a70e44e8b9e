/** The wire format: header encode/decode and every malformed input. */
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, isProtocolError, parseClientMessage } from '../../server/live/protocol.js';

const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2]);

describe('frame header', () => {
  it('is seq and timestamp as big-endian uint32, then the JPEG', () => {
    const message = encodeFrame({ seq: 0x01020304, timestampMs: 0xa0b0c0d0 }, jpeg);
    expect([...message.subarray(0, 8)]).toEqual([1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0]);
    expect(message.subarray(8)).toEqual(jpeg);
    expect(decodeFrame(message)).toEqual({ seq: 0x01020304, timestampMs: 0xa0b0c0d0, jpeg });
  });

  it('wraps the timestamp modulo 2³²', () => {
    const frame = decodeFrame(encodeFrame({ seq: 1, timestampMs: 2 ** 32 + 5 }, jpeg));
    expect(frame).toMatchObject({ timestampMs: 5 });
  });

  it('reads a header at a non-zero byte offset (a slice of a larger buffer)', () => {
    const big = Buffer.concat([Buffer.alloc(3), encodeFrame({ seq: 9, timestampMs: 10 }, jpeg)]);
    expect(decodeFrame(big.subarray(3))).toMatchObject({ seq: 9, timestampMs: 10 });
  });

  it.each([
    ['empty', Buffer.alloc(0), /shorter than the 8-byte/],
    ['short header', Buffer.from([0, 0, 0, 1, 0]), /shorter than the 8-byte/],
    ['header only', Buffer.alloc(8), /not a JPEG/],
    ['PNG payload', Buffer.concat([Buffer.alloc(8), Buffer.from([0x89, 0x50, 0x4e, 0x47])]), /not a JPEG/],
    ['text payload', Buffer.concat([Buffer.alloc(8), Buffer.from('hello world')]), /not a JPEG/],
  ])('refuses %s with BAD_FRAME', (_name, data, message) => {
    const result = decodeFrame(data);
    expect(isProtocolError(result)).toBe(true);
    expect(result).toMatchObject({ code: 'BAD_FRAME', message: expect.stringMatching(message) });
  });
});

describe('client messages', () => {
  it('accepts a config with any subset of fields', () => {
    expect(parseClientMessage('{"type":"config"}')).toEqual({ type: 'config' });
    expect(
      parseClientMessage('{"type":"config","style":"swirls","size":144,"steps":3,"styleStrength":0.4,"optimizer":"adam-pixels","preserveColors":true,"targetFps":12}'),
    ).toEqual({ type: 'config', style: 'swirls', size: 144, steps: 3, styleStrength: 0.4, optimizer: 'adam-pixels', preserveColors: true, targetFps: 12 });
    expect(parseClientMessage('{"type":"config","targetFps":null}')).toEqual({ type: 'config', targetFps: null });
  });

  it.each([
    ['bad JSON', '{"type":', 'BAD_MESSAGE'],
    ['not an object', '[1,2]', 'BAD_MESSAGE'],
    ['a string', '"config"', 'BAD_MESSAGE'],
    ['no type', '{"style":"x"}', 'UNKNOWN_TYPE'],
    ['unknown type', '{"type":"subscribe"}', 'UNKNOWN_TYPE'],
    ['wrong field type', '{"type":"config","steps":"two"}', 'BAD_MESSAGE'],
    ['out of range', '{"type":"config","size":100000}', 'BAD_MESSAGE'],
    ['unknown field', '{"type":"config","colour":"red"}', 'BAD_MESSAGE'],
    ['huge number', '{"type":"config","styleWeight":1e309}', 'BAD_MESSAGE'],
  ])('refuses %s', (_name, text, code) => {
    const result = parseClientMessage(text);
    expect(isProtocolError(result)).toBe(true);
    expect(result).toMatchObject({ code });
  });
});
