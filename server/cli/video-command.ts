/**
 * `stylize video <input> --style <img> -o out.mp4`: the same durable job machinery as the
 * server (chunks in parallel worker processes, audio kept), run once with a progress bar.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { BACKEND_NAMES, DEFAULTS, LIMITS, MODEL_NAMES, MOTION_MODES, PAINTER_MODES, VIDEO_DEFAULTS, parseVideoJobOptions, readEnv } from '../config.js';
import { decodeImage } from '../codec/image-codec.js';
import { BadInputError } from '../errors.js';
import { createLogger } from '../logger.js';
import { DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR } from '../paths.js';
import { DEFAULT_VIDEO_LIMITS, probeVideo } from '../video/ffmpeg.js';
import { progressOf, type JobQueue } from '../jobs/job-queue.js';
import type { Job } from '../jobs/job-store.js';
import { createLocalJobQueue } from '../jobs/local/local-job-queue.js';
import { checkOutputLocation } from './output-file.js';
import { numberOption } from './parse.js';
import { createProgress } from './progress.js';

export function videoCommand(): Command {
  return new Command('video')
    .description('stylize a video file: every frame, warm-started from the last, audio kept (H.264 MP4 out)')
    .argument('<input>', 'video file (MP4/MOV, WebM/MKV, AVI, MPEG-TS, Ogg)')
    .requiredOption('-s, --style <image>', 'style image')
    .option('-o, --output <file>', 'output MP4', 'stylized.mp4')
    .option('--size <px>', `short side the frames are stylized at (default ${VIDEO_DEFAULTS.size})`, numberOption)
    .option('--steps-per-frame <n>', `Adam steps per frame (default ${VIDEO_DEFAULTS.stepsPerFrame})`, numberOption)
    .option('--first-frame-steps <n>', `steps on the first frame and after scene cuts (default ${VIDEO_DEFAULTS.firstFrameSteps})`, numberOption)
    .option('--content-weight <alpha>', 'α', numberOption)
    .option('--style-weight <beta>', 'β', numberOption)
    .option('--preserve-colors', 'keep the video\'s colours')
    .addOption(new Option('--motion <mode>', `how warm starts follow the video: along the optical flow (flow), by the content change only (residual, cheaper), or not (none) (default ${DEFAULTS.motion})`).choices([...MOTION_MODES]))
    .addOption(new Option('--painter <mode>', `learned: a small feed-forward painter learnt for the style on the video's own frames (kept in the data directory for the next video with that style) paints each frame, then --steps-per-frame steps refine it; off: the optimiser alone (default ${VIDEO_DEFAULTS.painter})`).choices([...PAINTER_MODES]))
    .option('--temporal-weight <w>', `temporal loss weight (Ruder et al.; 0 = off; default ${DEFAULTS.temporalWeight})`, numberOption)
    .addOption(new Option('--model <name>', 'feature network').choices([...MODEL_NAMES]).default(DEFAULTS.model))
    .option('--weights <dir|h5>', 'VGG19 weights')
    .addOption(new Option('--backend <name>', 'force a tfjs backend').choices([...BACKEND_NAMES]))
    .option('--workers <n>', 'parallel worker processes (default: one per core)', numberOption)
    .action(async (input: string, flags: Record<string, unknown>) => {
      const env = readEnv();
      const options = parseVideoJobOptions(flags);
      const workers = (flags.workers as number | undefined) ?? os.availableParallelism();
      if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new BadInputError('--workers must be 1–64');
      // Everything that can be refused is refused before any copy, worker or painting.
      const output = flags.output as string;
      if (path.extname(output).toLowerCase() !== '.mp4') throw new BadInputError(`cannot write ${output}: stylize video writes MP4; end the name in .mp4`);
      await checkOutputLocation(output);
      // Probed here too (the runner probes its copy) so that messages name the user's file.
      await probeVideo(input, DEFAULT_VIDEO_LIMITS, input);
      const style = await decodeImage(flags.style as string, { longSide: 1024, minShortSide: LIMITS.minSize, label: `style image ${flags.style as string}` });
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'stylize-video-'));
      let runner: JobQueue | undefined;
      // Ctrl-C (or a kill) ends the wait below, so the finally block stops the workers and
      // removes the temporary folder, which holds a copy of the input.
      let interrupt: (signal: NodeJS.Signals) => void = () => undefined;
      const interrupted = new Promise<never>((_, reject) => {
        interrupt = (signal) => reject(new Error(`interrupted (${signal})`));
      });
      interrupted.catch(() => undefined);
      process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
      try {
        const staged = path.join(dataDir, 'upload');
        await copyFile(input, staged).catch(() => {
          throw new BadInputError(`cannot read ${input}`);
        });
        runner = createLocalJobQueue({
          dataDir,
          workers,
          limits: DEFAULT_VIDEO_LIMITS,
          model: flags.model as never,
          weights: flags.weights as string | undefined,
          modelsDir: env.modelsDir ?? DEFAULT_MODELS_DIR,
          seed: DEFAULTS.seed,
          backend: (flags.backend as never) ?? env.backend,
          log: createLogger('warn'),
          // Learned painters outlive this run's temporary folder: the next video in the style starts with one.
          paintersDir: path.join(env.dataDir ?? DEFAULT_DATA_DIR, 'painters'),
        });
        const job = await runner.submit({ inputPath: staged, inputName: path.basename(input), style: async () => style, styleName: path.basename(flags.style as string), options });
        const info = job.info!;
        process.stderr.write(
          `${path.basename(input)}: ${info.width}×${info.height}, ${info.frames} frames at ${info.fps.toFixed(2)} fps, ` +
            `${info.audio ? `audio ${info.audio.codec}` : 'no audio'}; ${job.chunks!.length} chunks on ${workers} worker(s)\n`,
        );
        const progress = createProgress('frames', job.framesTotal);
        const started = performance.now();
        // The runner reports every frame painted while still 'running', then puts the MP4
        // together: that last step gets its own line instead of a frozen progress line.
        let assembling = false;
        const follow = async (): Promise<Job> => {
          let last: Job = job;
          for await (const update of runner!.watch(job.id)) {
            last = update;
            if (!assembling) {
              const fps = update.framesDone / ((performance.now() - started) / 1000);
              // With --painter learned, chunks first teach their painter: say so instead of "0.0 fps".
              const doing = update.stage === 'learning-painter' && update.learning ? `teaching the painter: step ${update.learning.step}/${update.learning.steps}` : `${fps.toFixed(1)} fps`;
              progress.update(update.framesDone, doing);
            }
            if (!assembling && update.status === 'running' && (update.stage === 'assembling' || update.framesDone >= update.framesTotal)) {
              assembling = true;
              progress.stop();
              process.stderr.write(`assembling MP4 ${info.audio ? 'with audio' : '(no audio)'}…\n`);
            }
          }
          return last;
        };
        const final = await Promise.race([interrupted, follow()]);
        progress.stop();
        if (final.status !== 'done') throw new Error(`video job ${final.status}: ${final.error ?? ''}`);
        const painted = await runner.output(job.id);
        if (!painted || !('path' in painted)) throw new Error('the painted video is missing');
        await copyFile(painted.path, output);
        const seconds = (performance.now() - started) / 1000;
        process.stderr.write(`done: ${output} (${seconds.toFixed(1)} s)\n`);
        process.stdout.write(
          `${JSON.stringify({ output, frames: final.framesTotal, seconds: Math.round(seconds * 10) / 10, fps: Math.round((final.framesTotal / seconds) * 10) / 10, progress: progressOf(final) })}\n`,
        );
      } finally {
        process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
        await runner?.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    });
}
