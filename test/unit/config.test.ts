import { describe, expect, it } from 'vitest';
import { helpText, type FlagKind } from '../../server/cli/flag-table.js';
import { byteSizeOption, durationOption, formatByteSize, formatDuration, listOption, numberOption } from '../../server/cli/parse.js';
import { SERVE_FLAGS, SERVE_OPTIONS_WITHOUT_FLAG, readServeFlags, serveDefaults } from '../../server/cli/serve-flags.js';
import { DEFAULTS, LIMITS, SERVER_DEFAULTS, parseServerOptions, parseStylizeOptions, readEnv, serverOptionsSchema } from '../../server/config.js';
import { costWeightsForStrength } from '../../server/engine/style-strength.js';
import { liveDefaults, liveRanges, liveSettingsSchema } from '../../server/live/live-settings.js';
import { ConfigError } from '../../server/errors.js';

describe('parseStylizeOptions', () => {
  it('fills in the defaults: the default recipe, and α and β from the default style strength', () => {
    const o = parseStylizeOptions({});
    expect(o).toMatchObject({ size: 256, steps: 200, lr: 0.03, optimizer: DEFAULTS.optimizer, styleStrength: DEFAULTS.styleStrength, styleWeight: 40, tvWeight: 0, model: 'auto' });
    expect(o.contentWeight).toBe(costWeightsForStrength(DEFAULTS.styleStrength).contentWeight);
    expect(o.size).toBe(DEFAULTS.size);
  });

  it("α and β: explicit weights win, the seed's recipe keeps the seed's α 10 and β 40, else the style strength's (log scale)", () => {
    expect(parseStylizeOptions({ optimizer: 'adam-pixels' })).toMatchObject({ contentWeight: 10, styleWeight: 40 });
    expect(parseStylizeOptions({ optimizer: 'adam-pixels', styleStrength: 0.2 })).toMatchObject({ contentWeight: 10, styleWeight: 40 });
    expect(parseStylizeOptions({ contentWeight: 5 })).toMatchObject({ contentWeight: 5, styleWeight: 40 });
    expect(parseStylizeOptions({ styleWeight: 7, styleStrength: 0 })).toMatchObject({ contentWeight: 10, styleWeight: 7 });
    // 0 keeps the photo (α 10⁷), 1 paints as fully as the seed's α 10 does (α 10³); two decades of α each half.
    expect(parseStylizeOptions({ styleStrength: 1 })).toMatchObject({ contentWeight: 1000, styleWeight: 40 });
    expect(parseStylizeOptions({ styleStrength: 0 })).toMatchObject({ contentWeight: 1e7, styleWeight: 40 });
    expect(parseStylizeOptions({ styleStrength: 0.5 }).contentWeight).toBeCloseTo(1e5, 6);
    // A cold start takes the strength's share of the style's colours (all of them with explicit weights).
    expect(parseStylizeOptions({ styleStrength: 0.3 }).startColours).toBe(0.3);
    expect(parseStylizeOptions({ styleStrength: 0.3, contentWeight: 5 }).startColours).toBe(1);
    expect(() => parseStylizeOptions({ styleStrength: 1.5 })).toThrow(/--style-strength/);
    expect(() => parseStylizeOptions({ optimizer: 'sgd' })).toThrow(/--optimizer/);
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

  it('listens on loopback unless --host or STYLIZE_HOST says otherwise (the flag wins)', () => {
    expect(SERVER_DEFAULTS.host).toBe('127.0.0.1');
    expect(parseServerOptions({}, readEnv({}), paths).host).toBe('127.0.0.1');
    // HOST is the machine's name in some shells: not read.
    expect(parseServerOptions({}, readEnv({ HOST: 'my-laptop' }), paths).host).toBe('127.0.0.1');
    expect(parseServerOptions({}, readEnv({ STYLIZE_HOST: '0.0.0.0' }), paths).host).toBe('0.0.0.0');
    expect(parseServerOptions({ host: '::1' }, readEnv({ STYLIZE_HOST: '0.0.0.0' }), paths).host).toBe('::1');
  });
});

describe('stylize serve flags (one table, defaults from the schema)', () => {
  const defaults = serveDefaults();
  const PARSE: Partial<Record<FlagKind, (text: string) => unknown>> = { number: numberOption, bytes: byteSizeOption, seconds: durationOption, milliseconds: (text) => durationOption(text) * 1000, list: listOption };

  it('has a flag for every server option meant to be one, and names no option twice', () => {
    const keys = Object.keys(serverOptionsSchema.shape);
    const flagged = SERVE_FLAGS.map((f) => f.key);
    expect(new Set(flagged).size).toBe(flagged.length);
    expect(flagged.filter((k) => !keys.includes(k))).toEqual([]);
    expect(keys.filter((k) => !flagged.includes(k as never) && !(k in SERVE_OPTIONS_WITHOUT_FLAG))).toEqual([]);
    expect(Object.keys(SERVE_OPTIONS_WITHOUT_FLAG).filter((k) => flagged.includes(k as never))).toEqual([]);
  });

  it("prints each default as the table has it, in the flag's own units (10m, 24h, 256M)", () => {
    let checked = 0;
    for (const spec of SERVE_FLAGS) {
      const value = defaults[spec.key];
      const shown = /\(.*default ([^;)]+)\)$/.exec(helpText(spec, defaults))?.[1];
      const parse = PARSE[spec.kind ?? 'text'];
      if (value === undefined || spec.shownDefault !== undefined) continue;
      // What the help says is the default, read back as the flag would read it, is the table's value.
      expect([spec.flag, parse ? parse(shown!) : shown]).toEqual([spec.flag, typeof value === 'string' || parse ? value : String(value)]);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(30);
    const help = (flag: string): string => helpText(SERVE_FLAGS.find((f) => f.flag.startsWith(flag))!, defaults);
    expect(help('--room-idle')).toBe(`forget a room nobody used for this long (default ${formatDuration(SERVER_DEFAULTS.roomIdleMs / 1000)})`);
    expect([help('--room-idle'), help('--job-retention'), help('--min-free-disk')].map((h) => /default (\w+)/.exec(h)?.[1])).toEqual(['10m', '24h', '256M']);
    expect(help('--workers')).toMatch(/default one per core/);
  });

  it('turns parsed flags into server options, in their units', () => {
    const flags = { size: 96, roomIdle: 90, jobRetention: 3600, minFreeDisk: 1024, allowedHosts: ['a.example'], painter: 'learned' };
    expect(readServeFlags(flags)).toMatchObject({ liveSize: 96, roomIdleMs: 90_000, jobRetentionS: 3600, minFreeBytes: 1024, allowedHosts: ['a.example'], livePainter: 'learned', port: undefined });
  });

  it('formats durations and sizes so that the parsers read them back', () => {
    for (const seconds of [0.5, 15, 30, 120, 600, 86_400, 90]) expect(durationOption(formatDuration(seconds))).toBe(seconds);
    for (const bytes of [1, 1000, 1024, 256 * 1024 ** 2, 3 * 1024 ** 3]) expect(byteSizeOption(formatByteSize(bytes))).toBe(bytes);
  });
});

describe('live settings from the one table', () => {
  it('start from the server options and the engine defaults, within the schema', () => {
    const o = parseServerOptions({}, readEnv({}), { stylesDir: 's', dataDir: 'd', modelsDir: 'm' });
    const settings = liveDefaults(o, 'starry-night');
    expect(liveSettingsSchema.parse(settings)).toEqual(settings);
    expect(settings).toMatchObject({ size: o.liveSize, steps: o.liveSteps, targetFps: o.targetFps, styleStrength: DEFAULTS.styleStrength, optimizer: DEFAULTS.optimizer, temporalWeight: DEFAULTS.temporalWeight });
    expect(liveRanges({ maxSize: 360, maxSteps: 10 })).toMatchObject({ size: { min: LIMITS.minSize, max: 360 }, steps: { min: 0, max: 10 }, temporalWeight: { min: 0, max: LIMITS.maxTemporalWeight } });
  });
});
