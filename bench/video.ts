/**
 * Video files: frames per second and real-time factor (video seconds per wall second) for the
 * repository's clips (fixtures/video), per model and size, with one worker process and with one per core.
 *
 *   npm run bench -- video [--clips a.mp4,b.webm] [--sizes 72,144] [--models random-multiscale,vgg19-blocks1-3]
 *                          [--steps-per-frame 2] [--first-frame-steps 20] [--temporal-weight 0] [--style <image>]
 *                          [--workers 1,2] [--painter off,learned] [--painter-steps 0] [--repeat 2] [--judge]
 *
 * --style: an image file (sent with the job, as the page's "your own image" is), or a style id
 * of the library (`starry-night`: the job gets the library's own file, as the page's gallery
 * sends it, so the painter shipped for a built-in painting is found). --judge: each finished job
 * is judged as the long quality bench judges a clip (video-judge.ts), after its time is taken.
 *
 * --gap (issue 22): each finished job's reference gap, patch gap and flicker, and its cost in
 * optimiser-step equivalents per frame (video-gap.ts); --job-defaults sends the options POST
 * /api/jobs fills in (not the seed's α 10, β 40); --mirror-seconds 6,30 plays each clip mirrored,
 * looped to those lengths. E.g. `--clips <bbb.webm> --mirror-seconds 6,30 --sizes 144
 * --models vgg19-blocks1-3 --workers 2 --style starry-night --job-defaults --painter off,keyframes --gap`.
 *
 * --painter learned (issue 12): the job learns a painter for the style on the clip's own frames
 * (training time included in the figures) and paints from it with --painter-steps optimiser
 * steps per frame; --repeat N runs the same job N times with the painters kept between runs, as
 * a second video in the same style would find them.
 */
import { access, copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { drawSwirls } from '../fixtures/draw.js';
import { decodeImage, encodeImage } from '../server/codec/image-codec.js';
import type { PainterMode } from '../server/config.js';
import { createLogger } from '../server/logger.js';
import { DEFAULT_MODELS_DIR, DEFAULT_STYLES_DIR } from '../server/paths.js';
import { createStyleLibrary } from '../server/styles/style-library.js';
import { DEFAULT_VIDEO_LIMITS } from '../server/video/ffmpeg.js';
import { createLocalJobQueue } from '../server/jobs/local/local-job-queue.js';
import { BBB_MP4, COCKATOO } from '../test/helpers/paths.js';
import { createVideoJudge, type VideoJudge } from './video-judge.js';
import { createVideoGapJudge, VIDEO_GAP_OUT } from './video-gap.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sizeForShortSide } from '../server/codec/image-codec.js';
import { parseVideoJobOptions } from '../server/config.js';
import { findFfmpeg } from '../server/video/ffmpeg.js';


export async function runVideoBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      clips: { type: 'string', default: [BBB_MP4, COCKATOO].join(',') },
      sizes: { type: 'string', default: '72,144' },
      models: { type: 'string', default: 'random-multiscale,vgg19-blocks1-3' },
      'steps-per-frame': { type: 'string', default: '2' },
      'first-frame-steps': { type: 'string', default: '20' },
      'temporal-weight': { type: 'string', default: '0' },
      style: { type: 'string' },
      workers: { type: 'string' },
      painter: { type: 'string', default: 'off' },
      'painter-steps': { type: 'string', default: '0' },
      repeat: { type: 'string', default: '1' },
      judge: { type: 'boolean', default: false },
      /** Issue 22: reference gap, patch gap, flicker and optimiser-step equivalents per frame (video-gap.ts). */
      gap: { type: 'boolean', default: false },
      /** The job's options as POST /api/jobs fills them in (strength, recipe, steps), not the seed's α 10, β 40. */
      'job-defaults': { type: 'boolean', default: false },
      /** Each clip mirrored and looped to these lengths (comma-separated seconds) instead of as it is. */
      'mirror-seconds': { type: 'string' },
    },
  });
  const cores = os.availableParallelism();
  const library = await libraryStyle(values.style);
  const styleFileBytes = values.style && !library ? new Uint8Array(await readFile(values.style)) : undefined;
  const style = library ? await decodeImage(library, { longSide: 1024 }) : styleFileBytes ? await decodeImage(styleFileBytes, { longSide: 512 }) : drawSwirls(512, 512);
  const styleBytes = library ?? styleFileBytes ?? (await encodeImage(style, 'png'));
  const judge: VideoJudge | undefined = values.judge ? await createVideoJudge(styleBytes) : undefined;
  const gapJudge = values.gap ? await createVideoGapJudge(await decodeImage(styleBytes, { longSide: 256 }), styleBytes) : undefined;
  const clips = values['mirror-seconds'] ? await mirroredClips(values.clips.split(','), values['mirror-seconds'].split(',').map(Number)) : values.clips.split(',');
  const workerCounts = values.workers ? values.workers.split(',').map(Number) : [...new Set([1, cores])];
  // Painters are kept across the runs of this bench (a second video in the same style finds them).
  const paintersDir = await mkdtemp(path.join(os.tmpdir(), 'stylize-bench-painters-'));
  for (const clip of clips) {
    for (const model of values.models.split(',')) {
      for (const size of values.sizes.split(',').map(Number)) {
        for (const workers of workerCounts) for (const painter of values.painter.split(',') as PainterMode[]) for (let run = 1; run <= (painter === 'learned' ? Number(values.repeat) : 1); run++) {
          const dataDir = await mkdtemp(path.join(os.tmpdir(), 'stylize-bench-video-'));
          const runner = createLocalJobQueue({
            dataDir,
            workers,
            limits: DEFAULT_VIDEO_LIMITS,
            model: model === 'vgg19-blocks1-3' ? 'vgg19-blocks1-3' : 'random-multiscale',
            weights: undefined,
            modelsDir: DEFAULT_MODELS_DIR,
            seed: 42,
            backend: 'wasm',
            log: createLogger('warn'),
            paintersDir,
          });
          try {
            const staged = path.join(dataDir, 'input');
            await copyFile(clip, staged);
            const started = performance.now();
            const job = await runner.submit({
              inputPath: staged,
              inputName: path.basename(clip),
              style: async () => style,
              ...(library ? { styleBytes: async () => library } : {}),
              styleName: values.style ? path.basename(values.style) : 'swirls',
              options: values['job-defaults']
                ? parseVideoJobOptions({ size, painter })
                : {
                    size,
                    stepsPerFrame: Number(painter === 'learned' ? values['painter-steps'] : values['steps-per-frame']),
                    firstFrameSteps: Number(values['first-frame-steps']),
                    contentWeight: 10,
                    styleWeight: 40,
                    preserveColors: false,
                    motion: 'flow',
                    temporalWeight: Number(values['temporal-weight']),
                    painter,
                  },
            });
            let final = job;
            for await (const update of runner.watch(job.id)) final = update;
            const seconds = (performance.now() - started) / 1000;
            const info = final.info!;
            const output = await runner.output(job.id);
            const tag = `${path.basename(clip, path.extname(clip))}-${size}-${painter}${painter === 'learned' ? `-${values['painter-steps']}steps-run${run}` : ''}`;
            const judged = judge && output && 'path' in output ? await judge.judge(clip, output.path, size, tag) : undefined;
            const work = sizeForShortSide(info, size);
            const stepSeconds = gapJudge ? await gapJudge.stepSeconds(work) : undefined;
            await mkdir(VIDEO_GAP_OUT, { recursive: true });
            const gap = gapJudge && output && 'path' in output ? await gapJudge.judge(clip, output.path, work, path.join(VIDEO_GAP_OUT, `${tag}.png`)) : undefined;
            process.stdout.write(
              `${JSON.stringify({
                bench: 'video',
                clip: path.basename(clip),
                model,
                size,
                workers,
                painter,
                ...(painter === 'learned' ? { painterSteps: Number(values['painter-steps']), run } : {}),
                status: final.status,
                frames: final.framesTotal,
                seconds: Math.round(seconds * 10) / 10,
                fps: Math.round((final.framesTotal / seconds) * 10) / 10,
                realTimeFactor: Math.round((info.durationS / seconds) * 100) / 100,
                ...(judged ? { judged } : {}),
                ...(gap && stepSeconds ? { stepEquivalentsPerFrame: Math.round((seconds / (final.framesTotal * stepSeconds)) * 100) / 100, stepMs: Math.round(stepSeconds * 1000), ...gap } : {}),
              })}\n`,
            );
          } finally {
            await runner.close();
            await rm(dataDir, { recursive: true, force: true });
          }
        }
      }
    }
  }
  await rm(paintersDir, { recursive: true, force: true });
  judge?.dispose();
  gapJudge?.dispose();
}

/** Each clip mirrored and looped to each length (H.264, audio dropped), made once in bench/out/video. */
async function mirroredClips(clips: string[], lengths: number[]): Promise<string[]> {
  await mkdir(VIDEO_GAP_OUT, { recursive: true });
  const out: string[] = [];
  for (const clip of clips) {
    for (const seconds of lengths) {
      const file = path.join(VIDEO_GAP_OUT, `${path.basename(clip, path.extname(clip))}-mirrored-${seconds}s.mp4`);
      if (!(await access(file).then(() => true, () => false))) {
        await promisify(execFile)(findFfmpeg().ffmpeg, ['-v', 'error', '-y', '-stream_loop', '-1', '-i', clip, '-t', String(seconds), '-vf', 'hflip', '-an', '-c:v', 'libx264', '-crf', '16', '-pix_fmt', 'yuv420p', file]);
      }
      out.push(file);
    }
  }
  return out;
}

/** The library's own file for `--style` when it names a library style rather than a file. */
async function libraryStyle(style: string | undefined): Promise<Uint8Array | undefined> {
  if (!style) return undefined;
  const isFile = await access(style).then(() => true, () => false);
  if (isFile) return undefined;
  const styles = createStyleLibrary({ stylesDir: DEFAULT_STYLES_DIR, uploadsDir: path.join(os.tmpdir(), 'stylize-bench-no-uploads') });
  if (!(await styles.has(style))) throw new RangeError(`--style ${style}: neither a file nor a style id (${(await styles.list()).map((s) => s.id).join(', ')})`);
  return new Uint8Array((await styles.image(style)).bytes);
}
