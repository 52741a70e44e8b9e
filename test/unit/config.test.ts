import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseServerOptions, parseStylizeOptions, readEnv } from '../../server/config.js';
import { ConfigError } from '../../server/errors.js';

describe('parseStylizeOptions', () => {
  it("fills in the seed's defaults", () => {
    const o = parseStylizeOptions({});
    expect(o).toMatchObject({ size: 256, steps: 200, lr: 0.03, contentWeight: 10, styleWeight: 40, tvWeight: 0, model: 'auto' });
    expect(o.size).toBe(DEFAULTS.size);
  });

  it('names each bad flag and why', () => {
    expect(() => parseStylizeOptions({ size: 8 })).toThrow(ConfigError);
    expect(() => parseStylizeOptions({ size: 8 })).toThrow(/--size: .*32/);
    expect(() => parseStylizeOptions({ steps: -1, lr: 0 })).toThrow(/--steps: .*; --lr: /);
    expect(() => parseStylizeOptions({ model: 'alexnet' })).toThrow(/--model/);
    expect(() => parseStylizeOptions({ contentWeight: Number.NaN })).toThrow(/--content-weight/);
  });
});

describe('readEnv', () => {
  it('reads the backend override and rejects an unknown one', () => {
    expect(readEnv({ STYLIZE_BACKEND: 'cpu' }).backend).toBe('cpu');
    expect(readEnv({}).backend).toBeUndefined();
    expect(() => readEnv({ STYLIZE_BACKEND: 'tpu' })).toThrow(/STYLIZE_BACKEND/);
    expect(readEnv({ STYLIZE_WASM_THREADS: '2' }).wasmThreads).toBe(2);
  });
});

describe('parseServerOptions', () => {
  const paths = { stylesDir: 's', dataDir: 'd', modelsDir: 'm' };

  it('starts live streams in deadline mode at 10 fps, with a floor on the working size', () => {
    const o = parseServerOptions({}, readEnv({}), paths);
    expect(o).toMatchObject({ targetFps: 10, liveSteps: 4, liveSize: 144, minWorkingSize: 96 });
    // The environment and then a flag turn it off.
    expect(parseServerOptions({}, readEnv({ STYLIZE_TARGET_FPS: '0' }), paths).targetFps).toBe(0);
    expect(parseServerOptions({ targetFps: 0 }, readEnv({ STYLIZE_TARGET_FPS: '12' }), paths).targetFps).toBe(0);
    expect(parseServerOptions({ minWorkingSize: 128 }, readEnv({}), paths).minWorkingSize).toBe(128);
    expect(() => parseServerOptions({ minWorkingSize: 8 }, readEnv({}), paths)).toThrow(/--min-working-size/);
  });
});
