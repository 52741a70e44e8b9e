/**
 * Video files: frames per second and real-time factor (video seconds per wall second) for the
 * repository's clips (fixtures/video), per model and size, with one worker process and with one per core.
 *
 *   npm run bench -- video [--clips a.mp4,b.webm] [--sizes 72,144] [--models random-multiscale,vgg19-blocks1-3]
 *                          [--steps-per-frame 2] [--first-frame-steps 20] [--temporal-weight 0] [--style <image>]
 *                          [--workers 1,2] [--painter off,learned] [--painter-steps 0] [--repeat 2]
 *
 * --painter learned (issue 12): the job learns a painter for the style on the clip's own frames
 * (training time included in the figures) and paints from it with --painter-steps optimiser
 * steps per frame; --repeat N runs the same job N times with the painters kept between runs, as
 * a second video in the same style would find them.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { drawSwirls } from '../fixtures/draw.js';
import { decodeImage } from '../server/codec/image-codec.js';
import type { PainterMode } from '../server/config.js';
import { createLogger } from '../server/logger.js';
import { DEFAULT_MODELS_DIR } from '../server/paths.js';
import { DEFAULT_VIDEO_LIMITS } from '../server/video/ffmpeg.js';
import { createLocalJobQueue } from '../server/video/jobs/local-job-queue.js';
import { BBB_MP4, COCKATOO } from '../test/helpers/paths.js';


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
    },
  });
  const cores = os.availableParallelism();
  const style = values.style ? await decodeImage(values.style, { longSide: 512 }) : drawSwirls(512, 512);
  const workerCounts = values.workers ? values.workers.split(',').map(Number) : [...new Set([1, cores])];
  // Painters are kept across the runs of this bench (a second video in the same style finds them).
  const paintersDir = await mkdtemp(path.join(os.tmpdir(), 'stylize-bench-painters-'));
  for (const clip of values.clips.split(',')) {
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
              styleName: values.style ? path.basename(values.style) : 'swirls',
              options: {
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
}
