/**
 * Video files: frames per second and real-time factor (video seconds per wall second) for the
 * repository's clips (fixtures/video), per model and size, with one worker process and with one per core.
 *
 *   npm run bench -- video [--clips a.mp4,b.webm] [--sizes 72,144] [--models random-multiscale,vgg19-blocks1-3]
 *                          [--steps-per-frame 2] [--first-frame-steps 20]
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { drawSwirls } from '../fixtures/draw.js';
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
    },
  });
  const cores = os.availableParallelism();
  for (const clip of values.clips.split(',')) {
    for (const model of values.models.split(',')) {
      for (const size of values.sizes.split(',').map(Number)) {
        for (const workers of [...new Set([1, cores])]) {
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
          });
          try {
            const staged = path.join(dataDir, 'input');
            await copyFile(clip, staged);
            const started = performance.now();
            const job = await runner.submit({
              inputPath: staged,
              inputName: path.basename(clip),
              style: async () => drawSwirls(512, 512),
              styleName: 'swirls',
              options: {
                size,
                stepsPerFrame: Number(values['steps-per-frame']),
                firstFrameSteps: Number(values['first-frame-steps']),
                contentWeight: 10,
                styleWeight: 40,
                preserveColors: false,
                motion: 'flow',
                temporalWeight: 0,
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
}
