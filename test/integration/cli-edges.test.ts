/** The real `stylize` binary on the rough edges a new user hits: each answered by one clear line. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawScene, drawSwirls } from '../../fixtures/draw.js';
import { makeClip } from '../helpers/media.js';
import { ROOT, tempDir } from '../helpers/paths.js';

let dir: string;
let cleanup: () => Promise<void>;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs in the temp directory, so relative paths in the tests are the ones the user typed. */
function stylize(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/stylize.js'), ...args],
      { cwd: dir, env: { ...process.env, STYLIZE_BACKEND: 'wasm', STYLIZE_MODELS_DIR: path.join(dir, 'models'), ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function lines(text: string): string[] {
  return text.trim().split('\n');
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  const scene = drawScene(120, 80);
  await sharp(scene.data, { raw: { width: 120, height: 80, channels: 3 } }).jpeg().toFile(path.join(dir, 'scene.jpg'));
  const swirls = drawSwirls(96, 96);
  await sharp(swirls.data, { raw: { width: 96, height: 96, channels: 3 } }).png().toFile(path.join(dir, 'swirls.png'));
  await makeClip(path.join(dir, 'clip.mp4'), [
    '-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=10', '-f', 'lavfi', '-i', 'sine', '-t', '1',
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
  ]);
});
afterAll(() => cleanup());

describe('the output is checked before any work', () => {
  it('stylize image: a missing folder, a format it cannot write, a folder or a file in the way', async () => {
    const nodir = await stylize(['image', 'scene.jpg', '--style', 'swirls.png', '-o', 'nodir/x.png']);
    expect(nodir.code).toBe(2);
    // One line only: no "backend …" or "model …" line, so nothing was loaded or painted.
    expect(lines(nodir.stderr)).toEqual([
      'stylize: error [BAD_INPUT]: cannot write nodir/x.png: the folder nodir does not exist; create it first or choose another -o',
    ]);

    const gif = await stylize(['image', 'scene.jpg', '--style', 'swirls.png', '-o', 'x.gif']);
    expect(gif.code).toBe(2);
    expect(lines(gif.stderr)).toEqual([
      'stylize: error [BAD_INPUT]: cannot write x.gif: .gif is not an image format stylize writes; end it in .png, .jpg, .jpeg or .webp',
    ]);
    expect(existsSync(path.join(dir, 'x.gif'))).toBe(false);

    await mkdir(path.join(dir, 'taken.png'));
    const folder = await stylize(['image', 'scene.jpg', '--style', 'swirls.png', '-o', 'taken.png']);
    expect([folder.code, lines(folder.stderr)]).toEqual([2, [expect.stringMatching(/^stylize: error \[BAD_INPUT\]: cannot write taken\.png: it is a folder/)]]);

    const file = await stylize(['image', 'scene.jpg', '--style', 'swirls.png', '-o', 'scene.jpg/x.png']);
    expect([file.code, lines(file.stderr)]).toEqual([2, [expect.stringMatching(/^stylize: error \[BAD_INPUT\]: cannot write scene\.jpg\/x\.png: scene\.jpg is not a folder/)]]);
  });

  it('stylize video: a missing folder or a name that is not .mp4', async () => {
    const nodir = await stylize(['video', 'clip.mp4', '--style', 'swirls.png', '-o', 'nodir/x.mp4']);
    expect([nodir.code, lines(nodir.stderr)]).toEqual([
      2,
      ['stylize: error [BAD_INPUT]: cannot write nodir/x.mp4: the folder nodir does not exist; create it first or choose another -o'],
    ]);
    const gif = await stylize(['video', 'clip.mp4', '--style', 'swirls.png', '-o', 'x.gif']);
    expect([gif.code, lines(gif.stderr)]).toEqual([2, ['stylize: error [BAD_INPUT]: cannot write x.gif: stylize video writes MP4; end the name in .mp4']]);
    expect(existsSync(path.join(dir, 'x.gif'))).toBe(false);
  });
});

describe('stylize video names what is wrong with the input', () => {
  it('a missing file is FILE_NOT_FOUND, like stylize image', async () => {
    const run = await stylize(['video', 'missing.mp4', '--style', 'swirls.png', '-o', 'out.mp4']);
    expect([run.code, lines(run.stderr)]).toEqual([2, ['stylize: error [FILE_NOT_FOUND]: no such file: missing.mp4']]);
  });

  it('a JPEG, a PNG, and a JPEG named .mp4 are images, not videos', async () => {
    await copyFile(path.join(dir, 'scene.jpg'), path.join(dir, 'photo.mp4'));
    for (const input of ['scene.jpg', 'swirls.png', 'photo.mp4']) {
      const run = await stylize(['video', input, '--style', 'swirls.png', '-o', 'out.mp4']);
      expect(run.code, input).toBe(2);
      expect(lines(run.stderr), input).toEqual([`stylize: error [BAD_INPUT]: ${input} is an image, not a video: give a video file (MP4/MOV, WebM/MKV, AVI, MPEG-TS, Ogg)`]);
    }
  });
});

describe('stylize video shows its last step', () => {
  it('prints the full progress line once, then "assembling MP4 with audio…", then "done: <path> (<s> s)"', async () => {
    const run = await stylize(['video', 'clip.mp4', '--style', 'swirls.png', '--size', '32', '--steps-per-frame', '1', '--first-frame-steps', '1', '--workers', '1', '-o', 'painted.mp4']);
    expect(run.code, run.stderr).toBe(0);
    const err = lines(run.stderr);
    const full = err.filter((line) => line.startsWith('frames 10/10'));
    expect(full, run.stderr).toHaveLength(1);
    const assembling = err.indexOf('assembling MP4 with audio…');
    expect(assembling, run.stderr).toBeGreaterThan(err.indexOf(full[0]!));
    expect(err.filter((line) => line.startsWith('assembling'))).toHaveLength(1);
    expect(err.at(-1)).toMatch(/^done: painted\.mp4 \(\d+\.\d s\)$/);
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ output: 'painted.mp4', frames: 10, progress: 1 });
    expect((await stat(path.join(dir, 'painted.mp4'))).size).toBeGreaterThan(0);
  });
});

describe('--style is a file or a style id in every command (issue 23)', () => {
  const ids = /one of: starry-night, great-wave, .*, swirls, strokes, ripples, mosaic$/;
  // A data directory of its own: no uploads but the test's own (and nothing written to the checkout's).
  let own: Record<string, string>;
  beforeAll(() => {
    own = { STYLIZE_DATA_DIR: path.join(dir, 'style-data') };
  });

  it('stylize image and stylize video paint with a built-in style id, as painters train takes it', async () => {
    const image = await stylize(['image', 'scene.jpg', '--style', 'starry-night,swirls', '--model', 'random-multiscale', '--size', '40', '--steps', '1', '-o', 'by-id.png'], own);
    expect(image.code, image.stderr).toBe(0);
    expect(JSON.parse(lines(image.stdout).at(-1)!)).toMatchObject({ output: 'by-id.png', steps: 1 });
    expect((await stat(path.join(dir, 'by-id.png'))).size).toBeGreaterThan(0);

    const video = await stylize(['video', 'clip.mp4', '--style', 'great-wave', '--model', 'random-multiscale', '--size', '32', '--steps-per-frame', '0', '--first-frame-steps', '1', '--workers', '1', '-o', 'by-id.mp4'], own);
    expect(video.code, video.stderr).toBe(0);
    expect(JSON.parse(video.stdout.trim())).toMatchObject({ output: 'by-id.mp4', frames: 10 });
  });

  it('neither a file nor a style id: one line naming the ids, exit 2, the same in every command', async () => {
    const runs = {
      image: await stylize(['image', 'scene.jpg', '--style', 'starry', '-o', 'x.png'], own),
      video: await stylize(['video', 'clip.mp4', '--style', 'starry', '-o', 'x.mp4'], own),
      train: await stylize(['painters', 'train', '--style', 'starry'], own),
    };
    for (const [command, run] of Object.entries(runs)) {
      expect(run.code, command).toBe(2);
      expect(lines(run.stderr), command).toEqual([expect.stringMatching(/^stylize: error \[UNKNOWN_STYLE\]: --style starry: no such file, and no style with that id; give an image file or /)]);
      expect(run.stderr.trim(), command).toMatch(ids);
    }
  });

  it('stylize painters train takes an image file: kept as the page would keep its upload, trained under that id', async () => {
    const data = path.join(dir, 'train-data');
    const run = await stylize(['painters', 'train', '--style', 'swirls.png', '--steps', '1', '--clip', 'clip.mp4', '--model', 'random-multiscale', '--size', '32'], { STYLIZE_DATA_DIR: data });
    expect(run.code, run.stderr).toBe(0);
    const { style } = JSON.parse(lines(run.stdout).at(-1)!) as { style: string };
    expect(style).toMatch(/^user-[0-9a-f]{16}$/);
    expect(run.stderr).toContain(`swirls.png is the style ${style}`);
    expect(existsSync(path.join(data, 'styles', `${style}.png`))).toBe(true);
  });
});

describe('a word that is not a subcommand', () => {
  it('stylize painters bogus / stylize models bogus name the word and the subcommands, exit 2', async () => {
    const painters = await stylize(['painters', 'bogus']);
    expect([painters.code, lines(painters.stderr)]).toEqual([2, ['stylize: error [BAD_INPUT]: "bogus" is not a painters subcommand; use one of: list, clear, train (stylize painters --help)']]);
    const models = await stylize(['models', 'bogus']);
    expect([models.code, lines(models.stderr)]).toEqual([2, [expect.stringMatching(/^stylize: error \[BAD_INPUT\]: "bogus" is not a models subcommand; use one of: list, fetch, import/)]]);
    const extra = await stylize(['painters', 'list', 'bogus']);
    expect([extra.code, lines(extra.stderr)]).toEqual([2, ['stylize: error [BAD_INPUT]: "painters list" takes no arguments (got "bogus")']]);
    // The default is still the default.
    const list = await stylize(['painters'], { STYLIZE_DATA_DIR: path.join(dir, 'empty-data') });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/no learned painters in /);
  });
});

describe('stylize serve on a busy port', () => {
  it('says so in one line with the --port hint and exits 2', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const run = await stylize(['serve', '--port', String(port), '--host', '127.0.0.1', '--backend', 'wasm', '--model', 'random-multiscale', '--data-dir', path.join(dir, 'data')]);
      expect(run.code).toBe(2);
      expect(lines(run.stderr)).toEqual([`stylize: error [PORT_IN_USE]: port ${port} is already in use; pick another with --port or PORT`]);
      expect(run.stdout).not.toMatch(/listening/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});

describe('stylize --version', () => {
  it('prints the version from package.json, with --version and -V', async () => {
    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await stylize([flag]);
      expect([run.code, run.stdout, run.stderr]).toEqual([0, `${version}\n`, '']);
    }
  });
});
